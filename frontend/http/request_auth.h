// Who is asking, at the HTTP edge: where a request's token is found
// (Authorization: Bearer, then the provider's cookie, then an opted-in query
// parameter), what a route's auth mode makes of the verifier's answer
// (go on, 401 or 403, with the reason counted in /metrics), the Origin check
// that keeps cookie-authenticated POSTs same-site (CSRF), and the identity
// metadata the service gets in place of anything the client claimed.
// Pure functions of their arguments (no sockets, no Pistache), so every rule
// is tested on its own. Thread-safe.
#ifndef SSEBRIDGE_FRONTEND_HTTP_REQUEST_AUTH_H_
#define SSEBRIDGE_FRONTEND_HTTP_REQUEST_AUTH_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/auth/token_verifier.h"
#include "google/protobuf/map.h"

namespace ssebridge::frontend {

enum class AuthMode { kOff, kRequired, kOptional };
AuthMode AuthModeFromName(absl::string_view name);  // config values

enum class TokenSource { kNone, kHeader, kCookie, kQuery };

// The request's credentials, as the edge read them.
struct AuthInputs {
  std::optional<std::string> authorization;  // the Authorization header
  std::string cookie_header;                 // all Cookie headers joined
  std::optional<std::string> query_token;    // only if the route opts in
};

struct FoundToken {
  std::string token;
  TokenSource source = TokenSource::kNone;
  // An Authorization header that is not "Bearer <token>": refused, never
  // skipped in favour of a cookie.
  bool bad_header = false;
};
FoundToken FindToken(const AuthInputs& in, absl::string_view cookie_name);

// A cookie's value from a Cookie header ("a=1; b=2"), "" when absent.
std::string CookieValue(absl::string_view cookie_header,
                        absl::string_view name);

struct AuthOutcome {
  int status = 0;      // 0: go on; otherwise 401 or 403
  std::string reason;  // a kAuthRefusalReasons word when refused
  std::string detail;  // for the log; never holds the token
  std::optional<auth::VerifiedToken> token;  // set when a token verified
  TokenSource source = TokenSource::kNone;
};

// Decides a request on a route with `mode` (not kOff). `require_claims`:
// claims a valid token must carry with exactly these string values (403).
AuthOutcome Authorize(
    AuthMode mode, const auth::TokenVerifier& verifier,
    absl::string_view cookie_name,
    const google::protobuf::Map<std::string, std::string>& require_claims,
    const AuthInputs& in, absl::Time now);

// The WWW-Authenticate value of a refusal (RFC 6750 §3).
std::string WwwAuthenticate(const AuthOutcome& outcome);

// CSRF: a state-changing request authenticated by a cookie must come from
// the frontend's own origin (its Host) or from one of `allowed` origins
// (lower case, scheme://host[:port]). Origin is used when present, else the
// Referer's origin; neither present is refused.
bool OriginAllowed(const std::optional<std::string>& origin,
                   const std::optional<std::string>& referer,
                   const std::optional<std::string>& host,
                   const absl::flat_hash_set<std::string>& allowed);

// Client headers no service may receive from a client: x-user, anything
// starting with x-ssebridge-, and the provider's claim metadata keys.
// A forwarded header (lower-case name) as a service may see it: the
// frontend's credentials never go on. `cookie` loses the token cookies
// named in `token_cookies`; `authorization` is dropped when it carries a
// Bearer token (other schemes are the service's business). nullopt: drop
// the header (nothing left of it).
std::optional<std::string> ForwardableHeader(
    absl::string_view lower_name, absl::string_view value,
    const absl::flat_hash_set<std::string>& token_cookies);

bool IsReservedIdentityHeader(absl::string_view lower_name,
                              const absl::flat_hash_set<std::string>& extra);

// gRPC metadata values must be printable ASCII: other bytes (UTF-8 names)
// and '%' are percent-encoded; the SDK decodes them.
std::string EncodeMetadataValue(absl::string_view v);

// The metadata a verified token gives the service: x-ssebridge-sub, then
// each mapped claim that the token carries.
std::vector<std::pair<std::string, std::string>> IdentityMetadata(
    const auth::VerifiedToken& token,
    const google::protobuf::Map<std::string, std::string>& claims_to_metadata);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_REQUEST_AUTH_H_
