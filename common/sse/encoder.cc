#include "common/sse/encoder.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ssebridge::common::sse {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::ssebridge::action::v1::Event;

// Calls `line_fn(line)` for each line of `text`, treating CRLF, LF and lone
// CR as line ends (all three end a line for the browser). Text that ends with
// a line end yields a final empty line, so the browser reconstructs it.
template <typename LineFn>
void ForEachLine(absl::string_view text, LineFn line_fn) {
  size_t start = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      line_fn(text.substr(start, i - start));
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  line_fn(text.substr(start));
}

void AppendJsonString(absl::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the current run of bytes needing no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(esc, sizeof(esc));
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void AppendJsonNumber(double d, std::string& out) {
  if (!std::isfinite(d)) {
    out.append("null");
    return;
  }
  char buf[32];
  // Integral values within the exactly representable range print as integers
  // ("3", not "3.0" or "3e+00"), like JavaScript's JSON.stringify.
  if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf),
                                   static_cast<int64_t>(d));
    out.append(buf, end);
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, end);
}

}  // namespace

absl::Status ValidateEventName(absl::string_view name) {
  if (name.find_first_of("\r\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError("event name contains CR or LF");
  }
  return absl::OkStatus();
}

absl::Status ValidateEventId(absl::string_view id) {
  if (id.find_first_of(absl::string_view("\r\n\0", 3)) !=
      absl::string_view::npos) {
    return absl::InvalidArgumentError("event id contains CR, LF or NUL");
  }
  return absl::OkStatus();
}

void AppendDataLines(absl::string_view data, std::string& out) {
  ForEachLine(data, [&out](absl::string_view line) {
    out.append("data: ");
    out.append(line.data(), line.size());
    out.push_back('\n');
  });
}

void AppendHtmlEscaped(absl::string_view text, std::string& out) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* rep;
    switch (text[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: continue;
    }
    out.append(text.data() + run, i - run);
    out.append(rep);
    run = i + 1;
  }
  out.append(text.data() + run, text.size() - run);
}

void AppendEscapedDataLines(absl::string_view text, std::string& out) {
  ForEachLine(text, [&out](absl::string_view line) {
    out.append("data: ");
    AppendHtmlEscaped(line, out);
    out.push_back('\n');
  });
}

void AppendComment(absl::string_view text, std::string& out) {
  ForEachLine(text, [&out](absl::string_view line) {
    if (line.empty()) {
      out.append(":\n");
      return;
    }
    out.append(": ");
    out.append(line.data(), line.size());
    out.push_back('\n');
  });
}

void AppendRetry(uint32_t retry_ms, std::string& out) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), retry_ms);
  out.append("retry: ");
  out.append(buf, end);
  out.push_back('\n');
}

void AppendJson(const Value& value, std::string& out) {
  switch (value.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      out.append("null");
      break;
    case Value::kNumberValue:
      AppendJsonNumber(value.number_value(), out);
      break;
    case Value::kStringValue:
      AppendJsonString(value.string_value(), out);
      break;
    case Value::kBoolValue:
      out.append(value.bool_value() ? "true" : "false");
      break;
    case Value::kStructValue: {
      // Map order is unspecified in protobuf; sort keys so output is stable.
      const auto& fields = value.struct_value().fields();
      std::vector<const std::string*> keys;
      keys.reserve(fields.size());
      for (const auto& [k, v] : fields) keys.push_back(&k);
      std::sort(keys.begin(), keys.end(),
                [](const std::string* a, const std::string* b) {
                  return *a < *b;
                });
      out.push_back('{');
      bool first = true;
      for (const std::string* k : keys) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonString(*k, out);
        out.push_back(':');
        AppendJson(fields.at(*k), out);
      }
      out.push_back('}');
      break;
    }
    case Value::kListValue: {
      out.push_back('[');
      bool first = true;
      for (const Value& v : value.list_value().values()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJson(v, out);
      }
      out.push_back(']');
      break;
    }
  }
}

void AppendSimpleEvent(absl::string_view name, absl::string_view data,
                       uint32_t retry_ms, std::string& out) {
  if (!name.empty()) {
    out.append("event: ");
    out.append(name.data(), name.size());
    out.push_back('\n');
  }
  if (retry_ms > 0) AppendRetry(retry_ms, out);
  AppendDataLines(data, out);
  out.push_back('\n');
}

absl::Status AppendEvent(const Event& event, std::string& out) {
  if (absl::Status s = ValidateEventName(event.event()); !s.ok()) return s;
  if (absl::Status s = ValidateEventId(event.id()); !s.ok()) return s;

  if (!event.comment().empty()) AppendComment(event.comment(), out);
  const bool control_only = event.payload_case() == Event::PAYLOAD_NOT_SET &&
                            event.event().empty() && event.id().empty() &&
                            (event.retry_ms() > 0 || !event.comment().empty());
  if (!event.event().empty()) {
    out.append("event: ");
    out.append(event.event());
    out.push_back('\n');
  }
  if (!event.id().empty()) {
    out.append("id: ");
    out.append(event.id());
    out.push_back('\n');
  }
  if (event.retry_ms() > 0) AppendRetry(event.retry_ms(), out);
  if (control_only) {
    // A retry line needs the blank line to be processed in order; a bare
    // comment is already complete.
    if (event.retry_ms() > 0) out.push_back('\n');
    return absl::OkStatus();
  }
  switch (event.payload_case()) {
    case Event::kText:
      AppendEscapedDataLines(event.text(), out);
      break;
    case Event::kHtml:
      AppendDataLines(event.html(), out);
      break;
    case Event::kRaw:
      AppendDataLines(event.raw(), out);
      break;
    case Event::kJson:
      out.append("data: ");
      AppendJson(event.json(), out);
      out.push_back('\n');
      break;
    case Event::PAYLOAD_NOT_SET:
      out.append("data: \n");
      break;
  }
  out.push_back('\n');
  return absl::OkStatus();
}

}  // namespace ssebridge::common::sse
