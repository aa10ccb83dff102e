#include "frontend/config/config_loader.h"

#include <yaml-cpp/eventhandler.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace ssebridge::frontend {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::ssebridge::config::v1::FrontendConfig;

// Canonical key paths (proto field names, with list indices) that appeared in
// the YAML. Defaults are applied only to absent keys, so explicit zeros such
// as `port: 0` survive and meaningless explicit zeros can be reported.
using GivenKeys = std::set<std::string>;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Renders a user-supplied value for an error message: quoted, escaped so the
// message stays on one line, and shortened so a pasted blob cannot flood logs.
std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 60;
  bool cut = false;
  if (s.size() > kMax) {
    size_t n = kMax;
    // Do not split a UTF-8 sequence.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
    cut = true;
  }
  return absl::StrCat("\"", absl::Utf8SafeCEscape(s), cut ? "...\"" : "\"");
}

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

std::string IndexPath(absl::string_view parent, size_t i) {
  return absl::StrCat(parent, "[", i, "]");
}

absl::Status Error(absl::string_view file, absl::string_view path,
                   absl::string_view problem) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", problem));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": ", path, ": ", problem));
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

// Parses Go-style durations: one or more <number><unit> terms ("15s", "1.5s",
// "500ms", "1h30m"); units ns, us (or µs), ms, s, m, h. A bare "0" is allowed
// because it is unambiguous. Returns nanoseconds, or nullopt if malformed,
// negative or too large for int64 nanoseconds (~292 years).
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
    return Error(file_, path, problem);
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

// ---------------------------------------------------------------------------
// Defaults (documented in config.proto).

void SetDuration(google::protobuf::Duration* d, int64_t millis) {
  d->set_seconds(millis / 1000);
  d->set_nanos(static_cast<int32_t>(millis % 1000 * 1'000'000));
}

// Returns the last non-empty path segment ("/api/chat_stream" ->
// "chat_stream"), the documented default action.
std::string LastPathSegment(absl::string_view path) {
  std::string last;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    last = std::string(part);
  }
  return last;
}

void ApplyDefaults(const GivenKeys& given, FrontendConfig& config) {
  auto absent = [&given](const std::string& path) {
    return given.count(path) == 0;
  };

  auto* listen = config.mutable_listen();
  if (absent("listen.address")) listen->set_address("127.0.0.1");
  if (absent("listen.port")) listen->set_port(8080);
  if (absent("listen.threads")) listen->set_threads(1);
  if (absent("listen.io_threads")) listen->set_io_threads(1);
  if (absent("listen.header_timeout")) {
    SetDuration(listen->mutable_header_timeout(), 10'000);
  }
  if (absent("listen.idle_timeout")) {
    SetDuration(listen->mutable_idle_timeout(), 60'000);
  }
  if (absent("listen.max_request_bytes")) {
    listen->set_max_request_bytes(1 << 20);
  }

  for (int i = 0; i < config.backends_size(); ++i) {
    auto* backend = config.mutable_backends(i);
    const std::string p = IndexPath("backends", static_cast<size_t>(i));
    if (absent(p + ".channels")) backend->set_channels(1);
    if (absent(p + ".connect_timeout")) {
      SetDuration(backend->mutable_connect_timeout(), 2'000);
    }
  }

  for (int i = 0; i < config.routes_size(); ++i) {
    auto* route = config.mutable_routes(i);
    const std::string p = IndexPath("routes", static_cast<size_t>(i));
    if (absent(p + ".methods")) route->add_methods("GET");
    if (absent(p + ".action")) {
      route->set_action(LastPathSegment(route->path()));
    }
    if (absent(p + ".terminal_event")) route->set_terminal_event("done");
    if (absent(p + ".heartbeat")) {
      SetDuration(route->mutable_heartbeat(), 15'000);
    }
  }

  auto* limits = config.mutable_limits();
  if (absent("limits.max_connections")) limits->set_max_connections(10'000);
  if (absent("limits.high_water_bytes")) {
    limits->set_high_water_bytes(256 * 1024);
  }
  if (absent("limits.low_water_bytes")) limits->set_low_water_bytes(64 * 1024);
  if (absent("limits.write_timeout")) {
    SetDuration(limits->mutable_write_timeout(), 30'000);
  }
  if (absent("limits.max_event_bytes")) {
    limits->set_max_event_bytes(4 << 20);
  }
  if (absent("limits.retry_after_seconds")) limits->set_retry_after_seconds(5);

  if (absent("shutdown_grace")) {
    SetDuration(config.mutable_shutdown_grace(), 10'000);
  }
  if (absent("logging.level")) config.mutable_logging()->set_level("info");
}

// ---------------------------------------------------------------------------
// Semantic checks the proto cannot express. Explicit values are checked too:
// a meaningless explicit zero (e.g. `channels: 0`) is reported rather than
// silently replaced by the default.

bool IsPositive(const google::protobuf::Duration& d) {
  return d.seconds() > 0 || d.nanos() > 0;
}

bool HasCrLf(absl::string_view s) {
  return s.find_first_of("\r\n") != absl::string_view::npos;
}

// RFC 9110 token characters (header field names).
bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) &&
        absl::string_view("!#$%&'*+-.^_`|~").find(c) ==
            absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

// scheme://host[:port], as browsers send in the Origin header: no path, no
// trailing slash, host a DNS name, IPv4 or [IPv6].
bool IsOrigin(absl::string_view origin) {
  const size_t sep = origin.find("://");
  if (sep == absl::string_view::npos || sep == 0) return false;
  const absl::string_view scheme = origin.substr(0, sep);
  if (!absl::ascii_isalpha(scheme[0])) return false;
  for (char c : scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  absl::string_view rest = origin.substr(sep + 3);
  absl::string_view host;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close == 1) return false;
    for (char c : rest.substr(1, close - 1)) {
      if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') return false;
    }
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
  } else {
    const size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    rest = colon == absl::string_view::npos ? absl::string_view()
                                            : rest.substr(colon);
    if (host.empty()) return false;
    for (char c : host) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '.') return false;
    }
  }
  if (rest.empty()) return true;
  if (rest[0] != ':') return false;
  const absl::string_view port = rest.substr(1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  int value;
  return absl::SimpleAtoi(port, &value) && value >= 1 && value <= 65535;
}

bool IsIpAddress(const std::string& s) {
  in6_addr buf;
  return inet_pton(AF_INET, s.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

absl::Status Validate(absl::string_view file, const GivenKeys& given,
                      FrontendConfig& config) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return Error(file, path, problem);
  };

  const auto& listen = config.listen();
  if (listen.address().empty()) {
    return err("listen.address", "must not be empty");
  }
  if (listen.port() > 65535) {
    return err("listen.port",
               absl::StrCat("must be at most 65535, got ", listen.port()));
  }
  if (listen.threads() < 1) return err("listen.threads", "must be at least 1");
  if (listen.io_threads() < 1) {
    return err("listen.io_threads", "must be at least 1");
  }
  if (!IsPositive(listen.header_timeout())) {
    return err("listen.header_timeout", "must be greater than 0s");
  }
  if (!IsPositive(listen.idle_timeout())) {
    return err("listen.idle_timeout", "must be greater than 0s");
  }
  if (listen.max_request_bytes() < 1) {
    return err("listen.max_request_bytes", "must be at least 1");
  }

  std::map<std::string, int> backend_index;  // Sorted for error messages.
  for (int i = 0; i < config.backends_size(); ++i) {
    const auto& b = config.backends(i);
    const std::string p = IndexPath("backends", static_cast<size_t>(i));
    if (b.name().empty()) return err(p + ".name", "must not be empty");
    if (auto [it, inserted] = backend_index.emplace(b.name(), i); !inserted) {
      return err(p + ".name",
                 absl::StrCat("duplicate backend name ", Quote(b.name()),
                              " (also backends[", it->second, "].name)"));
    }
    if (b.target().empty()) return err(p + ".target", "must not be empty");
    if (b.channels() < 1 || b.channels() > 64) {
      return err(p + ".channels",
                 absl::StrCat("must be between 1 and 64, got ", b.channels()));
    }
    if (!IsPositive(b.connect_timeout())) {
      return err(p + ".connect_timeout", "must be greater than 0s");
    }
  }
  std::vector<std::string> backend_names;
  for (const auto& [name, index] : backend_index) backend_names.push_back(name);
  const std::string defined =
      backend_names.empty()
          ? std::string("no backends are defined")
          : absl::StrCat("defined: ", absl::StrJoin(backend_names, ", "));

  if (config.routes_size() == 0) {
    return err("routes", "at least one route is required");
  }
  std::map<std::string, int> route_index;
  for (int i = 0; i < config.routes_size(); ++i) {
    auto& r = *config.mutable_routes(i);
    const std::string p = IndexPath("routes", static_cast<size_t>(i));
    if (!absl::StartsWith(r.path(), "/")) {
      return err(p + ".path",
                 absl::StrCat("must start with \"/\", got ", Quote(r.path())));
    }
    for (char c : r.path()) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7F || c == '?' || c == '#') {
        return err(p + ".path",
                   absl::StrCat("must be a plain path without spaces, query "
                                "or fragment, got ",
                                Quote(r.path())));
      }
    }
    if (auto [it, inserted] = route_index.emplace(r.path(), i); !inserted) {
      return err(p + ".path",
                 absl::StrCat("duplicate path ", Quote(r.path()),
                              " (also routes[", it->second, "].path)"));
    }

    if (r.methods_size() == 0) {
      return err(p + ".methods", "must list at least one method");
    }
    std::set<std::string> methods;
    for (int m = 0; m < r.methods_size(); ++m) {
      std::string method = absl::AsciiStrToUpper(r.methods(m));
      const std::string mp = IndexPath(p + ".methods", static_cast<size_t>(m));
      if (method != "GET" && method != "POST") {
        return err(mp, absl::StrCat("unsupported method ", Quote(r.methods(m)),
                                    " (use GET or POST)"));
      }
      if (!methods.insert(method).second) {
        return err(mp, absl::StrCat("duplicate method ", Quote(method)));
      }
      *r.mutable_methods(m) = std::move(method);
    }

    if (r.backend().empty()) {
      return err(p + ".backend", absl::StrCat("required (", defined, ")"));
    }
    if (backend_index.count(r.backend()) == 0) {
      return err(p + ".backend",
                 absl::StrCat("unknown backend ", Quote(r.backend()), " (",
                              defined, ")"));
    }

    if (r.action().empty()) {
      if (given.count(p + ".action") == 0) {
        return err(p + ".action",
                   absl::StrCat("cannot be derived from path ", Quote(r.path()),
                                "; set it explicitly"));
      }
      return err(p + ".action", "must not be empty");
    }
    if (HasCrLf(r.action())) {
      return err(p + ".action", "must not contain CR or LF");
    }
    if (r.terminal_event().empty()) {
      return err(p + ".terminal_event", "must not be empty");
    }
    if (HasCrLf(r.terminal_event())) {
      return err(p + ".terminal_event", "must not contain CR or LF");
    }

    for (int h = 0; h < r.forward_headers_size(); ++h) {
      std::string header = absl::AsciiStrToLower(r.forward_headers(h));
      if (!IsToken(header)) {
        return err(
            IndexPath(p + ".forward_headers", static_cast<size_t>(h)),
            absl::StrCat("invalid header name ", Quote(r.forward_headers(h))));
      }
      *r.mutable_forward_headers(h) = std::move(header);
    }
  }

  const auto& limits = config.limits();
  if (limits.max_connections() < 1) {
    return err("limits.max_connections", "must be at least 1");
  }
  if (limits.low_water_bytes() >= limits.high_water_bytes()) {
    return err("limits.low_water_bytes",
               absl::StrCat("must be less than high_water_bytes (",
                            limits.low_water_bytes(),
                            " >= ", limits.high_water_bytes(), ")"));
  }
  if (!IsPositive(limits.write_timeout())) {
    return err("limits.write_timeout", "must be greater than 0s");
  }
  if (limits.max_event_bytes() < 1) {
    return err("limits.max_event_bytes", "must be at least 1");
  }

  for (int i = 0; i < config.cors_origins_size(); ++i) {
    // Origin headers arrive in lower case; matching is exact.
    std::string origin = absl::AsciiStrToLower(config.cors_origins(i));
    if (!IsOrigin(origin)) {
      return err(IndexPath("cors_origins", static_cast<size_t>(i)),
                 absl::StrCat("invalid origin ", Quote(config.cors_origins(i)),
                              " (use scheme://host[:port], no path or "
                              "trailing slash)"));
    }
    *config.mutable_cors_origins(i) = std::move(origin);
  }

  for (int i = 0; i < config.trusted_proxies_size(); ++i) {
    if (!IsIpAddress(config.trusted_proxies(i))) {
      return err(IndexPath("trusted_proxies", static_cast<size_t>(i)),
                 absl::StrCat("expected an IP address, got ",
                              Quote(config.trusted_proxies(i))));
    }
  }

  std::string level = absl::AsciiStrToLower(config.logging().level());
  if (level != "trace" && level != "debug" && level != "info" &&
      level != "warn" && level != "error" && level != "off") {
    return err("logging.level",
               absl::StrCat("unknown level ", Quote(config.logging().level()),
                            " (use trace, debug, info, warn, error or off)"));
  }
  config.mutable_logging()->set_level(std::move(level));
  return absl::OkStatus();
}

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

absl::StatusOr<FrontendConfig> ParseConfigYaml(absl::string_view yaml,
                                               absl::string_view file) {
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
      return Error(file, Where(counter.starts[1]),
                   "only one YAML document is allowed");
    }
  } catch (const YAML::Exception& e) {
    return Error(file, Where(e.mark),
                 absl::StrCat("YAML syntax error: ", OneLine(e.msg)));
  }
  if (!root.IsDefined()) root = YAML::Node(YAML::NodeType::Null);
  if (!root.IsNull() && !root.IsMap()) {
    return Error(file, "",
                 absl::StrCat("expected a map of settings at the top level, "
                              "got ",
                              Describe(root)));
  }

  GivenKeys given;
  std::string json;
  try {
    YamlToJson walker(file, given);
    if (absl::Status s =
            walker.Message(root, FrontendConfig::descriptor(), "", "", json);
        !s.ok()) {
      return s;
    }
  } catch (const YAML::Exception& e) {
    // Not expected: the walker only reads nodes it has type-checked.
    return Error(file, Where(e.mark), OneLine(e.what()));
  }

  FrontendConfig config;
  const auto status = google::protobuf::util::JsonStringToMessage(
      json, &config, google::protobuf::util::JsonParseOptions());
  if (!status.ok()) {
    // The walker types every value, so this means a gap in the walker (or
    // invalid UTF-8 in a string); still report it in the one-line form.
    const auto message = status.message();
    return Error(file, "",
                 OneLine(absl::StrCat(
                     "cannot map the config onto the schema: ",
                     absl::string_view(message.data(), message.size()))));
  }

  ApplyDefaults(given, config);
  if (absl::Status s = Validate(file, given, config); !s.ok()) return s;
  return config;
}

absl::StatusOr<FrontendConfig> LoadConfigFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string message =
        absl::StrCat(path, ": cannot open config file: ", std::strerror(e));
    if (e == ENOENT) return absl::NotFoundError(message);
    return absl::InvalidArgumentError(message);
  }
  std::string contents;
  std::string error;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    error = "is a directory, not a config file";
  } else {
    char buf[64 * 1024];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        contents.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        error = absl::StrCat("cannot read config file: ", std::strerror(errno));
        break;
      }
    }
  }
  ::close(fd);
  if (!error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", error));
  }
  return ParseConfigYaml(contents, path);
}

}  // namespace ssebridge::frontend
