#include "frontend/http/http_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(PercentDecodeTest, DecodesAndRejects) {
  EXPECT_EQ(*PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(*PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(*PercentDecode("%e2%82%ac", false), "\xE2\x82\xAC");
  EXPECT_FALSE(PercentDecode("%", true).ok());
  EXPECT_FALSE(PercentDecode("%4", true).ok());
  EXPECT_FALSE(PercentDecode("%zz", true).ok());
}

TEST(ParseUrlEncodedTest, LaterKeysWinAndEmptyPartsSkip) {
  ParamMap m;
  ASSERT_TRUE(ParseUrlEncoded("a=1&&b=x%26y&a=2&flag", m).ok());
  EXPECT_THAT(m, ElementsAre(Pair("a", "2"), Pair("b", "x&y"), Pair("flag", "")));
  EXPECT_FALSE(ParseUrlEncoded("a=%G1", m).ok());
}

TEST(ParseJsonObjectTest, StringsAsIsOthersAsJson) {
  ParamMap m;
  ASSERT_TRUE(ParseJsonObject(R"({"s":"x","n":1.5,"b":true,"o":{"k":[1]}})", m).ok());
  EXPECT_THAT(m, ElementsAre(Pair("b", "true"), Pair("n", "1.5"),
                             Pair("o", "{\"k\":[1]}"), Pair("s", "x")));
  EXPECT_FALSE(ParseJsonObject("[1]", m).ok());
  EXPECT_FALSE(ParseJsonObject("{", m).ok());
  EXPECT_FALSE(ParseJsonObject("\"s\"", m).ok());
}

TEST(IsValidUtf8Test, AcceptsWellFormedRejectsTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("a\x80z"));            // stray continuation
}

}  // namespace
}  // namespace ssebridge::frontend
