// HTTP request helpers that need no sockets: percent-decoding, query/form/JSON
// body parsing into ActionRequest params, UTF-8 checks. (The bytes the
// frontend answers with are in frontend/relay/responses.h.) Pure functions;
// thread-safe.
#ifndef SSEBRIDGE_FRONTEND_HTTP_HTTP_UTIL_H_
#define SSEBRIDGE_FRONTEND_HTTP_HTTP_UTIL_H_

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

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_HTTP_UTIL_H_
