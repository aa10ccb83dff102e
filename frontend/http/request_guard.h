// Frames and checks the HTTP/1.1 requests of one connection (RFC 9112)
// before Pistache parses them.
//
// Pistache 0.0.5's request parser runs strtol()/strtod() over its receive
// buffer, which is not NUL-terminated: a chunk-size line, or a header such as
// "Cache-Control: max-age=", followed only by whitespace up to the end of the
// bytes received so far makes it read past the buffer (fixed upstream in
// 2024, after 0.0.5; our fuzzer found it). It is also lenient where RFC 9112
// is not (it waits forever on a request line without a version, takes any
// prefix of "HTTP/1.1" as a version, and answers a bad Host with 500). The
// guard therefore hands Pistache only whole requests it has checked, each
// followed by one NUL byte that stops those scans, and decodes chunked bodies
// itself, passing them on with a Content-Length so that Pistache's chunk
// parser never runs. It checks, and refuses with the status RFC 9112 names:
//   - the request line: method SP request-target SP HTTP-version, exactly
//     (400); HTTP/1.0 and 1.1 are served, a higher HTTP/1 minor version as
//     1.1, other versions get 505; methods Pistache does not know (and
//     CONNECT) 501; a request line longer than the head limit 414;
//   - the head: at most kMaxHeadBytes (431), no NUL, bare CR, bare LF or
//     other control character, no obs-fold, header names that are tokens,
//     exactly one valid Host in HTTP/1.1 and at most one in 1.0 (400);
//   - framing: one numeric Content-Length or Transfer-Encoding: chunked
//     (HTTP/1.1 only), head plus body within max_request_bytes (413);
//   - Expect: 100-continue is met with a kContinue result when the body has
//     not arrived yet; any other expectation gets 417.
// An absolute-form target is passed on in origin form, its authority as Host.
//
// Requests are released one at a time and in order: bytes behind a complete
// request (pipelining) stay buffered until Next() takes them, so the caller
// can answer each request before it parses the next. After a request
// that ends the connection (Connection: close, or HTTP/1.0 without
// keep-alive), after a refusal, and after Stop(), the guard takes nothing more.
//
// Not thread-safe: one guard per connection, used from that connection's
// Pistache transport thread only.
#ifndef SSEBRIDGE_FRONTEND_HTTP_REQUEST_GUARD_H_
#define SSEBRIDGE_FRONTEND_HTTP_REQUEST_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

class RequestGuard {
 public:
  struct Result {
    enum Kind {
      kNeedMore,  // nothing to do until more bytes arrive
      kContinue,  // send "HTTP/1.1 100 Continue" now, then call Next()
      kRequest,   // `request` is one whole request plus a NUL, for Pistache;
                  // then call Next()
      kRefuse,    // answer `code` / `message` and close the connection
    };
    Kind kind = kNeedMore;
    std::string request;
    // kRequest: the connection ends after this request's answer.
    bool close = false;
    int code = 0;
    std::string message;
  };

  // Largest request head (request line and header lines) accepted.
  static constexpr size_t kMaxHeadBytes = 64 * 1024;
  // Largest chunk-size line (with extensions) and trailer section accepted.
  static constexpr size_t kMaxChunkLine = 1024;

  // `max_request_bytes` bounds the head plus the (decoded) body; the head is
  // also bounded by `max_head_bytes`.
  explicit RequestGuard(size_t max_request_bytes,
                        size_t max_head_bytes = kMaxHeadBytes);

  // Takes the next bytes read from the connection and returns the first
  // thing to do about them: Buffer(data), then Next().
  Result Feed(absl::string_view data);
  // Takes bytes without parsing them yet (while an earlier answer is still
  // being written). kRefuse (429) once more than a whole request's worth is
  // buffered that way; kNeedMore otherwise.
  Result Buffer(absl::string_view data);
  // The next thing to do about bytes already taken: after kContinue and
  // kRequest, call until it returns kNeedMore.
  Result Next();

  // The connection now carries a stream, not requests: whatever the client
  // sends from here on, and whatever is still buffered, is dropped, never
  // parsed into a response that would land in the middle of the stream.
  void Stop();
  // Whether Stop() was called.
  bool stopped() const { return stopped_; }

 private:
  enum class State {
    kHead,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailer,
    kClosed
  };

  Result Step();
  Result ScanHead();
  Result ParseRequestLine(absl::string_view line);
  Result ParseHeaderLine(absl::string_view line);
  Result EndOfHead(size_t head_end);
  // Passes `request` on; the first `consumed` bytes of buf_ are done with.
  Result Complete(std::string request, size_t consumed);
  Result Refuse(int code, std::string message);
  void Drop();

  const size_t max_bytes_;
  const size_t max_head_bytes_;
  State state_ = State::kHead;
  bool stopped_ = false;
  std::string buf_;  // bytes received and not yet passed on

  // kHead: offsets into buf_. Empty lines before the request line are
  // skipped; bytes before scan_ have been checked; line_ is where the
  // current line starts.
  size_t head_start_ = 0;
  size_t scan_ = 0;
  size_t line_ = 0;
  // What the head says so far.
  bool have_request_line_ = false;
  bool http10_ = false;
  std::string authority_;  // of an absolute-form target
  int hosts_ = 0;
  bool has_length_ = false;
  uint64_t length_ = 0;
  bool chunked_ = false;
  bool expect_continue_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  // The head as Pistache gets it: request line and header lines, without
  // Transfer-Encoding and without the final CRLF.
  std::string head_;

  size_t pos_ = 0;  // chunked states: first unparsed byte of buf_
  // kBody: length of the whole request in buf_, head included.
  size_t request_end_ = 0;
  size_t body_start_ = 0;
  // kChunkData: bytes of the current chunk still due.
  size_t chunk_left_ = 0;
  std::string body_;  // chunked: decoded body so far
  size_t trailer_bytes_ = 0;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_REQUEST_GUARD_H_
