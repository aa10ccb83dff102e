// MuxConnection: one browser connection (a StreamSession) carrying several
// sub-streams of a multiplexing route (Route.mux), each fed by the upstream
// its route would have alone (its own ActionCall, or a SharedCall it joins).
// It reuses the relay core unchanged: to the session it is the Upstream
// (Leave / Resume / CancelIfStuck fan out to every sub-stream's call); to
// each sub-stream's call it offers a StreamSink (a Branch) that renames the
// sub-stream's events ("A.E", the default message as "A", terminal "A.done",
// errors "A.error"), puts the connection's resume cursor in their ids
// (mux_cursor.h) and hands the bytes to the session. So the session's
// buffer, backpressure (a kPause reaches every call that delivers while the
// socket is behind, and the session's drain resumes them all), heartbeat,
// write timeout and close handling are the ones of a plain stream. The
// connection's last event (the route's terminal event, or "error" with a
// retry hint if a sub-stream failed) goes out once every sub-stream ended.
//
// Lock order: a call's lock, then mu_, then the session's. Calls are never
// made into an upstream while holding mu_.
//
// Lifetime: shared_ptr; held by the session (as its upstream) until its
// socket closes, and by each Branch, which its call holds until the call
// ends. Thread-safety: thread-safe.
#ifndef SSEBRIDGE_FRONTEND_RELAY_MUX_CONNECTION_H_
#define SSEBRIDGE_FRONTEND_RELAY_MUX_CONNECTION_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/mux_cursor.h"
#include "frontend/relay/session_settings.h"
#include "frontend/relay/stream_session.h"
#include "frontend/relay/stream_sink.h"

namespace ssebridge::frontend {

class MuxConnection : public Upstream,
                      public std::enable_shared_from_this<MuxConnection> {
 public:
  struct SubStream {
    std::string alias;
    const SessionSettings* settings;              // its route's
    std::string last_event_id;                    // from the cursor, "" if none
    absl::Time expires = absl::InfiniteFuture();  // its token's
    bool shared_route = false;                    // its route has shared: true
  };

  // `on_close` runs once when the session's socket closed (e.g. to free
  // the sub-streams' admission slots).
  MuxConnection(std::shared_ptr<StreamSession> session, FrontendStats* stats,
                std::vector<SubStream> subs, std::function<void()> on_close);

  // The sink of sub-stream `i`, for its upstream call.
  std::shared_ptr<StreamSink> sink(size_t i);
  size_t size() const { return branches_.size(); }

  // Upstream (the session's).
  void Leave(const StreamSink* sink) override;
  void Resume() override;
  bool CancelIfStuck(absl::Time now, absl::Duration after) override;
  bool shared() const override;

 private:
  class Branch;
  friend class Branch;
  // Appends the encoded event of `b`, with the cursor when it has an id.
  StreamSink::Verdict DeliverLocked(Branch& b, absl::string_view encoded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // DeliverLocked for each event in `encoded` (a batch or a shared call's
  // fan-out may hold several); the most severe verdict.
  StreamSink::Verdict DeliverEachLocked(Branch& b, absl::string_view encoded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends sub-stream `b` with its `name` event (and `data`); the connection
  // ends when it was the last. Returns b's upstream to leave (may be null).
  std::shared_ptr<Upstream> FinishLocked(Branch& b, absl::string_view name,
                                         absl::string_view data,
                                         Outcome outcome,
                                         const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<StreamSession> session_;
  FrontendStats* const stats_;
  bool any_shared_ = false;  // fixed after construction
  std::function<void()> on_close_;
  std::vector<std::shared_ptr<Branch>> branches_;  // fixed after construction

  mutable std::mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  MuxPositions positions_ ABSL_GUARDED_BY(mu_);
  std::string scratch_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_MUX_CONNECTION_H_
