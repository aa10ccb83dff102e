// HTTP helpers for the frontend that need no sockets: percent-decoding,
// query/form/JSON body parsing into ActionRequest params, the bytes of the
// SSE response head and of small error responses, and the mapping from an
// absl status to the HTTP status a client sees before any SSE header went
// out. Pure functions; thread-safe.
#ifndef SSEBRIDGE_FRONTEND_HTTP_UTIL_H_
#define SSEBRIDGE_FRONTEND_HTTP_UTIL_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

using ParamMap = std::map<std::string, std::string>;

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Rejects
// truncated or non-hex escapes.
absl::StatusOr<std::string> PercentDecode(absl::string_view in,
                                          bool plus_is_space);

// Parses "a=1&b=x%20y" (query strings and
// application/x-www-form-urlencoded bodies) into `out`; later keys win.
absl::Status ParseUrlEncoded(absl::string_view in, ParamMap& out);

// Parses a JSON object body into `out`: string members as-is, other values
// as compact JSON. Anything but an object is an error.
absl::Status ParseJsonObject(absl::string_view in, ParamMap& out);

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF). Protobuf string fields must hold valid UTF-8, so request
// values are checked before they go into an ActionRequest.
bool IsValidUtf8(absl::string_view s);

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

#endif  // SSEBRIDGE_FRONTEND_HTTP_UTIL_H_
