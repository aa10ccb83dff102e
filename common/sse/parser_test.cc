#include "common/sse/parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::common::sse {
namespace {

using ::testing::ElementsAre;

struct Collected {
  std::vector<ParsedEvent> events;
  std::vector<std::string> comments;
};

Collected ParseAll(const std::vector<std::string>& chunks) {
  Collected c;
  Parser p([&c](ParsedEvent&& e) { c.events.push_back(e); },
           [&c](absl::string_view s) { c.comments.emplace_back(s); });
  for (const auto& chunk : chunks) p.Feed(chunk);
  return c;
}

std::optional<uint32_t> RetryOf(absl::string_view body) {
  Parser p([](ParsedEvent&&) {});
  p.Feed(body);
  return p.retry_ms();
}

ParsedEvent Ev(std::string type, std::string data, std::string id = "") {
  return ParsedEvent{std::move(type), std::move(data), std::move(id)};
}

struct Case {
  const char* name;
  std::vector<std::string> chunks;
  std::vector<ParsedEvent> want;
};

class ParserTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParserTableTest, DispatchesLikeABrowser) {
  EXPECT_EQ(ParseAll(GetParam().chunks).events, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ParserTableTest,
    ::testing::Values(
        Case{"Simple", {"data: hi\n\n"}, {Ev("message", "hi")}},
        Case{"Named", {"event: update\ndata: x\n\n"}, {Ev("update", "x")}},
        Case{"MultiLine", {"data: a\ndata: b\n\n"}, {Ev("message", "a\nb")}},
        Case{"CrLf", {"data: a\r\ndata: b\r\n\r\n"}, {Ev("message", "a\nb")}},
        Case{"LoneCr", {"data: a\rdata: b\r\r"}, {Ev("message", "a\nb")}},
        Case{"CrLfSplitAcrossChunks",
             {"data: a\r", "\ndata: b\r", "\n\r", "\n"},
             {Ev("message", "a\nb")}},
        Case{"Bom", {"\xEF\xBB\xBF" "data: x\n\n"}, {Ev("message", "x")}},
        Case{"BomSplit", {"\xEF", "\xBB", "\xBF" "data: x\n\n"},
             {Ev("message", "x")}},
        Case{"OnlyFirstBomStripped",
             {"\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n"},
             {}},  // second BOM makes the line an unknown field
        Case{"OneSpaceStripped", {"data:  two\n\n"}, {Ev("message", " two")}},
        Case{"NoSpace", {"data:x\n\n"}, {Ev("message", "x")}},
        Case{"FieldWithoutColon", {"data\n\n"}, {Ev("message", "")}},
        Case{"EmptyDataLine", {"data:\n\n"}, {Ev("message", "")}},
        Case{"NoDataNotDispatched", {"event: done\n\n"}, {}},
        Case{"EventTypeResetAfterDrop",
             {"event: done\n\ndata: x\n\n"},
             {Ev("message", "x")}},
        Case{"IdPersists",
             {"id: 7\ndata: a\n\ndata: b\n\n"},
             {Ev("message", "a", "7"), Ev("message", "b", "7")}},
        Case{"EmptyIdResets",
             {"id: 7\ndata: a\n\nid\ndata: b\n\n"},
             {Ev("message", "a", "7"), Ev("message", "b", "")}},
        Case{"IdWithNulIgnored",
             {"id: 1\ndata: a\n\n", std::string("id: 2\0x\ndata: b\n\n", 17)},
             {Ev("message", "a", "1"), Ev("message", "b", "1")}},
        Case{"UnknownFieldIgnored", {"foo: bar\ndata: x\n\n"},
             {Ev("message", "x")}},
        Case{"NoDispatchWithoutBlankLine", {"data: x\n"}, {}},
        Case{"SplitAnywhere",
             {"da", "ta: he", "llo\n", "\n"},
             {Ev("message", "hello")}},
        Case{"ColonInValue", {"data: a: b\n\n"}, {Ev("message", "a: b")}}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ParserTest, CommentsReported) {
  Collected c = ParseAll({": ping\n:\ndata: x\n\n"});
  EXPECT_THAT(c.comments, ElementsAre(" ping", ""));
  EXPECT_EQ(c.events.size(), 1u);
}

TEST(ParserTest, RetryDigitsOnly) {
  EXPECT_EQ(RetryOf("retry: 1500\n\n"), 1500u);
  EXPECT_FALSE(RetryOf("retry: 15x0\n\n").has_value());
  EXPECT_FALSE(RetryOf("retry: -1\n\n").has_value());
  EXPECT_FALSE(RetryOf("retry:\n\n").has_value());
}

TEST(ParserTest, LastEventIdKept) {
  Parser p([](ParsedEvent&&) {});
  p.Feed("id: abc\ndata: x\n\n: ping\n");
  EXPECT_EQ(p.last_event_id(), "abc");
}

}  // namespace
}  // namespace ssebridge::common::sse
