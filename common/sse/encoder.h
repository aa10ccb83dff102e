// SSE encoder: turns ssebridge.action.v1.Event messages into Server-Sent
// Events bytes following the WHATWG "Server-sent events" rules (see
// shared DESIGN §3): payloads split on CR, LF and CRLF into "data: " lines,
// event/id validated against injection, retry as digits, comments, HTML
// escaping of display text and compact JSON for structured payloads.
//
// All functions append to a caller-owned buffer (so many events can be batched
// into one socket write) and are pure: safe to call from any thread.
#ifndef SSEBRIDGE_COMMON_SSE_ENCODER_H_
#define SSEBRIDGE_COMMON_SSE_ENCODER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::common::sse {

// Appends the encoding of `event`, ending with the blank line that dispatches
// it. Returns InvalidArgumentError (and leaves `out` as it was) if the event
// name or id holds CR/LF, or the id holds NUL: passing those through would let
// a service inject fields. An event with only a comment and/or retry (no
// payload, name or id) encodes to those lines alone and dispatches nothing;
// every other event carries at least one data line, so the browser always
// dispatches it (an event without data is silently dropped by browsers).
absl::Status AppendEvent(const ssebridge::action::v1::Event& event,
                         std::string& out);

// Appends a complete event built from parts; `name` may be empty (then no
// event: line). `retry_ms` 0 sends no retry line. Names must already be
// valid (checked with ValidateEventName) — used for the frontend's own
// terminal and error events.
void AppendSimpleEvent(absl::string_view name, absl::string_view data,
                       uint32_t retry_ms, std::string& out);

// Appends one ": text" comment line per line of `text` (":\n" when empty).
void AppendComment(absl::string_view text, std::string& out);

// Appends "retry: N\n".
void AppendRetry(uint32_t retry_ms, std::string& out);

// Appends `data` as "data: line\n" lines, splitting on CRLF, LF and lone CR.
// Empty data gives one empty data line.
void AppendDataLines(absl::string_view data, std::string& out);

// Appends `text` HTML-escaped (& < > " ') as data lines.
void AppendEscapedDataLines(absl::string_view text, std::string& out);

// Appends `text` HTML-escaped (& < > " '), no line handling.
void AppendHtmlEscaped(absl::string_view text, std::string& out);

// Appends compact JSON for a google.protobuf.Value: integral numbers print
// without a fraction, others in shortest round-trip form; NaN/Inf become
// null (JSON has no such numbers). The output never contains CR or LF.
void AppendJson(const google::protobuf::Value& value, std::string& out);

// Checks an event name / id for characters that would break SSE framing.
absl::Status ValidateEventName(absl::string_view name);
absl::Status ValidateEventId(absl::string_view id);

}  // namespace ssebridge::common::sse

#endif  // SSEBRIDGE_COMMON_SSE_ENCODER_H_
