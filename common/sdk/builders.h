// Payload builders for action services: everything Stream::Send accepts, and
// ToEvent(), which turns each of them into the wire message
// ssebridge.action.v1.Event.
//
//   stream.Send("Bot is thinking...");               // text (frontend escapes)
//   stream.Send(Html("<p>", Escape(user), "</p>"));  // trusted HTML fragment
//   stream.Send(Json{{"event", "update"}, {"count", 3}});  // named JSON event
//   stream.Send(Json{{"event", "update"}, {"data", "<p>hi</p>"}});  // named,
//                                                  // html payload "<p>hi</p>"
//   stream.Send(Event::Named("update").Html("<li>x</li>").Id("7"));
//
// HTML safety rule: every string given to Html(...) is trusted markup and is
// sent verbatim. Wrap anything that comes from a user in Escape(...), which
// HTML-escapes & < > " ' and marks the result as safe. Plain text sent with
// Send("...") or Event::Text(...) is escaped by the frontend, so it needs no
// Escape.
//
// Event names and ids must not contain CR or LF (ids no NUL either): the
// frontend rejects such events (SSE injection) instead of relaying them.
//
// All types here are plain values: a const object may be read from any
// thread; a mutable one must not be changed from two threads at once.
#ifndef SSEBRIDGE_COMMON_SDK_BUILDERS_H_
#define SSEBRIDGE_COMMON_SDK_BUILDERS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::sdk {

// Text that has been HTML-escaped, so Html(...) may embed it as is.
class Escaped {
 public:
  const std::string& str() const { return html_; }

 private:
  friend Escaped Escape(absl::string_view text);
  std::string html_;
};

// HTML-escapes & < > " ' in `text`.
Escaped Escape(absl::string_view text);

// A trusted HTML fragment, the concatenation of its parts (like
// absl::StrCat): strings are taken as markup VERBATIM, numbers are printed,
// Escaped values and other Html fragments are embedded as they are.
class Html {
 public:
  Html() = default;
  // (A single Html argument picks the copy constructor: same result.)
  template <typename... Parts>
  explicit Html(const Parts&... parts) {
    (Append(parts), ...);
  }

  // Appends one more part, with the same rules as the constructor.
  template <typename Part>
  Html& Append(const Part& part) {
    if constexpr (std::is_same_v<Part, Html> || std::is_same_v<Part, Escaped>) {
      html_ += part.str();
    } else if constexpr (std::is_convertible_v<const Part&, std::string_view>) {
      html_.append(std::string_view(part));
    } else {
      absl::StrAppend(&html_, part);  // numbers, absl::string_view
    }
    return *this;
  }

  const std::string& str() const { return html_; }

 private:
  std::string html_;
};

// A JSON value (null, bool, number, string, list or map) that converts to
// google.protobuf.Value. Built with initializer lists, nlohmann::json style:
//
//   Json{{"event", "update"}, {"count", 3}}     // map (every element is a
//                                              // two-element list whose first
//                                              // element is a string)
//   Json{1, "two", nullptr}                     // list
//   Json{{"user", {{"name", "ann"}}}, {"tags", {"a", "b"}}}   // nested
//
// Use Json::Array / Json::Object to force the other reading, e.g.
// Json::Array({{"a", 1}}) is a list holding one list. Numbers are doubles on
// the wire (integers are exact up to 2^53).
template <typename T>
concept JsonNumber = std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                     !std::is_same_v<T, char>;

class Json {
 public:
  Json() { value_.set_null_value(google::protobuf::NULL_VALUE); }
  Json(std::nullptr_t) : Json() {}
  Json(bool b) { value_.set_bool_value(b); }
  template <JsonNumber Number>
  Json(Number n) {
    value_.set_number_value(static_cast<double>(n));
  }
  Json(const char* s) { value_.set_string_value(s); }
  Json(std::string s) { value_.set_string_value(std::move(s)); }
  Json(absl::string_view s) { value_.set_string_value(std::string(s)); }
#ifndef ABSL_USES_STD_STRING_VIEW  // Debian: absl::string_view is its own type
  Json(std::string_view s) { value_.set_string_value(std::string(s)); }
#endif
  // A map if every element is a {"key", value} pair, else a list.
  Json(std::initializer_list<Json> elements);
  explicit Json(google::protobuf::Value value) : value_(std::move(value)) {}

  static Json Array(std::initializer_list<Json> elements = {});
  static Json Object(
      std::initializer_list<std::pair<std::string, Json>> members = {});

  // Sets a map member (turns a non-map into an empty map first).
  Json& Set(std::string key, Json value);
  // Appends a list element (turns a non-list into an empty list first).
  Json& Push(Json value);

  const google::protobuf::Value& value() const { return value_; }
  operator const google::protobuf::Value&() const { return value_; }

 private:
  google::protobuf::Value value_;
};

// Builds one Event with every SSE field under control. A payload setter
// replaces any earlier payload (the proto's payload is a oneof).
//
//   Event::Named("update").Html("<li>", Escape(item), "</li>").Id("7")
class Event {
 public:
  Event() = default;  // unnamed: the browser dispatches it as "message"
  static Event Named(absl::string_view name);

  template <typename... Parts>
  Event& Html(const Parts&... parts) {
    proto_.set_html(sdk::Html(parts...).str());
    return *this;
  }
  Event& Text(absl::string_view text);  // escaped by the frontend
  Event& Json(const sdk::Json& json);   // compact JSON
  Event& Raw(absl::string_view data);   // sent as-is, split on line ends
  Event& Id(absl::string_view id);      // "" = no id line
  Event& Retry(uint32_t ms);            // browser reconnect delay; 0 = none
  Event& Comment(absl::string_view comment);

  const ssebridge::action::v1::Event& proto() const& { return proto_; }
  ssebridge::action::v1::Event proto() && { return std::move(proto_); }

 private:
  ssebridge::action::v1::Event proto_;
};

// Converts what Stream::Send accepts into the wire message:
//   string          -> text (HTML-escaped by the frontend)
//   Html, Escaped   -> html (verbatim)
//   Json            -> json; a map with a string "event" member becomes the
//                      event named by it, with the other members as its data
//                      (compact JSON). Exception, the seed's idiom: when the
//                      only other member is a string "data", that string is
//                      the payload, as html (sent verbatim, so escape what
//                      comes from users):
//                        Json{{"event", "update"}, {"data", "<p>hi</p>"}}
//                        -> event: update / data: <p>hi</p>
//   Event / proto   -> as built
ssebridge::action::v1::Event ToEvent(const char* text);
ssebridge::action::v1::Event ToEvent(std::string text);
ssebridge::action::v1::Event ToEvent(absl::string_view text);
#ifndef ABSL_USES_STD_STRING_VIEW
ssebridge::action::v1::Event ToEvent(std::string_view text);
#endif
ssebridge::action::v1::Event ToEvent(const Html& html);
ssebridge::action::v1::Event ToEvent(const Escaped& html);
ssebridge::action::v1::Event ToEvent(const Json& json);
ssebridge::action::v1::Event ToEvent(Event event);
ssebridge::action::v1::Event ToEvent(ssebridge::action::v1::Event event);

}  // namespace ssebridge::sdk

#endif  // SSEBRIDGE_COMMON_SDK_BUILDERS_H_
