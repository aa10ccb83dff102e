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
// Thread-safety: everything is thread-safe. Lock order: the table's mutex,
// then a call's, then a stream's; gRPC calls are made without any of them.
#ifndef SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_
#define SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/event_rpc.h"
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
  // SSE head goes out at once. kEnding: the call is already ending (the
  // caller then starts a new one). kClosed: the stream's socket closed
  // before it could subscribe (its loop may have it first; see Join), so it
  // is not added.
  enum class AttachResult { kAttached, kEnding, kClosed };
  AttachResult Attach(const std::shared_ptr<StreamSink>& sink, bool head_now);

  // Upstream. Leave removes a subscriber (its socket closed, or dropped as
  // too slow); the last one cancels the call. A paused call resumes.
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

 private:
  // Cancels the call and leaves the table; call without mu_.
  void Cancel();

  SharedCalls* const table_;
  const std::string key_;
  const SessionSettings* const settings_;
  FrontendStats* const stats_;

  // Used only through its thread-safe operations (Cancel also before the
  // call has started).
  const std::unique_ptr<EventRpc> rpc_;
  ssebridge::action::v1::Event event_;     // read target, gRPC side only
  std::string encoded_;                    // gRPC side only
  std::shared_ptr<SharedCall> self_;  // held from Start() until OnRpcDone
  std::atomic<int64_t>* calls_ = nullptr;  // the backend's in-flight count

  std::mutex mu_;
  std::vector<std::shared_ptr<StreamSink>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the backend answered
  bool ending_ ABSL_GUARDED_BY(mu_) = false;   // cancelled or done
  // No read outstanding and a hold taken, until Resume() (see above).
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;  // cancelled as stuck
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
std::string ActionRequestKey(const ssebridge::action::v1::ActionRequest& request);

// One route's live shared calls.
class SharedCalls {
 public:
  SharedCalls(const SessionSettings* settings, FrontendStats* stats)
      : settings_(settings), stats_(stats) {}

  // Subscribes `sink` to the call for `key` (SharedCallKey); the first
  // subscriber starts it with `make_rpc`, on a channel from `backend`.
  void Join(const std::shared_ptr<StreamSink>& sink, BackendPool* backend,
            std::string key, const EventRpcFactory& make_rpc);

  // Takes `call` out of the table if it is still the entry for `key`.
  void Remove(const std::string& key, const SharedCall* call);

 private:
  const SessionSettings* const settings_;
  FrontendStats* const stats_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<SharedCall>> calls_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_SHARED_CALL_H_
