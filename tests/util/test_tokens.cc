#include "tests/util/test_tokens.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ssebridge::testing {

TestTokens::TestTokens() {
  static std::atomic<int> n{0};
  dir_ = absl::StrCat(::testing::TempDir(), "/test_tokens_", getpid(), "_",
                      n.fetch_add(1));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  key_file_ = dir_ + "/signing-key.jwk";
  jwks_file_ = dir_ + "/jwks.json";
  const absl::Status made =
      frontend::auth::GenerateEs256KeyFiles(key_file_, jwks_file_);
  EXPECT_TRUE(made.ok()) << made;
  std::ifstream in(key_file_);
  std::stringstream text;
  text << in.rdbuf();
  auto signer = frontend::auth::TokenSigner::FromJwkJson(text.str());
  EXPECT_TRUE(signer.ok()) << signer.status();
  if (signer.ok()) signer_.emplace(*std::move(signer));
}

TestTokens::~TestTokens() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestTokens::TokenUntil(const std::string& sub, absl::Time exp,
                                   const std::string& extra_claims) const {
  if (!signer_.has_value()) return "";
  auto t = signer_->Sign(absl::StrCat(
      "{\"iss\":\"", kIssuer, "\",\"aud\":\"", kAudience, "\",\"sub\":\"", sub,
      "\",\"exp\":", absl::ToUnixSeconds(exp), extra_claims, "}"));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.value_or("");
}

std::string TestTokens::AuthYaml() const {
  return absl::StrCat(R"(
auth:
  providers:
    - name: main
      issuer: ")",
                      kIssuer, R"("
      audiences: [)",
                      kAudience, R"(]
      jwks_file: ")",
                      jwks_file_, R"("
      algorithms: [ES256]
      leeway: 0s
      claims_to_metadata: {name: x-ssebridge-claim-name}
)");
}

}  // namespace ssebridge::testing
