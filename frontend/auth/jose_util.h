// Internal helpers of frontend/auth (not for other folders): owners for
// cjose and jansson objects, the JWS algorithms this unit supports, strict
// base64url, JSON parsing that refuses duplicate keys, and the sanitising of
// untrusted text before it goes into a log detail.
//
// Why strict base64url of our own: cjose 0.6.2's decoder assert()s (aborts
// the process) on input such as "AAAAA=", and accepts '=' anywhere as the
// end of input. Every byte cjose is given has passed IsBase64Url first.
//
// Thread-safety: functions only; no shared state.
#ifndef SSEBRIDGE_FRONTEND_AUTH_JOSE_UTIL_H_
#define SSEBRIDGE_FRONTEND_AUTH_JOSE_UTIL_H_

#include <cjose/cjose.h>
#include <jansson.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend::auth::internal {

struct CjoseJwkDeleter {
  void operator()(cjose_jwk_t* jwk) const { cjose_jwk_release(jwk); }
};
using JwkPtr = std::unique_ptr<cjose_jwk_t, CjoseJwkDeleter>;

struct CjoseJwsDeleter {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};
using JwsPtr = std::unique_ptr<cjose_jws_t, CjoseJwsDeleter>;

struct JsonDeleter {
  void operator()(json_t* json) const { json_decref(json); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

// Memory that cjose allocated for the caller (cjose_jwk_to_json).
struct CjoseFree {
  void operator()(char* p) const { cjose_get_dealloc()(p); }
};
using CjoseString = std::unique_ptr<char, CjoseFree>;

// The JWS algorithm families; each verifies only with its own key type.
enum class KeyFamily { kRsa, kEc, kOct };

struct Algorithm {
  const char* name;  // "RS256", ...
  KeyFamily family;
  int hash_bits;        // 256, 384, 512
  int ec_curve_bits;    // ES*: 256, 384, 521 (the only curve allowed); else 0
  size_t ec_sig_bytes;  // ES*: r||s, fixed length (RFC 7518 3.4); else 0
};

// The algorithms cjose 0.6.2 signs and verifies: RS256/384/512,
// PS256/384/512, ES256/384/512, HS256/384/512. nullptr for any other name
// (including "none"); names are case-sensitive.
const Algorithm* FindAlgorithm(absl::string_view name);

// cjose's error as "message (function)".
std::string CjoseErrorText(const cjose_err& err);

// RFC 7515 base64url without padding, canonical: only [A-Za-z0-9_-], a
// length that is not 1 mod 4, and zero bits in the unused low bits of the
// last character. The empty string is valid.
bool IsBase64Url(absl::string_view text);
// Decodes strict base64url (IsBase64Url); nullopt otherwise.
std::optional<std::string> Base64UrlDecode(absl::string_view text);
std::string Base64UrlEncode(absl::string_view bytes);

// Parses `text` as one JSON object; duplicate member names, NUL characters
// and trailing data are refused. The error gives the position only, never
// the text around it (which may be token content or key material).
absl::StatusOr<JsonPtr> ParseJsonObject(absl::string_view text);

// Compact JSON text of any value.
std::string CompactJson(const json_t* value);

// Untrusted text (a kid, an alg, an iss) made safe for a log line: at most
// `max_chars` characters of [A-Za-z0-9 and -._:/@+=], others replaced by
// '?', "..." appended when cut.
std::string SanitizeForLog(absl::string_view text, size_t max_chars = 64);

}  // namespace ssebridge::frontend::auth::internal

#endif  // SSEBRIDGE_FRONTEND_AUTH_JOSE_UTIL_H_
