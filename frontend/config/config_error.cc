#include "frontend/config/config_error.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ssebridge::frontend {

absl::Status ConfigError(absl::string_view file, absl::string_view path,
                         absl::string_view problem) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", problem));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": ", path, ": ", problem));
}

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

std::string IndexPath(absl::string_view parent, size_t i) {
  return absl::StrCat(parent, "[", i, "]");
}

}  // namespace ssebridge::frontend
