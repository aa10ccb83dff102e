// TokenVerifier: checks a JWT (a compact JWS, RFC 7515/7519) for one
// identity provider against its JWKS, and CheckClaims, the claim checks it
// runs once the signature holds. The order of checks, and the refusal each
// gives:
//   1. size above max_token_bytes                           too_large
//   2. not three strict base64url parts, a header that is not a JSON
//      object (duplicate names refused), "alg"/"kid" not strings, "crit"
//      present                                              malformed
//   3. "alg" not supported, "none", or not in the provider's list  algorithm
//   4. key: by "kid" if the token has one, else the one key of the set that
//      fits the alg; no key with that kid (or several fitting keys and no
//      kid)                                                 unknown_key
//      keys found but none of the alg's family/curve/size   algorithm
//   5. signature (cjose_jws_verify with the key chosen above) signature
//   6. CheckClaims: iss, aud, exp required, nbf honoured     (see below)
// The token's header never supplies a key or a key type: "jwk", "jku",
// "x5u", "x5c" are ignored, and an HS* token naming an RSA or EC key's kid
// is refused before any HMAC is computed (the RSA-public-key-as-HMAC-secret
// confusion).
//
// Thread-safety: TokenVerifier is immutable after construction; Verify may
// run on any number of threads (the keys come from a thread-safe JwksFile or
// an immutable Jwks).
#ifndef SSEBRIDGE_FRONTEND_AUTH_TOKEN_VERIFIER_H_
#define SSEBRIDGE_FRONTEND_AUTH_TOKEN_VERIFIER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/auth/jwks.h"
#include "frontend/auth/jwks_file.h"

namespace ssebridge::frontend::auth {

// Provider settings (the integrator fills this from the config proto).
struct ProviderSettings {
  std::string name;
  // Required match of `iss`.
  std::string issuer;
  // `aud` (a string or an array of strings) must contain one of these.
  std::vector<std::string> audiences;
  // Allow-list of JWS algorithms, e.g. {"RS256", "ES256"}; see
  // IsSupportedAlgorithm for those supported.
  std::vector<std::string> algorithms;
  // Clock skew allowed on `exp` and `nbf`.
  absl::Duration leeway = absl::Seconds(60);
  // Longer tokens are refused unread.
  size_t max_token_bytes = 8192;
};

// OK when `s` can verify anything: a name, an issuer, at least one audience,
// at least one algorithm and only supported ones, leeway >= 0,
// max_token_bytes > 0. The message names the provider and the field. (A
// verifier built from invalid settings refuses every token.)
absl::Status ValidateProviderSettings(const ProviderSettings& s);

// What a verified token says.
struct VerifiedToken {
  std::string provider;
  // `sub` (empty if the token has none).
  std::string subject;
  // `exp`.
  absl::Time expires;
  // Every top-level claim: string claims as their string value, other JSON
  // values (numbers, bools, null, arrays, objects) as compact JSON text.
  absl::flat_hash_map<std::string, std::string> claims;
};

// Why a token was refused: a short, fixed, metric-safe word (RefusalName).
enum class Refusal {
  kMalformed,
  kTooLarge,
  kAlgorithm,
  kUnknownKey,
  kSignature,
  kExpired,
  kNotYetValid,
  kIssuer,
  kAudience,
  kMissingClaim,
};

// "malformed", "too_large", "algorithm", "unknown_key", "signature",
// "expired", "not_yet_valid", "issuer", "audience", "missing_claim".
absl::string_view RefusalName(Refusal r);

class TokenVerifier {
 public:
  // Keys from a file that may change (rotation, SIGHUP).
  TokenVerifier(ProviderSettings settings, std::shared_ptr<JwksFile> keys);
  // A fixed key set (tests, tools).
  TokenVerifier(ProviderSettings settings, std::shared_ptr<const Jwks> keys);

  struct Result {
    // Set when the token is valid.
    std::optional<VerifiedToken> token;
    // Why not, when !ok().
    Refusal refusal = Refusal::kMalformed;
    // One line for logs: what failed, with untrusted values sanitised and
    // cut short. Never the token, its signature or a key.
    std::string detail;

    bool ok() const { return token.has_value(); }
  };

  // Verifies `token` (the bare compact form, no "Bearer ") at time `now`.
  Result Verify(absl::string_view token, absl::Time now) const;

  const ProviderSettings& settings() const { return settings_; }

 private:
  std::shared_ptr<const Jwks> Keys() const;

  const ProviderSettings settings_;
  const std::shared_ptr<JwksFile> file_;          // or
  const std::shared_ptr<const Jwks> fixed_keys_;  // one of them is set
};

// Checks iss/aud/exp/nbf of an already signature-verified claims set (the
// JWS payload), in this order: a JSON object (malformed); `iss`, `aud` and
// `exp` present (missing_claim); `exp`/`nbf` JSON numbers, `iss`/`sub`
// strings, `aud` a string or an array of strings (malformed); `iss` equal to
// the issuer (issuer); `aud` containing an audience (audience); now <= exp +
// leeway (expired); now >= nbf - leeway if nbf is present (not_yet_valid).
// On success the token's provider is s.name.
TokenVerifier::Result CheckClaims(const ProviderSettings& s,
                                  absl::string_view claims_json,
                                  absl::Time now);

}  // namespace ssebridge::frontend::auth

#endif  // SSEBRIDGE_FRONTEND_AUTH_TOKEN_VERIFIER_H_
