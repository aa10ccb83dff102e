#include "common/sse/encoder.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace ssebridge::common::sse {
namespace {

using ::ssebridge::action::v1::Event;

Event ParseEvent(const std::string& text_proto) {
  Event e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_proto, &e))
      << text_proto;
  return e;
}

struct Case {
  const char* name;
  const char* event;  // text-format Event
  const char* wire;   // expected bytes
};

class EncoderTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(EncoderTableTest, EncodesExactBytes) {
  std::string out = "prefix|";  // appends, never overwrites
  ASSERT_TRUE(AppendEvent(ParseEvent(GetParam().event), out).ok());
  EXPECT_EQ(out, std::string("prefix|") + GetParam().wire);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, EncoderTableTest,
    ::testing::Values(
        Case{"PlainText", R"pb(text: "Bot is thinking...")pb",
             "data: Bot is thinking...\n\n"},
        Case{"TextIsHtmlEscaped", R"pb(text: "<b>&\"'</b>")pb",
             "data: &lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;\n\n"},
        Case{"HtmlVerbatim", R"pb(html: "<p class='x'>hi</p>")pb",
             "data: <p class='x'>hi</p>\n\n"},
        Case{"SplitsLf", R"pb(raw: "a\nb")pb", "data: a\ndata: b\n\n"},
        Case{"SplitsCrLf", R"pb(raw: "a\r\nb")pb", "data: a\ndata: b\n\n"},
        Case{"SplitsLoneCr", R"pb(raw: "a\rb")pb", "data: a\ndata: b\n\n"},
        Case{"MixedLineEnds", R"pb(raw: "a\r\rb\n\r\nc")pb",
             "data: a\ndata: \ndata: b\ndata: \ndata: c\n\n"},
        Case{"TrailingNewlineKept", R"pb(raw: "a\n")pb",
             "data: a\ndata: \n\n"},
        Case{"LeadingSpaceSurvives", R"pb(raw: "  two spaces")pb",
             "data:   two spaces\n\n"},
        Case{"RawDataPrefixNotInjected", R"pb(raw: "x\ndata: y\nevent: z")pb",
             "data: x\ndata: data: y\ndata: event: z\n\n"},
        Case{"EmptyPayload", R"pb(text: "")pb", "data: \n\n"},
        Case{"NoPayloadNamed", R"pb(event: "done")pb",
             "event: done\ndata: \n\n"},
        Case{"NoPayloadAtAll", "", "data: \n\n"},
        Case{"NamedWithId",
             R"pb(event: "update" id: "42" html: "<li>x</li>")pb",
             "event: update\nid: 42\ndata: <li>x</li>\n\n"},
        Case{"Retry", R"pb(retry_ms: 3000 text: "x")pb",
             "retry: 3000\ndata: x\n\n"},
        Case{"RetryOnly", R"pb(retry_ms: 250)pb", "retry: 250\n\n"},
        Case{"CommentOnly", R"pb(comment: "ping")pb", ": ping\n"},
        Case{"MultiLineComment", R"pb(comment: "a\nb")pb", ": a\n: b\n"},
        Case{"CommentWithEvent", R"pb(comment: "c" text: "t")pb",
             ": c\ndata: t\n\n"},
        Case{"JsonMap",
             R"pb(json {
                    struct_value {
                      fields {
                        key: "n"
                        value { number_value: 3 }
                      }
                      fields {
                        key: "a"
                        value { string_value: "x\"\n" }
                      }
                    }
                  })pb",
             "data: {\"a\":\"x\\\"\\n\",\"n\":3}\n\n"},
        Case{"JsonList",
             R"pb(json {
                    list_value {
                      values { number_value: 1.5 }
                      values { bool_value: true }
                      values { null_value: NULL_VALUE }
                      values { number_value: -7 }
                    }
                  })pb",
             "data: [1.5,true,null,-7]\n\n"},
        Case{"JsonScalarString", R"pb(json { string_value: "<ok>" })pb",
             "data: \"<ok>\"\n\n"},
        Case{"JsonControlChars", R"pb(json { string_value: "\x01\t" })pb",
             "data: \"\\u0001\\t\"\n\n"},
        Case{"JsonBigNumber", R"pb(json { number_value: 1e300 })pb",
             "data: 1e+300\n\n"},
        Case{"Utf8PassesThrough", R"pb(text: "h\303\251 \360\237\230\200")pb",
             "data: h\xC3\xA9 \xF0\x9F\x98\x80\n\n"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(EncoderTest, RejectsNewlineInName) {
  for (const char* name : {"a\nb", "a\rb", "\r\n"}) {
    Event e;
    e.set_event(name);
    e.set_text("x");
    std::string out = "keep";
    absl::Status s = AppendEvent(e, out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(out, "keep");
  }
}

TEST(EncoderTest, RejectsBadId) {
  for (std::string id : {std::string("1\n2"), std::string("1\r"),
                         std::string("a\0b", 3)}) {
    Event e;
    e.set_id(id);
    e.set_text("x");
    std::string out;
    EXPECT_EQ(AppendEvent(e, out).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(out.empty());
  }
}

TEST(EncoderTest, NanBecomesNull) {
  Event e;
  e.mutable_json()->set_number_value(std::nan(""));
  std::string out;
  ASSERT_TRUE(AppendEvent(e, out).ok());
  EXPECT_EQ(out, "data: null\n\n");
}

TEST(EncoderTest, SimpleEventAlwaysHasData) {
  std::string out;
  AppendSimpleEvent("done", "", 0, out);
  EXPECT_EQ(out, "event: done\ndata: \n\n");
  out.clear();
  AppendSimpleEvent("error", "{\"code\":\"UNAVAILABLE\"}", 5000, out);
  EXPECT_EQ(out, "event: error\nretry: 5000\ndata: {\"code\":\"UNAVAILABLE\"}\n\n");
}

TEST(EncoderTest, EmptyCommentIsHeartbeat) {
  std::string out;
  AppendComment("", out);
  EXPECT_EQ(out, ":\n");
}

TEST(EncoderTest, BatchesIntoOneBuffer) {
  std::string out;
  Event a;
  a.set_text("1");
  Event b;
  b.set_text("2");
  ASSERT_TRUE(AppendEvent(a, out).ok());
  ASSERT_TRUE(AppendEvent(b, out).ok());
  EXPECT_EQ(out, "data: 1\n\ndata: 2\n\n");
}

}  // namespace
}  // namespace ssebridge::common::sse
