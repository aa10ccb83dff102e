#include "common/sdk/builders.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ssebridge::sdk {
namespace {

namespace v1 = ::ssebridge::action::v1;

v1::Event Proto(const std::string& text_proto) {
  v1::Event e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_proto, &e))
      << text_proto;
  return e;
}

void ExpectEvent(const v1::Event& got, const std::string& want) {
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(got, Proto(want)))
      << "got:  " << got.ShortDebugString() << "\nwant: " << want;
}

TEST(BuildersTest, StringsAreText) {
  ExpectEvent(ToEvent("Bot is <thinking>..."),
              R"pb(text: "Bot is <thinking>...")pb");
  ExpectEvent(ToEvent(std::string("s")), R"pb(text: "s")pb");
  ExpectEvent(ToEvent(absl::string_view("a")), R"pb(text: "a")pb");
  ExpectEvent(ToEvent(std::string_view("b")), R"pb(text: "b")pb");
}

TEST(BuildersTest, EscapeEscapesAllFive) {
  EXPECT_EQ(Escape(R"(<a href="x">Tom & Jerry's</a>)").str(),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  ExpectEvent(ToEvent(Escape("<b>")), R"pb(html: "&lt;b&gt;")pb");
}

TEST(BuildersTest, HtmlConcatenatesTrustedPartsAndEscapedValues) {
  const std::string user = "<script>x</script>";
  Html inner("<b>", 42, "</b>");
  ExpectEvent(ToEvent(Html("<div class='p-2'>Reply to ", Escape(user), " ",
                           inner, " ", 1.5, "</div>")),
              R"pb(html: "<div class='p-2'>Reply to &lt;script&gt;x&lt;/"
                         "script&gt; <b>42</b> 1.5</div>")pb");
  Html copy(inner);  // the copy constructor, not a one-part Html
  EXPECT_EQ(copy.str(), "<b>42</b>");
  EXPECT_EQ(Html().Append("<i>").Append(Escape("&")).str(), "<i>&amp;");
}

TEST(BuildersTest, JsonWithEventKeyIsNamedEvent) {
  ExpectEvent(ToEvent(Json{{"event", "update"}, {"count", 3}}), R"pb(
    event: "update"
    json {
      struct_value {
        fields {
          key: "count"
          value { number_value: 3 }
        }
      }
    })pb");
}

TEST(BuildersTest, JsonEventWithOnlyStringDataSendsItAsHtml) {
  // The seed's send_fn.(%{event: "update", data: "..."}): data is the payload.
  ExpectEvent(ToEvent(Json{{"event", "update"}, {"data", "<p>New & 1</p>"}}),
              R"pb(event: "update" html: "<p>New & 1</p>")pb");
  ExpectEvent(ToEvent(Json{{"event", "update"}, {"data", ""}}),
              R"pb(event: "update" html: "")pb");
}

TEST(BuildersTest, JsonEventWithOtherDataKeepsJson) {
  // A non-string data member stays JSON.
  ExpectEvent(ToEvent(Json{{"event", "update"}, {"data", 5}}), R"pb(
    event: "update"
    json {
      struct_value {
        fields {
          key: "data"
          value { number_value: 5 }
        }
      }
    })pb");
  // A string data member next to other members stays JSON too.
  ExpectEvent(ToEvent(Json{{"event", "update"}, {"data", "x"}, {"n", 1}}),
              R"pb(
                event: "update"
                json {
                  struct_value {
                    fields {
                      key: "data"
                      value { string_value: "x" }
                    }
                    fields {
                      key: "n"
                      value { number_value: 1 }
                    }
                  }
                })pb");
  // Without an "event" name, {"data": "..."} is ordinary JSON.
  ExpectEvent(ToEvent(Json{{"data", "x"}}), R"pb(
    json {
      struct_value {
        fields {
          key: "data"
          value { string_value: "x" }
        }
      }
    })pb");
}

TEST(BuildersTest, JsonWithoutEventKeyIsUnnamed) {
  ExpectEvent(ToEvent(Json{{"count", 3}}), R"pb(
    json {
      struct_value {
        fields {
          key: "count"
          value { number_value: 3 }
        }
      }
    })pb");
  // A non-string "event" member is ordinary data.
  ExpectEvent(ToEvent(Json{{"event", 1}}), R"pb(
    json {
      struct_value {
        fields {
          key: "event"
          value { number_value: 1 }
        }
      }
    })pb");
}

TEST(BuildersTest, JsonNestsMapsListsAndScalars) {
  Json json{{"event", "stats"},
            {"user", {{"name", "ann"}, {"admin", true}}},
            {"tags", {"a", "b"}},
            {"mixed", {1, 2.5, nullptr, false, std::string("s")}},
            {"empty_map", Json::Object()},
            {"empty_list", Json::Array()},
            {"pairs", Json::Array({{"k", 1}})}};
  ExpectEvent(ToEvent(json), R"pb(
    event: "stats"
    json {
      struct_value {
        fields {
          key: "user"
          value {
            struct_value {
              fields {
                key: "name"
                value { string_value: "ann" }
              }
              fields {
                key: "admin"
                value { bool_value: true }
              }
            }
          }
        }
        fields {
          key: "tags"
          value {
            list_value {
              values { string_value: "a" }
              values { string_value: "b" }
            }
          }
        }
        fields {
          key: "mixed"
          value {
            list_value {
              values { number_value: 1 }
              values { number_value: 2.5 }
              values { null_value: NULL_VALUE }
              values { bool_value: false }
              values { string_value: "s" }
            }
          }
        }
        fields {
          key: "empty_map"
          value { struct_value {} }
        }
        fields {
          key: "empty_list"
          value { list_value {} }
        }
        fields {
          key: "pairs"
          value {
            list_value {
              values {
                list_value {
                  values { string_value: "k" }
                  values { number_value: 1 }
                }
              }
            }
          }
        }
      }
    })pb");
}

TEST(BuildersTest, JsonScalarsAndSetPush) {
  ExpectEvent(ToEvent(Json(7)), R"pb(json { number_value: 7 })pb");
  ExpectEvent(ToEvent(Json(nullptr)), R"pb(json { null_value: NULL_VALUE })pb");
  ExpectEvent(ToEvent(Json("x")), R"pb(json { string_value: "x" })pb");
  Json built = Json::Object();
  built.Set("list", Json::Array().Push(1).Push("two"));
  ExpectEvent(ToEvent(built), R"pb(json {
                                     struct_value {
                                       fields {
                                         key: "list"
                                         value {
                                           list_value {
                                             values { number_value: 1 }
                                             values { string_value: "two" }
                                           }
                                         }
                                       }
                                     }
                                   })pb");
  google::protobuf::Value value = Json{1, 2};
  EXPECT_EQ(value.list_value().values_size(), 2);
}

TEST(BuildersTest, EventBuilderSetsEveryField) {
  ExpectEvent(ToEvent(Event::Named("update").Html("<li>", 7, "</li>").Id("7")),
              R"pb(event: "update" id: "7" html: "<li>7</li>")pb");
  ExpectEvent(ToEvent(Event().Text("t").Retry(3000).Comment("c")),
              R"pb(text: "t" retry_ms: 3000 comment: "c")pb");
  ExpectEvent(ToEvent(Event::Named("n").Json({{"a", 1}})),
              R"pb(event: "n"
                   json {
                     struct_value {
                       fields {
                         key: "a"
                         value { number_value: 1 }
                       }
                     }
                   })pb");
  // A later payload replaces an earlier one (the payload is a oneof).
  ExpectEvent(ToEvent(Event().Html("<p>").Raw("data: x")),
              R"pb(raw: "data: x")pb");
  ExpectEvent(ToEvent(Event().Comment("ping")), R"pb(comment: "ping")pb");
}

TEST(BuildersTest, RawProtoPassesThrough) {
  v1::Event event = Proto(R"pb(event: "e" id: "1" raw: "r")pb");
  ExpectEvent(ToEvent(event), R"pb(event: "e" id: "1" raw: "r")pb");
}

}  // namespace
}  // namespace ssebridge::sdk
