// StreamSession: the browser side of one relayed stream, from the moment the
// HTTP edge took its connection over: the SSE head, the bytes waiting for
// the socket, the terminal event, and what ends the stream. It is the
// StreamSink its upstream (a stream's own ActionCall, or a SharedCall for
// many streams) delivers to, and the unit an IoLoop writes to a socket.
//
// Why this shape (DESIGN §4): Pistache 0.0.5 must not write to a taken-over
// connection from other threads, and its fds are reused at once after close.
// The HTTP edge therefore dup()s the connection's fd; the session owns that
// descriptor and only its IoLoop writes to it, so a reused fd number can
// never receive another client's bytes. gRPC threads encode events into
// `pending_` under `mu_`; when the socket has nothing queued they write it
// at once themselves (under `mu_`, which the loop's Close takes before it
// closes the descriptor), otherwise the loop flushes it.
//
// Two owners, two kinds of state: fields under `mu_` are shared between the
// upstream's threads and the loop; fields prefixed `io_` belong to the owning
// IoLoop's thread; the rest is immutable after construction.
//
// Lifetime: shared_ptr; held by the IoLoop until the socket is closed and by
// the upstream until its call ends. The session holds its upstream until its
// socket closes.
#ifndef SSEBRIDGE_FRONTEND_RELAY_STREAM_SESSION_H_
#define SSEBRIDGE_FRONTEND_RELAY_STREAM_SESSION_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/session_settings.h"
#include "frontend/relay/stream_sink.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

class IoLoop;
class StreamRegistry;

class StreamSession : public StreamSink,
                      public std::enable_shared_from_this<StreamSession> {
 public:
  // Takes ownership of `fd` (a dup of the client connection).
  StreamSession(const SessionSettings* settings, IoLoop* loop,
                StreamRegistry* registry, FrontendStats* stats, int fd,
                std::string client_ip, std::string response_head,
                ResponseMode mode = ResponseMode::kSse);
  ~StreamSession() override;

  // StreamSink.
  bool SetUpstream(std::shared_ptr<Upstream> upstream) override;
  void CommitHead() override;
  Verdict OnMessage(const ssebridge::action::v1::Event& event) override;
  Verdict OnEncoded(absl::string_view bytes, size_t events) override;
  void EndUpstream(const absl::Status& status) override;
  bool closed() const override;

  // Ends the stream from the frontend's side (shutdown, max duration): sends
  // `event` with a retry hint so the browser comes back, and leaves the
  // upstream (cancelling its own call).
  void EndEarly(absl::string_view event, uint32_t retry_ms, Outcome outcome);

  // When the client's token expires: the loop then ends the stream with
  // settings.auth_expired_event and leaves the upstream. Set before the
  // session is submitted to its loop (the loop reads it without a lock).
  void set_expires(absl::Time t) { expires_ = t; }

  int fd() const { return fd_; }
  IoLoop* loop() const { return loop_; }
  size_t buffered_bytes() const;

 private:
  friend class IoLoop;
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
  // After bytes were appended: kPause once the buffer passed high water
  // (noting since when the upstream waits for this stream), else kKeep.
  Verdict AfterAppendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kCollectHtml: appends the event's payload as HTML; false once the body
  // passes max_event_bytes.
  bool CollectLocked(const ssebridge::action::v1::Event& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EndUpstream under mu_; returns whether the loop must flush.
  bool EndUpstreamLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks a stream of a shared route as too slow: it ends once what it has
  // buffered is written (or on write timeout).
  void DropFromSharedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leaves the upstream (the loop's Close and tick, EndEarly). Call without
  // mu_.
  void StopUpstream();
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
  absl::Time expires_ = absl::InfiniteFuture();  // see set_expires

  mutable std::mutex mu_;
  // Set once the call feeding this stream exists (for a shared route that may
  // be after the loop has the session); dropped when the socket closes.
  std::shared_ptr<Upstream> upstream_ ABSL_GUARDED_BY(mu_);
  std::string head_ ABSL_GUARDED_BY(mu_);
  std::string pending_ ABSL_GUARDED_BY(mu_);
  Head head_state_ ABSL_GUARDED_BY(mu_) = Head::kWaiting;
  bool queued_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // close once flushed
  bool http_closed_ ABSL_GUARDED_BY(mu_) = false;
  size_t unsent_ ABSL_GUARDED_BY(mu_) = 0;  // io_out_ bytes not yet written
  // Set by the loop once the socket is in its epoll set. From then on, a
  // gRPC thread that finds nothing queued or unsent writes an event straight
  // to the socket under mu_ (no hop through the loop); anything it cannot
  // write at once goes to pending_ and the loop takes over as usual.
  bool direct_ok_ ABSL_GUARDED_BY(mu_) = false;
  // The upstream waits for this stream to drain (it answered kPause) since
  // this time; the loop resumes it below low water. A shared call is not
  // kept waiting past kSharedWaitLimit: the stream is dropped instead.
  bool upstream_wait_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time upstream_wait_since_ ABSL_GUARDED_BY(mu_);
  absl::Time direct_last_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t direct_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Outcome outcome_ ABSL_GUARDED_BY(mu_) = Outcome::kClientGone;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  std::string collected_ ABSL_GUARDED_BY(mu_);  // kCollectHtml body
  bool collect_overflow_ ABSL_GUARDED_BY(mu_) = false;

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
