#include "frontend/relay/stream_session.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/sse/encoder.h"
#include "common/tsan/annotations.h"
#include "common/status/grpc_status.h"
#include "frontend/relay/responses.h"
#include "frontend/relay/io_loop.h"
#include "frontend/relay/shared_call.h"
#include "frontend/relay/stream_registry.h"
#include "spdlog/spdlog.h"

#define TSAN_ACQUIRE(p) SSEBRIDGE_TSAN_ACQUIRE(p)
#define TSAN_RELEASE(p) SSEBRIDGE_TSAN_RELEASE(p)

namespace ssebridge::frontend {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::ActionService;

StreamSession::StreamSession(const SessionSettings* settings, IoLoop* loop,
                             StreamRegistry* registry, FrontendStats* stats,
                             int fd, std::string client_ip,
                             std::string response_head, ResponseMode mode)
    : settings_(settings),
      loop_(loop),
      registry_(registry),
      stats_(stats),
      fd_(fd),
      client_ip_(std::move(client_ip)),
      started_(absl::Now()),
      mode_(mode),
      head_(std::move(response_head)) {
  stats_->open_streams.fetch_add(1, std::memory_order_relaxed);
}

StreamSession::~StreamSession() {
  stats_->open_streams.fetch_sub(1, std::memory_order_relaxed);
}

void StreamSession::Start(
    ActionService::Stub* stub, ActionRequest request,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    bool headers_now) {
  request_ = std::move(request);
  for (const auto& [k, v] : metadata) ctx_.AddMetadata(k, v);
  bool flush = false;
  if (headers_now) {
    std::lock_guard<std::mutex> lock(mu_);
    CommitHeadLocked();
    flush = NeedFlushLocked();
  }
  ScheduleFlush(flush);
  self_ = shared_from_this();
  stub->async()->Run(&ctx_, &request_, this);
  TSAN_RELEASE(this);
  StartRead(&event_);
  StartCall();
}

void StreamSession::CommitHeadLocked() {
  // A collected response has no head until the call has ended.
  if (head_state_ != Head::kWaiting || mode_ == ResponseMode::kCollectHtml) {
    return;
  }
  head_state_ = Head::kSent;
  if (settings_->retry_ms > 0) common::sse::AppendRetry(settings_->retry_ms, head_);
  // A first comment makes clients and proxies see the stream is open now.
  head_.append(": ok\n\n");
  head_.append(pending_);
  pending_.swap(head_);
  std::string().swap(head_);
}

bool StreamSession::NeedFlushLocked() {
  if (queued_ || http_closed_ || head_state_ == Head::kWaiting) return false;
  queued_ = true;
  return true;
}

bool StreamSession::WriteDirectLocked() {
  if (pending_.empty()) return false;
  if (!direct_ok_ || queued_ || unsent_ != 0 || http_closed_ ||
      head_state_ != Head::kSent) {
    return NeedFlushLocked();
  }
  ssize_t n;
  do {
    n = ::send(fd_, pending_.data(), pending_.size(),
               MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    direct_bytes_ += static_cast<uint64_t>(n);
    direct_last_write_ = absl::Now();
    stats_->bytes_relayed.fetch_add(static_cast<uint64_t>(n),
                                    std::memory_order_relaxed);
    if (static_cast<size_t>(n) == pending_.size()) {
      pending_.clear();
      return false;
    }
    pending_.erase(0, static_cast<size_t>(n));
  }
  // Short write, EAGAIN or an error: the loop retries, waits for EPOLLOUT
  // or finds the client gone, exactly as for a queued event.
  return NeedFlushLocked();
}

void StreamSession::ScheduleFlush(bool needed) {
  if (needed) loop_->Submit(shared_from_this());
}

size_t StreamSession::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size() + unsent_;
}

void StreamSession::OnReadInitialMetadataDone(bool ok) {
  TSAN_ACQUIRE(this);
  if (ok) CommitHead();
  TSAN_RELEASE(this);
}

void StreamSession::CommitHead() {
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CommitHeadLocked();
    flush = NeedFlushLocked();
  }
  ScheduleFlush(flush);
}

void StreamSession::OnReadDone(bool ok) {
  TSAN_ACQUIRE(this);
  if (!ok) {  // stream over; OnDone follows (see read_ended_at_)
    {
      std::lock_guard<std::mutex> lock(mu_);
      read_ended_at_ = absl::Now();
    }
    TSAN_RELEASE(this);
    return;
  }
  // Decided under the lock, done after it: gRPC calls (StartRead,
  // TryCancel) never run while holding mu_.
  enum class Next { kRead, kPause, kStop, kCancel } next = Next::kRead;
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_event_seen_) {
      first_event_seen_ = true;
      stats_->ObserveFirstEvent(absl::ToDoubleSeconds(absl::Now() - started_));
    }
    if (http_closed_ || finishing_) {
      // The client is gone (call being cancelled) or the stream was ended
      // by max duration / shutdown: read no further.
      next = Next::kStop;
    } else if (mode_ == ResponseMode::kCollectHtml) {
      if (!CollectLocked()) next = Next::kCancel;
    } else {
      AppendEventLocked();
      flush = WriteDirectLocked();
      const size_t buffered = pending_.size() + unsent_;
      stats_->NoteBuffered(buffered);
      if (buffered > settings_->high_water) {
        // Stop reading: gRPC flow control then pushes back on the service.
        // The hold keeps OnDone away until the IoLoop resumes or cancels.
        AddHold();
        read_paused_ = true;
        next = Next::kPause;
      }
    }
  }
  ScheduleFlush(flush);
  TSAN_RELEASE(this);
  switch (next) {
    case Next::kRead: StartRead(&event_); break;
    case Next::kCancel: ctx_.TryCancel(); break;
    case Next::kPause:
    case Next::kStop: break;
  }
}

bool AppendRouteEvent(const ssebridge::action::v1::Event& event,
                      const SessionSettings& settings, FrontendStats* stats,
                      std::string& out) {
  const size_t before = out.size();
  absl::Status s = common::sse::AppendEvent(event, out);
  const size_t max = settings.max_event_bytes;
  if (!s.ok()) {
    stats->invalid_events_dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("route {}: dropped invalid event from service: {}",
                 settings.route_path, std::string(s.message()));
    return false;
  }
  if (max > 0 && out.size() - before > max) {
    out.resize(before);
    stats->oversized_events_dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("route {}: dropped event over max_event_bytes ({} > {})",
                 settings.route_path, event.ByteSizeLong(), max);
    return false;
  }
  return true;
}

void StreamSession::AppendEventLocked() {
  CommitHeadLocked();
  if (AppendRouteEvent(event_, *settings_, stats_, pending_)) {
    ++events_;
    stats_->events_relayed.fetch_add(1, std::memory_order_relaxed);
  }
}

bool StreamSession::CollectLocked() {
  if (collected_.size() > settings_->max_event_bytes) {
    collect_overflow_ = true;
    return false;
  }
  ++events_;
  stats_->events_relayed.fetch_add(1, std::memory_order_relaxed);
  using ::ssebridge::action::v1::Event;
  switch (event_.payload_case()) {
    case Event::kHtml: collected_.append(event_.html()); break;
    case Event::kRaw: collected_.append(event_.raw()); break;
    case Event::kText:
      common::sse::AppendHtmlEscaped(event_.text(), collected_);
      break;
    case Event::kJson: {
      std::string json;
      common::sse::AppendJson(event_.json(), json);
      common::sse::AppendHtmlEscaped(json, collected_);
      break;
    }
    case Event::PAYLOAD_NOT_SET: break;
  }
  collected_.push_back('\n');
  return true;
}

void StreamSession::FinishLocked(absl::string_view name, absl::string_view data,
                                 uint32_t retry_ms, Outcome outcome) {
  common::sse::AppendSimpleEvent(name, data, retry_ms, pending_);
  finishing_ = true;
  outcome_ = outcome;
}

bool StreamSession::EndUpstreamLocked(const grpc::Status& status) {
  upstream_done_ = true;
  if (http_closed_ || finishing_) return false;
  absl::Status st = common::ToAbslStatus(status);
  if (unreadable_) {
    st = absl::InternalError(kUnparsableUpstream);
  }
  if (collect_overflow_) {
    pending_ = SimpleResponse(502, "upstream response too large\n", {});
    std::string().swap(collected_);
    head_state_ = Head::kRejected;
    finishing_ = true;
    outcome_ = Outcome::kUpstreamError;
  } else if (st.ok() && mode_ == ResponseMode::kCollectHtml) {
    pending_ = absl::StrCat(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Length: ", collected_.size(),
        "\r\nCache-Control: no-store\r\nConnection: close\r\n",
        head_, "\r\n", collected_);
    std::string().swap(collected_);
    head_state_ = Head::kRejected;  // a plain response, not a stream
    finishing_ = true;
    outcome_ = Outcome::kDone;
  } else if (!st.ok() && head_state_ == Head::kWaiting) {
    // Nothing sent yet: a real HTTP status is clearer than a 200 stream
    // that only carries an error.
    const int code = HttpStatusForUpstream(st.code());
    std::string body = absl::StrCat("upstream ",
                                    common::StatusCodeName(st.code()));
    if (settings_->expose_errors && !st.message().empty()) {
      absl::StrAppend(&body, ": ", st.message());
    }
    body.push_back('\n');
    std::vector<std::string> extra;
    if (code == 503) {
      extra.push_back(
          absl::StrCat("Retry-After: ", settings_->retry_after_seconds));
    }
    pending_ = SimpleResponse(code, body, extra);
    head_state_ = Head::kRejected;
    finishing_ = true;
    outcome_ = Outcome::kRejected;
  } else {
    CommitHeadLocked();
    if (st.ok()) {
      FinishLocked(settings_->terminal_event, "", 0, Outcome::kDone);
    } else {
      std::string json = "{\"code\":";
      google::protobuf::Value v;
      v.set_string_value(std::string(common::StatusCodeName(st.code())));
      common::sse::AppendJson(v, json);
      if (settings_->expose_errors) {
        v.set_string_value(std::string(st.message()));
        json.append(",\"message\":");
        common::sse::AppendJson(v, json);
      }
      json.push_back('}');
      FinishLocked("error", json, settings_->error_retry_ms,
                   Outcome::kUpstreamError);
    }
  }
  return NeedFlushLocked();
}

void StreamSession::OnDone(const grpc::Status& status) {
  TSAN_ACQUIRE(this);
  EndUpstream(status);
  // Drop the gRPC side's reference last; this may free the session.
  std::shared_ptr<StreamSession> keep = std::move(self_);
}

void StreamSession::EndUpstream(const grpc::Status& status) {
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush = EndUpstreamLocked(status);
  }
  ScheduleFlush(flush);
}

StreamSession::SharedVerdict StreamSession::SharedEvent(
    absl::string_view bytes) {
  bool flush = false;
  SharedVerdict verdict = SharedVerdict::kKeep;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (http_closed_ || finishing_) return SharedVerdict::kDrop;
    CommitHeadLocked();
    pending_.append(bytes.data(), bytes.size());
    ++events_;
    stats_->events_relayed.fetch_add(1, std::memory_order_relaxed);
    flush = NeedFlushLocked();
    const size_t buffered = pending_.size() + unsent_;
    stats_->NoteBuffered(buffered);
    if (buffered > settings_->high_water) {
      if (!shared_wait_) {
        shared_wait_ = true;
        shared_wait_since_ = absl::Now();
      }
      verdict = SharedVerdict::kPause;
    }
  }
  ScheduleFlush(flush);
  return verdict;
}

void StreamSession::DropFromSharedLocked() {
  stats_->shared_slow_dropped.fetch_add(1, std::memory_order_relaxed);
  shared_wait_ = false;
  upstream_done_ = true;
  finishing_ = true;
  outcome_ = Outcome::kTimeout;
}

void StreamSession::StopUpstream(bool cancel_own) {
  if (std::shared_ptr<SharedCall> call = shared()) {
    call->Detach(this);
  } else if (cancel_own) {
    ctx_.TryCancel();
  }
}

void StreamSession::EndEarly(absl::string_view event, uint32_t retry_ms,
                             Outcome outcome) {
  bool flush = false;
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (http_closed_ || finishing_) return;
    if (head_state_ == Head::kWaiting) {
      pending_ = SimpleResponse(503, "stream ended before it started\n",
                                {absl::StrCat("Retry-After: ", 
                                              settings_->retry_after_seconds)});
      head_state_ = Head::kRejected;
      finishing_ = true;
      outcome_ = outcome;
    } else {
      FinishLocked(event, "", retry_ms, outcome);
    }
    cancel = !upstream_done_;
    flush = NeedFlushLocked();
  }
  StopUpstream(cancel);
  ScheduleFlush(flush);
}

}  // namespace ssebridge::frontend
