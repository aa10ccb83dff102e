// Incremental HTTP/1.1 response reader for the load client (sse_load): fed
// the bytes read from a socket, it parses the status line and headers, then
// hands out the body decoded from Content-Length, chunked or
// close-delimited framing. Enough HTTP for SSE subscribers and publish
// requests against sse-bridge, nginx/nchan and Pushpin; no 1xx responses,
// no HEAD.
//
// Not thread-safe; one reader per response.
#ifndef SSEBRIDGE_TESTS_BENCH_HTTP_RESPONSE_H_
#define SSEBRIDGE_TESTS_BENCH_HTTP_RESPONSE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ssebridge::bench {

class HttpResponseReader {
 public:
  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  // Consumes `in`; calls on_body(absl::string_view) with each piece of
  // decoded body. Returns false on a malformed response (then stop feeding).
  template <typename OnBody>
  bool Feed(absl::string_view in, OnBody&& on_body) {
    while (!in.empty()) {
      switch (state_) {
        case State::kHead: {
          const size_t old = head_.size();
          head_.append(in.data(), std::min(in.size(), kMaxHeadBytes));
          const size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
          if (end == std::string::npos) {
            if (head_.size() >= kMaxHeadBytes) return false;
            return true;  // all of `in` is head so far
          }
          const size_t used = end + 4 - old;
          head_.resize(end + 4);
          in.remove_prefix(used);
          if (!ParseHead()) return false;
          break;
        }
        case State::kIdentity:
          on_body(in);
          return true;
        case State::kLength: {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
          on_body(in.substr(0, n));
          in.remove_prefix(n);
          remaining_ -= n;
          if (remaining_ == 0) state_ = State::kDone;
          break;
        }
        case State::kChunkSize:
        case State::kChunkEnd:
        case State::kTrailer: {
          const size_t nl = in.find('\n');
          const size_t take =
              nl == absl::string_view::npos ? in.size() : nl + 1;
          line_.append(in.data(), take);
          in.remove_prefix(take);
          if (line_.size() > 4096) return false;
          if (nl == absl::string_view::npos) break;
          absl::string_view line = absl::StripTrailingAsciiWhitespace(line_);
          if (state_ == State::kChunkSize) {
            line = line.substr(0, line.find(';'));
            uint64_t size = 0;
            if (line.empty() || !absl::SimpleHexAtoi(line, &size)) return false;
            remaining_ = size;
            state_ = size == 0 ? State::kTrailer : State::kChunkData;
          } else if (state_ == State::kChunkEnd) {
            if (!line.empty()) return false;
            state_ = State::kChunkSize;
          } else if (line.empty()) {
            state_ = State::kDone;
          }
          line_.clear();
          break;
        }
        case State::kChunkData: {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
          on_body(in.substr(0, n));
          in.remove_prefix(n);
          remaining_ -= n;
          if (remaining_ == 0) state_ = State::kChunkEnd;
          break;
        }
        case State::kDone:
          return true;  // bytes after the response are ignored
      }
    }
    return true;
  }

  bool head_done() const { return state_ != State::kHead; }
  // The response is complete (Content-Length or chunked framing ended).
  bool complete() const { return state_ == State::kDone; }
  int status() const { return status_; }
  // The first header named `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const {
    for (absl::string_view line : absl::StrSplit(head_, "\r\n")) {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      if (absl::EqualsIgnoreCase(
              absl::StripAsciiWhitespace(line.substr(0, colon)), name)) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
    return std::nullopt;
  }

  // Ready for the next response on the same (keep-alive) connection.
  void Reset() { *this = HttpResponseReader(); }

 private:
  enum class State {
    kHead,
    kIdentity,
    kLength,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailer,
    kDone
  };

  bool ParseHead() {
    // "HTTP/1.1 200 OK"
    if (!absl::StartsWith(head_, "HTTP/1.") || head_.size() < 12 ||
        head_[8] != ' ') {
      return false;
    }
    if (!absl::SimpleAtoi(absl::string_view(head_).substr(9, 3), &status_)) {
      return false;
    }
    if (auto te = Header("transfer-encoding");
        te && absl::StrContains(absl::AsciiStrToLower(*te), "chunked")) {
      state_ = State::kChunkSize;
    } else if (auto cl = Header("content-length")) {
      if (!absl::SimpleAtoi(*cl, &remaining_)) return false;
      state_ = remaining_ == 0 ? State::kDone : State::kLength;
    } else if (status_ == 204 || status_ == 304) {
      state_ = State::kDone;
    } else {
      state_ = State::kIdentity;
    }
    return true;
  }

  State state_ = State::kHead;
  std::string head_;
  std::string line_;
  uint64_t remaining_ = 0;
  int status_ = 0;
};

}  // namespace ssebridge::bench

#endif  // SSEBRIDGE_TESTS_BENCH_HTTP_RESPONSE_H_
