// CheckClaims alone: iss, aud, exp, nbf of a claims set whose signature is
// taken as checked.
#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/auth/test_tokens.h"
#include "frontend/auth/token_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend::auth {
namespace {

using testing::Claims;
using testing::TestNow;
using testing::TestNowUnix;

ProviderSettings Settings() {
  ProviderSettings s;
  s.name = "corp";
  s.issuer = "https://id.example.com";
  s.audiences = {"api", "web"};
  s.algorithms = {"RS256"};
  return s;
}

TokenVerifier::Result Check(const std::string& claims) {
  return CheckClaims(Settings(), claims, TestNow());
}

constexpr char kIss[] = "https://id.example.com";

TEST(CheckClaimsTest, AcceptsAGoodClaimsSet) {
  const int64_t exp = TestNowUnix() + 3600;
  auto r = Check(Claims(kIss, R"("api")", exp));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.token->provider, "corp");
  EXPECT_EQ(r.token->subject, "alice");
  EXPECT_EQ(r.token->expires, absl::FromUnixSeconds(exp));
}

TEST(CheckClaimsTest, ExpiryHonoursTheLeewayUpToItsEdge) {
  const int64_t now = TestNowUnix();
  EXPECT_TRUE(Check(Claims(kIss, R"("api")", now)).ok());
  EXPECT_TRUE(Check(Claims(kIss, R"("api")", now - 60)).ok());  // the edge
  auto r = Check(Claims(kIss, R"("api")", now - 61));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal, Refusal::kExpired);
  EXPECT_THAT(r.detail, ::testing::HasSubstr("expired 1m1s ago"));
}

TEST(CheckClaimsTest, NotBeforeHonoursTheLeewayUpToItsEdge) {
  const int64_t now = TestNowUnix();
  EXPECT_TRUE(Check(Claims(kIss, R"("api")", now + 3600, now + 60)).ok());
  auto r = Check(Claims(kIss, R"("api")", now + 3600, now + 61));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal, Refusal::kNotYetValid);
}

TEST(CheckClaimsTest, FractionalNumericDatesWork) {
  const int64_t now = TestNowUnix();
  auto with_exp = [](const std::string& exp) {
    return absl::StrCat(R"({"iss":"https://id.example.com","aud":"api","exp":)",
                        exp, "}");
  };
  EXPECT_TRUE(Check(with_exp(absl::StrCat(now - 60, ".0"))).ok());
  EXPECT_TRUE(Check(with_exp(absl::StrCat(now - 60, ".5"))).ok());
  // (now - 61).5 is half a second past the leeway.
  EXPECT_EQ(Check(with_exp(absl::StrCat(now - 61, ".5"))).refusal,
            Refusal::kExpired);
}

TEST(CheckClaimsTest, WrongIssuerIsRefused) {
  auto r =
      Check(Claims("https://evil.example.com", R"("api")", TestNowUnix() + 60));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal, Refusal::kIssuer);
  // The issuer is case-sensitive and must match exactly.
  EXPECT_EQ(
      Check(Claims("https://ID.example.com", R"("api")", TestNowUnix() + 60))
          .refusal,
      Refusal::kIssuer);
  EXPECT_EQ(
      Check(Claims("https://id.example.com/", R"("api")", TestNowUnix() + 60))
          .refusal,
      Refusal::kIssuer);
}

TEST(CheckClaimsTest, AudienceAsStringOrArray) {
  const int64_t exp = TestNowUnix() + 60;
  EXPECT_TRUE(Check(Claims(kIss, R"("web")", exp)).ok());
  EXPECT_TRUE(Check(Claims(kIss, R"(["other","api"])", exp)).ok());
  EXPECT_EQ(Check(Claims(kIss, R"("other")", exp)).refusal, Refusal::kAudience);
  EXPECT_EQ(Check(Claims(kIss, R"(["other","more"])", exp)).refusal,
            Refusal::kAudience);
  EXPECT_EQ(Check(Claims(kIss, R"([])", exp)).refusal, Refusal::kAudience);
  EXPECT_EQ(Check(Claims(kIss, R"(["api",1])", exp)).refusal,
            Refusal::kMalformed);
  EXPECT_EQ(Check(Claims(kIss, R"({"a":"api"})", exp)).refusal,
            Refusal::kMalformed);
}

TEST(CheckClaimsTest, MissingRequiredClaims) {
  const std::string exp = std::to_string(TestNowUnix() + 60);
  auto missing = [&](const std::string& json) {
    auto r = Check(json);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.refusal, Refusal::kMissingClaim) << json;
    return r.detail;
  };
  EXPECT_EQ(missing(R"({"iss":"https://id.example.com","aud":"api"})"),
            "no exp");
  EXPECT_EQ(missing(R"({"aud":"api","exp":)" + exp + "}"), "no iss");
  EXPECT_EQ(missing(R"({"iss":"https://id.example.com","exp":)" + exp + "}"),
            "no aud");
  EXPECT_EQ(missing("{}"), "no iss, no aud, no exp");
}

TEST(CheckClaimsTest, WrongTypesAreMalformed) {
  const std::string now = std::to_string(TestNowUnix() + 60);
  for (const std::string& json : std::vector<std::string>{
           R"({"iss":"https://id.example.com","aud":"api","exp":")" + now +
               R"("})",
           R"({"iss":"https://id.example.com","aud":"api","exp":true})",
           R"({"iss":"https://id.example.com","aud":"api","exp":null})",
           R"({"iss":"https://id.example.com","aud":"api","exp":)" + now +
               R"(,"nbf":"0"})",
           R"({"iss":7,"aud":"api","exp":)" + now + "}",
           R"({"iss":"https://id.example.com","aud":"api","sub":7,"exp":)" +
               now + "}",
           R"({"iss":"https://id.example.com","aud":"api","exp":1,"exp":)" +
               now + "}",
           "[]",
           "not json",
           "",
       }) {
    auto r = Check(json);
    EXPECT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.refusal, Refusal::kMalformed) << json << ": " << r.detail;
  }
}

TEST(CheckClaimsTest, HugeNumericDatesDoNotOverflow) {
  const std::string iss = R"("iss":"https://id.example.com","aud":"api")";
  EXPECT_TRUE(Check("{" + iss + ",\"exp\":9223372036854775807}").ok());
  EXPECT_TRUE(Check("{" + iss + ",\"exp\":1e300}").ok());
  EXPECT_EQ(Check("{" + iss + ",\"exp\":-9223372036854775808}").refusal,
            Refusal::kExpired);
  EXPECT_EQ(Check("{" + iss + ",\"exp\":-1e300}").refusal, Refusal::kExpired);
  EXPECT_EQ(
      Check("{" + iss + ",\"exp\":1e300,\"nbf\":9223372036854775807}").refusal,
      Refusal::kNotYetValid);
  // Beyond int64: jansson refuses to parse it.
  EXPECT_EQ(Check("{" + iss + ",\"exp\":99999999999999999999}").refusal,
            Refusal::kMalformed);
}

TEST(CheckClaimsTest, ClaimsMapHoldsStringsAsValuesAndTheRestAsJson) {
  auto r = Check(Claims(kIss, R"(["api","web"])", TestNowUnix() + 60, 0,
                        R"("name":"Al \"A\"","n":42,"f":1.5,"ok":true,)"
                        R"("nil":null,"roles":["a","b"],"o":{"k":[1,{}]})"));
  ASSERT_TRUE(r.ok()) << r.detail;
  const auto& c = r.token->claims;
  EXPECT_EQ(c.at("iss"), kIss);
  EXPECT_EQ(c.at("sub"), "alice");
  EXPECT_EQ(c.at("aud"), R"(["api","web"])");
  EXPECT_EQ(c.at("exp"), std::to_string(TestNowUnix() + 60));
  EXPECT_EQ(c.at("name"), "Al \"A\"");
  EXPECT_EQ(c.at("n"), "42");
  EXPECT_EQ(c.at("f"), "1.5");
  EXPECT_EQ(c.at("ok"), "true");
  EXPECT_EQ(c.at("nil"), "null");
  EXPECT_EQ(c.at("roles"), R"(["a","b"])");
  EXPECT_EQ(c.at("o"), R"({"k":[1,{}]})");
  EXPECT_EQ(c.size(), 11u);
}

TEST(CheckClaimsTest, NoSubjectGivesAnEmptyOne) {
  auto r = Check(absl::StrCat(R"({"iss":"https://id.example.com","aud":"api",)",
                              R"("exp":)", TestNowUnix() + 60, "}"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.token->subject, "");
}

TEST(CheckClaimsTest, DetailSanitisesUntrustedValues) {
  auto r = Check(Claims("evil\\n\\\"injected", R"("api")", TestNowUnix() + 60));
  ASSERT_EQ(r.refusal, Refusal::kIssuer);
  EXPECT_EQ(r.detail.find('\n'), std::string::npos);
  EXPECT_EQ(r.detail.find("\"injected"), std::string::npos) << r.detail;
}

TEST(RefusalNameTest, NamesEveryRefusal) {
  EXPECT_EQ(RefusalName(Refusal::kMalformed), "malformed");
  EXPECT_EQ(RefusalName(Refusal::kTooLarge), "too_large");
  EXPECT_EQ(RefusalName(Refusal::kAlgorithm), "algorithm");
  EXPECT_EQ(RefusalName(Refusal::kUnknownKey), "unknown_key");
  EXPECT_EQ(RefusalName(Refusal::kSignature), "signature");
  EXPECT_EQ(RefusalName(Refusal::kExpired), "expired");
  EXPECT_EQ(RefusalName(Refusal::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(RefusalName(Refusal::kIssuer), "issuer");
  EXPECT_EQ(RefusalName(Refusal::kAudience), "audience");
  EXPECT_EQ(RefusalName(Refusal::kMissingClaim), "missing_claim");
}

TEST(ValidateProviderSettingsTest, NamesTheBadField) {
  EXPECT_TRUE(ValidateProviderSettings(Settings()).ok());
  ProviderSettings s = Settings();
  s.issuer.clear();
  EXPECT_THAT(ValidateProviderSettings(s).message(),
              ::testing::HasSubstr("issuer"));
  s = Settings();
  s.audiences.clear();
  EXPECT_THAT(ValidateProviderSettings(s).message(),
              ::testing::HasSubstr("audiences"));
  s = Settings();
  s.algorithms = {"RS256", "none"};
  EXPECT_THAT(ValidateProviderSettings(s).message(),
              ::testing::HasSubstr("\"none\" is not supported"));
  s = Settings();
  s.algorithms = {"EdDSA"};
  EXPECT_FALSE(ValidateProviderSettings(s).ok());
  s = Settings();
  s.leeway = absl::Seconds(-1);
  EXPECT_FALSE(ValidateProviderSettings(s).ok());
}

}  // namespace
}  // namespace ssebridge::frontend::auth
