#include "frontend/http/mux_query.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

MuxPolicy Policy() {
  MuxPolicy p;
  p.routes = {"/api/notifications", "/api/chat_stream", "/api/dashboard"};
  p.max_streams = 3;
  p.top_level_keys = {"access_token"};
  return p;
}

std::string Error(absl::string_view query) {
  absl::StatusOr<MuxQuery> q = ParseMuxQuery(query, Policy());
  EXPECT_FALSE(q.ok()) << query;
  if (q.ok()) return "";
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(q.status().message());
}

TEST(MuxQueryTest, ThreeSubStreamsWithTheirOwnParameters) {
  absl::StatusOr<MuxQuery> q = ParseMuxQuery(
      "s=inbox:/api/notifications&s=lobby:/api/chat_stream&lobby.room=lobby"
      "&lobby.msg=hi+there%21&s=dash:/api/dashboard&inbox.user=ann",
      Policy());
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->streams.size(), 3u);
  EXPECT_EQ(q->streams[0].alias, "inbox");
  EXPECT_EQ(q->streams[0].route, "/api/notifications");
  EXPECT_THAT(q->streams[0].params, ElementsAre(Pair("user", "ann")));
  EXPECT_EQ(q->streams[1].alias, "lobby");
  EXPECT_EQ(q->streams[1].route, "/api/chat_stream");
  EXPECT_THAT(q->streams[1].params,
              ElementsAre(Pair("room", "lobby"), Pair("msg", "hi there!")));
  EXPECT_EQ(q->streams[2].alias, "dash");
  EXPECT_TRUE(q->streams[2].params.empty());
  EXPECT_TRUE(q->top_level.empty());
}

TEST(MuxQueryTest, EscapedDeclarationsAndTheSameRouteTwice) {
  absl::StatusOr<MuxQuery> q = ParseMuxQuery(
      "s=a%3A%2Fapi%2Fchat_stream&s=B-2_x:/api/chat_stream&a.room=x"
      "&B-2_x.room=y%2Ez",
      Policy());
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->streams.size(), 2u);
  EXPECT_EQ(q->streams[0].route, "/api/chat_stream");
  EXPECT_EQ(q->streams[1].alias, "B-2_x");
  EXPECT_THAT(q->streams[1].params, ElementsAre(Pair("room", "y.z")));
}

TEST(MuxQueryTest, ParameterNamesMayHoldDots) {
  absl::StatusOr<MuxQuery> q =
      ParseMuxQuery("s=a:/api/dashboard&a.filter.kind=cpu", Policy());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->streams[0].params, ElementsAre(Pair("filter.kind", "cpu")));
}

TEST(MuxQueryTest, TopLevelCursorAndTokenParameter) {
  absl::StatusOr<MuxQuery> q = ParseMuxQuery(
      "lastEventId=m1.abc&s=a:/api/dashboard&access_token=t", Policy());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->top_level, ElementsAre(Pair("lastEventId", "m1.abc"),
                                        Pair("access_token", "t")));
}

TEST(MuxQueryTest, EmptyPiecesAreSkipped) {
  absl::StatusOr<MuxQuery> q = ParseMuxQuery("&s=a:/api/dashboard&&", Policy());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->streams.size(), 1u);
}

TEST(MuxQueryTest, RefusesWhatIsAmbiguousOrNotAllowed) {
  EXPECT_THAT(Error(""), HasSubstr("no sub-stream"));
  EXPECT_THAT(Error("a.room=x"), HasSubstr("no sub-stream"));
  EXPECT_THAT(Error("s=a:/api/admin"),
              HasSubstr("s=a:/api/admin: route /api/admin is not in this "
                        "route's allow-list (/api/notifications, "
                        "/api/chat_stream, /api/dashboard)"));
  EXPECT_THAT(Error("s=a:/api/dashboard&s=a:/api/chat_stream"),
              HasSubstr("alias \"a\" is repeated"));
  EXPECT_THAT(Error("s=a.b:/api/dashboard"),
              HasSubstr("malformed alias \"a.b\" (1-32 of A-Z a-z 0-9 _ -)"));
  EXPECT_THAT(Error("s=:/api/dashboard"), HasSubstr("malformed alias \"\""));
  EXPECT_THAT(Error(absl::StrCat("s=", std::string(33, 'a'),
                                 ":/api/dashboard")),
              HasSubstr("malformed alias"));
  EXPECT_THAT(Error("s=/api/dashboard"),
              HasSubstr("s=/api/dashboard: expected s=ALIAS:/route"));
  EXPECT_THAT(Error("s=a:/api/chat_stream?room=x"),
              HasSubstr("give the sub-stream's parameters as a.NAME=VALUE"));
  EXPECT_THAT(
      Error("s=a:/api/dashboard&s=b:/api/dashboard&s=c:/api/dashboard"
            "&s=d:/api/dashboard"),
      HasSubstr("4 sub-streams, at most 3"));
  EXPECT_THAT(Error("s=a:/api/dashboard&b.room=x"),
              HasSubstr("parameter b.room names no sub-stream (no s=b:...)"));
  EXPECT_THAT(Error("s=a:/api/dashboard&a.room=x&a.room=y"),
              HasSubstr("parameter a.room is repeated"));
  EXPECT_THAT(Error("s=a:/api/dashboard&lastEventId=1&lastEventId=2"),
              HasSubstr("parameter lastEventId is repeated"));
  EXPECT_THAT(Error("s=a:/api/dashboard&room=x"),
              HasSubstr("unknown parameter room (a sub-stream's parameters "
                        "are ALIAS.NAME=VALUE)"));
  EXPECT_THAT(Error("s=a:/api/dashboard&a.=x"),
              HasSubstr("parameter a. has no name after the alias"));
  EXPECT_THAT(Error("s=a:/api/dashboard&a.x=%zz"),
              HasSubstr("invalid percent-escape"));
  EXPECT_THAT(Error("s=a:/api/dashboard&a.x=%ff"), HasSubstr("UTF-8"));
}

// An alias named like one of the connection's own events ("done", "error",
// "auth-expired") would send its sub-stream's plain events under that name,
// and a page could not tell them from the connection's end.
TEST(MuxQueryTest, AnAliasNamedLikeTheConnectionsOwnEventsIsRefused) {
  MuxPolicy p = Policy();
  p.reserved_aliases = {"done", "error", "auth-expired"};
  for (const char* alias : {"done", "error", "auth-expired"}) {
    absl::StatusOr<MuxQuery> q =
        ParseMuxQuery(absl::StrCat("s=", alias, ":/api/dashboard"), p);
    ASSERT_FALSE(q.ok()) << alias;
    EXPECT_THAT(std::string(q.status().message()),
                HasSubstr(absl::StrCat("alias \"", alias,
                                       "\" is the name of one of the "
                                       "connection's own events")));
  }
  EXPECT_TRUE(ParseMuxQuery("s=Done:/api/dashboard", p).ok());
  // A terminal event "x.end" would be alias x's event "end".
  p.reserved_aliases = {"x.end", "error", "auth-expired"};
  absl::StatusOr<MuxQuery> q = ParseMuxQuery("s=x:/api/dashboard", p);
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(std::string(q.status().message()),
              HasSubstr("connection's own events"));
  EXPECT_TRUE(ParseMuxQuery("s=xy:/api/dashboard", p).ok());
}

TEST(MuxQueryTest, AliasRule) {
  EXPECT_TRUE(IsValidMuxAlias("a"));
  EXPECT_TRUE(IsValidMuxAlias("Inbox_2-x"));
  EXPECT_FALSE(IsValidMuxAlias(""));
  EXPECT_FALSE(IsValidMuxAlias("a.b"));
  EXPECT_FALSE(IsValidMuxAlias("a b"));
  EXPECT_FALSE(IsValidMuxAlias("a:b"));
  EXPECT_FALSE(IsValidMuxAlias(std::string(33, 'x')));
}

TEST(MuxQueryTest, RawQueryOfATarget) {
  EXPECT_EQ(RawQueryOf("/api/live?s=a:/b&c=d"), "s=a:/b&c=d");
  EXPECT_EQ(RawQueryOf("/api/live?s=a#frag"), "s=a");
  EXPECT_EQ(RawQueryOf("/api/live"), "");
  EXPECT_EQ(RawQueryOf("/api/live?"), "");
}

}  // namespace
}  // namespace ssebridge::frontend
