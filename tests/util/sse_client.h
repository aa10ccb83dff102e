// A raw-socket HTTP/1.1 SSE client for tests: sends a request, parses the
// response head, then feeds the body to common/sse's browser-exact parser.
// Every read is bounded by a timeout. Not thread-safe: one per thread.
#ifndef SSEBRIDGE_TESTS_UTIL_SSE_CLIENT_H_
#define SSEBRIDGE_TESTS_UTIL_SSE_CLIENT_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/sse/parser.h"

namespace ssebridge::testing {

class SseClient {
 public:
  SseClient();
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  bool Connect(int port);
  bool SendAll(absl::string_view bytes);
  // GET `target` with Accept: text/event-stream plus `extra` header lines.
  bool Get(absl::string_view target, const std::vector<std::string>& extra = {});
  bool Post(absl::string_view target, absl::string_view content_type,
            absl::string_view body, const std::vector<std::string>& extra = {});

  // Reads until the response head is complete.
  bool ReadHead(absl::Duration timeout = absl::Seconds(5));
  // Reads body bytes until `done()` holds, EOF, or the timeout. Returns done().
  bool ReadUntil(const std::function<bool()>& done,
                 absl::Duration timeout = absl::Seconds(5));
  // Reads until the server closes the connection (or timeout); true on EOF.
  bool ReadToEof(absl::Duration timeout = absl::Seconds(5));
  void Close();

  int fd() const { return fd_; }
  int status() const { return status_; }
  std::string header(const std::string& lower_name) const;
  const std::string& raw_body() const { return body_; }
  const std::vector<common::sse::ParsedEvent>& events() const {
    return events_;
  }
  const std::vector<std::string>& comments() const { return comments_; }
  bool eof() const { return eof_; }
  // The stream's last event id, as a browser would send on reconnect.
  const std::string& last_event_id() const { return parser_.last_event_id(); }

 private:
  // One read of up to 64 KiB, waiting at most `timeout`. False on EOF/error
  // or timeout.
  bool ReadSome(absl::Duration timeout);
  void ConsumeBody(absl::string_view bytes);

  int fd_ = -1;
  int port_ = 0;
  bool head_done_ = false;
  bool eof_ = false;
  int status_ = 0;
  std::string head_buf_;
  std::map<std::string, std::string> headers_;
  std::string body_;
  std::vector<common::sse::ParsedEvent> events_;
  std::vector<std::string> comments_;
  common::sse::Parser parser_;
};

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_SSE_CLIENT_H_
