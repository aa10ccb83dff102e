#include "frontend/relay/mux_cursor.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::frontend {
namespace {

constexpr absl::string_view kPrefix = "m1.";
constexpr size_t kMaxCursorBytes = 16 * 1024;

bool IsAlias(absl::string_view a) {
  if (a.empty() || a.size() > 32) return false;
  for (char c : a) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string EncodeMuxCursor(const MuxPositions& positions) {
  std::string payload;
  for (const auto& [alias, id] : positions) {
    if (id.empty()) continue;
    if (!payload.empty()) payload.push_back('\n');
    absl::StrAppend(&payload, alias, ":", id);
  }
  std::string out(kPrefix);
  out.append(absl::WebSafeBase64Escape(payload));
  return out;
}

std::optional<MuxPositions> DecodeMuxCursor(absl::string_view cursor) {
  if (!absl::StartsWith(cursor, kPrefix) || cursor.size() > kMaxCursorBytes) {
    return std::nullopt;
  }
  cursor.remove_prefix(kPrefix.size());
  for (char c : cursor) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return std::nullopt;
  }
  std::string payload;
  if (!absl::WebSafeBase64Unescape(cursor, &payload)) return std::nullopt;
  MuxPositions out;
  if (payload.empty()) return out;
  std::set<std::string> seen;
  for (absl::string_view entry : absl::StrSplit(payload, '\n')) {
    const size_t colon = entry.find(':');
    if (colon == absl::string_view::npos) return std::nullopt;
    absl::string_view alias = entry.substr(0, colon);
    absl::string_view id = entry.substr(colon + 1);
    if (!IsAlias(alias) || id.empty() ||
        id.find_first_of(absl::string_view("\r\0", 2)) !=
            absl::string_view::npos ||
        !seen.insert(std::string(alias)).second) {
      return std::nullopt;
    }
    out.emplace_back(std::string(alias), std::string(id));
  }
  return out;
}

std::string EncodedEventId(absl::string_view encoded) {
  for (absl::string_view line : absl::StrSplit(encoded, '\n')) {
    if (line.empty()) break;
    if (absl::StartsWith(line, "id: ")) return std::string(line.substr(4));
  }
  return "";
}

void AppendMuxEvent(absl::string_view encoded, absl::string_view alias,
                    const std::string* cursor, std::string& out) {
  if (encoded.find("\n\n") == absl::string_view::npos &&
      !absl::StartsWith(encoded, "\n")) {
    out.append(encoded.data(), encoded.size());  // comments only
    return;
  }
  absl::string_view name;
  std::string rest;
  rest.reserve(encoded.size());
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t end = encoded.find('\n', pos);
    if (end == absl::string_view::npos) end = encoded.size();
    absl::string_view line = encoded.substr(pos, end - pos);
    pos = end + 1;
    if (absl::StartsWith(line, "event: ")) {
      name = line.substr(7);
    } else if (absl::StartsWith(line, "id: ") || line == "id:") {
      // replaced by the cursor
    } else {
      rest.append(line.data(), line.size());
      rest.push_back('\n');
    }
  }
  out.append("event: ");
  out.append(alias.data(), alias.size());
  if (!name.empty()) {
    out.push_back('.');
    out.append(name.data(), name.size());
  }
  out.push_back('\n');
  if (cursor != nullptr) absl::StrAppend(&out, "id: ", *cursor, "\n");
  out.append(rest);
}

}  // namespace ssebridge::frontend
