#include "frontend/config/config_validation.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "frontend/config/config_error.h"
#include "frontend/config/config_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::config::v1::Route;
using ::testing::ElementsAre;

constexpr char kFile[] = "cfg.yaml";

// A valid config as ApplyDefaults leaves it, with two backends (defined out
// of name order) and one route.
FrontendConfig ValidConfig() {
  return config_testing::FromText(
      absl::StrCat(config_testing::kTopLevelDefaults, R"pb(
        backends {
          name: "chat_bot"
          target: "127.0.0.1:50051"
          channels: 1
          connect_timeout { seconds: 2 }
          health_check: "grpc"
        }
        backends {
          name: "alerts"
          target: "127.0.0.1:50052"
          channels: 1
          connect_timeout { seconds: 2 }
          health_check: "grpc"
        }
        routes {
          path: "/api/chat_stream"
          methods: "GET"
          backend: "chat_bot"
          action: "chat_stream"
          terminal_event: "done"
          heartbeat { seconds: 15 }
        }
      )pb"));
}

TEST(ConfigValidationTest, ValidConfigPasses) {
  FrontendConfig config = ValidConfig();
  EXPECT_TRUE(Validate(kFile, {}, config).ok());
}

TEST(ConfigValidationTest, NormalisesCaseOfMethodsHeadersOriginsAndLevel) {
  FrontendConfig config = ValidConfig();
  auto& route = *config.mutable_routes(0);
  route.clear_methods();
  route.add_methods("get");
  route.add_methods("Post");
  route.add_forward_headers("X-Request-ID");
  route.add_forward_headers("cookie");
  config.add_cors_origins("HTTPS://App.Example.com:8443");
  config.add_cors_origins("http://[FE80::1]");
  config.mutable_logging()->set_level("Trace");

  ASSERT_TRUE(Validate(kFile, {}, config).ok());
  EXPECT_THAT(config.routes(0).methods(), ElementsAre("GET", "POST"));
  EXPECT_THAT(config.routes(0).forward_headers(),
              ElementsAre("x-request-id", "cookie"));
  EXPECT_THAT(config.cors_origins(),
              ElementsAre("https://app.example.com:8443", "http://[fe80::1]"));
  EXPECT_EQ(config.logging().level(), "trace");
}

TEST(ConfigValidationTest, AcceptsEveryLogLevelAndIpFamily) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    SCOPED_TRACE(level);
    FrontendConfig config = ValidConfig();
    config.mutable_logging()->set_level(level);
    config.add_trusted_proxies("10.0.0.1");
    config.add_trusted_proxies("::1");
    config.add_trusted_proxies("2001:db8::17");
    EXPECT_TRUE(Validate(kFile, {}, config).ok());
  }
}

TEST(ConfigValidationTest, AcceptsOrigins) {
  for (const char* origin : {
           "https://app.example.com",
           "http://localhost:5173",
           "http://127.0.0.1:8080",
           "https://[::1]:8443",
           "http://[::ffff:127.0.0.1]",
           "chrome-extension://abcdef",
           "https://host:1",
           "https://host:65535",
       }) {
    SCOPED_TRACE(origin);
    FrontendConfig config = ValidConfig();
    config.add_cors_origins(origin);
    EXPECT_TRUE(Validate(kFile, {}, config).ok());
  }
}

TEST(ConfigValidationTest, RejectsOrigins) {
  for (const char* origin : {
           "https://app.example.com/",
           "https://app.example.com/path",
           "app.example.com",
           "://app.example.com",
           "1http://app.example.com",
           "ht_tp://app.example.com",
           "https://",
           "https://:8080",
           "https://host:",
           "https://host:0",
           "https://host:65536",
           "https://host:008080",
           "https://host:80a",
           "https://user@host",
           "https://ho_st",
           "https://[]",
           "https://[::1",
           "https://[::g]",
           "https://[::1]8080",
       }) {
    SCOPED_TRACE(origin);
    FrontendConfig config = ValidConfig();
    config.add_cors_origins("https://ok.example.com");
    config.add_cors_origins(origin);
    const absl::Status s = Validate(kFile, {}, config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "cfg.yaml: cors_origins[1]: invalid origin " + Quote(origin) +
                  " (use scheme://host[:port], no path or trailing slash)");
  }
}

TEST(ConfigValidationTest, AcceptsHeaderTokens) {
  FrontendConfig config = ValidConfig();
  auto& route = *config.mutable_routes(0);
  route.add_forward_headers("x-request-id");
  route.add_forward_headers("X_Custom.1");
  route.add_forward_headers("!#$%&'*+-.^_`|~");
  EXPECT_TRUE(Validate(kFile, {}, config).ok());
}

TEST(ConfigValidationTest, RejectsHeaderNamesThatAreNotTokens) {
  for (const std::string header : {"x request", "", "x-request-id:", "x\"y",
                                   "x(y)", "caf\xC3\xA9", "x\ty"}) {
    SCOPED_TRACE(header);
    FrontendConfig config = ValidConfig();
    auto& route = *config.mutable_routes(0);
    route.add_forward_headers("cookie");
    route.add_forward_headers(header);
    const absl::Status s = Validate(kFile, {}, config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "cfg.yaml: routes[0].forward_headers[1]: invalid header name " +
                  Quote(header));
  }
}

TEST(ConfigValidationTest, EmptyActionErrorDependsOnWhetherTheKeyWasGiven) {
  FrontendConfig config = ValidConfig();
  config.mutable_routes(0)->set_path("/");
  config.mutable_routes(0)->clear_action();
  // Absent: ApplyDefaults could not derive one from the path.
  EXPECT_EQ(Validate(kFile, {}, config).message(),
            "cfg.yaml: routes[0].action: cannot be derived from path \"/\"; "
            "set it explicitly");
  // Given as `action: ""`.
  EXPECT_EQ(Validate(kFile, {"routes[0].action"}, config).message(),
            "cfg.yaml: routes[0].action: must not be empty");
}

// One rule: a change to ValidConfig() and the error it must give.
struct RuleCase {
  std::string name;
  std::function<void(FrontendConfig&)> change;
  std::string message;
};

// Keeps gtest from dumping the struct's bytes when a case fails.
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }

class ConfigValidationRuleTest : public testing::TestWithParam<RuleCase> {};

TEST_P(ConfigValidationRuleTest, ReportsTheBrokenRule) {
  FrontendConfig config = ValidConfig();
  GetParam().change(config);
  const absl::Status s = Validate(kFile, {}, config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), GetParam().message);
}

Route& Route0(FrontendConfig& c) { return *c.mutable_routes(0); }

// Adds a valid provider "main" (as ApplyDefaults leaves it).
ssebridge::config::v1::AuthProvider& AddProvider(FrontendConfig& c,
                                                 const std::string& name) {
  auto& p = *c.mutable_auth()->add_providers();
  p.set_name(name);
  p.set_issuer("https://login.example.com");
  p.add_audiences("sse-bridge");
  p.set_jwks_file("/etc/jwks.json");
  p.add_algorithms("RS256");
  p.add_algorithms("ES256");
  p.mutable_leeway()->set_seconds(60);
  p.set_cookie("ssebridge_token");
  p.set_max_token_bytes(8192);
  return p;
}
ssebridge::config::v1::AuthProvider& Main(FrontendConfig& c) {
  return c.mutable_auth()->providers_size() > 0
             ? *c.mutable_auth()->mutable_providers(0)
             : AddProvider(c, "main");
}

// Makes route 0 shared with a valid replay ring (as ApplyDefaults leaves
// `replay: {}`) and returns the ring's config.
ssebridge::config::v1::Replay& SharedReplay(FrontendConfig& c) {
  Route0(c).set_shared(true);
  auto& replay = *Route0(c).mutable_replay();
  replay.set_events(1000);
  replay.mutable_max_age()->set_seconds(300);
  replay.set_max_bytes(1 << 20);
  replay.set_reset_event("reset");
  return replay;
}

TEST(ConfigValidationTest, ReplayConfigPasses) {
  FrontendConfig config = ValidConfig();
  auto& replay = SharedReplay(config);
  EXPECT_TRUE(Validate(kFile, {}, config).ok());
  // The extremes are allowed.
  replay.set_events(100000);
  replay.set_on_join(100000);
  replay.mutable_max_age()->set_seconds(86400);
  replay.set_max_bytes(64 << 20);
  replay.set_reset_event("resync");
  const absl::Status s = Validate(kFile, {}, config);
  EXPECT_TRUE(s.ok()) << s;
  replay.set_events(1);
  replay.set_on_join(1);
  replay.mutable_max_age()->set_seconds(0);
  replay.mutable_max_age()->set_nanos(1000000);
  replay.set_max_bytes(1);
  EXPECT_TRUE(Validate(kFile, {}, config).ok());
}

TEST(ConfigValidationTest, AuthConfigPassesAndIsNormalised) {
  FrontendConfig config = ValidConfig();
  Main(config).set_algorithms(0, "rs256");
  (*Main(config).mutable_claims_to_metadata())["name"] =
      "x-ssebridge-claim-name";
  Route0(config).set_auth("Required");
  Route0(config).set_auth_provider("main");
  (*Route0(config).mutable_require_claims())["role"] = "admin";
  auto* dev = config.mutable_auth()->mutable_dev_login();
  dev->set_path("/auth/dev-login");
  dev->set_provider("main");
  dev->set_signing_key_file("/k.jwk");
  dev->mutable_ttl()->set_seconds(900);
  const absl::Status s = Validate(kFile, {}, config);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(config.routes(0).auth(), "required");
  EXPECT_EQ(config.auth().providers(0).algorithms(0), "RS256");
  EXPECT_EQ(config.auth().expired_event(), "auth-expired");
}

// A `grpc` route: its syntax here; whether the method exists and streams is
// checked at start-up against its descriptors (frontend_server).
TEST(ConfigValidationTest, GrpcMethodRoute) {
  FrontendConfig config = ValidConfig();
  Route0(config).clear_action();
  auto& g = *Route0(config).mutable_grpc();
  g.set_method("grpc.health.v1.Health/Watch");
  g.set_event_field("status");
  g.set_id_field("meta.id");
  EXPECT_TRUE(Validate(kFile, {}, config).ok());
  EXPECT_EQ(Validate(kFile, {"routes[0].action"}, config).message(),
            "cfg.yaml: routes[0].action: a route has either action or grpc, "
            "not both");
  g.set_method("grpc.health.v1.Health.Watch");
  EXPECT_EQ(Validate(kFile, {}, config).message(),
            "cfg.yaml: routes[0].grpc.method: expected "
            "\"package.Service/Method\", got \"grpc.health.v1.Health.Watch\"");
  g.clear_method();
  EXPECT_EQ(Validate(kFile, {}, config).message(),
            "cfg.yaml: routes[0].grpc.method: required "
            "(\"package.Service/Method\", e.g. \"grpc.health.v1.Health/Watch\")");
  g.set_method("/grpc.health.v1.Health/Watch");
  g.set_id_field("meta..id");
  EXPECT_EQ(Validate(kFile, {}, config).message(),
            "cfg.yaml: routes[0].grpc.id_field: expected a field path such as "
            "\"status\" or \"meta.id\", got \"meta..id\"");
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ConfigValidationRuleTest,
    testing::ValuesIn(std::vector<RuleCase>{
        // Listen: explicit zeros are errors, not defaults.
        {"EmptyAddress", [](auto& c) { c.mutable_listen()->clear_address(); },
         "cfg.yaml: listen.address: must not be empty"},
        {"PortTooLarge", [](auto& c) { c.mutable_listen()->set_port(65536); },
         "cfg.yaml: listen.port: must be at most 65535, got 65536"},
        {"IoThreadsZero",
         [](auto& c) { c.mutable_listen()->set_io_threads(0); },
         "cfg.yaml: listen.io_threads: must be at least 1"},
        {"HeaderTimeoutZero",
         [](auto& c) { c.mutable_listen()->clear_header_timeout(); },
         "cfg.yaml: listen.header_timeout: must be greater than 0s"},
        {"IdleTimeoutNegative",
         [](auto& c) {
           c.mutable_listen()->mutable_idle_timeout()->set_seconds(-1);
         },
         "cfg.yaml: listen.idle_timeout: must be greater than 0s"},
        {"MaxRequestBytesZero",
         [](auto& c) { c.mutable_listen()->set_max_request_bytes(0); },
         "cfg.yaml: listen.max_request_bytes: must be at least 1"},
        // Backends.
        {"DuplicateBackendName",
         [](auto& c) { c.mutable_backends(1)->set_name("chat_bot"); },
         "cfg.yaml: backends[1].name: duplicate backend name \"chat_bot\" "
         "(also backends[0].name)"},
        {"EmptyTarget", [](auto& c) { c.mutable_backends(1)->clear_target(); },
         "cfg.yaml: backends[1].target: must not be empty"},
        {"ChannelsZero",
         [](auto& c) { c.mutable_backends(0)->set_channels(0); },
         "cfg.yaml: backends[0].channels: must be between 1 and 64, got 0"},
        {"HealthCheckUnknown",
         [](auto& c) { c.mutable_backends(0)->set_health_check("http"); },
         "cfg.yaml: backends[0].health_check: must be grpc, connect or none, "
         "got \"http\""},
        {"ConnectTimeoutZero",
         [](auto& c) { c.mutable_backends(0)->clear_connect_timeout(); },
         "cfg.yaml: backends[0].connect_timeout: must be greater than 0s"},
        // Routes.
        {"UnknownBackendListsDefinedNamesSorted",
         [](auto& c) { Route0(c).set_backend("chat_bto"); },
         "cfg.yaml: routes[0].backend: unknown backend \"chat_bto\" "
         "(defined: alerts, chat_bot)"},
        {"BackendButNoneDefined", [](auto& c) { c.clear_backends(); },
         "cfg.yaml: routes[0].backend: unknown backend \"chat_bot\" (no "
         "backends are defined)"},
        {"EmptyBackend", [](auto& c) { Route0(c).clear_backend(); },
         "cfg.yaml: routes[0].backend: required (defined: alerts, chat_bot)"},
        {"NoRoutes", [](auto& c) { c.clear_routes(); },
         "cfg.yaml: routes: at least one route is required"},
        {"PathWithSpace", [](auto& c) { Route0(c).set_path("/a b"); },
         "cfg.yaml: routes[0].path: must be a plain path without spaces, "
         "query or fragment, got \"/a b\""},
        {"PathWithFragment", [](auto& c) { Route0(c).set_path("/a#b"); },
         "cfg.yaml: routes[0].path: must be a plain path without spaces, "
         "query or fragment, got \"/a#b\""},
        {"PathWithDel", [](auto& c) { Route0(c).set_path("/a\x7F"); },
         "cfg.yaml: routes[0].path: must be a plain path without spaces, "
         "query or fragment, got \"/a\\177\""},
        {"DuplicatePath", [](auto& c) { *c.add_routes() = c.routes(0); },
         "cfg.yaml: routes[1].path: duplicate path \"/api/chat_stream\" (also "
         "routes[0].path)"},
        {"MethodsDuplicateAfterUpperCasing",
         [](auto& c) { Route0(c).add_methods("get"); },
         "cfg.yaml: routes[0].methods[1]: duplicate method \"GET\""},
        {"UnsupportedMethod", [](auto& c) { Route0(c).add_methods("put"); },
         "cfg.yaml: routes[0].methods[1]: unsupported method \"put\" (use "
         "GET or POST)"},
        {"NoMethods", [](auto& c) { Route0(c).clear_methods(); },
         "cfg.yaml: routes[0].methods: must list at least one method"},
        {"ActionWithLf", [](auto& c) { Route0(c).set_action("a\nb"); },
         "cfg.yaml: routes[0].action: must not contain CR or LF"},
        {"EmptyTerminalEvent",
         [](auto& c) { Route0(c).clear_terminal_event(); },
         "cfg.yaml: routes[0].terminal_event: must not be empty"},
        {"TerminalEventWithCr",
         [](auto& c) { Route0(c).set_terminal_event("done\r"); },
         "cfg.yaml: routes[0].terminal_event: must not contain CR or LF"},
        // Limits.
        {"MaxConnectionsZero",
         [](auto& c) { c.mutable_limits()->set_max_connections(0); },
         "cfg.yaml: limits.max_connections: must be at least 1"},
        {"LowWaterEqualsHighWater",
         [](auto& c) { c.mutable_limits()->set_low_water_bytes(262144); },
         "cfg.yaml: limits.low_water_bytes: must be less than "
         "high_water_bytes (262144 >= 262144)"},
        {"LowWaterAboveHighWater",
         [](auto& c) { c.mutable_limits()->set_high_water_bytes(1000); },
         "cfg.yaml: limits.low_water_bytes: must be less than "
         "high_water_bytes (65536 >= 1000)"},
        {"MaxEventBytesZero",
         [](auto& c) { c.mutable_limits()->set_max_event_bytes(0); },
         "cfg.yaml: limits.max_event_bytes: must be at least 1"},
        // Replay.
        {"ReplayWithoutShared",
         [](auto& c) {
           SharedReplay(c);
           Route0(c).set_shared(false);
         },
         "cfg.yaml: routes[0].replay: needs shared: true (a replay ring keeps "
         "a shared call's events)"},
        {"ReplayEventsZero", [](auto& c) { SharedReplay(c).set_events(0); },
         "cfg.yaml: routes[0].replay.events: must be between 1 and 100000, "
         "got 0"},
        {"ReplayEventsTooMany",
         [](auto& c) { SharedReplay(c).set_events(100001); },
         "cfg.yaml: routes[0].replay.events: must be between 1 and 100000, "
         "got 100001"},
        {"ReplayMaxAgeZero", [](auto& c) { SharedReplay(c).clear_max_age(); },
         "cfg.yaml: routes[0].replay.max_age: must be greater than 0s and at "
         "most 24h"},
        {"ReplayMaxAgeNegative",
         [](auto& c) { SharedReplay(c).mutable_max_age()->set_seconds(-5); },
         "cfg.yaml: routes[0].replay.max_age: must be greater than 0s and at "
         "most 24h"},
        {"ReplayMaxAgeOverADay",
         [](auto& c) {
           auto* age = SharedReplay(c).mutable_max_age();
           age->set_seconds(86400);
           age->set_nanos(1);
         },
         "cfg.yaml: routes[0].replay.max_age: must be greater than 0s and at "
         "most 24h"},
        {"ReplayMaxBytesZero",
         [](auto& c) { SharedReplay(c).set_max_bytes(0); },
         "cfg.yaml: routes[0].replay.max_bytes: must be between 1 and "
         "67108864 (64 MiB), got 0"},
        {"ReplayMaxBytesTooLarge",
         [](auto& c) { SharedReplay(c).set_max_bytes((64 << 20) + 1); },
         "cfg.yaml: routes[0].replay.max_bytes: must be between 1 and "
         "67108864 (64 MiB), got 67108865"},
        {"ReplayOnJoinOverEvents",
         [](auto& c) {
           auto& replay = SharedReplay(c);
           replay.set_events(10);
           replay.set_on_join(11);
         },
         "cfg.yaml: routes[0].replay.on_join: must be at most replay.events "
         "(10), got 11"},
        {"ReplayResetEventEmpty",
         [](auto& c) { SharedReplay(c).clear_reset_event(); },
         "cfg.yaml: routes[0].replay.reset_event: must not be empty"},
        {"ReplayResetEventWithLf",
         [](auto& c) { SharedReplay(c).set_reset_event("re\nset"); },
         "cfg.yaml: routes[0].replay.reset_event: must not contain CR or LF"},
        {"ReplayResetEventIsTheTerminalEvent",
         [](auto& c) { SharedReplay(c).set_reset_event("done"); },
         "cfg.yaml: routes[0].replay.reset_event: must differ from "
         "terminal_event (both \"done\")"},
        // Auth.
        {"RouteAuthUnknownMode", [](auto& c) { Route0(c).set_auth("maybe"); },
         "cfg.yaml: routes[0].auth: must be off, required or optional, got "
         "\"maybe\""},
        {"RouteAuthWithoutProviders",
         [](auto& c) { Route0(c).set_auth("required"); },
         "cfg.yaml: routes[0].auth_provider: required when auth is required "
         "(no auth.providers are defined)"},
        {"RouteAuthUnknownProvider",
         [](auto& c) {
           Main(c);
           Route0(c).set_auth("optional");
           Route0(c).set_auth_provider("mian");
         },
         "cfg.yaml: routes[0].auth_provider: unknown provider \"mian\" "
         "(defined: main)"},
        {"RequireClaimsWithAuthOff",
         [](auto& c) { (*Route0(c).mutable_require_claims())["role"] = "x"; },
         "cfg.yaml: routes[0].require_claims: needs auth: required or "
         "optional"},
        {"ProviderDuplicateName",
         [](auto& c) {
           Main(c);
           AddProvider(c, "main");
         },
         "cfg.yaml: auth.providers[1].name: duplicate provider name \"main\" "
         "(also auth.providers[0].name)"},
        {"ProviderNoIssuer", [](auto& c) { Main(c).clear_issuer(); },
         "cfg.yaml: auth.providers[0].issuer: must not be empty"},
        {"ProviderNoAudience", [](auto& c) { Main(c).clear_audiences(); },
         "cfg.yaml: auth.providers[0].audiences: must list at least one "
         "audience"},
        {"ProviderNoJwks", [](auto& c) { Main(c).clear_jwks_file(); },
         "cfg.yaml: auth.providers[0].jwks_file: required (a JWKS file with "
         "the keys)"},
        {"ProviderAlgNone", [](auto& c) { Main(c).add_algorithms("none"); },
         "cfg.yaml: auth.providers[0].algorithms[2]: unsupported algorithm "
         "\"none\" (use RS256/384/512, PS256/384/512, ES256/384/512 or "
         "HS256/384/512)"},
        {"ProviderBadCookie", [](auto& c) { Main(c).set_cookie("a b"); },
         "cfg.yaml: auth.providers[0].cookie: invalid cookie name \"a b\""},
        {"ProviderClaimToReservedKey",
         [](auto& c) {
           (*Main(c).mutable_claims_to_metadata())["sub"] = "x-ssebridge-sub";
         },
         "cfg.yaml: auth.providers[0].claims_to_metadata.sub: invalid "
         "metadata key \"x-ssebridge-sub\" (lower case, starting with "
         "\"x-\", not x-ssebridge-sub or x-user)"},
        {"ProviderClaimToNonXKey",
         [](auto& c) {
           (*Main(c).mutable_claims_to_metadata())["name"] = "authorization";
         },
         "cfg.yaml: auth.providers[0].claims_to_metadata.name: invalid "
         "metadata key \"authorization\" (lower case, starting with "
         "\"x-\", not x-ssebridge-sub or x-user)"},
        {"ProviderHugeTokens",
         [](auto& c) { Main(c).set_max_token_bytes(1 << 20); },
         "cfg.yaml: auth.providers[0].max_token_bytes: must be between 256 "
         "and 65536, got 1048576"},
        {"DevLoginUnknownProvider",
         [](auto& c) {
           Main(c);
           auto* d = c.mutable_auth()->mutable_dev_login();
           d->set_path("/login");
           d->set_provider("other");
         },
         "cfg.yaml: auth.dev_login.provider: unknown provider \"other\""},
        {"DevLoginNoKey",
         [](auto& c) {
           Main(c);
           auto* d = c.mutable_auth()->mutable_dev_login();
           d->set_path("/login");
           d->set_provider("main");
         },
         "cfg.yaml: auth.dev_login.signing_key_file: required (a private EC "
         "P-256 JWK, see ssebridge-keygen)"},
        {"DevLoginPathIsARoute",
         [](auto& c) {
           Main(c);
           auto* d = c.mutable_auth()->mutable_dev_login();
           d->set_path("/api");
           d->set_provider("main");
           d->set_signing_key_file("/k");
           d->mutable_ttl()->set_seconds(60);
           auto& r = *c.add_routes();
           r = c.routes(0);
           r.set_path("/api/logout");
         },
         "cfg.yaml: auth.dev_login.path: \"/api/logout\" is also "
         "routes[1].path"},
        // The rest.
        {"TrustedProxyHostName",
         [](auto& c) {
           c.add_trusted_proxies("::1");
           c.add_trusted_proxies("proxy.internal");
         },
         "cfg.yaml: trusted_proxies[1]: expected an IP address, got "
         "\"proxy.internal\""},
        {"EmptyLogLevel", [](auto& c) { c.mutable_logging()->clear_level(); },
         "cfg.yaml: logging.level: unknown level \"\" (use trace, debug, info, "
         "warn, error or off)"},
        // Checks run in file order: listen before routes before limits.
        {"FirstProblemWins",
         [](auto& c) {
           c.mutable_limits()->set_max_connections(0);
           Route0(c).clear_methods();
           c.mutable_listen()->set_threads(0);
         },
         "cfg.yaml: listen.threads: must be at least 1"},
    }),
    [](const testing::TestParamInfo<RuleCase>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace ssebridge::frontend
