#include "frontend/relay/stream_session.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/sse/encoder.h"
#include "common/status/grpc_status.h"
#include "frontend/relay/io_loop.h"
#include "frontend/relay/responses.h"
#include "frontend/relay/route_event.h"
#include "google/protobuf/struct.pb.h"

namespace ssebridge::frontend {

using ::ssebridge::action::v1::Event;

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

bool StreamSession::SetUpstream(std::shared_ptr<Upstream> upstream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (http_closed_) return false;
  upstream_ = std::move(upstream);
  return true;
}

bool StreamSession::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return http_closed_;
}

void StreamSession::CommitHeadLocked() {
  // A collected response has no head until the call has ended.
  if (head_state_ != Head::kWaiting || mode_ == ResponseMode::kCollectHtml) {
    return;
  }
  head_state_ = Head::kSent;
  if (settings_->retry_ms > 0)
    common::sse::AppendRetry(settings_->retry_ms, head_);
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

void StreamSession::CommitHead() {
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CommitHeadLocked();
    flush = NeedFlushLocked();
  }
  ScheduleFlush(flush);
}

StreamSink::Verdict StreamSession::OnMessage(const Event& event) {
  bool flush = false;
  Verdict verdict = Verdict::kKeep;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (http_closed_ || finishing_) {
      // The client is gone (the call is being cancelled) or the stream was
      // ended by max duration / shutdown: read no further.
      return Verdict::kDrop;
    }
    if (mode_ == ResponseMode::kCollectHtml) {
      // Over the limit: the call is cancelled and EndUpstream answers 502.
      bool over = false;
      ForEachRouteEvent(event, [&](const Event& e) {
        if (!over && !CollectLocked(e)) over = true;
      });
      if (over) return Verdict::kDrop;
    } else {
      CommitHeadLocked();
      // A batch is appended whole and written with one send.
      ForEachRouteEvent(event, [&](const Event& e) {
        if (AppendRouteEvent(e, *settings_, stats_, pending_)) {
          ++events_;
          stats_->events_relayed.fetch_add(1, std::memory_order_relaxed);
        }
      });
      flush = WriteDirectLocked();
      verdict = AfterAppendLocked();
    }
  }
  ScheduleFlush(flush);
  return verdict;
}

StreamSink::Verdict StreamSession::AfterAppendLocked() {
  const size_t buffered = pending_.size() + unsent_;
  stats_->NoteBuffered(buffered);
  if (buffered <= settings_->high_water) return Verdict::kKeep;
  if (!upstream_wait_) {
    upstream_wait_ = true;
    upstream_wait_since_ = absl::Now();
  }
  return Verdict::kPause;
}

bool StreamSession::CollectLocked(const Event& event) {
  if (collected_.size() > settings_->max_event_bytes) {
    collect_overflow_ = true;
    return false;
  }
  ++events_;
  stats_->events_relayed.fetch_add(1, std::memory_order_relaxed);
  switch (event.payload_case()) {
    case Event::kHtml:
      collected_.append(event.html());
      break;
    case Event::kRaw:
      collected_.append(event.raw());
      break;
    case Event::kText:
      common::sse::AppendHtmlEscaped(event.text(), collected_);
      break;
    case Event::kJson: {
      std::string json;
      common::sse::AppendJson(event.json(), json);
      common::sse::AppendHtmlEscaped(json, collected_);
      break;
    }
    case Event::PAYLOAD_NOT_SET:
      break;
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

bool StreamSession::EndUpstreamLocked(const absl::Status& st) {
  if (http_closed_ || finishing_) return false;
  if (collect_overflow_) {
    pending_ = SimpleResponse(502, "upstream response too large\n", {});
    std::string().swap(collected_);
    head_state_ = Head::kRejected;
    finishing_ = true;
    outcome_ = Outcome::kUpstreamError;
  } else if (st.ok() && mode_ == ResponseMode::kCollectHtml) {
    pending_ = absl::StrCat(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Length: ",
        collected_.size(),
        "\r\nCache-Control: no-store\r\nConnection: close\r\n", head_, "\r\n",
        collected_);
    std::string().swap(collected_);
    head_state_ = Head::kRejected;  // a plain response, not a stream
    finishing_ = true;
    outcome_ = Outcome::kDone;
  } else if (!st.ok() && head_state_ == Head::kWaiting) {
    // Nothing sent yet: a real HTTP status is clearer than a 200 stream
    // that only carries an error.
    const int code = HttpStatusForUpstream(st.code());
    std::string body =
        absl::StrCat("upstream ", common::StatusCodeName(st.code()));
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
      FinishLocked("error", UpstreamErrorData(st, settings_->expose_errors),
                   settings_->error_retry_ms, Outcome::kUpstreamError);
    }
  }
  return NeedFlushLocked();
}

void StreamSession::EndUpstream(const absl::Status& status) {
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush = EndUpstreamLocked(status);
  }
  ScheduleFlush(flush);
}

StreamSink::Verdict StreamSession::OnEncoded(absl::string_view bytes,
                                             size_t events) {
  bool flush = false;
  Verdict verdict = Verdict::kKeep;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (http_closed_ || finishing_) return Verdict::kDrop;
    CommitHeadLocked();
    pending_.append(bytes.data(), bytes.size());
    events_ += events;
    stats_->events_relayed.fetch_add(events, std::memory_order_relaxed);
    flush = NeedFlushLocked();
    verdict = AfterAppendLocked();
  }
  ScheduleFlush(flush);
  return verdict;
}

void StreamSession::DropFromSharedLocked() {
  stats_->shared_slow_dropped.fetch_add(1, std::memory_order_relaxed);
  upstream_wait_ = false;
  finishing_ = true;
  outcome_ = Outcome::kTimeout;
}

void StreamSession::StopUpstream() {
  std::shared_ptr<Upstream> upstream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    upstream = upstream_;
  }
  if (upstream != nullptr) upstream->Leave(this);
}

void StreamSession::EndEarly(absl::string_view event, uint32_t retry_ms,
                             Outcome outcome) {
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (http_closed_ || finishing_) return;
    if (head_state_ == Head::kWaiting) {
      pending_ = SimpleResponse(
          503, "stream ended before it started\n",
          {absl::StrCat("Retry-After: ", settings_->retry_after_seconds)});
      head_state_ = Head::kRejected;
      finishing_ = true;
      outcome_ = outcome;
    } else {
      FinishLocked(event, "", retry_ms, outcome);
    }
    flush = NeedFlushLocked();
  }
  StopUpstream();
  ScheduleFlush(flush);
}

}  // namespace ssebridge::frontend
