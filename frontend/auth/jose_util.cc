#include "frontend/auth/jose_util.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ssebridge::frontend::auth::internal {
namespace {

constexpr Algorithm kAlgorithms[] = {
    {"RS256", KeyFamily::kRsa, 256, 0, 0},
    {"RS384", KeyFamily::kRsa, 384, 0, 0},
    {"RS512", KeyFamily::kRsa, 512, 0, 0},
    {"PS256", KeyFamily::kRsa, 256, 0, 0},
    {"PS384", KeyFamily::kRsa, 384, 0, 0},
    {"PS512", KeyFamily::kRsa, 512, 0, 0},
    {"ES256", KeyFamily::kEc, 256, 256, 64},
    {"ES384", KeyFamily::kEc, 384, 384, 96},
    {"ES512", KeyFamily::kEc, 512, 521, 132},
    {"HS256", KeyFamily::kOct, 256, 0, 0},
    {"HS384", KeyFamily::kOct, 384, 0, 0},
    {"HS512", KeyFamily::kOct, 512, 0, 0},
};

// The 6-bit value of a base64url character, or -1.
int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

const Algorithm* FindAlgorithm(absl::string_view name) {
  for (const Algorithm& a : kAlgorithms) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

std::string CjoseErrorText(const cjose_err& err) {
  if (err.code == CJOSE_ERR_NONE) return "no cjose error";
  return absl::StrCat(err.message != nullptr ? err.message : "cjose error",
                      " (", err.function != nullptr ? err.function : "?", ")");
}

bool IsBase64Url(absl::string_view text) {
  if (text.size() % 4 == 1) return false;
  for (char c : text) {
    if (Base64UrlValue(c) < 0) return false;
  }
  if (text.empty()) return true;
  const int last = Base64UrlValue(text.back());
  switch (text.size() % 4) {
    case 2:
      return (last & 0x0F) == 0;  // 12 bits carry 8
    case 3:
      return (last & 0x03) == 0;  // 18 bits carry 16
    default:
      return true;
  }
}

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  if (!IsBase64Url(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    acc = (acc << 6) | static_cast<uint32_t>(Base64UrlValue(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view bytes) {
  return absl::WebSafeBase64Escape(bytes);  // no padding
}

absl::StatusOr<JsonPtr> ParseJsonObject(absl::string_view text) {
  json_error_t error;
  JsonPtr json(
      json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
  if (json == nullptr) {
    const char* what = "not valid JSON";
    switch (json_error_code(&error)) {
      case json_error_duplicate_key:
        what = "a duplicate member name";
        break;
      case json_error_null_character:
      case json_error_null_byte_in_key:
        what = "a NUL character";
        break;
      case json_error_end_of_input_expected:
        what = "data after the JSON value";
        break;
      case json_error_premature_end_of_input:
        what = "a truncated JSON value";
        break;
      case json_error_invalid_utf8:
        what = "invalid UTF-8";
        break;
      case json_error_stack_overflow:
        what = "JSON nested too deeply";
        break;
      case json_error_numeric_overflow:
        what = "a number out of range";
        break;
      default:
        break;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at line ", error.line, ", column ", error.column));
  }
  if (!json_is_object(json.get())) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  return json;
}

std::string CompactJson(const json_t* value) {
  char* text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text == nullptr) return "null";
  std::string out(text);
  json_malloc_t unused_malloc;
  json_free_t json_free;
  json_get_alloc_funcs(&unused_malloc, &json_free);
  json_free(text);
  return out;
}

std::string SanitizeForLog(absl::string_view text, size_t max_chars) {
  std::string out;
  const size_t n = text.size() < max_chars ? text.size() : max_chars;
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                      c == '_' || c == ':' || c == '/' || c == '@' ||
                      c == '+' || c == '=';
    out.push_back(safe ? c : '?');
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

}  // namespace ssebridge::frontend::auth::internal
