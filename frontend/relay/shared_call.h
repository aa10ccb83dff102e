// SharedCall: fan-out for routes with `shared: true`. One server-streaming
// gRPC call (an EventRpc: ActionService.Run, or any method on a `grpc`
// route) whose events go to every browser stream subscribed to it; each
// event is encoded once and the same bytes are written to every stream.
// SharedCalls is a route's table of live calls, keyed by the request.
//
// Lifetime: a SharedCall is held by its table while it takes subscribers, by
// itself from Start() until OnRpcDone, and by each subscribed stream (as its
// Upstream). It knows its streams only as StreamSinks (stream_sink.h).
// Backpressure: when a stream's buffer passes high water (the loop is
// behind in a burst to many streams, or a client reads slowly), reading
// stops until that stream drains below low water, so gRPC flow control
// pushes back on the service. A stream that keeps the call waiting longer
// than kSharedWaitLimit (1 s) is dropped (its browser reconnects), so one
// slow client cannot hold the others back. The last subscriber to leave
// cancels the call and takes it out of the table, so the next browser
// starts a fresh one.
//
// Replay (Route.replay): the call keeps its last events that carry an id in
// a ReplayRing, as the bytes it wrote. A stream that attaches with a
// Last-Event-ID gets the ring's events after that id (or the route's reset
// event if the ring does not hold it), one without gets the last `on_join`;
// Attach and OnReadDone both work under the call's mutex, so a joiner's
// backlog ends exactly where the live events it gets begin: no gap, no
// duplicate. With replay on, the last subscriber to leave does not cancel:
// the call lingers (reading on, its ring current) for replay.linger, so a
// browser that reconnects resumes from the ring; the table's linger timer
// cancels it once that has passed with nobody back.
//
// Thread-safety: everything is thread-safe. Lock order: the table's mutex,
// then a call's, then a stream's; gRPC calls are made without any of them.
#ifndef SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_
#define SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/event_rpc.h"
#include "frontend/relay/replay_ring.h"
#include "frontend/relay/session_settings.h"
#include "frontend/relay/stream_sink.h"
#include "frontend/upstream/backend_pool.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

class SharedCalls;

class SharedCall : public EventRpc::Handler,
                   public Upstream,
                   public std::enable_shared_from_this<SharedCall> {
 public:
  // `rpc` is the call, made but not started (see Start).
  SharedCall(SharedCalls* table, std::string key,
             const SessionSettings* settings, FrontendStats* stats,
             std::unique_ptr<EventRpc> rpc);

  // Adds a subscriber; with `head_now`, or once the call has started, its
  // SSE head goes out at once. With replay, the stream first gets what the
  // ring holds after `last_event_id` (the reset event if it holds no such
  // id), or without an id the last `on_join` events; pass "" for the
  // stream that starts the call (its id goes to the service). kEnding: the
  // call is already ending (the caller then starts a new one). kClosed: the
  // stream's socket closed before it could subscribe (its loop may have it
  // first; see Join), so it is not added.
  enum class AttachResult { kAttached, kEnding, kClosed };
  AttachResult Attach(const std::shared_ptr<StreamSink>& sink, bool head_now,
                      absl::string_view last_event_id = {});

  // Upstream. Leave removes a subscriber (its socket closed, or dropped as
  // too slow); the last one cancels the call (with replay: starts its
  // linger). A paused call resumes.
  // CancelIfStuck is asked by every subscriber's IoLoop tick.
  void Leave(const StreamSink* sink) override;
  void Resume() override;
  bool CancelIfStuck(absl::Time now, absl::Duration after) override;
  bool shared() const override { return true; }

  // Starts the call (made for `pick`'s channel).
  void Start(const BackendPool::Pick& pick);

  // EventRpc::Handler.
  void OnRpcHead() override;
  void OnRpcRead(bool ok) override;
  void OnRpcDone(const absl::Status& status) override;

  // Whether nobody has watched the call for its whole linger at `now`.
  bool LingerExpired(absl::Time now);
  // Cancels the call if LingerExpired(now) (the table's linger timer), or
  // unconditionally with `always` (frontend shutdown). Call without the
  // table's mutex.
  void CancelIfIdle(absl::Time now, bool always);

 private:
  // Cancels the call and leaves the table; call without mu_.
  void Cancel();
  // The last subscriber is gone (subscribers_ just became empty, and the
  // call is not ending): with replay the call lingers, otherwise it ends.
  // Returns whether to Cancel() (after unlocking).
  bool NobodyLeftLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives a joining stream its backlog from the ring (see Attach).
  void ReplayToLocked(StreamSink& sink, absl::string_view last_event_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings the route's ring-bytes gauge up to date with ring_.
  void CountRingBytesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SharedCalls* const table_;
  const std::string key_;
  const SessionSettings* const settings_;
  FrontendStats* const stats_;

  // Used only through its thread-safe operations (Cancel also before the
  // call has started).
  const std::unique_ptr<EventRpc> rpc_;
  ssebridge::action::v1::Event event_;  // read target, gRPC side only
  std::string encoded_;                 // gRPC side only
  size_t encoded_events_ = 0;           // events in encoded_ (gRPC side)
  // The events of the message just read that go into the ring: where each
  // is in encoded_ (gRPC side only).
  struct RingItem {
    const ssebridge::action::v1::Event* event;
    size_t offset;
    size_t size;
  };
  std::vector<RingItem> ring_items_;
  std::shared_ptr<SharedCall> self_;       // held from Start() until OnRpcDone
  std::atomic<int64_t>* calls_ = nullptr;  // the backend's in-flight count

  std::mutex mu_;
  std::vector<std::shared_ptr<StreamSink>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the backend answered
  bool ending_ ABSL_GUARDED_BY(mu_) = false;   // cancelled or done
  // No read outstanding and a hold taken, until Resume() (see above).
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;  // cancelled as stuck
  // Replay only (null ring without): the recent events, the bytes of it
  // counted in the route's gauge, and, while nobody watches, until when the
  // call keeps running (InfiniteFuture while someone does).
  std::unique_ptr<ReplayRing> ring_ ABSL_GUARDED_BY(mu_);
  int64_t ring_bytes_counted_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time linger_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // When OnReadDone(false) came, in absl::ToUnixNanos; 0 while reading.
  std::atomic<int64_t> read_ended_ns_{0};
};

// The key of a shared call: `request_key` (the request as the service would
// see it, minus what differs between viewers of the same data) and the
// metadata, which carries a verified identity, so that streams of different
// users never share a call (nor see each other's events).
std::string SharedCallKey(std::string request_key,
                          const CallMetadata& metadata);

// The request part of the key for ActionService.Run: the request without
// its Last-Event-ID and client address, serialized deterministically.
std::string ActionRequestKey(
    const ssebridge::action::v1::ActionRequest& request);

// One route's live shared calls. With replay, also the route's linger
// timer: a thread that every kLingerCheckInterval cancels the calls nobody
// has watched for their linger (one thread per replay route, not one timer
// per call).
class SharedCalls {
 public:
  // How often the linger timer looks: a lingering call is cancelled at most
  // this long after its linger has passed.
  static constexpr absl::Duration kLingerCheckInterval =
      absl::Milliseconds(100);

  SharedCalls(const SessionSettings* settings, FrontendStats* stats);
  ~SharedCalls();  // stops the linger timer
  SharedCalls(const SharedCalls&) = delete;
  SharedCalls& operator=(const SharedCalls&) = delete;

  // Subscribes `sink` to the call for `key` (SharedCallKey); the first
  // subscriber starts it with `make_rpc`, on a channel from `backend`. A
  // stream that joins a running call resumes from its ring after
  // `last_event_id` (with replay); the first one's goes to the service in
  // the request `make_rpc` made.
  void Join(const std::shared_ptr<StreamSink>& sink, BackendPool* backend,
            std::string key, absl::string_view last_event_id,
            const EventRpcFactory& make_rpc);

  // Takes `call` out of the table if it is still the entry for `key`.
  void Remove(const std::string& key, const SharedCall* call);

  // Frontend shutdown (after the streams are closed): stops the linger
  // timer and cancels every call in the table, lingering or not (their
  // OnDone follows); from now on the last subscriber to leave cancels at
  // once. Idempotent.
  void Shutdown();
  bool shutting_down() const {
    return shutting_down_.load(std::memory_order_acquire);
  }

 private:
  void RunLingerTimer();
  // Cancels the calls whose linger has passed at `now` (all with `all`).
  void CancelIdle(absl::Time now, bool all);
  void StopTimer();

  const SessionSettings* const settings_;
  FrontendStats* const stats_;
  std::atomic<bool> shutting_down_{false};
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<SharedCall>> calls_
      ABSL_GUARDED_BY(mu_);

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ ABSL_GUARDED_BY(timer_mu_) = false;
  std::thread timer_;  // replay routes only
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_
