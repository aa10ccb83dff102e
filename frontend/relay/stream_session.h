// StreamSession: one browser stream relayed from one server-streaming gRPC
// call. It is both the gRPC ClientReadReactor (callbacks arrive on gRPC's
// threads) and the unit an IoLoop writes to a socket (on the loop's thread).
//
// Why this shape (DESIGN §4): Pistache 0.0.5 must not write to a taken-over
// connection from other threads, and its fds are reused at once after close.
// The HTTP handler therefore dup()s the connection's fd; the session owns
// that descriptor and only its IoLoop writes to it, so a reused fd number can
// never receive another client's bytes. gRPC threads encode events into
// `pending_` under `mu_`; when the socket has nothing queued they write it
// at once themselves (under `mu_`, which the loop's Close takes before it
// closes the descriptor), otherwise the loop flushes it.
//
// Lifetime: shared_ptr; one reference held by the gRPC side until OnDone, one
// by the IoLoop until the socket is closed. Freed when both are done. On a
// shared route the session runs no call of its own: the SharedCall it is
// subscribed to holds the gRPC side's reference (see shared_call.h).
//
// Thread-safety: fields under `mu_` are shared; fields prefixed `io_` belong
// to the owning IoLoop's thread; the rest is immutable after Start().
#ifndef SSEBRIDGE_FRONTEND_RELAY_STREAM_SESSION_H_
#define SSEBRIDGE_FRONTEND_RELAY_STREAM_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include <mutex>
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::frontend {

class IoLoop;
class SharedCall;
class SharedCalls;
class StreamRegistry;

// How long one stream of a shared route may keep the call waiting (or half
// of limits.write_timeout, if that is shorter).
inline constexpr absl::Duration kSharedWaitLimit = absl::Seconds(1);

// The INTERNAL error a stream ends with when its call (own or shared) was
// cancelled because gRPC could not parse a message from the service.
inline constexpr char kUnparsableUpstream[] =
    "upstream sent a message that cannot be parsed";

// Per-route settings a session needs, resolved once from the config.
struct SessionSettings {
  std::string route_path;
  RouteStats* route_stats = nullptr;  // per-route counters (not owned)
  std::string terminal_event = "done";
  absl::Duration heartbeat = absl::Seconds(15);
  absl::Duration max_duration = absl::ZeroDuration();  // zero: no limit
  absl::Duration header_wait = absl::Seconds(2);  // backend not yet READY
  absl::Duration write_timeout = absl::Seconds(30);
  bool expose_errors = false;
  uint32_t retry_ms = 0;          // sent after the head when non-zero
  uint32_t error_retry_ms = 5000; // retry hint on error / timeout events
  size_t high_water = 256 * 1024;
  size_t low_water = 64 * 1024;
  size_t max_event_bytes = 4 * 1024 * 1024;
  uint32_t retry_after_seconds = 5;
};

// Encodes `event` onto `out` as SSE. An event the encoder rejects (CR/LF in
// its name or id) or one over the route's max_event_bytes is dropped,
// counted and logged, and `out` is left as it was; returns whether it was
// appended.
bool AppendRouteEvent(const ssebridge::action::v1::Event& event,
                      const SessionSettings& settings, FrontendStats* stats,
                      std::string& out);

// kSse relays events as Server-Sent Events. kCollectHtml serves an htmx 2
// form POST that did not ask for a stream: every fragment is collected and
// sent as one text/html response when the call ends.
enum class ResponseMode { kSse, kCollectHtml };

class StreamSession : public grpc::ClientReadReactor<ssebridge::action::v1::Event>,
                      public std::enable_shared_from_this<StreamSession> {
 public:
  // Takes ownership of `fd` (a dup of the client connection).
  StreamSession(const SessionSettings* settings, IoLoop* loop,
                StreamRegistry* registry, FrontendStats* stats, int fd,
                std::string client_ip, std::string response_head,
                ResponseMode mode = ResponseMode::kSse);
  ~StreamSession() override;

  // Starts the call. With `headers_now` the SSE head goes out at once;
  // otherwise it waits for the backend's first sign of life (initial
  // metadata, an event or the end of the call) so that a backend that is down
  // gets a plain 503 instead of a 200 stream.
  void Start(ssebridge::action::v1::ActionService::Stub* stub,
             ssebridge::action::v1::ActionRequest request,
             const std::vector<std::pair<std::string, std::string>>& metadata,
             bool headers_now);

  // gRPC reactions.
  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Ends the stream from the frontend's side (shutdown, max duration): sends
  // `event` with a retry hint so the browser comes back, cancels the call.
  void EndEarly(absl::string_view event, uint32_t retry_ms, Outcome outcome);

  // Sends the SSE head now (the backend answered). Also called by a
  // SharedCall for its subscribers (shared routes; see shared_call.h).
  void CommitHead();
  // The upstream call ended with `status`: terminal or error event, or a
  // plain HTTP error if no head was sent yet. Also called by a SharedCall.
  void EndUpstream(const grpc::Status& status);
  // Appends an already-encoded event for the loop to write (it coalesces
  // a burst into few send() calls). kDrop: this stream is closed or ending
  // (unsubscribe it). kPause: its buffer passed high water: the call should
  // stop reading until it drains below low water (the loop then calls
  // SharedCall::Resume). A stream that keeps the call waiting longer than
  // kSharedWaitLimit is dropped by the loop's tick, so one slow client holds
  // the others back for at most that long.
  enum class SharedVerdict { kKeep, kDrop, kPause };
  SharedVerdict SharedEvent(absl::string_view bytes);

  // Shared routes: the call this stream is subscribed to (null until
  // SharedCalls::Join sets it, which may be after the loop has the session).
  void SetShared(std::shared_ptr<SharedCall> call) {
    std::lock_guard<std::mutex> lock(mu_);
    shared_ = std::move(call);
  }
  std::shared_ptr<SharedCall> shared() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shared_;
  }
  // The client's socket is closed (the loop let go of it).
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return http_closed_;
  }

  int fd() const { return fd_; }
  IoLoop* loop() const { return loop_; }
  size_t buffered_bytes() const;

 private:
  friend class IoLoop;
  friend class SharedCalls;
  enum class Head { kWaiting, kSent, kRejected };

  // Under mu_: prepends the SSE head to whatever is pending.
  void CommitHeadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks the loop to flush if nothing is queued yet. Call without mu_.
  void ScheduleFlush(bool needed);
  bool NeedFlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes pending_ to the socket from the calling thread when the loop has
  // nothing queued or unsent for this stream; returns whether the loop must
  // still flush (bytes left over, or the direct path was not open).
  bool WriteDirectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kSse: encodes event_ into pending_ (dropping and counting what the
  // encoder rejects or what is over max_event_bytes).
  void AppendEventLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kCollectHtml: appends the current event's payload as HTML; false once
  // the body passes max_event_bytes.
  bool CollectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EndUpstream under mu_; returns whether the loop must flush.
  bool EndUpstreamLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks a stream of a shared route as too slow: it ends once what it has
  // buffered is written (or on write timeout).
  void DropFromSharedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unsubscribes from the shared call, or cancels this session's own call.
  void StopUpstream(bool cancel_own);
  // Appends the terminal event and marks the stream to close once flushed.
  void FinishLocked(absl::string_view name, absl::string_view data,
                    uint32_t retry_ms, Outcome outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SessionSettings* const settings_;
  IoLoop* const loop_;
  StreamRegistry* const registry_;
  FrontendStats* const stats_;
  const int fd_;
  const std::string client_ip_;
  const absl::Time started_;
  const ResponseMode mode_;

  grpc::ClientContext ctx_;
  ssebridge::action::v1::ActionRequest request_;
  ssebridge::action::v1::Event event_;  // read target, gRPC side only
  std::shared_ptr<StreamSession> self_;  // the gRPC side's reference
  mutable std::mutex mu_;
  // See shared(). Written under mu_; the loop may hold the session first.
  std::shared_ptr<SharedCall> shared_ ABSL_GUARDED_BY(mu_);
  std::string head_ ABSL_GUARDED_BY(mu_);
  std::string pending_ ABSL_GUARDED_BY(mu_);
  Head head_state_ ABSL_GUARDED_BY(mu_) = Head::kWaiting;
  bool queued_ ABSL_GUARDED_BY(mu_) = false;
  bool upstream_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // close once flushed
  bool http_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  size_t unsent_ ABSL_GUARDED_BY(mu_) = 0;  // io_out_ bytes not yet written
  // Set by the loop once the socket is in its epoll set. From then on, a
  // gRPC thread that finds nothing queued or unsent writes an event straight
  // to the socket under mu_ (no hop through the loop); anything it cannot
  // write at once goes to pending_ and the loop takes over as usual.
  bool direct_ok_ ABSL_GUARDED_BY(mu_) = false;
  // Shared routes: the call waits for this stream to drain (kPause), since
  // this time; past kSharedWaitLimit the stream is dropped instead.
  bool shared_wait_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time shared_wait_since_ ABSL_GUARDED_BY(mu_);
  absl::Time direct_last_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t direct_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Outcome outcome_ ABSL_GUARDED_BY(mu_) = Outcome::kClientGone;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  std::string collected_ ABSL_GUARDED_BY(mu_);  // kCollectHtml body
  bool collect_overflow_ ABSL_GUARDED_BY(mu_) = false;
  bool first_event_seen_ ABSL_GUARDED_BY(mu_) = false;
  // Reads ended (OnReadDone(false)) but OnDone has not come: normal for a
  // moment; for long only when gRPC could not parse a message (e.g. invalid
  // UTF-8 in a string field), which leaves the call stuck until cancelled.
  absl::Time read_ended_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;

  // IoLoop thread only.
  bool io_registered_ = false;
  bool io_want_out_ = false;
  std::string io_out_;
  size_t io_off_ = 0;
  absl::Time io_last_write_;
  absl::Time io_stalled_since_ = absl::InfiniteFuture();
  uint64_t io_bytes_ = 0;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_STREAM_SESSION_H_
