// Frames the HTTP/1.1 requests of one connection before Pistache parses them.
//
// Pistache 0.0.5's request parser runs strtol()/strtod() over its receive
// buffer, which is not NUL-terminated: a chunk-size line, or a header such as
// "Cache-Control: max-age=", followed only by whitespace up to the end of the
// bytes received so far makes it read past the buffer (fixed upstream in
// 2024, after 0.0.5; our fuzzer found it). The guard therefore hands Pistache
// only whole requests, each followed by one NUL byte that stops those scans,
// and decodes chunked bodies itself, passing them on with a Content-Length so
// that Pistache's chunk parser never runs. Header lines are checked on the
// way (a name, a colon; one numeric Content-Length) so both parsers agree on
// where a request ends.
//
// Like Pistache, the guard serves one request at a time: bytes that arrive
// behind a complete request in the same read (pipelining) are dropped.
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
      kRequest,   // `request` is one whole request plus a NUL, for Pistache
      kRefuse,    // answer `code` / `message` and close the connection
    };
    Kind kind = kNeedMore;
    std::string request;
    int code = 0;
    std::string message;
  };

  // `max_request_bytes` bounds the head plus the (decoded) body.
  explicit RequestGuard(size_t max_request_bytes)
      : max_bytes_(max_request_bytes) {}

  // Takes the next bytes read from the connection. After kRefuse every later
  // call returns kNeedMore and drops its input.
  Result Feed(absl::string_view data);

  // The connection now carries a stream, not requests: whatever the client
  // sends from here on is dropped, never parsed into a response that would
  // land in the middle of the stream.
  void Stop();

  // Largest chunk-size line (with extensions) and trailer section accepted.
  static constexpr size_t kMaxChunkLine = 1024;

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

  Result ParseHead(size_t head_end);
  Result Step();
  Result Complete(std::string request);
  Result Refuse(int code, std::string message);

  const size_t max_bytes_;
  State state_ = State::kHead;
  std::string buf_;       // bytes received and not yet passed on
  size_t scan_from_ = 0;  // kHead: where to resume looking for CRLFCRLF
  size_t pos_ = 0;        // chunked states: first unparsed byte of buf_
  // kBody: length of the whole request, head included.
  size_t request_end_ = 0;
  // kChunkData: bytes of the current chunk still due.
  size_t chunk_left_ = 0;
  std::string head_;  // chunked: request line and headers, no TE, no CRLF
  std::string body_;  // chunked: decoded body so far
  size_t trailer_bytes_ = 0;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_REQUEST_GUARD_H_
