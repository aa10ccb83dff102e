#include "frontend/auth/jwks.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/auth/test_tokens.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend::auth {
namespace {

using ::testing::HasSubstr;
using testing::JwksOf;
using testing::NewEcKey;
using testing::NewOctKey;
using testing::NewRsaKey;
using testing::TestKey;

const TestKey& Rsa() {
  static const TestKey* k = new TestKey(NewRsaKey("rsa-1"));
  return *k;
}

constexpr char kOkp[] = R"({"kty":"OKP","crv":"Ed25519","kid":"ed-1",)"
                        R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

TEST(JwksTest, ParsesRsaEcAndOctKeys) {
  const TestKey p256 = NewEcKey("p256");
  const TestKey p384 = NewEcKey("p384", CJOSE_JWK_EC_P_384);
  const TestKey p521 = NewEcKey("p521", CJOSE_JWK_EC_P_521);
  const TestKey oct = NewOctKey("oct", 384);
  auto jwks =
      Jwks::Parse(JwksOf({Rsa().PublicJwk(), p256.PublicJwk(), p384.PublicJwk(),
                          p521.PublicJwk(), oct.PublicJwk()}));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_EQ((*jwks)->size(), 5u);
  const auto& k = (*jwks)->keys();
  EXPECT_EQ(k[0].kid(), "rsa-1");
  EXPECT_EQ(k[0].type(), Jwk::Type::kRsa);
  EXPECT_EQ(k[0].bits(), 2048);
  EXPECT_EQ(k[1].type(), Jwk::Type::kEc);
  EXPECT_EQ(k[1].bits(), 256);
  EXPECT_EQ(k[2].bits(), 384);
  EXPECT_EQ(k[3].bits(), 521);
  EXPECT_EQ(k[4].type(), Jwk::Type::kOct);
  EXPECT_EQ(k[4].bits(), 384);
  EXPECT_TRUE(k[4].has_kid());
  EXPECT_EQ((*jwks)->KidsForLog(), "rsa-1,p256,p384,p521,oct");
}

TEST(JwksTest, FitsFollowsTheAlgorithmFamilyCurveAndSize) {
  const TestKey p256 = NewEcKey("p256");
  const TestKey p521 = NewEcKey("p521", CJOSE_JWK_EC_P_521);
  const TestKey oct256 = NewOctKey("o256", 256);
  const TestKey oct512 = NewOctKey("o512", 512);
  auto jwks =
      Jwks::Parse(JwksOf({Rsa().PublicJwk(), p256.PublicJwk(), p521.PublicJwk(),
                          oct256.PublicJwk(), oct512.PublicJwk()}));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  const auto& k = (*jwks)->keys();
  for (const char* alg :
       {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    EXPECT_TRUE(k[0].Fits(alg)) << alg;
    EXPECT_FALSE(k[1].Fits(alg)) << alg;
    EXPECT_FALSE(k[3].Fits(alg)) << alg;
  }
  EXPECT_FALSE(k[0].Fits("HS256"));
  EXPECT_FALSE(k[0].Fits("ES256"));
  EXPECT_FALSE(k[0].Fits("none"));
  EXPECT_TRUE(k[1].Fits("ES256"));
  EXPECT_FALSE(k[1].Fits("ES384"));
  EXPECT_FALSE(k[1].Fits("ES512"));
  EXPECT_FALSE(k[1].Fits("HS256"));
  EXPECT_TRUE(k[2].Fits("ES512"));
  EXPECT_FALSE(k[2].Fits("ES256"));
  EXPECT_TRUE(k[3].Fits("HS256"));
  EXPECT_FALSE(k[3].Fits("HS384"));  // shorter than the hash
  EXPECT_FALSE(k[3].Fits("RS256"));
  EXPECT_TRUE(k[4].Fits("HS256"));
  EXPECT_TRUE(k[4].Fits("HS512"));
}

TEST(JwksTest, UnsupportedKeysAreSkippedAndTheOthersLoad) {
  const TestKey ec = NewEcKey("ec-1");
  auto jwks = Jwks::Parse(JwksOf({kOkp, ec.PublicJwk(),
                                  R"({"kty":"EC","crv":"secp256k1","x":"AA"})",
                                  "42", R"({"kid":"no-kty"})"}));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_EQ((*jwks)->size(), 1u);
  EXPECT_EQ((*jwks)->keys()[0].kid(), "ec-1");
}

TEST(JwksTest, KeysNotForSignaturesAreSkipped) {
  const TestKey ec = NewEcKey("ec-1");
  auto jwks = Jwks::Parse(JwksOf({
      Rsa().PublicJwk(R"("use":"enc")"),
      Rsa().PublicJwk(R"("key_ops":["encrypt"])"),
      Rsa().PublicJwk(R"("alg":"RSA-OAEP")"),
      Rsa().PublicJwk(R"("alg":"ES256")"),
      Rsa().PublicJwk(R"("use":7)"),
      ec.PublicJwk(R"("use":"sig","key_ops":["verify"],"alg":"ES256")"),
  }));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_EQ((*jwks)->size(), 1u);
  EXPECT_EQ((*jwks)->keys()[0].alg(), "ES256");
}

TEST(JwksTest, WeakKeysAreSkipped) {
  const TestKey rsa1024 = NewRsaKey("rsa-1024", 1024);
  const TestKey oct128 = NewOctKey("oct-128", 128);
  auto jwks = Jwks::Parse(JwksOf({rsa1024.PublicJwk(), oct128.PublicJwk()}));
  ASSERT_FALSE(jwks.ok());
  EXPECT_THAT(jwks.status().message(),
              HasSubstr("no usable key (2 in the set"));
}

TEST(JwksTest, BadBase64InAKeyIsSkippedNotAborted) {
  // cjose's own decoder aborts the process on "AAAAA=".
  for (const char* jwk : {
           R"({"kty":"RSA","kid":"a","n":"AAAAA=","e":"AQAB"})",
           R"({"kty":"RSA","kid":"b","n":"A=","e":"AQAB"})",
           R"({"kty":"oct","kid":"c","k":"AAAAA="})",
           R"({"kty":"EC","crv":"P-256","kid":"d","x":"AAAAA=","y":"AAAAA="})",
           R"({"kty":"RSA","kid":"e","n":7,"e":"AQAB"})",
           R"({"kty":"RSA","kid":"f","e":"AQAB"})",
           R"({"kty":"EC","crv":"P-256","kid":"g","x":"AA","y":"AA"})",
           R"({"kty":"oct","kid":"h"})",
       }) {
    auto jwks = Jwks::Parse(JwksOf({jwk, Rsa().PublicJwk()}));
    ASSERT_TRUE(jwks.ok()) << jwk << ": " << jwks.status();
    EXPECT_EQ((*jwks)->size(), 1u) << jwk;
  }
}

TEST(JwksTest, AnEcPointOffTheCurveIsSkipped) {
  const TestKey ec = NewEcKey("ec-1");
  std::string jwk = ec.PublicJwk();
  const size_t y = jwk.find("\"y\":\"") + 5;
  jwk[y] = jwk[y] == 'A' ? 'B' : 'A';
  auto jwks = Jwks::Parse(JwksOf({jwk, Rsa().PublicJwk()}));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_EQ((*jwks)->size(), 1u);
}

TEST(JwksTest, PrivateKeysStillLoad) {
  const TestKey ec = NewEcKey("ec-1");
  auto jwks = Jwks::Parse(JwksOf({ec.PrivateJwk()}));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_EQ((*jwks)->size(), 1u);
}

TEST(JwksTest, ErrorsForSetsWithoutUsableKeys) {
  EXPECT_THAT(Jwks::Parse(R"({"keys":[]})", "f.json").status().message(),
              HasSubstr("f.json: no usable key (0 in the set"));
  EXPECT_THAT(Jwks::Parse(JwksOf({kOkp}), "f.json").status().message(),
              HasSubstr("f.json: no usable key (1 in the set"));
  EXPECT_THAT(Jwks::Parse("{}", "f.json").status().message(),
              HasSubstr("f.json: no \"keys\" array"));
  EXPECT_THAT(Jwks::Parse(R"({"keys":{}})").status().message(),
              HasSubstr("no \"keys\" array"));
  EXPECT_THAT(Jwks::Parse("not json", "f.json").status().message(),
              HasSubstr("f.json: not valid JSON at line 1"));
  EXPECT_FALSE(Jwks::Parse("").ok());
  // A single JWK is not a set.
  EXPECT_FALSE(Jwks::Parse(Rsa().PublicJwk()).ok());
}

TEST(JwksTest, ErrorsDoNotQuoteSecrets) {
  auto jwks = Jwks::Parse(
      R"({"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}] x})");
  ASSERT_FALSE(jwks.ok());
  EXPECT_THAT(std::string(jwks.status().message()),
              ::testing::Not(HasSubstr("c2VjcmV0")));
}

TEST(JwksTest, IsSupportedAlgorithm) {
  EXPECT_TRUE(IsSupportedAlgorithm("RS256"));
  EXPECT_TRUE(IsSupportedAlgorithm("PS512"));
  EXPECT_TRUE(IsSupportedAlgorithm("ES512"));
  EXPECT_TRUE(IsSupportedAlgorithm("HS384"));
  EXPECT_FALSE(IsSupportedAlgorithm("none"));
  EXPECT_FALSE(IsSupportedAlgorithm("EdDSA"));
}

}  // namespace
}  // namespace ssebridge::frontend::auth
