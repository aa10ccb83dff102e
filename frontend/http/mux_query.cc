#include "frontend/http/mux_query.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "frontend/http/http_util.h"

namespace ssebridge::frontend {
namespace {

constexpr size_t kMaxAliasBytes = 32;

absl::Status Bad(absl::string_view problem) {
  return absl::InvalidArgumentError(problem);
}

std::string Quoted(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

}  // namespace

bool IsValidMuxAlias(absl::string_view alias) {
  if (alias.empty() || alias.size() > kMaxAliasBytes) return false;
  return std::all_of(alias.begin(), alias.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-';
  });
}

absl::string_view RawQueryOf(absl::string_view target) {
  const size_t q = target.find('?');
  if (q == absl::string_view::npos) return {};
  absl::string_view query = target.substr(q + 1);
  return query.substr(0, query.find('#'));
}

absl::StatusOr<MuxQuery> ParseMuxQuery(absl::string_view raw_query,
                                       const MuxPolicy& policy) {
  MuxQuery out;
  std::set<std::string> keys_seen;  // every key but s
  std::vector<std::pair<std::string, std::string>> sub_params;  // alias.name
  for (absl::string_view piece :
       absl::StrSplit(raw_query, '&', absl::SkipEmpty())) {
    const size_t eq = piece.find('=');
    absl::StatusOr<std::string> key = PercentDecode(piece.substr(0, eq), true);
    absl::StatusOr<std::string> value =
        eq == absl::string_view::npos
            ? absl::StatusOr<std::string>(std::string())
            : PercentDecode(piece.substr(eq + 1), true);
    if (!key.ok() || !value.ok()) {
      return Bad(absl::StrCat("bad query string: invalid percent-escape in ",
                              piece));
    }
    if (!IsValidUtf8(*key) || !IsValidUtf8(*value)) {
      return Bad("query parameters must be UTF-8");
    }
    if (*key == "s") {
      const size_t colon = value->find(':');
      if (colon == std::string::npos) {
        return Bad(absl::StrCat("s=", *value,
                                ": expected s=ALIAS:/route (e.g. "
                                "s=inbox:/api/notifications)"));
      }
      MuxSubStream sub;
      sub.alias = value->substr(0, colon);
      sub.route = value->substr(colon + 1);
      if (!IsValidMuxAlias(sub.alias)) {
        return Bad(absl::StrCat("s=", *value, ": malformed alias ",
                                Quoted(sub.alias),
                                " (1-32 of A-Z a-z 0-9 _ -)"));
      }
      // Equal to one, or its prefix before a dot ("x.end" = alias x's "end").
      const std::string dotted = absl::StrCat(sub.alias, ".");
      if (std::any_of(policy.reserved_aliases.begin(),
                      policy.reserved_aliases.end(),
                      [&](const std::string& r) {
                        return r == sub.alias || absl::StartsWith(r, dotted);
                      })) {
        return Bad(absl::StrCat("s=", *value, ": alias ", Quoted(sub.alias),
                                " is the name of one of the connection's own "
                                "events (",
                                absl::StrJoin(policy.reserved_aliases, ", "),
                                "); choose another"));
      }
      if (sub.route.find('?') != std::string::npos) {
        return Bad(absl::StrCat("s=", *value,
                                ": give the sub-stream's parameters as ",
                                sub.alias, ".NAME=VALUE, not in its route"));
      }
      if (std::find(policy.routes.begin(), policy.routes.end(), sub.route) ==
          policy.routes.end()) {
        return Bad(absl::StrCat("s=", *value, ": route ", sub.route,
                                " is not in this route's allow-list (",
                                absl::StrJoin(policy.routes, ", "), ")"));
      }
      for (const MuxSubStream& other : out.streams) {
        if (other.alias == sub.alias) {
          return Bad(absl::StrCat("alias ", Quoted(sub.alias),
                                  " is repeated (each s= needs its own)"));
        }
      }
      out.streams.push_back(std::move(sub));
      continue;
    }
    if (!keys_seen.insert(*key).second) {
      return Bad(absl::StrCat("parameter ", *key, " is repeated"));
    }
    const size_t dot = key->find('.');
    if (dot == std::string::npos) {
      if (*key == "lastEventId" ||
          std::find(policy.top_level_keys.begin(), policy.top_level_keys.end(),
                    *key) != policy.top_level_keys.end()) {
        out.top_level.emplace_back(*std::move(key), *std::move(value));
        continue;
      }
      return Bad(absl::StrCat("unknown parameter ", *key,
                              " (a sub-stream's parameters are "
                              "ALIAS.NAME=VALUE)"));
    }
    if (dot + 1 == key->size()) {
      return Bad(absl::StrCat("parameter ", *key,
                              " has no name after the alias"));
    }
    sub_params.emplace_back(*std::move(key), *std::move(value));
  }
  if (out.streams.empty()) {
    return Bad("no sub-stream: add s=ALIAS:/route (e.g. "
               "s=inbox:/api/notifications)");
  }
  if (out.streams.size() > policy.max_streams) {
    return Bad(absl::StrCat(out.streams.size(), " sub-streams, at most ",
                            policy.max_streams));
  }
  for (auto& [key, value] : sub_params) {
    const size_t dot = key.find('.');
    const absl::string_view alias = absl::string_view(key).substr(0, dot);
    auto it = std::find_if(out.streams.begin(), out.streams.end(),
                           [&](const MuxSubStream& s) {
                             return s.alias == alias;
                           });
    if (it == out.streams.end()) {
      return Bad(absl::StrCat("parameter ", key, " names no sub-stream (no s=",
                              alias, ":...)"));
    }
    it->params.emplace_back(key.substr(dot + 1), std::move(value));
  }
  return out;
}

}  // namespace ssebridge::frontend
