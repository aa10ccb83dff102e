#include "frontend/auth/token_signer.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/auth/jwks_file.h"
#include "frontend/auth/test_tokens.h"
#include "frontend/auth/token_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend::auth {
namespace {

using testing::Claims;
using ::testing::HasSubstr;
using testing::JwksOf;
using testing::NewEcKey;
using testing::NewRsaKey;
using ::testing::Not;
using testing::TestNow;
using testing::TestNowUnix;

ProviderSettings Settings() {
  ProviderSettings s;
  s.name = "dev";
  s.issuer = "sse-bridge-demo";
  s.audiences = {"sse-bridge"};
  s.algorithms = {"ES256"};
  return s;
}

std::string DemoClaims() {
  return Claims("sse-bridge-demo", R"("sse-bridge")", TestNowUnix() + 600, 0,
                R"("name":"Alice")");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TokenSignerTest, SignedTokensVerify) {
  const auto key = NewEcKey("dev-1");
  auto signer = TokenSigner::FromJwkJson(key.PrivateJwk());
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->kid(), "dev-1");
  auto token = signer->Sign(DemoClaims());
  ASSERT_TRUE(token.ok()) << token.status();

  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  EXPECT_THAT(header, HasSubstr(R"("alg":"ES256")"));
  EXPECT_THAT(header, HasSubstr(R"("kid":"dev-1")"));
  EXPECT_THAT(header, HasSubstr(R"("typ":"JWT")"));

  auto jwks = Jwks::Parse(signer->PublicJwksJson());
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_THAT(signer->PublicJwksJson(), Not(HasSubstr("\"d\"")));
  const TokenVerifier v(Settings(), *jwks);
  auto r = v.Verify(*token, TestNow());
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.token->subject, "alice");
  EXPECT_EQ(r.token->claims.at("name"), "Alice");
  // And with the test's own copy of the public key.
  const TokenVerifier v2(Settings(), *Jwks::Parse(JwksOf({key.PublicJwk()})));
  EXPECT_TRUE(v2.Verify(*token, TestNow()).ok());
}

TEST(TokenSignerTest, RefusesKeysItCannotSignWith) {
  const auto ec = NewEcKey("dev-1");
  const auto p384 = NewEcKey("p384", CJOSE_JWK_EC_P_384);
  const auto rsa = NewRsaKey("rsa");
  std::string no_kid = ec.PrivateJwk();
  no_kid.replace(no_kid.find(R"("kid":"dev-1",)"), 14, "");
  for (const std::string& bad :
       {ec.PublicJwk(), p384.PrivateJwk(), rsa.PrivateJwk(), no_kid,
        std::string("not json"), std::string("{}"),
        std::string(R"({"kty":"EC","crv":"P-256","kid":"k","d":"AAAAA="})")}) {
    auto signer = TokenSigner::FromJwkJson(bad);
    EXPECT_FALSE(signer.ok()) << bad;
  }
  // The error never quotes the private key.
  std::string broken = ec.PrivateJwk();
  broken.insert(broken.size() - 1, ",oops");
  auto signer = TokenSigner::FromJwkJson(broken);
  ASSERT_FALSE(signer.ok());
  const size_t d = broken.find("\"d\":\"") + 5;
  const std::string d_value = broken.substr(d, broken.find('"', d) - d);
  EXPECT_THAT(std::string(signer.status().message()), Not(HasSubstr(d_value)));
}

TEST(TokenSignerTest, SignRefusesClaimsThatAreNoJsonObject) {
  auto signer = TokenSigner::FromJwkJson(NewEcKey("k").PrivateJwk());
  ASSERT_TRUE(signer.ok());
  EXPECT_FALSE(signer->Sign("[1]").ok());
  EXPECT_FALSE(signer->Sign("").ok());
  EXPECT_FALSE(signer->Sign(R"({"a":1,"a":2})").ok());
}

class KeyFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "token_signer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    private_ = dir_ + "/dev.jwk";
    public_ = dir_ + "/dev.jwks";
  }
  void TearDown() override {
    unlink(private_.c_str());
    unlink(public_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, private_, public_;
};

TEST_F(KeyFilesTest, GeneratedFilesLoadAndWorkTogether) {
  ASSERT_TRUE(GenerateEs256KeyFiles(private_, public_).ok());
  struct stat st;
  ASSERT_EQ(stat(private_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(public_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_THAT(ReadFile(public_), Not(HasSubstr("\"d\"")));
  EXPECT_THAT(ReadFile(public_), HasSubstr(R"("alg": "ES256")"));
  EXPECT_THAT(ReadFile(private_), HasSubstr("\"d\""));

  auto file = JwksFile::Load(public_);
  ASSERT_TRUE(file.ok()) << file.status();
  auto signer = TokenSigner::FromJwkJson(ReadFile(private_));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->kid().size(), 16u);  // 12 random bytes
  EXPECT_EQ((*file)->Current()->keys()[0].kid(), signer->kid());
  const TokenVerifier v(Settings(),
                        std::shared_ptr<JwksFile>(*std::move(file)));
  auto r = v.Verify(*signer->Sign(DemoClaims()), TestNow());
  EXPECT_TRUE(r.ok()) << r.detail;

  // A second pair replaces the first, with another kid.
  ASSERT_TRUE(GenerateEs256KeyFiles(private_, public_).ok());
  auto signer2 = TokenSigner::FromJwkJson(ReadFile(private_));
  ASSERT_TRUE(signer2.ok());
  EXPECT_NE(signer2->kid(), signer->kid());
  ASSERT_EQ(stat(private_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyFilesTest, UnwritablePlaceIsAnErrorNamingTheFile) {
  const std::string nowhere = dir_ + "/no/such/dir/dev.jwk";
  const absl::Status s = GenerateEs256KeyFiles(nowhere, public_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(nowhere));
}

#ifdef SSEBRIDGE_KEYGEN
TEST_F(KeyFilesTest, KeygenCommandMakesFilesOnlyWhenMissing) {
  const std::string cmd =
      absl::StrCat(SSEBRIDGE_KEYGEN, " --private_jwk=", private_,
                   " --public_jwks=", public_, " --if_missing >/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string first = ReadFile(private_);
  ASSERT_THAT(first, HasSubstr("\"d\""));
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(ReadFile(private_), first);  // left alone
  unlink(public_.c_str());
  ASSERT_EQ(std::system(cmd.c_str()), 0);  // half a pair: both made anew
  EXPECT_NE(ReadFile(private_), first);
  EXPECT_TRUE(JwksFile::Load(public_).ok());
  // Without the flags it is a usage error.
  EXPECT_NE(std::system(absl::StrCat(SSEBRIDGE_KEYGEN, " 2>/dev/null").c_str()),
            0);
}
#endif

}  // namespace
}  // namespace ssebridge::frontend::auth
