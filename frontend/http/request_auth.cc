#include "frontend/http/request_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ssebridge::frontend {
namespace {

// scheme://host[:port] of a URL (lower case), "" if it has none.
std::string OriginOf(absl::string_view url) {
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos || sep == 0) return "";
  const size_t end = url.find_first_of("/?#", sep + 3);
  return absl::AsciiStrToLower(url.substr(0, end));
}

// host[:port] of an origin ("https://a.example:8443" -> "a.example:8443").
absl::string_view HostOf(absl::string_view origin) {
  const size_t sep = origin.find("://");
  return sep == absl::string_view::npos ? absl::string_view()
                                        : origin.substr(sep + 3);
}

}  // namespace

AuthMode AuthModeFromName(absl::string_view name) {
  if (name == "required") return AuthMode::kRequired;
  if (name == "optional") return AuthMode::kOptional;
  return AuthMode::kOff;
}

std::string CookieValue(absl::string_view cookie_header,
                        absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(cookie_header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) continue;
    if (absl::StripAsciiWhitespace(pair.substr(0, eq)) != name) continue;
    absl::string_view value = absl::StripAsciiWhitespace(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return "";
}

std::optional<std::string> ForwardableHeader(
    absl::string_view lower_name, absl::string_view value,
    const absl::flat_hash_set<std::string>& token_cookies) {
  if (lower_name == "authorization") {
    absl::string_view v = absl::StripLeadingAsciiWhitespace(value);
    const absl::string_view scheme = v.substr(0, v.find(' '));
    if (absl::EqualsIgnoreCase(scheme, "bearer")) return std::nullopt;
    return std::string(value);
  }
  if (lower_name != "cookie" || token_cookies.empty()) {
    return std::string(value);
  }
  std::vector<absl::string_view> kept;
  for (absl::string_view pair : absl::StrSplit(value, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    if (pair.empty()) continue;
    const absl::string_view name =
        absl::StripAsciiWhitespace(pair.substr(0, pair.find('=')));
    if (!token_cookies.contains(name)) kept.push_back(pair);
  }
  if (kept.empty()) return std::nullopt;
  return absl::StrJoin(kept, "; ");
}

FoundToken FindToken(const AuthInputs& in, absl::string_view cookie_name) {
  FoundToken found;
  if (in.authorization.has_value()) {
    absl::string_view v = absl::StripAsciiWhitespace(*in.authorization);
    // RFC 6750 §2.1: "Bearer" (case-insensitive), one space, the token.
    if (v.size() > 7 && absl::StartsWithIgnoreCase(v, "bearer ")) {
      found.token = std::string(absl::StripAsciiWhitespace(v.substr(7)));
      found.source = TokenSource::kHeader;
    } else {
      found.bad_header = true;
    }
    return found;
  }
  std::string cookie = CookieValue(in.cookie_header, cookie_name);
  if (!cookie.empty()) {
    found.token = std::move(cookie);
    found.source = TokenSource::kCookie;
    return found;
  }
  if (in.query_token.has_value() && !in.query_token->empty()) {
    found.token = *in.query_token;
    found.source = TokenSource::kQuery;
  }
  return found;
}

AuthOutcome Authorize(
    AuthMode mode, const auth::TokenVerifier& verifier,
    absl::string_view cookie_name,
    const google::protobuf::Map<std::string, std::string>& require_claims,
    const AuthInputs& in, absl::Time now) {
  AuthOutcome out;
  const FoundToken found = FindToken(in, cookie_name);
  out.source = found.source;
  if (found.bad_header) {
    out.status = 401;
    out.reason = "malformed";
    out.detail = "Authorization header is not \"Bearer <token>\"";
    return out;
  }
  if (found.source == TokenSource::kNone) {
    if (mode == AuthMode::kRequired) {
      out.status = 401;
      out.reason = "missing";
      out.detail = "no token";
    }
    return out;  // optional: anonymous
  }
  // A token that is there is checked on optional routes too: a bad one is
  // 401, never a silent fall-back to anonymous.
  auth::TokenVerifier::Result r = verifier.Verify(found.token, now);
  if (!r.ok()) {
    out.status = 401;
    out.reason = std::string(auth::RefusalName(r.refusal));
    out.detail = std::move(r.detail);
    return out;
  }
  for (const auto& [claim, want] : require_claims) {
    auto it = r.token->claims.find(claim);
    if (it == r.token->claims.end() || it->second != want) {
      out.status = 403;
      out.reason = "forbidden";
      out.detail = absl::StrCat("claim ", claim, " does not match");
      return out;
    }
  }
  out.token = std::move(r.token);
  return out;
}

std::string WwwAuthenticate(const AuthOutcome& outcome) {
  if (outcome.status == 403) {
    return "Bearer realm=\"sse-bridge\", error=\"insufficient_scope\"";
  }
  if (outcome.reason == "missing") return "Bearer realm=\"sse-bridge\"";
  return "Bearer realm=\"sse-bridge\", error=\"invalid_token\"";
}

bool OriginAllowed(const std::optional<std::string>& origin,
                   const std::optional<std::string>& referer,
                   const std::optional<std::string>& host,
                   const absl::flat_hash_set<std::string>& allowed) {
  std::string from;
  if (origin.has_value()) {
    from = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*origin));
    if (from == "null") return false;  // sandboxed or privacy-sensitive
  } else if (referer.has_value()) {
    from = OriginOf(absl::StripAsciiWhitespace(*referer));
  }
  if (from.empty()) return false;
  if (allowed.contains(from)) return true;
  return host.has_value() && !host->empty() &&
         HostOf(from) ==
             absl::AsciiStrToLower(absl::StripAsciiWhitespace(*host));
}

bool IsReservedIdentityHeader(absl::string_view lower_name,
                              const absl::flat_hash_set<std::string>& extra) {
  return lower_name == "x-user" ||
         absl::StartsWith(lower_name, "x-ssebridge-") ||
         extra.contains(lower_name);
}

std::string EncodeMetadataValue(absl::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E || c == '%') {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> IdentityMetadata(
    const auth::VerifiedToken& token,
    const google::protobuf::Map<std::string, std::string>& claims_to_metadata) {
  std::vector<std::pair<std::string, std::string>> md;
  md.emplace_back("x-ssebridge-sub", EncodeMetadataValue(token.subject));
  for (const auto& [claim, key] : claims_to_metadata) {
    auto it = token.claims.find(claim);
    if (it == token.claims.end()) continue;
    md.emplace_back(key, EncodeMetadataValue(it->second));
  }
  return md;
}

}  // namespace ssebridge::frontend
