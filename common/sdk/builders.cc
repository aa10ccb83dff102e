#include "common/sdk/builders.h"

#include "common/sse/encoder.h"

namespace ssebridge::sdk {

using ::google::protobuf::Value;
namespace v1 = ::ssebridge::action::v1;

Escaped Escape(absl::string_view text) {
  Escaped escaped;
  common::sse::AppendHtmlEscaped(text, escaped.html_);
  return escaped;
}

Json::Json(std::initializer_list<Json> elements) {
  bool is_map = elements.size() > 0;
  for (const Json& e : elements) {
    const Value& v = e.value_;
    is_map = is_map && v.has_list_value() &&
             v.list_value().values_size() == 2 &&
             v.list_value().values(0).has_string_value();
  }
  if (is_map) {
    auto& fields = *value_.mutable_struct_value()->mutable_fields();
    for (const Json& e : elements) {
      const auto& pair = e.value_.list_value();
      fields[pair.values(0).string_value()] = pair.values(1);
    }
  } else {
    auto& values = *value_.mutable_list_value()->mutable_values();
    for (const Json& e : elements) *values.Add() = e.value_;
  }
}

Json Json::Array(std::initializer_list<Json> elements) {
  Json json;
  json.value_.mutable_list_value();
  for (const Json& e : elements) json.Push(e);
  return json;
}

Json Json::Object(std::initializer_list<std::pair<std::string, Json>> members) {
  Json json;
  json.value_.mutable_struct_value();
  for (const auto& [key, value] : members) json.Set(key, value);
  return json;
}

Json& Json::Set(std::string key, Json value) {
  (*value_.mutable_struct_value()->mutable_fields())[std::move(key)] =
      std::move(value.value_);
  return *this;
}

Json& Json::Push(Json value) {
  *value_.mutable_list_value()->add_values() = std::move(value.value_);
  return *this;
}

Event Event::Named(absl::string_view name) {
  Event event;
  event.proto_.set_event(std::string(name));
  return event;
}

Event& Event::Text(absl::string_view text) {
  proto_.set_text(std::string(text));
  return *this;
}

Event& Event::Json(const sdk::Json& json) {
  *proto_.mutable_json() = json.value();
  return *this;
}

Event& Event::Raw(absl::string_view data) {
  proto_.set_raw(std::string(data));
  return *this;
}

Event& Event::Id(absl::string_view id) {
  proto_.set_id(std::string(id));
  return *this;
}

Event& Event::Retry(uint32_t ms) {
  proto_.set_retry_ms(ms);
  return *this;
}

Event& Event::Comment(absl::string_view comment) {
  proto_.set_comment(std::string(comment));
  return *this;
}

v1::Event ToEvent(const char* text) { return ToEvent(absl::string_view(text)); }
v1::Event ToEvent(std::string text) {
  v1::Event event;
  event.set_text(std::move(text));
  return event;
}
v1::Event ToEvent(absl::string_view text) { return ToEvent(std::string(text)); }
#ifndef ABSL_USES_STD_STRING_VIEW
v1::Event ToEvent(std::string_view text) { return ToEvent(std::string(text)); }
#endif

v1::Event ToEvent(const Html& html) {
  v1::Event event;
  event.set_html(html.str());
  return event;
}
v1::Event ToEvent(const Escaped& html) { return ToEvent(Html(html)); }

v1::Event ToEvent(const Json& json) {
  v1::Event event;
  *event.mutable_json() = json.value();
  // The seed's convention: a map with an "event" key is a named event.
  if (event.json().has_struct_value()) {
    auto& fields =
        *event.mutable_json()->mutable_struct_value()->mutable_fields();
    auto it = fields.find("event");
    if (it != fields.end() && it->second.has_string_value()) {
      event.set_event(it->second.string_value());
      fields.erase(it);
      // {event: "update", data: "<p>..</p>"}: the string is the payload,
      // sent verbatim like the seed's send_fn.(%{event: .., data: ..}).
      auto data = fields.find("data");
      if (fields.size() == 1 && data != fields.end() &&
          data->second.has_string_value()) {
        std::string html = std::move(*data->second.mutable_string_value());
        event.set_html(std::move(html));  // replaces the json payload
      }
    }
  }
  return event;
}

v1::Event ToEvent(Event event) { return std::move(event).proto(); }
v1::Event ToEvent(v1::Event event) { return event; }

}  // namespace ssebridge::sdk
