// Test support for frontend/auth (linked by its tests and the fuzzer only):
// fresh keys made with cjose, JWK/JWKS text for them, and tokens — signed
// by cjose under any header, or assembled by hand from raw parts for the
// unsigned and forged ones.
//
// Thread-safety: functions only; a TestKey is immutable once made.
#ifndef SSEBRIDGE_FRONTEND_AUTH_TEST_TOKENS_H_
#define SSEBRIDGE_FRONTEND_AUTH_TEST_TOKENS_H_

#include <cjose/cjose.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::frontend::auth::testing {

// A key pair (or secret) with its kid; the handle is cjose's.
struct TestKey {
  std::shared_ptr<cjose_jwk_t> jwk;
  std::string kid;

  // The public JWK text (the secret for oct keys, whose JWK is the secret).
  // `extra` members (e.g. R"("alg":"RS256")") are added as given.
  std::string PublicJwk(absl::string_view extra = "") const;
  // The JWK text with the private members.
  std::string PrivateJwk() const;
};

TestKey NewRsaKey(std::string kid, int bits = 2048);
TestKey NewEcKey(std::string kid,
                 cjose_jwk_ec_curve curve = CJOSE_JWK_EC_P_256);
TestKey NewOctKey(std::string kid, int bits = 256);
// An oct key whose secret is `bytes` (e.g. an RSA public key's PEM text).
TestKey OctKeyFromBytes(std::string kid, absl::string_view bytes);

// The RSA public key of `rsa` as PEM text ("-----BEGIN PUBLIC KEY-----...").
std::string RsaPublicPem(const TestKey& rsa);

// {"keys":[<jwk>,...]} of the given JWK texts.
std::string JwksOf(std::initializer_list<std::string> jwks);

// Signs `payload` with `key` under the header `header_json` (any members;
// cjose needs its "alg"). Aborts the test binary if cjose refuses.
std::string Sign(const TestKey& key, absl::string_view header_json,
                 absl::string_view payload);
// b64url(header).b64url(payload).b64url(signature), nothing checked.
std::string RawToken(absl::string_view header_json, absl::string_view payload,
                     absl::string_view signature);
std::string B64(absl::string_view bytes);

// {"iss":iss,"aud":"api","sub":"alice","exp":now+1h} style claims:
// iss, aud (JSON text: "\"api\"" or "[\"a\",\"b\"]"), exp and nbf as Unix
// seconds (nbf left out when 0), and `extra` members appended as given.
std::string Claims(absl::string_view iss, absl::string_view aud_json,
                   int64_t exp, int64_t nbf = 0, absl::string_view extra = "");

// A fixed "now" for tests: 2025-01-01T00:00:00Z, and Unix seconds from it.
absl::Time TestNow();
int64_t TestNowUnix();

}  // namespace ssebridge::frontend::auth::testing

#endif  // SSEBRIDGE_FRONTEND_AUTH_TEST_TOKENS_H_
