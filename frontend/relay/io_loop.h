// IoLoop: one thread with its own epoll that writes sessions' SSE bytes to
// their sockets. It batches every event that arrived since the last write
// into one non-blocking send(), waits for EPOLLOUT when a client is slow,
// notices disconnects (EPOLLRDHUP/HUP/ERR), and on a periodic tick sends
// heartbeats and enforces write timeouts, max durations and the head-wait
// deadline.
//
// Thread-safety: Submit() and Stop() may be called from any thread; all else
// runs on the loop thread.
#ifndef SSEBRIDGE_FRONTEND_RELAY_IO_LOOP_H_
#define SSEBRIDGE_FRONTEND_RELAY_IO_LOOP_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"

namespace ssebridge::frontend {

class StreamSession;

class IoLoop {
 public:
  explicit IoLoop(FrontendStats* stats,
                  absl::Duration tick = absl::Milliseconds(100));
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  absl::Status Start();
  // Closes every remaining session (as client gone) and joins the thread.
  void Stop();

  // Registers the session on first call, then flushes what it has pending.
  void Submit(std::shared_ptr<StreamSession> session);

  // Sends every open session the shutdown event (see StreamSession::Shutdown).
  void ShutdownSessions(uint32_t retry_ms);

  // Sessions whose socket is still open.
  int64_t open_sessions() const {
    return open_.load(std::memory_order_relaxed);
  }

 private:
  void Run();
  void Flush(const std::shared_ptr<StreamSession>& s);
  // Writes io_out_; returns false if the client is gone.
  bool WriteOut(StreamSession& s, absl::Time now);
  // Ends the stream: unregisters it, closes its descriptor (unless
  // `fd_is_ours` is false: the number was found reused), leaves its
  // upstream, frees its admission slot, counts and logs the outcome.
  void Close(const std::shared_ptr<StreamSession>& s, Outcome outcome,
             bool fd_is_ours = true);
  void Tick(absl::Time now);
  void SetWantOut(StreamSession& s, bool want);

  FrontendStats* const stats_;
  const absl::Duration tick_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> open_{0};

  std::mutex mu_;
  std::vector<std::shared_ptr<StreamSession>> ready_ ABSL_GUARDED_BY(mu_);
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_requested_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t shutdown_retry_ms_ ABSL_GUARDED_BY(mu_) = 0;

  // Loop thread only.
  absl::flat_hash_map<int, std::shared_ptr<StreamSession>> sessions_;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_IO_LOOP_H_
