#include "frontend/relay/io_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "frontend/relay/session_settings.h"
#include "frontend/relay/stream_registry.h"
#include "frontend/relay/stream_session.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {
constexpr size_t kShrinkAbove = 64 * 1024;  // give back burst buffers
}  // namespace

IoLoop::IoLoop(FrontendStats* stats, absl::Duration tick)
    : stats_(stats), tick_(tick) {}

IoLoop::~IoLoop() { Stop(); }

absl::Status IoLoop::Start() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) {
    return absl::InternalError(
        absl::StrCat("epoll/eventfd: ", strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void IoLoop::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof(one));
  thread_.join();
  close(epfd_);
  close(wakefd_);
}

void IoLoop::Submit(std::shared_ptr<StreamSession> session) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(std::move(session));
    if (!wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    (void)!write(wakefd_, &one, sizeof(one));
  }
}

void IoLoop::ShutdownSessions(uint32_t retry_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_requested_ = true;
    shutdown_retry_ms_ = retry_ms;
  }
  uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof(one));
}

void IoLoop::Run() {
  std::vector<epoll_event> events(256);
  std::vector<std::shared_ptr<StreamSession>> batch;
  absl::Time next_tick = absl::Now() + tick_;
  while (!stop_.load()) {
    const int timeout_ms = std::max<int64_t>(
        0, absl::ToInt64Milliseconds(next_tick - absl::Now()) + 1);
    const int n = epoll_wait(epfd_, events.data(),
                             static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wakefd_) {
        uint64_t v;
        (void)!read(wakefd_, &v, sizeof(v));
        continue;
      }
      auto it = sessions_.find(fd);
      if (it == sessions_.end()) continue;
      std::shared_ptr<StreamSession> s = it->second;
      if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        Close(s, Outcome::kClientGone);
      } else if (events[i].events & EPOLLOUT) {
        Flush(s);
      }
    }
    bool shutdown = false;
    uint32_t shutdown_retry = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(ready_);
      wake_pending_ = false;
      if (shutdown_requested_) {
        shutdown = true;
        shutdown_requested_ = false;
        shutdown_retry = shutdown_retry_ms_;
      }
    }
    for (auto& s : batch) Flush(s);
    batch.clear();
    if (shutdown) {
      std::vector<std::shared_ptr<StreamSession>> all;
      for (auto& [fd, s] : sessions_) all.push_back(s);
      for (auto& s : all)
        s->EndEarly("shutdown", shutdown_retry, Outcome::kShutdown);
    }
    const absl::Time now = absl::Now();
    if (now >= next_tick) {
      Tick(now);
      next_tick = now + tick_;
    }
  }
  // Stopping: whatever is still open is closed as if the client left.
  std::vector<std::shared_ptr<StreamSession>> all;
  for (auto& [fd, s] : sessions_) all.push_back(s);
  for (auto& s : all) Close(s, Outcome::kShutdown);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.clear();
  }
}

void IoLoop::SetWantOut(StreamSession& s, bool want) {
  if (s.io_want_out_ == want) return;
  s.io_want_out_ = want;
  epoll_event ev{};
  ev.events = EPOLLRDHUP | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.fd = s.fd_;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd_, &ev);
}

void IoLoop::Flush(const std::shared_ptr<StreamSession>& sp) {
  StreamSession& s = *sp;
  const absl::Time now = absl::Now();
  if (!s.io_registered_) {
    if (auto it = sessions_.find(s.fd_); it != sessions_.end()) {
      // The kernel hands out only free numbers, so the descriptor of the
      // session registered under this one was closed behind this loop's
      // back. Its entry is stale: it is ended (its call cancelled, its slot
      // freed) without touching the number, which is now this session's.
      // Returning instead would leave both sessions unwatched, their calls
      // open forever.
      spdlog::error(
          "route {}: descriptor {} reused while still registered; "
          "ending the stale stream",
          it->second->settings_->route_path, s.fd_);
      Close(it->second, Outcome::kClientGone, /*fd_is_ours=*/false);
    }
    s.io_registered_ = true;
    s.io_last_write_ = now;
    sessions_.emplace(s.fd_, sp);
    open_.fetch_add(1, std::memory_order_relaxed);
    if (s.settings_->route_stats) {
      s.settings_->route_stats->open_streams.fetch_add(
          1, std::memory_order_relaxed);
    }
    epoll_event ev{};
    ev.events = EPOLLRDHUP;
    ev.data.fd = s.fd_;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd_, &ev) != 0) {
      Close(sp, Outcome::kClientGone);
      return;
    }
  } else if (auto it = sessions_.find(s.fd_);
             it == sessions_.end() || it->second != sp) {
    return;  // already closed (the fd number may now be another session's)
  }
  bool finishing;
  Outcome outcome;
  {
    std::lock_guard<std::mutex> lock(s.mu_);
    s.queued_ = false;
    s.direct_ok_ = s.mode_ == ResponseMode::kSse;
    if (s.http_closed_ || s.head_state_ == StreamSession::Head::kWaiting) {
      return;
    }
    if (!s.pending_.empty()) {
      if (s.io_off_ == s.io_out_.size()) {
        s.io_out_.clear();
        s.io_off_ = 0;
        s.io_out_.swap(s.pending_);
      } else {
        s.io_out_.append(s.pending_);
        s.pending_.clear();
      }
    }
    s.unsent_ = s.io_out_.size() - s.io_off_;
    finishing = s.finishing_;
    outcome = s.outcome_;
  }
  if (!WriteOut(s, now)) {
    Close(sp, Outcome::kClientGone);
    return;
  }
  const bool drained = s.io_off_ == s.io_out_.size();
  if (drained && finishing) {
    Close(sp, outcome);
    return;
  }
  std::shared_ptr<Upstream> resume;
  {
    std::lock_guard<std::mutex> lock(s.mu_);
    s.unsent_ = s.io_out_.size() - s.io_off_;
    const bool low = s.pending_.size() + s.unsent_ < s.settings_->low_water;
    if (s.upstream_wait_ && low) {
      s.upstream_wait_ = false;
      resume = s.upstream_;
    }
  }
  if (resume != nullptr) resume->Resume();
}

bool IoLoop::WriteOut(StreamSession& s, absl::Time now) {
  while (s.io_off_ < s.io_out_.size()) {
    const ssize_t n =
        ::send(s.fd_, s.io_out_.data() + s.io_off_,
               s.io_out_.size() - s.io_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      s.io_off_ += static_cast<size_t>(n);
      s.io_bytes_ += static_cast<uint64_t>(n);
      stats_->bytes_relayed.fetch_add(static_cast<uint64_t>(n),
                                      std::memory_order_relaxed);
      s.io_last_write_ = now;
      s.io_stalled_since_ = absl::InfiniteFuture();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (s.io_stalled_since_ == absl::InfiniteFuture()) {
        s.io_stalled_since_ = now;
        stats_->write_stalls.fetch_add(1, std::memory_order_relaxed);
      }
      SetWantOut(s, true);
      return true;
    }
    return false;  // EPIPE, ECONNRESET, ...
  }
  SetWantOut(s, false);
  s.io_out_.clear();
  s.io_off_ = 0;
  if (s.io_out_.capacity() > kShrinkAbove) std::string().swap(s.io_out_);
  return true;
}

void IoLoop::Close(const std::shared_ptr<StreamSession>& sp, Outcome outcome,
                   bool fd_is_ours) {
  StreamSession& s = *sp;
  auto it = sessions_.find(s.fd_);
  if (it == sessions_.end() || it->second != sp) return;
  if (fd_is_ours) epoll_ctl(epfd_, EPOLL_CTL_DEL, s.fd_, nullptr);
  std::shared_ptr<Upstream> upstream;
  uint64_t events = 0;
  uint64_t bytes = 0;
  {
    // Marked closed before the descriptor goes: a gRPC thread writes
    // directly only under mu_ and only while http_closed_ is false, so it
    // can never write to this fd number once it belongs to another client.
    // An upstream set after this point is refused (SetUpstream), so the one
    // taken here is the only one that can still be feeding the stream.
    std::lock_guard<std::mutex> lock(s.mu_);
    s.http_closed_ = true;
    upstream = std::move(s.upstream_);
    s.upstream_wait_ = false;
    s.outcome_ = outcome;
    events = s.events_;
    bytes = s.io_bytes_ + s.direct_bytes_;
    std::string().swap(s.pending_);
  }
  // The books first, the socket last: a client that sees its connection end
  // and at once reconnects (or asks /metrics) finds its admission slot free
  // and its stream counted.
  s.registry_->Release(s.client_ip_);
  stats_->Count(outcome);
  if (s.settings_->route_stats) {
    s.settings_->route_stats->Count(outcome);
    s.settings_->route_stats->open_streams.fetch_sub(1,
                                                     std::memory_order_relaxed);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
  spdlog::info(
      "stream close route={} client={} duration_ms={} events={} "
      "bytes={} outcome={}",
      s.settings_->route_path, s.client_ip_,
      absl::ToInt64Milliseconds(absl::Now() - s.started_), events, bytes,
      OutcomeName(outcome));
  // Shutting the socket down also makes Pistache see EOF on its own fd and
  // clean its side up; our dup stays valid until close() below.
  if (fd_is_ours) {
    ::shutdown(s.fd_, SHUT_RDWR);
    ::close(s.fd_);
  }
  if (upstream != nullptr) upstream->Leave(&s);
  std::string().swap(s.io_out_);
  sessions_.erase(it);
}

void IoLoop::Tick(absl::Time now) {
  std::vector<std::shared_ptr<StreamSession>> to_flush;
  std::vector<std::shared_ptr<StreamSession>> timed_out;
  std::vector<std::shared_ptr<StreamSession>> expired;
  std::vector<std::shared_ptr<StreamSession>> auth_expired;
  std::vector<std::shared_ptr<StreamSession>> slow_shared;
  for (auto& [fd, sp] : sessions_) {
    StreamSession& s = *sp;
    const SessionSettings& cfg = *s.settings_;
    if (s.io_off_ < s.io_out_.size() &&
        now - s.io_stalled_since_ > cfg.write_timeout) {
      timed_out.push_back(sp);
      continue;
    }
    if (cfg.max_duration > absl::ZeroDuration() &&
        now - s.started_ > cfg.max_duration) {
      expired.push_back(sp);
      continue;
    }
    if (now >= s.expires_) {
      s.expires_ = absl::InfiniteFuture();  // ended once
      auth_expired.push_back(sp);
      continue;
    }
    bool flush = false;
    std::shared_ptr<Upstream> upstream;
    {
      std::lock_guard<std::mutex> lock(s.mu_);
      upstream = s.upstream_;
      if (s.upstream_wait_ && upstream != nullptr && upstream->shared() &&
          now - s.upstream_wait_since_ >
              std::min(kSharedWaitLimit, cfg.write_timeout / 2)) {
        // Its client has held the shared call back too long: it ends once
        // what it has buffered is written, and the others go on.
        s.DropFromSharedLocked();
        slow_shared.push_back(sp);
        to_flush.push_back(sp);  // closes it at once if nothing is left
      }
      if (s.head_state_ == StreamSession::Head::kWaiting) {
        if (now - s.started_ > cfg.header_wait) {
          s.CommitHeadLocked();
          flush = s.NeedFlushLocked();
        }
      } else if (cfg.heartbeat > absl::ZeroDuration() &&
                 now - std::max(s.io_last_write_, s.direct_last_write_) >=
                     cfg.heartbeat &&
                 s.pending_.empty() && s.io_off_ == s.io_out_.size() &&
                 !s.finishing_) {
        s.pending_.append(": ping\n");
        stats_->heartbeats.fetch_add(1, std::memory_order_relaxed);
        flush = s.NeedFlushLocked();
      }
    }
    if (flush) to_flush.push_back(sp);
    // Without the session's lock: a call's lock comes before a session's.
    if (upstream != nullptr &&
        upstream->CancelIfStuck(now, kStuckAfterReadEnd)) {
      spdlog::warn(
          "route {}: upstream message could not be parsed; ending "
          "the {}",
          cfg.route_path, upstream->shared() ? "shared call" : "stream");
    }
  }
  for (auto& s : timed_out) {
    spdlog::warn("route {}: client {} accepted no bytes for {}; closing",
                 s->settings_->route_path, s->client_ip_,
                 absl::FormatDuration(s->settings_->write_timeout));
    Close(s, Outcome::kTimeout);
  }
  for (auto& s : expired) {
    s->EndEarly(s->settings_->terminal_event, s->settings_->error_retry_ms,
                Outcome::kTimeout);
  }
  for (auto& s : auth_expired) {
    spdlog::info("route {}: client {} token expired; ending the stream",
                 s->settings_->route_path, s->client_ip_);
    s->EndEarly(s->settings_->auth_expired_event, s->settings_->error_retry_ms,
                Outcome::kAuthExpired);
  }
  for (auto& s : slow_shared) {
    spdlog::warn("route {}: client {} too slow for the shared call; closing",
                 s->settings_->route_path, s->client_ip_);
    s->StopUpstream();  // unsubscribes; the call reads on
  }
  for (auto& s : to_flush) Flush(s);
}

}  // namespace ssebridge::frontend
