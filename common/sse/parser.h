// SSE parser: the browser's side of the WHATWG "Server-sent events" event
// stream interpretation, fed incrementally with the bytes of a response body.
// Used as the client in tests and benchmarks, so it follows the spec exactly:
// one leading U+FEFF is skipped, CRLF / LF / CR all end lines (also across
// Feed calls), a line without a colon is a field with an empty value, one
// space after the colon is stripped, an id containing NUL is ignored, retry
// takes ASCII digits only, a blank line dispatches, an event whose data buffer
// is empty is not dispatched, and the last event id persists across events.
//
// Not thread-safe: one parser per stream. Bytes are kept as bytes (no UTF-8
// decoding step).
#ifndef SSEBRIDGE_COMMON_SSE_PARSER_H_
#define SSEBRIDGE_COMMON_SSE_PARSER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ssebridge::common::sse {

// What a browser's EventSource dispatches.
struct ParsedEvent {
  std::string type;           // "message" when the stream named none
  std::string data;           // lines joined with "\n"
  std::string last_event_id;  // the stream's last event id at dispatch
  bool operator==(const ParsedEvent&) const = default;
};

class Parser {
 public:
  using EventFn = std::function<void(ParsedEvent&&)>;
  using CommentFn = std::function<void(absl::string_view)>;

  explicit Parser(EventFn on_event, CommentFn on_comment = nullptr)
      : on_event_(std::move(on_event)), on_comment_(std::move(on_comment)) {}

  // Consumes the next chunk of the body; may dispatch any number of events.
  void Feed(absl::string_view bytes);

  const std::string& last_event_id() const { return last_event_id_; }
  // The reconnection time the stream asked for, if any.
  std::optional<uint32_t> retry_ms() const { return retry_ms_; }

 private:
  void ProcessLine(absl::string_view line);
  void Dispatch();

  EventFn on_event_;
  CommentFn on_comment_;
  std::string line_;  // a partial line carried over between Feed calls
  std::string data_;
  std::string event_type_;
  std::string last_event_id_;
  std::optional<uint32_t> retry_ms_;
  bool seen_first_bytes_ = false;  // past the point where a BOM may appear
  std::string bom_prefix_;         // bytes of a possible BOM split over Feeds
  bool skip_lf_ = false;           // last chunk ended in CR: drop a leading LF
};

}  // namespace ssebridge::common::sse

#endif  // SSEBRIDGE_COMMON_SSE_PARSER_H_
