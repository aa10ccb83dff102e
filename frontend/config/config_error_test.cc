#include "frontend/config/config_error.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

TEST(ConfigErrorTest, NamesFileKeyPathAndProblem) {
  const absl::Status s =
      ConfigError("frontend.yaml", "routes[1].backnd", "unknown key");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "frontend.yaml: routes[1].backnd: unknown key");
}

TEST(ConfigErrorTest, EmptyKeyPathIsLeftOut) {
  const absl::Status s =
      ConfigError("frontend.yaml", "", "expected a map of settings");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "frontend.yaml: expected a map of settings");
}

TEST(ConfigQuoteTest, QuotesAndEscapesSoTheValueStaysOnOneLine) {
  EXPECT_EQ(Quote("chat_bot"), "\"chat_bot\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("80\n80\r\n"), "\"80\\n80\\r\\n\"");
  EXPECT_EQ(Quote(std::string("a\0b", 3)), "\"a\\000b\"");
}

TEST(ConfigQuoteTest, KeepsUtf8AsIs) {
  EXPECT_EQ(Quote("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

TEST(ConfigQuoteTest, ShortensLongValues) {
  const std::string sixty(60, 'x');
  EXPECT_EQ(Quote(sixty), "\"" + sixty + "\"");
  EXPECT_EQ(Quote(sixty + "y"), "\"" + sixty + "...\"");
  EXPECT_EQ(Quote(std::string(10'000, 'x')), "\"" + sixty + "...\"");
}

TEST(ConfigQuoteTest, DoesNotCutAUtf8Sequence) {
  // "é" takes bytes 59 and 60; the cut at 60 would split it.
  const std::string fifty_nine(59, 'x');
  EXPECT_EQ(Quote(fifty_nine + "\xC3\xA9" + "tail"),
            "\"" + fifty_nine + "...\"");
  // Three 4-byte characters end at byte 60: nothing is split.
  const std::string emoji = "\xF0\x9F\x98\x80";
  const std::string head(48, 'x');
  EXPECT_EQ(Quote(head + emoji + emoji + emoji + "z"),
            "\"" + head + emoji + emoji + emoji + "...\"");
}

TEST(ConfigIndexPathTest, AppendsTheIndexInBrackets) {
  EXPECT_EQ(IndexPath("routes", 0), "routes[0]");
  EXPECT_EQ(IndexPath("routes[2].methods", 11), "routes[2].methods[11]");
}

}  // namespace
}  // namespace ssebridge::frontend
