#include "frontend/config/config_validation.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/duration.pb.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;

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

// No spaces, controls, query or fragment.
bool IsPlainPath(absl::string_view path) {
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '?' || c == '#') return false;
  }
  return true;
}

bool IsIpAddress(const std::string& s) {
  in6_addr buf;
  return inet_pton(AF_INET, s.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

absl::Status ValidateAuth(absl::string_view file, FrontendConfig& config,
                          std::map<std::string, int>& provider_index) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return ConfigError(file, path, problem);
  };
  static const std::set<std::string> kAlgorithms = {
      "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
      "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"};
  auto& auth = *config.mutable_auth();
  for (int i = 0; i < auth.providers_size(); ++i) {
    auto& pr = *auth.mutable_providers(i);
    const std::string p = IndexPath("auth.providers", static_cast<size_t>(i));
    if (!IsToken(pr.name())) {
      return err(p + ".name",
                 pr.name().empty()
                     ? std::string("must not be empty")
                     : absl::StrCat("invalid name ", Quote(pr.name())));
    }
    if (auto [it, inserted] = provider_index.emplace(pr.name(), i); !inserted) {
      return err(p + ".name",
                 absl::StrCat("duplicate provider name ", Quote(pr.name()),
                              " (also auth.providers[", it->second, "].name)"));
    }
    if (pr.issuer().empty()) return err(p + ".issuer", "must not be empty");
    if (pr.audiences_size() == 0) {
      return err(p + ".audiences", "must list at least one audience");
    }
    for (int a = 0; a < pr.audiences_size(); ++a) {
      if (pr.audiences(a).empty()) {
        return err(IndexPath(p + ".audiences", static_cast<size_t>(a)),
                   "must not be empty");
      }
    }
    if (pr.jwks_file().empty()) {
      return err(p + ".jwks_file", "required (a JWKS file with the keys)");
    }
    if (pr.algorithms_size() == 0) {
      return err(p + ".algorithms", "must list at least one algorithm");
    }
    for (int a = 0; a < pr.algorithms_size(); ++a) {
      std::string alg = absl::AsciiStrToUpper(pr.algorithms(a));
      if (kAlgorithms.count(alg) == 0) {
        return err(
            IndexPath(p + ".algorithms", static_cast<size_t>(a)),
            absl::StrCat("unsupported algorithm ", Quote(pr.algorithms(a)),
                         " (use RS256/384/512, PS256/384/512, "
                         "ES256/384/512 or HS256/384/512)"));
      }
      *pr.mutable_algorithms(a) = std::move(alg);
    }
    if (pr.leeway().seconds() < 0 || pr.leeway().nanos() < 0 ||
        pr.leeway().seconds() > 600) {
      return err(p + ".leeway", "must be between 0s and 10m");
    }
    if (!IsToken(pr.cookie())) {
      return err(p + ".cookie",
                 absl::StrCat("invalid cookie name ", Quote(pr.cookie())));
    }
    for (const auto& [claim, key] : pr.claims_to_metadata()) {
      const std::string kp = absl::StrCat(p, ".claims_to_metadata.", claim);
      if (claim.empty()) {
        return err(p + ".claims_to_metadata", "claim names must not be empty");
      }
      if (!IsToken(key) || key != absl::AsciiStrToLower(key) ||
          !absl::StartsWith(key, "x-") || key == "x-ssebridge-sub" ||
          key == "x-user") {
        return err(kp, absl::StrCat("invalid metadata key ", Quote(key),
                                    " (lower case, starting with \"x-\", "
                                    "not x-ssebridge-sub or x-user)"));
      }
    }
    if (pr.max_token_bytes() < 256 || pr.max_token_bytes() > 65536) {
      return err(p + ".max_token_bytes",
                 absl::StrCat("must be between 256 and 65536, got ",
                              pr.max_token_bytes()));
    }
  }
  if (auth.expired_event().empty()) {
    auth.set_expired_event("auth-expired");
  }
  if (HasCrLf(auth.expired_event())) {
    return err("auth.expired_event", "must not contain CR or LF");
  }
  if (auth.has_dev_login() && !auth.dev_login().path().empty()) {
    const auto& dev = auth.dev_login();
    if (!absl::StartsWith(dev.path(), "/") || !IsPlainPath(dev.path())) {
      return err("auth.dev_login.path",
                 absl::StrCat("must be a plain path starting with \"/\", got ",
                              Quote(dev.path())));
    }
    if (provider_index.count(dev.provider()) == 0) {
      return err(
          "auth.dev_login.provider",
          dev.provider().empty()
              ? std::string("required (the provider whose tokens it "
                            "issues)")
              : absl::StrCat("unknown provider ", Quote(dev.provider())));
    }
    if (dev.signing_key_file().empty()) {
      return err("auth.dev_login.signing_key_file",
                 "required (a private EC P-256 JWK, see ssebridge-keygen)");
    }
    if (!IsPositive(dev.ttl()) || dev.ttl().seconds() > 86400) {
      return err("auth.dev_login.ttl", "must be between 1s and 24h");
    }
  }
  return absl::OkStatus();
}

// A field path: dot-separated proto identifiers.
bool IsFieldPath(absl::string_view path) {
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (part.empty() || absl::ascii_isdigit(part[0])) return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(c) && c != '_') return false;
    }
  }
  return true;
}

// The syntax of a route's `grpc` block; whether the method exists (and
// streams) is checked at start-up against its descriptors.
absl::Status ValidateGrpcMethod(absl::string_view file, const std::string& p,
                                const GivenKeys& given,
                                ssebridge::config::v1::Route& r) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return ConfigError(file, path, problem);
  };
  if (given.count(p + ".action") != 0) {
    return err(p + ".action", "a route has either action or grpc, not both");
  }
  const auto& g = r.grpc();
  absl::string_view method = g.method();
  if (method.empty()) {
    return err(p + ".grpc.method",
               "required (\"package.Service/Method\", e.g. "
               "\"grpc.health.v1.Health/Watch\")");
  }
  if (absl::StartsWith(method, "/")) method.remove_prefix(1);
  const size_t slash = method.find('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == method.size() ||
      method.find('/', slash + 1) != absl::string_view::npos ||
      !IsFieldPath(method.substr(0, slash)) ||
      !IsFieldPath(method.substr(slash + 1)) ||
      method.substr(slash + 1).find('.') != absl::string_view::npos) {
    return err(p + ".grpc.method",
               absl::StrCat("expected \"package.Service/Method\", got ",
                            Quote(g.method())));
  }
  for (const auto& [key, path] : {std::pair<const char*, const std::string&>{
                                      "event_field", g.event_field()},
                                  {"id_field", g.id_field()},
                                  {"resume_field", g.resume_field()}}) {
    if (!path.empty() && !IsFieldPath(path)) {
      return err(absl::StrCat(p, ".grpc.", key),
                 absl::StrCat("expected a field path such as \"status\" or "
                              "\"meta.id\", got ",
                              Quote(path)));
    }
  }
  return absl::OkStatus();
}

// Route.replay: a shared route's ring, with bounds that are neither zero
// nor large enough to exhaust memory from one call.
absl::Status ValidateReplay(absl::string_view file, const std::string& p,
                            const ssebridge::config::v1::Route& r) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return ConfigError(file, path, problem);
  };
  constexpr uint32_t kMaxEvents = 100'000;
  constexpr uint32_t kMaxBytes = 64 << 20;
  constexpr int64_t kMaxAgeSeconds = 24 * 3600;
  const auto& replay = r.replay();
  const std::string rp = p + ".replay";
  if (!r.shared()) {
    return err(rp,
               "needs shared: true (a replay ring keeps a shared call's "
               "events)");
  }
  if (replay.events() < 1 || replay.events() > kMaxEvents) {
    return err(rp + ".events",
               absl::StrCat("must be between 1 and ", kMaxEvents, ", got ",
                            replay.events()));
  }
  const auto& age = replay.max_age();
  if (!IsPositive(age) || age.seconds() > kMaxAgeSeconds ||
      (age.seconds() == kMaxAgeSeconds && age.nanos() > 0)) {
    return err(rp + ".max_age", "must be greater than 0s and at most 24h");
  }
  if (replay.max_bytes() < 1 || replay.max_bytes() > kMaxBytes) {
    return err(rp + ".max_bytes",
               absl::StrCat("must be between 1 and ", kMaxBytes,
                            " (64 MiB), got ", replay.max_bytes()));
  }
  if (replay.on_join() > replay.events()) {
    return err(rp + ".on_join",
               absl::StrCat("must be at most replay.events (", replay.events(),
                            "), got ", replay.on_join()));
  }
  if (replay.reset_event().empty()) {
    return err(rp + ".reset_event", "must not be empty");
  }
  if (HasCrLf(replay.reset_event())) {
    return err(rp + ".reset_event", "must not contain CR or LF");
  }
  if (replay.reset_event() == r.terminal_event()) {
    // htmx's sse-close would close the stream a resync should keep open.
    return err(rp + ".reset_event",
               absl::StrCat("must differ from terminal_event (both ",
                            Quote(r.terminal_event()), ")"));
  }
  return absl::OkStatus();
}

// A multiplexing route's own keys: what it may not set (its sub-streams use
// their routes' settings) and its max_streams. Its allow-list is checked
// once every path is known (ValidateMuxRoutes).
absl::Status ValidateMuxRoute(absl::string_view file, const std::string& p,
                              const GivenKeys& given,
                              const ssebridge::config::v1::Route& r) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return ConfigError(file, path, problem);
  };
  const char* const kWhy =
      "a mux route has none of its own (each sub-stream "
      "uses its route's)";
  const std::pair<const char*, bool> kNotHere[] = {
      {"backend", !r.backend().empty()},
      {"action", given.count(p + ".action") != 0 || !r.action().empty()},
      {"grpc", r.has_grpc()},
      {"shared", r.shared()},
      {"replay", r.has_replay()},
      {"auth", r.auth() != "off" && !r.auth().empty()},
      {"auth_provider", given.count(p + ".auth_provider") != 0},
      {"require_claims", !r.require_claims().empty()},
      {"token_query_param", !r.token_query_param().empty()},
      {"forward_headers", r.forward_headers_size() > 0},
      {"max_event_bytes", r.max_event_bytes() != 0},
  };
  for (const auto& [key, set] : kNotHere) {
    if (set) return err(absl::StrCat(p, ".", key), kWhy);
  }
  for (int m = 0; m < r.methods_size(); ++m) {
    if (r.methods(m) != "GET") {
      return err(IndexPath(p + ".methods", static_cast<size_t>(m)),
                 "a mux route is GET only (EventSource)");
    }
  }
  if (r.mux().routes_size() == 0) {
    return err(p + ".mux.routes",
               "must list at least one route path (the allow-list)");
  }
  if (r.mux().max_streams() < 1 || r.mux().max_streams() > 64) {
    return err(
        p + ".mux.max_streams",
        absl::StrCat("must be between 1 and 64, got ", r.mux().max_streams()));
  }
  return absl::OkStatus();
}

// Every mux route's allow-list names routes of this config, once each, that
// take GET and are not mux routes themselves.
absl::Status ValidateMuxRoutes(absl::string_view file,
                               const FrontendConfig& config,
                               const std::map<std::string, int>& route_index) {
  std::vector<std::string> plain;
  for (const auto& r : config.routes()) {
    if (!r.has_mux()) plain.push_back(r.path());
  }
  const std::string defined = absl::StrCat(
      "routes that can be multiplexed: ",
      plain.empty() ? std::string("none") : absl::StrJoin(plain, ", "));
  for (int i = 0; i < config.routes_size(); ++i) {
    const auto& r = config.routes(i);
    if (!r.has_mux()) continue;
    const std::string p = IndexPath("routes", static_cast<size_t>(i));
    std::set<std::string> seen;
    for (int k = 0; k < r.mux().routes_size(); ++k) {
      const std::string& path = r.mux().routes(k);
      const std::string kp =
          IndexPath(p + ".mux.routes", static_cast<size_t>(k));
      auto it = route_index.find(path);
      if (it == route_index.end()) {
        return ConfigError(
            file, kp,
            absl::StrCat("unknown route ", Quote(path), " (", defined, ")"));
      }
      const auto& target = config.routes(it->second);
      if (target.has_mux()) {
        return ConfigError(
            file, kp,
            absl::StrCat(Quote(path), " is a mux route itself (routes[",
                         it->second, "]); mux routes do not nest"));
      }
      if (std::find(target.methods().begin(), target.methods().end(), "GET") ==
          target.methods().end()) {
        return ConfigError(
            file, kp,
            absl::StrCat(Quote(path), " does not allow GET (routes[",
                         it->second, "].methods)"));
      }
      if (!seen.insert(path).second) {
        return ConfigError(file, kp,
                           absl::StrCat("duplicate route ", Quote(path)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(absl::string_view file, const GivenKeys& given,
                      FrontendConfig& config) {
  auto err = [file](absl::string_view path, absl::string_view problem) {
    return ConfigError(file, path, problem);
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
    if (b.stream_window_bytes() != 0 &&
        (b.stream_window_bytes() < 1024 ||
         b.stream_window_bytes() > 16 * 1024 * 1024)) {
      return err(p + ".stream_window_bytes",
                 absl::StrCat("must be between 1024 and 16777216, got ",
                              b.stream_window_bytes()));
    }
    std::string check = absl::AsciiStrToLower(b.health_check());
    if (check.empty()) check = "grpc";  // the default (when not applied)
    if (check != "grpc" && check != "connect" && check != "none") {
      return err(p + ".health_check",
                 absl::StrCat("must be grpc, connect or none, got ",
                              Quote(b.health_check())));
    }
    config.mutable_backends(i)->set_health_check(std::move(check));
  }
  std::vector<std::string> backend_names;
  for (const auto& [name, index] : backend_index) backend_names.push_back(name);
  const std::string defined =
      backend_names.empty()
          ? std::string("no backends are defined")
          : absl::StrCat("defined: ", absl::StrJoin(backend_names, ", "));

  std::map<std::string, int> provider_index;
  if (absl::Status s = ValidateAuth(file, config, provider_index); !s.ok()) {
    return s;
  }
  std::vector<std::string> provider_names;
  for (const auto& [name, index] : provider_index) {
    provider_names.push_back(name);
  }
  const std::string providers_defined =
      provider_names.empty()
          ? std::string("no auth.providers are defined")
          : absl::StrCat("defined: ", absl::StrJoin(provider_names, ", "));

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

    if (r.has_mux()) {
      if (r.auth().empty()) r.set_auth("off");
      if (absl::Status s = ValidateMuxRoute(file, p, given, r); !s.ok()) {
        return s;
      }
      if (r.terminal_event().empty()) {
        return err(p + ".terminal_event", "must not be empty");
      }
      if (HasCrLf(r.terminal_event())) {
        return err(p + ".terminal_event", "must not contain CR or LF");
      }
      continue;
    }

    if (r.backend().empty()) {
      return err(p + ".backend", absl::StrCat("required (", defined, ")"));
    }
    if (backend_index.count(r.backend()) == 0) {
      return err(p + ".backend",
                 absl::StrCat("unknown backend ", Quote(r.backend()), " (",
                              defined, ")"));
    }

    if (r.has_grpc()) {
      if (absl::Status s = ValidateGrpcMethod(file, p, given, r); !s.ok()) {
        return s;
      }
    } else if (r.action().empty()) {
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

    std::string auth = absl::AsciiStrToLower(r.auth());
    if (auth.empty()) auth = "off";  // the default (when not applied)
    if (auth != "off" && auth != "required" && auth != "optional") {
      return err(p + ".auth", absl::StrCat("must be off, required or optional, "
                                           "got ",
                                           Quote(r.auth())));
    }
    r.set_auth(auth);
    if (auth == "off") {
      if (!r.require_claims().empty()) {
        return err(p + ".require_claims", "needs auth: required or optional");
      }
      if (!r.token_query_param().empty()) {
        return err(p + ".token_query_param",
                   "needs auth: required or optional");
      }
    } else {
      if (r.auth_provider().empty()) {
        return err(p + ".auth_provider",
                   absl::StrCat("required when auth is ", auth, " (",
                                providers_defined, ")"));
      }
      if (provider_index.count(r.auth_provider()) == 0) {
        return err(p + ".auth_provider",
                   absl::StrCat("unknown provider ", Quote(r.auth_provider()),
                                " (", providers_defined, ")"));
      }
    }
    for (const auto& [claim, value] : r.require_claims()) {
      if (claim.empty()) {
        return err(p + ".require_claims", "claim names must not be empty");
      }
    }
    if (!r.token_query_param().empty() && !IsToken(r.token_query_param())) {
      return err(p + ".token_query_param",
                 absl::StrCat("invalid parameter name ",
                              Quote(r.token_query_param())));
    }
    if (r.has_replay()) {
      if (absl::Status s = ValidateReplay(file, p, r); !s.ok()) return s;
    }
  }

  if (absl::Status s = ValidateMuxRoutes(file, config, route_index); !s.ok()) {
    return s;
  }

  if (const std::string& dev = config.auth().dev_login().path(); !dev.empty()) {
    for (const std::string& taken : {dev, dev + "/logout"}) {
      if (auto it = route_index.find(taken); it != route_index.end()) {
        return err("auth.dev_login.path",
                   absl::StrCat(Quote(taken), " is also routes[", it->second,
                                "].path"));
      }
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
  for (int i = 0; i < config.routes_size(); ++i) {
    const auto& r = config.routes(i);
    if (r.high_water_bytes() == 0 && r.low_water_bytes() == 0) continue;
    const uint32_t high = r.high_water_bytes() != 0 ? r.high_water_bytes()
                                                    : limits.high_water_bytes();
    const uint32_t low = r.low_water_bytes() != 0 ? r.low_water_bytes()
                                                  : limits.low_water_bytes();
    if (low >= high) {
      return err(absl::StrCat("routes[", i, "].low_water_bytes"),
                 absl::StrCat("must be less than the route's high water (", low,
                              " >= ", high, ")"));
    }
  }
  if (!IsPositive(limits.write_timeout())) {
    return err("limits.write_timeout", "must be greater than 0s");
  }
  if (limits.socket_unsent_bytes() > 16 * 1024 * 1024) {
    return err("limits.socket_unsent_bytes",
               absl::StrCat("must be at most 16777216, got ",
                            limits.socket_unsent_bytes()));
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

}  // namespace ssebridge::frontend
