#include "frontend/relay/mux_cursor.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(MuxCursorTest, RoundTripsAndIsUrlSafe) {
  MuxPositions p = {{"inbox", "42"}, {"lobby", "a b/c+d?=&"}, {"dash", ""}};
  const std::string c = EncodeMuxCursor(p);
  EXPECT_EQ(c.rfind("m1.", 0), 0u);
  for (char ch : c.substr(3)) {
    EXPECT_TRUE(isalnum(static_cast<unsigned char>(ch)) || ch == '-' ||
                ch == '_')
        << c;
  }
  auto d = DecodeMuxCursor(c);
  ASSERT_TRUE(d.has_value());
  // Sub-streams without an id are not in it.
  EXPECT_THAT(*d, ElementsAre(Pair("inbox", "42"), Pair("lobby", "a b/c+d?=&")));
}

TEST(MuxCursorTest, CompactForShortIds) {
  EXPECT_LE(EncodeMuxCursor({{"a", "1"}, {"b", "22"}, {"c", "333"}}).size(),
            25u);
}

TEST(MuxCursorTest, AnythingElseIsNotACursor) {
  for (const char* bad :
       {"", "42", "m1", "m2.YTox", "m1.!!", "m1.YTox=", "m1.YQ",  // "a"
        "m1.OjE",                                                  // ":1"
        "m1.YToxCmE6Mg",  // a:1\na:2 (repeated alias)
        "m1.YTo"}) {      // "a:" (empty id)
    EXPECT_FALSE(DecodeMuxCursor(bad).has_value()) << bad;
  }
  EXPECT_TRUE(DecodeMuxCursor("m1.YTox").has_value());  // a:1
  EXPECT_TRUE(DecodeMuxCursor("m1.").has_value());      // nothing yet
}

TEST(MuxCursorTest, RenamesNamedAndUnnamedEventsAndSwapsTheId) {
  std::string out;
  const std::string cursor = "m1.xyz";
  AppendMuxEvent("event: update\nid: 7\ndata: <p>x</p>\n\n", "lobby", &cursor,
                 out);
  AppendMuxEvent("data: hello\ndata: two\n\n", "inbox", nullptr, out);
  AppendMuxEvent("retry: 100\ndata: event: no\n: note\n\n", "d", nullptr, out);
  AppendMuxEvent(": ping only\n", "d", nullptr, out);
  EXPECT_EQ(out,
            "event: lobby.update\nid: m1.xyz\ndata: <p>x</p>\n\n"
            "event: inbox\ndata: hello\ndata: two\n\n"
            "event: d\nretry: 100\ndata: event: no\n: note\n\n"
            ": ping only\n");
}

TEST(MuxCursorTest, EncodedEventId) {
  EXPECT_EQ(EncodedEventId("event: x\nid: 12\ndata: a\n\n"), "12");
  EXPECT_EQ(EncodedEventId("data: id: 12\n\n"), "");
  EXPECT_EQ(EncodedEventId("event: reset\ndata: \n\n"), "");
}

}  // namespace
}  // namespace ssebridge::frontend
