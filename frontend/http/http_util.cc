#include "frontend/http/http_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/sse/encoder.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace ssebridge::frontend {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view in,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return absl::InvalidArgumentError("truncated percent-escape");
      }
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError("invalid percent-escape");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status ParseUrlEncoded(absl::string_view in, ParamMap& out) {
  for (absl::string_view pair : absl::StrSplit(in, '&', absl::SkipEmpty())) {
    absl::string_view key = pair;
    absl::string_view value;
    if (size_t eq = pair.find('='); eq != absl::string_view::npos) {
      key = pair.substr(0, eq);
      value = pair.substr(eq + 1);
    }
    absl::StatusOr<std::string> k = PercentDecode(key, true);
    if (!k.ok()) return k.status();
    absl::StatusOr<std::string> v = PercentDecode(value, true);
    if (!v.ok()) return v.status();
    out[*std::move(k)] = *std::move(v);
  }
  return absl::OkStatus();
}

absl::Status ParseJsonObject(absl::string_view in, ParamMap& out) {
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(in.data(), in.size()), &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError("body is not valid JSON");
  }
  if (value.kind_case() != google::protobuf::Value::kStructValue) {
    return absl::InvalidArgumentError("JSON body must be an object");
  }
  for (const auto& [key, v] : value.struct_value().fields()) {
    if (v.kind_case() == google::protobuf::Value::kStringValue) {
      out[key] = v.string_value();
    } else {
      std::string json;
      common::sse::AppendJson(v, json);
      out[key] = std::move(json);
    }
  }
  return absl::OkStatus();
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace ssebridge::frontend
