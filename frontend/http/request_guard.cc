#include "frontend/http/request_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ssebridge::frontend {
namespace {

constexpr absl::string_view kCrlf = "\r\n";

// RFC 9110 token characters, the only ones a field name may hold.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
             absl::string_view::npos;
}

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

RequestGuard::Result RequestGuard::Feed(absl::string_view data) {
  if (state_ == State::kClosed) return {};
  buf_.append(data.data(), data.size());
  Result r = Step();
  // Consumed chunked framing is dropped once per read, not once per chunk.
  if (state_ != State::kHead && state_ != State::kBody && pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return r;
}

RequestGuard::Result RequestGuard::Step() {
  while (true) {
    switch (state_) {
      case State::kClosed:
        return {};
      case State::kHead: {
        const size_t end = buf_.find("\r\n\r\n", scan_from_);
        if (end == std::string::npos) {
          if (buf_.size() > max_bytes_) {
            return Refuse(431, "request header fields too large");
          }
          scan_from_ = buf_.size() >= 3 ? buf_.size() - 3 : 0;
          return {};
        }
        Result r = ParseHead(end + 4);
        if (r.kind != Result::kNeedMore) return r;
        break;
      }
      case State::kBody:
        if (buf_.size() < request_end_) return {};
        buf_.resize(request_end_);  // bytes behind it are dropped
        return Complete(std::move(buf_));
      case State::kChunkSize: {
        const size_t eol = buf_.find("\r\n", pos_);
        if (eol == std::string::npos) {
          if (buf_.size() - pos_ > kMaxChunkLine) {
            return Refuse(400, "malformed chunked body: chunk size line");
          }
          return {};
        }
        absl::string_view line(buf_.data() + pos_, eol - pos_);
        size_t digits = 0;
        while (digits < line.size() &&
               absl::ascii_isxdigit(static_cast<unsigned char>(line[digits]))) {
          ++digits;
        }
        absl::string_view rest = TrimOws(line.substr(digits));
        uint64_t size = 0;
        if (digits == 0 || digits > 15 || (!rest.empty() && rest[0] != ';') ||
            !absl::SimpleHexAtoi(line.substr(0, digits), &size)) {
          return Refuse(400, "malformed chunked body: chunk size");
        }
        pos_ = eol + 2;
        if (size == 0) {
          state_ = State::kTrailer;
          break;
        }
        if (head_.size() + body_.size() + size > max_bytes_) {
          return Refuse(413, "request body too large");
        }
        chunk_left_ = size;
        state_ = State::kChunkData;
        break;
      }
      case State::kChunkData: {
        const size_t take = std::min(buf_.size() - pos_, chunk_left_);
        body_.append(buf_, pos_, take);
        pos_ += take;
        chunk_left_ -= take;
        if (chunk_left_ > 0) return {};
        state_ = State::kChunkEnd;
        break;
      }
      case State::kChunkEnd:
        if (buf_.size() - pos_ < 2) return {};
        if (buf_.compare(pos_, 2, "\r\n") != 0) {
          return Refuse(400, "malformed chunked body: no CRLF after data");
        }
        pos_ += 2;
        state_ = State::kChunkSize;
        break;
      case State::kTrailer: {
        // Trailer fields are read and dropped: nothing downstream uses them.
        const size_t eol = buf_.find("\r\n", pos_);
        const size_t avail =
            (eol == std::string::npos ? buf_.size() : eol) - pos_;
        if (trailer_bytes_ + avail > kMaxChunkLine) {
          return Refuse(431, "request trailer fields too large");
        }
        if (eol == std::string::npos) return {};
        pos_ = eol + 2;
        if (avail == 0) {
          std::string request = std::move(head_);
          absl::StrAppend(&request, "\r\nContent-Length: ", body_.size(),
                          "\r\n\r\n", body_);
          return Complete(std::move(request));
        }
        trailer_bytes_ += avail + 2;
        break;
      }
    }
  }
}

RequestGuard::Result RequestGuard::ParseHead(size_t head_end) {
  // The head without its final CRLFCRLF; the first line is the request
  // line, which Pistache checks itself.
  absl::string_view head(buf_.data(), head_end - 4);
  size_t line_end = head.find(kCrlf);
  absl::string_view request_line = head.substr(0, line_end);
  bool has_length = false;
  uint64_t length = 0;
  bool chunked = false;
  std::string kept(request_line);
  while (line_end != absl::string_view::npos) {
    const size_t start = line_end + 2;
    line_end = head.find(kCrlf, start);
    absl::string_view line = head.substr(
        start, line_end == absl::string_view::npos ? absl::string_view::npos
                                                   : line_end - start);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      return Refuse(400, "folded header line");
    }
    const size_t colon = line.find(':');
    if (colon == 0 || colon == absl::string_view::npos) {
      return Refuse(400, "malformed header line");
    }
    absl::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return Refuse(400, "malformed header name");
    }
    absl::string_view value = TrimOws(line.substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      if (has_length) return Refuse(400, "more than one Content-Length");
      has_length = true;
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        return Refuse(400, "invalid Content-Length");
      }
      (void)absl::SimpleAtoi(value, &length);
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      if (chunked || !absl::EqualsIgnoreCase(value, "chunked")) {
        return Refuse(501, "unsupported Transfer-Encoding (only chunked)");
      }
      chunked = true;
      continue;  // replaced by a Content-Length once the body is decoded
    }
    absl::StrAppend(&kept, kCrlf, line);
  }
  if (has_length && chunked) {
    return Refuse(400, "both Content-Length and Transfer-Encoding");
  }
  if (chunked) {
    head_ = std::move(kept);
    body_.clear();
    trailer_bytes_ = 0;
    pos_ = head_end;
    state_ = State::kChunkSize;
    return {};
  }
  if (length > max_bytes_ || head_end + length > max_bytes_) {
    return Refuse(413, "request body too large");
  }
  if (length == 0) {
    buf_.resize(head_end);  // bytes behind it are dropped
    return Complete(std::move(buf_));
  }
  request_end_ = head_end + length;
  state_ = State::kBody;
  return {};
}

void RequestGuard::Stop() {
  state_ = State::kClosed;
  std::string().swap(buf_);
  head_.clear();
  body_.clear();
}

RequestGuard::Result RequestGuard::Complete(std::string request) {
  request.push_back('\0');
  state_ = State::kHead;
  buf_.clear();
  pos_ = 0;
  scan_from_ = 0;
  head_.clear();
  body_.clear();
  Result r;
  r.kind = Result::kRequest;
  r.request = std::move(request);
  return r;
}

RequestGuard::Result RequestGuard::Refuse(int code, std::string message) {
  Stop();
  Result r;
  r.kind = Result::kRefuse;
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace ssebridge::frontend
