#include "frontend/http/request_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::frontend {
namespace {

constexpr absl::string_view kCrlf = "\r\n";

// RFC 9110 token characters: methods and field names.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
             absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// Visible US-ASCII: what a request-target consists of.
bool IsVchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

bool IsCtl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool IsHexDigit(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c));
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

// The methods Pistache 0.0.5 parses, less CONNECT (no tunnels here).
bool IsServedMethod(absl::string_view m) {
  for (absl::string_view known :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"}) {
    if (m == known) return true;
  }
  return false;
}

// A port after a colon: 1 to 5 digits, at most 65535 (Pistache throws on an
// empty or larger one).
bool IsValidPort(absl::string_view p) {
  uint32_t v = 0;
  return !p.empty() && p.size() <= 5 &&
         std::all_of(p.begin(), p.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(p, &v) && v <= 65535;
}

// uri-host [ ":" port ] (RFC 3986): an IP literal in brackets, or a
// reg-name / IPv4 address of unreserved, pct-encoded and sub-delim chars.
// Empty is valid (RFC 9110 7.2).
bool IsValidHost(absl::string_view s) {
  if (s.empty()) return true;
  absl::string_view rest;
  if (s[0] == '[') {
    const size_t close = s.find(']');
    if (close == absl::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!IsHexDigit(c) && c != ':' && c != '.') return false;
    }
    rest = s.substr(close + 1);
  } else {
    const size_t colon = s.find(':');
    absl::string_view host = s.substr(0, colon);
    if (host.empty()) return false;
    for (size_t i = 0; i < host.size(); ++i) {
      const char c = host[i];
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
          absl::string_view("-._~!$&'()*+,;=").find(c) !=
              absl::string_view::npos) {
        continue;
      }
      if (c == '%' && i + 2 < host.size() && IsHexDigit(host[i + 1]) &&
          IsHexDigit(host[i + 2])) {
        i += 2;
        continue;
      }
      return false;
    }
    rest = colon == absl::string_view::npos ? "" : s.substr(colon);
  }
  if (rest.empty()) return true;
  return rest[0] == ':' && IsValidPort(rest.substr(1));
}

}  // namespace

RequestGuard::RequestGuard(size_t max_request_bytes, size_t max_head_bytes)
    : max_bytes_(max_request_bytes),
      max_head_bytes_(std::min(max_head_bytes, max_request_bytes)) {}

RequestGuard::Result RequestGuard::Feed(absl::string_view data) {
  Result r = Buffer(data);
  if (r.kind != Result::kNeedMore) return r;
  return Next();
}

RequestGuard::Result RequestGuard::Buffer(absl::string_view data) {
  if (state_ == State::kClosed) return {};
  buf_.append(data.data(), data.size());
  // A request in progress holds at most a head and max_bytes_ (chunk framing
  // is dropped as it is decoded); more is requests sent ahead of answers the
  // client does not read.
  if (buf_.size() > max_bytes_ + max_head_bytes_) {
    return Refuse(429, "too many pipelined requests");
  }
  return {};
}

RequestGuard::Result RequestGuard::Next() {
  if (state_ == State::kClosed) return {};
  Result r = Step();
  // Consumed chunked framing is dropped once per call, not once per chunk.
  if (state_ != State::kHead && state_ != State::kBody &&
      state_ != State::kClosed && pos_ > 0) {
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
        Result r = ScanHead();
        if (r.kind != Result::kNeedMore || state_ == State::kHead) return r;
        break;
      }
      case State::kBody:
        if (buf_.size() < request_end_) return {};
        return Complete(
            absl::StrCat(head_, "\r\n\r\n",
                         absl::string_view(buf_).substr(body_start_, length_)),
            request_end_);
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
        while (digits < line.size() && IsHexDigit(line[digits])) ++digits;
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
          return Complete(absl::StrCat(head_, "\r\nContent-Length: ",
                                       body_.size(), "\r\n\r\n", body_),
                          pos_);
        }
        trailer_bytes_ += avail + 2;
        break;
      }
    }
  }
}

RequestGuard::Result RequestGuard::ScanHead() {
  // Every byte of the head is checked once, as it arrives; each line is
  // parsed as soon as its CRLF is there, so a bad request line or header is
  // refused without waiting for the rest of the head.
  while (scan_ < buf_.size()) {
    const char c = buf_[scan_];
    if (c == '\n') return Refuse(400, "bare LF in the request head");
    if (c != '\r') {
      if (IsCtl(c) && c != '\t') {
        return Refuse(400, "control character in the request head");
      }
      ++scan_;
      continue;
    }
    if (scan_ + 1 == buf_.size()) break;  // its LF may be in the next read
    if (buf_[scan_ + 1] != '\n') {
      return Refuse(400, "bare CR in the request head");
    }
    absl::string_view line(buf_.data() + line_, scan_ - line_);
    scan_ += 2;
    line_ = scan_;
    if (!have_request_line_) {
      if (line.empty()) {
        // An empty line before the request line is ignored (RFC 9112 2.2).
        head_start_ = scan_;
        continue;
      }
      if (scan_ - head_start_ > max_head_bytes_) {
        return Refuse(414, "request line too long");
      }
      Result r = ParseRequestLine(line);
      if (r.kind != Result::kNeedMore) return r;
      continue;
    }
    if (scan_ - head_start_ > max_head_bytes_) {
      return Refuse(431, "request header fields too large");
    }
    if (line.empty()) return EndOfHead(scan_);
    Result r = ParseHeaderLine(line);
    if (r.kind != Result::kNeedMore) return r;
  }
  if (buf_.size() - head_start_ > max_head_bytes_) {
    return have_request_line_ ? Refuse(431, "request header fields too large")
                              : Refuse(414, "request line too long");
  }
  if (!have_request_line_ && head_start_ > 0) {
    // Skipped empty lines are not kept.
    buf_.erase(0, head_start_);
    scan_ -= head_start_;
    line_ -= head_start_;
    head_start_ = 0;
  }
  return {};
}

RequestGuard::Result RequestGuard::ParseRequestLine(absl::string_view line) {
  // method SP request-target SP HTTP-version, with exactly those two spaces.
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == absl::string_view::npos ? absl::string_view::npos
                                                    : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos ||
      line.find(' ', sp2 + 1) != absl::string_view::npos) {
    return Refuse(400, "malformed request line");
  }
  const absl::string_view method = line.substr(0, sp1);
  const absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const absl::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() ||
      !std::all_of(target.begin(), target.end(), IsVchar)) {
    return Refuse(400, "malformed request line");
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(version[5]) || version[6] != '.' ||
      !absl::ascii_isdigit(version[7])) {
    return Refuse(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Refuse(505, "HTTP version not supported");
  // A higher HTTP/1 minor version is served as 1.1 (RFC 9110 2.5).
  http10_ = version[7] == '0';
  if (!IsServedMethod(method)) return Refuse(501, "method not implemented");

  absl::string_view origin = target;
  std::string rewritten;
  if (target == "*") {
    if (method != "OPTIONS") return Refuse(400, "malformed request target");
  } else if (target[0] != '/') {
    // absolute-form: passed on in origin form, its authority as Host
    // (RFC 9112 3.2.2).
    const std::string scheme = absl::AsciiStrToLower(target.substr(0, 8));
    const size_t skip = absl::StartsWith(scheme, "http://")    ? 7
                        : absl::StartsWith(scheme, "https://") ? 8
                                                               : 0;
    if (skip == 0) return Refuse(400, "malformed request target");
    const absl::string_view rest = target.substr(skip);
    const size_t end = rest.find_first_of("/?");
    const absl::string_view authority = rest.substr(0, end);
    if (authority.empty() || !IsValidHost(authority)) {
      return Refuse(400, "invalid authority in request target");
    }
    authority_ = std::string(authority);
    const absl::string_view path =
        end == absl::string_view::npos ? "" : rest.substr(end);
    rewritten = absl::StrCat(absl::StartsWith(path, "/") ? "" : "/", path);
    origin = rewritten;
  }
  head_ =
      absl::StrCat(method, " ", origin, http10_ ? " HTTP/1.0" : " HTTP/1.1");
  have_request_line_ = true;
  return {};
}

RequestGuard::Result RequestGuard::ParseHeaderLine(absl::string_view line) {
  // field-name ":" OWS field-value OWS; controls are already refused.
  if (line[0] == ' ' || line[0] == '\t') {
    return Refuse(400, "folded header line");
  }
  const size_t colon = line.find(':');
  if (colon == 0 || colon == absl::string_view::npos) {
    return Refuse(400, "malformed header line");
  }
  const absl::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return Refuse(400, "malformed header name");
  const absl::string_view value = TrimOws(line.substr(colon + 1));
  if (absl::EqualsIgnoreCase(name, "host")) {
    if (++hosts_ > 1) return Refuse(400, "more than one Host");
    if (!authority_.empty()) {
      // The target's authority counts, not the field (RFC 9112 3.2.2).
      absl::StrAppend(&head_, kCrlf, "Host: ", authority_);
      return {};
    }
    if (!IsValidHost(value)) return Refuse(400, "invalid Host");
  } else if (absl::EqualsIgnoreCase(name, "content-length")) {
    if (has_length_) return Refuse(400, "more than one Content-Length");
    has_length_ = true;
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), absl::ascii_isdigit)) {
      return Refuse(400, "invalid Content-Length");
    }
    (void)absl::SimpleAtoi(value, &length_);
  } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
    if (http10_) return Refuse(400, "Transfer-Encoding in HTTP/1.0");
    if (chunked_ || !absl::EqualsIgnoreCase(value, "chunked")) {
      return Refuse(501, "unsupported Transfer-Encoding (only chunked)");
    }
    chunked_ = true;
    return {};  // replaced by a Content-Length once the body is decoded
  } else if (absl::EqualsIgnoreCase(name, "expect")) {
    if (!absl::EqualsIgnoreCase(value, "100-continue")) {
      return Refuse(417, "unsupported expectation");
    }
    expect_continue_ = true;
  } else if (absl::EqualsIgnoreCase(name, "connection")) {
    for (absl::string_view option : absl::StrSplit(value, ',')) {
      option = TrimOws(option);
      if (absl::EqualsIgnoreCase(option, "close")) connection_close_ = true;
      if (absl::EqualsIgnoreCase(option, "keep-alive")) {
        connection_keep_alive_ = true;
      }
    }
  }
  absl::StrAppend(&head_, kCrlf, line);
  return {};
}

RequestGuard::Result RequestGuard::EndOfHead(size_t head_end) {
  if (!http10_ && hosts_ == 0) return Refuse(400, "no Host");
  if (hosts_ == 0 && !authority_.empty()) {
    absl::StrAppend(&head_, kCrlf, "Host: ", authority_);
  }
  if (has_length_ && chunked_) {
    return Refuse(400, "both Content-Length and Transfer-Encoding");
  }
  const size_t head_bytes = head_end - head_start_;
  if (!chunked_ &&
      (length_ > max_bytes_ || head_bytes + length_ > max_bytes_)) {
    return Refuse(413, "request body too large");
  }
  // The client waits for 100 (Continue) only if it has not sent the body
  // yet; HTTP/1.0 clients do not wait (RFC 9110 10.1.1).
  const bool send_continue = expect_continue_ && !http10_ &&
                             (chunked_ || length_ > 0) &&
                             buf_.size() == head_end;
  if (chunked_) {
    body_.clear();
    trailer_bytes_ = 0;
    pos_ = head_end;
    state_ = State::kChunkSize;
  } else if (length_ == 0) {
    return Complete(absl::StrCat(head_, "\r\n\r\n"), head_end);
  } else {
    body_start_ = head_end;
    request_end_ = head_end + length_;
    state_ = State::kBody;
  }
  if (send_continue) {
    Result r;
    r.kind = Result::kContinue;
    return r;
  }
  return {};
}

void RequestGuard::Stop() {
  stopped_ = true;
  state_ = State::kClosed;
  Drop();
}

void RequestGuard::Drop() {
  std::string().swap(buf_);
  std::string().swap(head_);
  std::string().swap(body_);
}

RequestGuard::Result RequestGuard::Complete(std::string request,
                                            size_t consumed) {
  request.push_back('\0');
  Result r;
  r.kind = Result::kRequest;
  r.request = std::move(request);
  r.close = connection_close_ || (http10_ && !connection_keep_alive_);
  if (r.close) {
    state_ = State::kClosed;  // whatever follows is never answered
    Drop();
    return r;
  }
  buf_.erase(0, consumed);
  state_ = State::kHead;
  head_start_ = scan_ = line_ = 0;
  have_request_line_ = http10_ = false;
  authority_.clear();
  hosts_ = 0;
  has_length_ = chunked_ = expect_continue_ = false;
  length_ = 0;
  connection_close_ = connection_keep_alive_ = false;
  head_.clear();
  pos_ = request_end_ = body_start_ = chunk_left_ = trailer_bytes_ = 0;
  body_.clear();
  return r;
}

RequestGuard::Result RequestGuard::Refuse(int code, std::string message) {
  state_ = State::kClosed;
  Drop();
  Result r;
  r.kind = Result::kRefuse;
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace ssebridge::frontend
