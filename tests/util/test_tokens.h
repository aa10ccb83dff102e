// Tokens for tests of authenticated routes: an ES256 key pair made for the
// test in a temp directory (removed at destruction), the JWKS file a
// frontend's provider points at, and tokens signed with it. Test code only.
// Thread-safe after construction.
#ifndef SSEBRIDGE_TESTS_UTIL_TEST_TOKENS_H_
#define SSEBRIDGE_TESTS_UTIL_TEST_TOKENS_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "frontend/auth/token_signer.h"
#include "frontend/auth/token_verifier.h"

namespace ssebridge::testing {

class TestTokens {
 public:
  static constexpr char kIssuer[] = "https://login.test";
  static constexpr char kAudience[] = "sse-bridge";
  static constexpr char kCookie[] = "ssebridge_token";

  TestTokens();  // fails the test (gtest) if the keys cannot be made
  ~TestTokens();
  TestTokens(const TestTokens&) = delete;
  TestTokens& operator=(const TestTokens&) = delete;

  const std::string& jwks_file() const { return jwks_file_; }
  const std::string& signing_key_file() const { return key_file_; }

  // A token for `sub` from kIssuer to kAudience expiring at `exp`, with
  // `extra_claims` (",\"name\":\"Kim\"") added to the claims object.
  std::string TokenUntil(const std::string& sub, absl::Time exp,
                         const std::string& extra_claims = "") const;
  std::string Token(const std::string& sub,
                    const std::string& extra_claims = "") const {
    return TokenUntil(sub, absl::Now() + absl::Minutes(10), extra_claims);
  }

  // A YAML `auth:` section with one provider "main" for these keys (leeway
  // 0s, claim name -> x-ssebridge-claim-name), for a frontend config.
  std::string AuthYaml() const;

 private:
  std::string dir_;
  std::string key_file_;
  std::string jwks_file_;
  std::optional<frontend::auth::TokenSigner> signer_;
};

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_TEST_TOKENS_H_
