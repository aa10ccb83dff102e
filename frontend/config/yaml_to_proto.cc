#include "frontend/config/yaml_to_proto.h"

#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace ssebridge::frontend {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

std::string JoinPath(absl::string_view parent, absl::string_view key) {
  if (parent.empty()) return std::string(key);
  return absl::StrCat(parent, ".", key);
}

void AppendJsonString(absl::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

// The proto JSON form of a Duration: "15s", "0.500s" style with the fraction
// trimmed ("0.5s").
std::string FormatJsonDuration(int64_t nanos) {
  std::string out = absl::StrCat(nanos / kNanosPerSecond);
  if (const int64_t frac = nanos % kNanosPerSecond; frac != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(frac));
    absl::string_view digits(buf);
    while (absl::EndsWith(digits, "0")) digits.remove_suffix(1);
    absl::StrAppend(&out, ".", digits);
  }
  out += 's';
  return out;
}

const FieldDescriptor* FindField(const Descriptor* d, absl::string_view key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (key == f->name() || key == f->json_name()) return f;
  }
  return nullptr;
}

// Turns a YAML tree into the proto JSON form of a message, typing each scalar
// by its target field so that quoted numbers and YAML-style booleans work and
// type errors name the key instead of surfacing as a JSON parser message.
class YamlToJson {
 public:
  YamlToJson(absl::string_view file, GivenKeys& given)
      : file_(file), given_(given) {}

  // `path` is the key path as written (for errors); `canonical` uses proto
  // field names (for presence tracking).
  absl::Status Message(const YAML::Node& node, const Descriptor* d,
                       const std::string& path, const std::string& canonical,
                       std::string& json) {
    if (node.IsNull()) {
      json += "{}";
      return absl::OkStatus();
    }
    if (!node.IsMap()) {
      return Err(path, absl::StrCat("expected a map, got ", Describe(node)));
    }
    std::set<int> seen;
    json += '{';
    bool first = true;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return Err(path, absl::StrCat("keys must be plain strings, got ",
                                      Describe(kv.first)));
      }
      const std::string& key = kv.first.Scalar();
      const std::string key_path = JoinPath(path, absl::Utf8SafeCEscape(key));
      const FieldDescriptor* f = FindField(d, key);
      if (f == nullptr) return Err(key_path, "unknown key");
      // yaml-cpp keeps repeated keys; the JSON parser would silently take
      // one, and `io_threads` + `ioThreads` name the same field too.
      if (!seen.insert(f->number()).second) {
        return Err(key_path, "duplicate key");
      }
      const std::string key_canonical = JoinPath(canonical, f->name());
      given_.insert(key_canonical);
      if (!first) json += ',';
      first = false;
      AppendJsonString(f->json_name(), json);
      json += ':';
      if (absl::Status s = Field(kv.second, f, key_path, key_canonical, json);
          !s.ok()) {
        return s;
      }
    }
    json += '}';
    return absl::OkStatus();
  }

 private:
  absl::Status Err(absl::string_view path, absl::string_view problem) const {
    return ConfigError(file_, path, problem);
  }

  absl::Status Field(const YAML::Node& node, const FieldDescriptor* f,
                     const std::string& path, const std::string& canonical,
                     std::string& json) {
    if (f->is_map()) {
      if (node.IsNull()) {
        json += "{}";
        return absl::OkStatus();
      }
      if (!node.IsMap()) {
        return Err(path, absl::StrCat("expected a map, got ", Describe(node)));
      }
      const FieldDescriptor* value_field = f->message_type()->map_value();
      std::set<std::string> seen;
      json += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return Err(path, absl::StrCat("keys must be plain strings, got ",
                                        Describe(kv.first)));
        }
        const std::string& key = kv.first.Scalar();
        const std::string key_path = JoinPath(path, absl::Utf8SafeCEscape(key));
        if (!seen.insert(key).second) return Err(key_path, "duplicate key");
        const std::string key_canonical = JoinPath(canonical, key);
        given_.insert(key_canonical);
        if (!first) json += ',';
        first = false;
        AppendJsonString(key, json);
        json += ':';
        if (absl::Status s =
                Value(kv.second, value_field, key_path, key_canonical, json);
            !s.ok()) {
          return s;
        }
      }
      json += '}';
      return absl::OkStatus();
    }
    if (f->is_repeated()) {
      if (node.IsNull()) {
        json += "[]";
        return absl::OkStatus();
      }
      if (!node.IsSequence()) {
        return Err(path, absl::StrCat("expected a list, got ", Describe(node)));
      }
      json += '[';
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) json += ',';
        const std::string elem_canonical = IndexPath(canonical, i);
        given_.insert(elem_canonical);
        if (absl::Status s =
                Value(node[i], f, IndexPath(path, i), elem_canonical, json);
            !s.ok()) {
          return s;
        }
      }
      json += ']';
      return absl::OkStatus();
    }
    return Value(node, f, path, canonical, json);
  }

  // One value of field `f` (an element, for repeated fields).
  absl::Status Value(const YAML::Node& node, const FieldDescriptor* f,
                     const std::string& path, const std::string& canonical,
                     std::string& json) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Descriptor* d = f->message_type();
      if (d->full_name() == "google.protobuf.Duration") {
        return Duration(node, path, json);
      }
      // Other well-known types have special JSON forms this walker does not
      // produce; fail loudly rather than mis-map them.
      if (absl::StartsWith(d->full_name(), "google.protobuf.")) {
        return Err(path, absl::StrCat("fields of type ", d->full_name(),
                                      " are not supported by the loader"));
      }
      return Message(node, d, path, canonical, json);
    }
    if (!node.IsScalar()) {
      return Err(path, absl::StrCat("expected ", ScalarKind(f), ", got ",
                                    Describe(node)));
    }
    const std::string& text = node.Scalar();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return Integer(text, f, path, json);
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
          return Err(path,
                     absl::StrCat("expected a number, got ", Quote(text)));
        }
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        json.append(buf, r.ptr);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        const std::string lower = absl::AsciiStrToLower(text);
        if (lower == "true" || lower == "yes" || lower == "on") {
          json += "true";
        } else if (lower == "false" || lower == "no" || lower == "off") {
          json += "false";
        } else {
          return Err(path,
                     absl::StrCat("expected a boolean (true or false), got ",
                                  Quote(text)));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* e = f->enum_type();
        int number;
        if (absl::SimpleAtoi(text, &number)) {
          absl::StrAppend(&json, number);
          return absl::OkStatus();
        }
        if (e->FindValueByName(text) != nullptr) {
          AppendJsonString(text, json);
          return absl::OkStatus();
        }
        std::vector<std::string> names;
        for (int i = 0; i < e->value_count(); ++i) {
          names.push_back(e->value(i)->name());
        }
        return Err(path,
                   absl::StrCat("expected one of ", absl::StrJoin(names, ", "),
                                ", got ", Quote(text)));
      }
      case FieldDescriptor::CPPTYPE_STRING:
        AppendJsonString(text, json);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;  // Handled above.
    }
    return Err(path, "unsupported field type");
  }

  absl::Status Integer(const std::string& text, const FieldDescriptor* f,
                       const std::string& path, std::string& json) {
    int64_t min = 0;
    uint64_t max = 0;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        min = std::numeric_limits<int32_t>::min();
        max = std::numeric_limits<int32_t>::max();
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        min = std::numeric_limits<int64_t>::min();
        max = std::numeric_limits<int64_t>::max();
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        max = std::numeric_limits<uint32_t>::max();
        break;
      default:
        max = std::numeric_limits<uint64_t>::max();
        break;
    }
    const std::string range_error = absl::StrCat(
        "expected an integer from ", min, " to ", max, ", got ", Quote(text));
    int64_t signed_value;
    uint64_t unsigned_value;
    if (absl::SimpleAtoi(text, &signed_value)) {
      if (signed_value < min ||
          (signed_value > 0 && static_cast<uint64_t>(signed_value) > max)) {
        return Err(path, range_error);
      }
      absl::StrAppend(&json, signed_value);
    } else if (absl::SimpleAtoi(text, &unsigned_value)) {
      if (unsigned_value > max) return Err(path, range_error);
      absl::StrAppend(&json, unsigned_value);
    } else {
      return Err(path, absl::StrCat("expected an integer, got ", Quote(text)));
    }
    return absl::OkStatus();
  }

  absl::Status Duration(const YAML::Node& node, const std::string& path,
                        std::string& json) {
    if (!node.IsScalar()) {
      return Err(path, absl::StrCat("expected a duration such as \"15s\", got ",
                                    Describe(node)));
    }
    const std::string& text = node.Scalar();
    const std::optional<int64_t> nanos = ParseDurationNanos(text);
    if (!nanos.has_value()) {
      return Err(path, absl::StrCat("invalid duration ", Quote(text),
                                    " (use e.g. \"15s\" or \"500ms\")"));
    }
    AppendJsonString(FormatJsonDuration(*nanos), json);
    return absl::OkStatus();
  }

  static const char* ScalarKind(const FieldDescriptor* f) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return "an integer";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "a number";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "a boolean";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "an enum name";
      default:
        return "a string";
    }
  }

  const absl::string_view file_;
  GivenKeys& given_;
};

// yaml-cpp messages are single lines today; keep the one-line promise anyway.
std::string OneLine(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string Where(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return absl::StrCat("line ", mark.line + 1, ", column ", mark.column + 1);
}

// Counts documents and remembers where each starts; ignores their content.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    starts.push_back(mark);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  std::vector<YAML::Mark> starts;
};

}  // namespace

std::optional<int64_t> ParseDurationNanos(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  while (!s.empty()) {
    size_t i = 0;
    uint64_t whole = 0;
    bool has_whole = false;
    while (i < s.size() && absl::ascii_isdigit(s[i])) {
      if (whole > static_cast<uint64_t>(kMax) / 10) return std::nullopt;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      has_whole = true;
      ++i;
    }
    absl::string_view frac;
    if (i < s.size() && s[i] == '.') {
      const size_t start = ++i;
      while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
      frac = s.substr(start, i - start);
    }
    if (!has_whole && frac.empty()) return std::nullopt;
    const size_t unit_start = i;
    while (i < s.size() && !absl::ascii_isdigit(s[i]) && s[i] != '.') ++i;
    const absl::string_view unit = s.substr(unit_start, i - unit_start);
    int64_t unit_ns;
    if (unit == "ns") {
      unit_ns = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      unit_ns = 1'000;
    } else if (unit == "ms") {
      unit_ns = 1'000'000;
    } else if (unit == "s") {
      unit_ns = kNanosPerSecond;
    } else if (unit == "m") {
      unit_ns = 60 * kNanosPerSecond;
    } else if (unit == "h") {
      unit_ns = 3600 * kNanosPerSecond;
    } else {
      return std::nullopt;
    }
    if (whole > static_cast<uint64_t>(kMax / unit_ns)) return std::nullopt;
    int64_t term = static_cast<int64_t>(whole) * unit_ns;
    if (!frac.empty()) {
      // Digits past 18 are worth far less than a nanosecond for any unit.
      if (frac.size() > 18) frac = frac.substr(0, 18);
      uint64_t digits = 0;
      uint64_t scale = 1;
      for (char c : frac) {
        digits = digits * 10 + static_cast<uint64_t>(c - '0');
        scale *= 10;
      }
      const absl::uint128 part =
          absl::uint128(digits) * static_cast<uint64_t>(unit_ns) / scale;
      const auto part64 = static_cast<int64_t>(absl::Uint128Low64(part));
      if (term > kMax - part64) return std::nullopt;
      term += part64;
    }
    if (total > kMax - term) return std::nullopt;
    total += term;
    s = s.substr(i);
  }
  return total;
}

absl::Status YamlToProto(absl::string_view yaml, absl::string_view file,
                         google::protobuf::Message& message, GivenKeys& given) {
  // Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever (allocating) on
  // some malformed input such as ",a\xb7 [:" (found by config_loader_fuzz;
  // fixed upstream after 0.7). Load parses one document; a second pass only
  // counts documents, with a bound on how many it asks for.
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    DocumentCounter counter;
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
    if (counter.starts.size() > 1) {
      return ConfigError(file, Where(counter.starts[1]),
                         "only one YAML document is allowed");
    }
  } catch (const YAML::Exception& e) {
    return ConfigError(file, Where(e.mark),
                       absl::StrCat("YAML syntax error: ", OneLine(e.msg)));
  }
  if (!root.IsDefined()) root = YAML::Node(YAML::NodeType::Null);
  if (!root.IsNull() && !root.IsMap()) {
    return ConfigError(
        file, "",
        absl::StrCat("expected a map of settings at the top level, "
                     "got ",
                     Describe(root)));
  }

  std::string json;
  try {
    YamlToJson walker(file, given);
    if (absl::Status s =
            walker.Message(root, message.GetDescriptor(), "", "", json);
        !s.ok()) {
      return s;
    }
  } catch (const YAML::Exception& e) {
    // Not expected: the walker only reads nodes it has type-checked.
    return ConfigError(file, Where(e.mark), OneLine(e.what()));
  }

  const auto status = google::protobuf::util::JsonStringToMessage(
      json, &message, google::protobuf::util::JsonParseOptions());
  if (!status.ok()) {
    // The walker types every value, so this means a gap in the walker (or
    // invalid UTF-8 in a string); still report it in the one-line form.
    const auto detail = status.message();
    return ConfigError(
        file, "",
        OneLine(absl::StrCat("cannot map the config onto the schema: ",
                             absl::string_view(detail.data(), detail.size()))));
  }
  return absl::OkStatus();
}

}  // namespace ssebridge::frontend
