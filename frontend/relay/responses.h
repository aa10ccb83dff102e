// The HTTP bytes written to a connection: the head of an SSE stream, short
// plain-text answers (errors before a stream starts, refusals), and the
// mapping from an upstream status to the HTTP status a client sees when a
// call ends before any SSE byte went out. Used by the relay after it took a
// connection over and by the HTTP edge. Pure functions; thread-safe.
#ifndef SSEBRIDGE_FRONTEND_RELAY_RESPONSES_H_
#define SSEBRIDGE_FRONTEND_RELAY_RESPONSES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// The response head of an SSE stream (status line and headers, ending with
// the blank line). `extra_headers` are complete "Name: value" lines.
std::string SseResponseHead(const std::vector<std::string>& extra_headers);

// A complete short response with a text/plain body and Connection: close.
std::string SimpleResponse(int code, absl::string_view body,
                           const std::vector<std::string>& extra_headers);

// Standard reason phrase for the codes the frontend sends.
absl::string_view ReasonPhrase(int code);

// The HTTP status for an upstream status that ended a call before any SSE
// byte was sent (e.g. UNAVAILABLE -> 503).
int HttpStatusForUpstream(absl::StatusCode code);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_RESPONSES_H_
