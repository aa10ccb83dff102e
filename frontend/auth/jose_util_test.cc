#include "frontend/auth/jose_util.h"

#include <string>

#include "gtest/gtest.h"

namespace ssebridge::frontend::auth::internal {
namespace {

TEST(Base64UrlTest, AcceptsOnlyStrictUnpaddedBase64Url) {
  EXPECT_TRUE(IsBase64Url(""));
  EXPECT_TRUE(IsBase64Url("AA"));
  EXPECT_TRUE(IsBase64Url("AAA"));
  EXPECT_TRUE(IsBase64Url("AAAA"));
  EXPECT_TRUE(IsBase64Url("-_09azAZ"));
  EXPECT_FALSE(IsBase64Url("A"));       // 1 mod 4: cannot hold a byte
  EXPECT_FALSE(IsBase64Url("AAAAA"));   // the same after a full group
  EXPECT_FALSE(IsBase64Url("AA=="));    // padding
  EXPECT_FALSE(IsBase64Url("AAAAA="));  // the input that aborts cjose
  EXPECT_FALSE(IsBase64Url("A+/A"));    // base64, not base64url
  EXPECT_FALSE(IsBase64Url("AA A"));
  EXPECT_FALSE(IsBase64Url(std::string("AA\0A", 4)));
  EXPECT_FALSE(IsBase64Url("AB"));   // non-zero unused bits
  EXPECT_FALSE(IsBase64Url("AAB"));  // non-zero unused bits
  EXPECT_TRUE(IsBase64Url("AAE"));
}

TEST(Base64UrlTest, DecodesAndEncodes) {
  EXPECT_EQ(Base64UrlDecode("").value(), "");
  EXPECT_EQ(Base64UrlDecode("eyJhIjoxfQ").value(), "{\"a\":1}");
  EXPECT_EQ(Base64UrlDecode("_-8").value(), "\xff\xef");
  EXPECT_FALSE(Base64UrlDecode("eyJhIjoxfQ==").has_value());
  for (const std::string s : {"", "a", "ab", "abc", "abcd", "\xff\xfe\xfd"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)).value(), s);
  }
}

TEST(ParseJsonObjectTest, RefusesDuplicatesNulAndNonObjects) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1,"b":[1,2]})").ok());
  EXPECT_FALSE(ParseJsonObject(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(ParseJsonObject(R"({"a":"x\u0000y"})").ok());
  EXPECT_FALSE(ParseJsonObject(R"([1,2])").ok());
  EXPECT_FALSE(ParseJsonObject(R"("text")").ok());
  EXPECT_FALSE(ParseJsonObject(R"({"a":1} x)").ok());
  EXPECT_FALSE(ParseJsonObject("").ok());
  EXPECT_FALSE(ParseJsonObject("{\"a\":\"\xff\"}").ok());
}

TEST(ParseJsonObjectTest, ErrorGivesThePositionNotTheText) {
  auto r = ParseJsonObject(R"({"secret":"hunter2" oops})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("column"), std::string::npos)
      << r.status();
}

TEST(AlgorithmTest, KnowsTheTwelveCjoseAlgorithms) {
  for (const char* alg :
       {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
        "ES512", "HS256", "HS384", "HS512"}) {
    EXPECT_NE(FindAlgorithm(alg), nullptr) << alg;
  }
  for (const char* alg : {"none", "None", "NONE", "", "hs256", "EdDSA",
                          "RSA-OAEP", "dir", "ES256K"}) {
    EXPECT_EQ(FindAlgorithm(alg), nullptr) << alg;
  }
  EXPECT_EQ(FindAlgorithm("ES512")->ec_curve_bits, 521);
  EXPECT_EQ(FindAlgorithm("ES512")->ec_sig_bytes, 132u);
}

TEST(SanitizeForLogTest, KeepsSafeCharactersAndCuts) {
  EXPECT_EQ(SanitizeForLog("key-1_a.b"), "key-1_a.b");
  EXPECT_EQ(SanitizeForLog("a\nb\"c"), "a?b?c");
  EXPECT_EQ(SanitizeForLog(std::string(100, 'x'), 10),
            std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace ssebridge::frontend::auth::internal
