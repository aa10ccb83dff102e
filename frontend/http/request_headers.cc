#include "frontend/http/request_headers.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ssebridge::frontend {

namespace Http = ::Pistache::Http;

// A request header's value, whether Pistache kept it raw or parsed it.
std::optional<std::string> HeaderValue(const Http::Request& request,
                                       const std::string& name) {
  const auto& headers = request.headers();
  if (auto raw = headers.tryGetRaw(name)) return raw->value();
  if (name == "cookie") {
    std::vector<std::string> parts;
    for (const auto& c : request.cookies()) {
      parts.push_back(absl::StrCat(c.name, "=", c.value));
    }
    if (parts.empty()) return std::nullopt;
    return absl::StrJoin(parts, "; ");
  }
  try {
    if (auto h = headers.tryGet(name)) {
      std::ostringstream os;
      h->write(os);
      return os.str();
    }
  } catch (...) {
  }
  return std::nullopt;
}

bool IsMetadataSafe(absl::string_view v) {
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace ssebridge::frontend
