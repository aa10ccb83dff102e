#include "frontend/config/config_loader.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "frontend/config/config_test_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kFile[] = "frontend.yaml";

// A backend every test config can route to.
constexpr char kBackend[] = R"(
backends:
  - name: chat_bot
    target: 127.0.0.1:50051
)";

// kBackend plus one route: the smallest valid config.
const std::string kMinimal = absl::StrCat(kBackend, R"(
routes:
  - path: /api/chat_stream
    backend: chat_bot
)");

FrontendConfig Parse(const std::string& yaml) {
  absl::StatusOr<FrontendConfig> config = ParseConfigYaml(yaml, kFile);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : FrontendConfig();
}

using config_testing::ExpectProtoEq;
using config_testing::FromText;
constexpr const char* kDefaultTopLevel = config_testing::kTopLevelDefaults;

TEST(ParseConfigYamlTest, FullConfigWithEveryField) {
  const FrontendConfig config = Parse(R"(
listen:
  address: 0.0.0.0
  port: 9000
  threads: 4
  io_threads: 2
  header_timeout: 5s
  idle_timeout: 2m
  max_request_bytes: 65536
backends:
  - name: chat_bot
    target: dns:///chat_bot:50051
    channels: 8
    connect_timeout: 500ms
  - name: monitoring
    target: 127.0.0.1:50052
routes:
  - path: /api/chat_stream
    methods: [GET, POST]
    backend: chat_bot
    action: stream
    terminal_event: finished
    heartbeat: 1.5s
    max_duration: 1h30m
    expose_errors: true
    forward_headers: [cookie, X-Request-ID]
    retry_ms: 2500
    max_event_bytes: 1024
    auth: Required
    require_claims: {role: admin}
    token_query_param: access_token
  - path: /api/cpu
    backend: monitoring
  - path: /api/ticker
    backend: monitoring
    shared: true
    replay:
      events: 500
      max_age: 90s
      max_bytes: 262144
      on_join: 20
      reset_event: resync
  - path: /api/feed
    backend: monitoring
    shared: true
    replay: {}
limits:
  max_connections: 500
  max_connections_per_ip: 10
  high_water_bytes: 131072
  low_water_bytes: 32768
  write_timeout: 45s
  max_event_bytes: 2097152
  retry_after_seconds: 7
  socket_unsent_bytes: 0
static_root: ./web
cors_origins: ["https://app.example.com", "http://localhost:5173"]
logging:
  level: debug
  json: true
shutdown_grace: 3s
trusted_proxies: [127.0.0.1, "::1"]
auth:
  expired_event: session-over
  providers:
    - name: main
      issuer: https://login.example.com
      audiences: [sse-bridge]
      jwks_file: /etc/ssebridge/jwks.json
      algorithms: [rs256, ES256]
      leeway: 30s
      cookie: tok
      claims_to_metadata: {name: x-ssebridge-claim-name}
      max_token_bytes: 4096
  dev_login:
    path: /auth/dev-login
    provider: main
    signing_key_file: /k.jwk
    ttl: 5m
)");
  ExpectProtoEq(
      config, FromText(R"pb(
        listen {
          address: "0.0.0.0"
          port: 9000
          threads: 4
          io_threads: 2
          header_timeout { seconds: 5 }
          idle_timeout { seconds: 120 }
          max_request_bytes: 65536
        }
        backends {
          name: "chat_bot"
          target: "dns:///chat_bot:50051"
          channels: 8
          connect_timeout { nanos: 500000000 }
          health_check: "grpc"
        }
        backends {
          name: "monitoring"
          target: "127.0.0.1:50052"
          channels: 1
          connect_timeout { seconds: 2 }
          health_check: "grpc"
        }
        routes {
          path: "/api/chat_stream"
          methods: [ "GET", "POST" ]
          backend: "chat_bot"
          action: "stream"
          terminal_event: "finished"
          heartbeat { seconds: 1 nanos: 500000000 }
          max_duration { seconds: 5400 }
          expose_errors: true
          forward_headers: [ "cookie", "x-request-id" ]
          retry_ms: 2500
          max_event_bytes: 1024
          auth: "required"
          auth_provider: "main"
          require_claims { key: "role" value: "admin" }
          token_query_param: "access_token"
        }
        routes {
          path: "/api/cpu"
          methods: "GET"
          backend: "monitoring"
          action: "cpu"
          terminal_event: "done"
          heartbeat { seconds: 15 }
          auth: "off"
          auth_provider: "main"
        }
        routes {
          path: "/api/ticker"
          methods: "GET"
          backend: "monitoring"
          action: "ticker"
          terminal_event: "done"
          heartbeat { seconds: 15 }
          shared: true
          auth: "off"
          auth_provider: "main"
          replay {
            events: 500
            max_age { seconds: 90 }
            max_bytes: 262144
            on_join: 20
            reset_event: "resync"
          }
        }
        routes {
          path: "/api/feed"
          methods: "GET"
          backend: "monitoring"
          action: "feed"
          terminal_event: "done"
          heartbeat { seconds: 15 }
          shared: true
          auth: "off"
          auth_provider: "main"
          replay {
            events: 1000
            max_age { seconds: 300 }
            max_bytes: 1048576
            reset_event: "reset"
          }
        }
        limits {
          max_connections: 500
          max_connections_per_ip: 10
          high_water_bytes: 131072
          low_water_bytes: 32768
          write_timeout { seconds: 45 }
          max_event_bytes: 2097152
          retry_after_seconds: 7
          socket_unsent_bytes: 0
        }
        static_root: "./web"
        cors_origins: [ "https://app.example.com", "http://localhost:5173" ]
        logging { level: "debug" json: true }
        shutdown_grace { seconds: 3 }
        trusted_proxies: [ "127.0.0.1", "::1" ]
        auth {
          expired_event: "session-over"
          providers {
            name: "main"
            issuer: "https://login.example.com"
            audiences: "sse-bridge"
            jwks_file: "/etc/ssebridge/jwks.json"
            algorithms: [ "RS256", "ES256" ]
            leeway { seconds: 30 }
            cookie: "tok"
            claims_to_metadata { key: "name" value: "x-ssebridge-claim-name" }
            max_token_bytes: 4096
          }
          dev_login {
            path: "/auth/dev-login"
            provider: "main"
            signing_key_file: "/k.jwk"
            ttl { seconds: 300 }
          }
        }
      )pb"));
}

TEST(ParseConfigYamlTest, MinimalConfigGetsDocumentedDefaults) {
  ExpectProtoEq(Parse(kMinimal), FromText(absl::StrCat(kDefaultTopLevel, R"pb(
                  backends {
                    name: "chat_bot"
                    target: "127.0.0.1:50051"
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
                    auth: "off"
                  }
                )pb")));
}

TEST(ParseConfigYamlTest, ExplicitZeroPortAndHeartbeatAreKept) {
  const FrontendConfig config = Parse(absl::StrCat(kBackend, R"(
listen:
  port: 0
routes:
  - path: /a
    backend: chat_bot
    heartbeat: 0s
  - path: /b
    backend: chat_bot
    heartbeat: 0
  - path: /c
    backend: chat_bot
)"));
  EXPECT_EQ(config.listen().port(), 0u);
  ASSERT_EQ(config.routes_size(), 3);
  EXPECT_EQ(config.routes(0).heartbeat().seconds(), 0);
  EXPECT_EQ(config.routes(0).heartbeat().nanos(), 0);
  EXPECT_EQ(config.routes(1).heartbeat().seconds(), 0);
  // Only the route that omits the key gets the default.
  EXPECT_EQ(config.routes(2).heartbeat().seconds(), 15);
}

TEST(ParseConfigYamlTest, NumbersAndBooleansMayBeQuoted) {
  const FrontendConfig config = Parse(absl::StrCat(kBackend, R"(
listen:
  port: "9090"
  threads: '3'
routes:
  - path: /a
    backend: chat_bot
    expose_errors: "true"
)"));
  EXPECT_EQ(config.listen().port(), 9090u);
  EXPECT_EQ(config.listen().threads(), 3u);
  EXPECT_TRUE(config.routes(0).expose_errors());
}

TEST(ParseConfigYamlTest, YamlBooleanSpellings) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true},   {"True", true},   {"yes", true}, {"on", true},
      {"false", false}, {"FALSE", false}, {"no", false}, {"off", false},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    const FrontendConfig config = Parse(absl::StrCat(kMinimal, R"(
logging:
  json: )",
                                                     text, "\n"));
    EXPECT_EQ(config.logging().json(), want);
  }
}

TEST(ParseConfigYamlTest, DurationForms) {
  struct Case {
    std::string text;
    int64_t seconds;
    int32_t nanos;
  };
  const std::vector<Case> cases = {
      {"15s", 15, 0},         {"500ms", 0, 500000000},   {"1.5s", 1, 500000000},
      {"2m", 120, 0},         {"1h", 3600, 0},           {"1h30m", 5400, 0},
      {"250us", 0, 250000},   {"10ns", 0, 10},           {"0.5s", 0, 500000000},
      {".25s", 0, 250000000}, {"1m0.001s", 60, 1000000}, {"\"0s\"", 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const FrontendConfig config =
        Parse(absl::StrCat(kMinimal, "shutdown_grace: ", c.text, "\n"));
    EXPECT_EQ(config.shutdown_grace().seconds(), c.seconds);
    EXPECT_EQ(config.shutdown_grace().nanos(), c.nanos);
  }
}

TEST(ParseConfigYamlTest, JsonNamesAreAccepted) {
  const FrontendConfig config = Parse(absl::StrCat(kBackend, R"(
listen:
  ioThreads: 3
  maxRequestBytes: 4096
routes:
  - path: /a
    backend: chat_bot
    terminalEvent: end
    forwardHeaders: [cookie]
limits:
  highWaterBytes: 1000
  lowWaterBytes: 10
)"));
  EXPECT_EQ(config.listen().io_threads(), 3u);
  EXPECT_EQ(config.listen().max_request_bytes(), 4096u);
  EXPECT_EQ(config.routes(0).terminal_event(), "end");
  EXPECT_THAT(config.routes(0).forward_headers(), ElementsAre("cookie"));
  EXPECT_EQ(config.limits().high_water_bytes(), 1000u);
  EXPECT_EQ(config.limits().low_water_bytes(), 10u);
}

TEST(ParseConfigYamlTest, NormalisesCaseOfMethodsHeadersOriginsAndLevel) {
  const FrontendConfig config = Parse(absl::StrCat(kBackend, R"(
routes:
  - path: /a
    backend: chat_bot
    methods: [get, Post]
    forward_headers: [X-Request-ID, Accept-Language]
cors_origins: ["HTTPS://App.Example.com:8443"]
logging:
  level: WARN
)"));
  EXPECT_THAT(config.routes(0).methods(), ElementsAre("GET", "POST"));
  EXPECT_THAT(config.routes(0).forward_headers(),
              ElementsAre("x-request-id", "accept-language"));
  EXPECT_THAT(config.cors_origins(),
              ElementsAre("https://app.example.com:8443"));
  EXPECT_EQ(config.logging().level(), "warn");
}

TEST(ParseConfigYamlTest, NullMessagesAndListsAreEmpty) {
  // `listen:` with nothing under it is an empty section, not an error.
  const FrontendConfig config =
      Parse(absl::StrCat(kMinimal, "listen:\ncors_origins:\n"));
  EXPECT_EQ(config.listen().port(), 8080u);
  EXPECT_EQ(config.cors_origins_size(), 0);
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string message;
};

// Keeps gtest from dumping the struct's bytes when a case fails.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ParseConfigYamlErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ParseConfigYamlErrorTest, ReportsOneLineError) {
  const absl::StatusOr<FrontendConfig> config =
      ParseConfigYaml(GetParam().yaml, kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(config.status().message()), GetParam().message);
}

std::string WithRoute(const std::string& route_extra) {
  return absl::StrCat(kBackend, R"(
routes:
  - path: /api/chat_stream
    backend: chat_bot
)",
                      route_extra);
}

// kMinimal's route, a mux route /api/live with `mux` (a YAML flow map)
// and `extra` lines, and a POST-only route /api/news.
std::string WithMux(const std::string& mux, const std::string& extra = "") {
  return absl::StrCat(kBackend, R"(
routes:
  - path: /api/chat_stream
    backend: chat_bot
  - path: /api/live
    mux: )",
                      mux, "\n", extra, R"(  - path: /api/news
    backend: chat_bot
    methods: [POST]
)");
}

TEST(ParseConfigYamlTest, MuxRouteGetsDefaultsAndNoAction) {
  const FrontendConfig config =
      Parse(WithMux("{routes: [/api/chat_stream]}", "    heartbeat: 5s\n"));
  ASSERT_EQ(config.routes_size(), 3);
  const auto& mux = config.routes(1);
  EXPECT_TRUE(mux.has_mux());
  EXPECT_THAT(mux.mux().routes(), ElementsAre("/api/chat_stream"));
  EXPECT_EQ(mux.mux().max_streams(), 8u);
  EXPECT_EQ(mux.action(), "");  // no action derived from the path
  EXPECT_EQ(mux.backend(), "");
  EXPECT_EQ(mux.terminal_event(), "done");
  EXPECT_EQ(mux.heartbeat().seconds(), 5);
  EXPECT_THAT(mux.methods(), ElementsAre("GET"));
}

TEST(ParseConfigYamlTest, MuxRouteMayComeBeforeTheRoutesItNames) {
  const FrontendConfig config = Parse(absl::StrCat(kBackend, R"(
routes:
  - path: /api/live
    mux: {routes: [/api/b, /api/a], max_streams: 3}
  - path: /api/a
    backend: chat_bot
  - path: /api/b
    backend: chat_bot
)"));
  ASSERT_EQ(config.routes_size(), 3);
  EXPECT_EQ(config.routes(0).mux().max_streams(), 3u);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseConfigYamlErrorTest,
    testing::ValuesIn(std::vector<ErrorCase>{
        // Schema: unknown keys, duplicates, shapes, types.
        {"UnknownTopLevelKey", kMinimal + "listn:\n  port: 1\n",
         "frontend.yaml: listn: unknown key"},
        {"UnknownKeyInListElement", absl::StrCat(kBackend, R"(
routes:
  - path: /a
    backend: chat_bot
  - path: /b
    backnd: chat_bot
)"),
         "frontend.yaml: routes[1].backnd: unknown key"},
        {"UnknownNestedKey", kMinimal + "listen:\n  prot: 1\n",
         "frontend.yaml: listen.prot: unknown key"},
        {"DuplicateKeyViaJsonName",
         kMinimal + "listen:\n  io_threads: 2\n  ioThreads: 3\n",
         "frontend.yaml: listen.ioThreads: duplicate key"},
        {"PortNotInteger", kMinimal + "listen:\n  port: abc\n",
         "frontend.yaml: listen.port: expected an integer, got \"abc\""},
        {"PortNegative", kMinimal + "listen:\n  port: -1\n",
         "frontend.yaml: listen.port: expected an integer from 0 to "
         "4294967295, got \"-1\""},
        {"PortFraction", kMinimal + "listen:\n  port: 80.5\n",
         "frontend.yaml: listen.port: expected an integer, got \"80.5\""},
        {"BoolNotBool", WithRoute("    expose_errors: maybe\n"),
         "frontend.yaml: routes[0].expose_errors: expected a boolean (true or "
         "false), got \"maybe\""},
        {"ListWhereMapExpected", kMinimal + "listen:\n  - port: 1\n",
         "frontend.yaml: listen: expected a map, got a list"},
        {"MapWhereListExpected",
         absl::StrCat(kBackend, "routes:\n  path: /a\n"),
         "frontend.yaml: routes: expected a list, got a map"},
        {"ScalarWhereListExpected",
         kMinimal + "cors_origins: https://app.example.com\n",
         "frontend.yaml: cors_origins: expected a list, got "
         "\"https://app.example.com\""},
        {"MapWhereStringExpected", kMinimal + "static_root: {a: 1}\n",
         "frontend.yaml: static_root: expected a string, got a map"},
        {"ListWhereIntegerExpected", kMinimal + "listen:\n  port: [1]\n",
         "frontend.yaml: listen.port: expected an integer, got a list"},
        {"EmptyScalar", kMinimal + "static_root:\n",
         "frontend.yaml: static_root: expected a string, got an empty value"},
        {"TopLevelList", "- a\n- b\n",
         "frontend.yaml: expected a map of settings at the top level, got a "
         "list"},
        {"TwoDocuments", kMinimal + "---\nlisten: {}\n",
         "frontend.yaml: line 9, column 1: only one YAML document is allowed"},
        // Durations.
        {"DurationWords", WithRoute("    heartbeat: 15 seconds\n"),
         "frontend.yaml: routes[0].heartbeat: invalid duration \"15 seconds\" "
         "(use e.g. \"15s\" or \"500ms\")"},
        {"DurationWithoutUnit", WithRoute("    heartbeat: 15\n"),
         "frontend.yaml: routes[0].heartbeat: invalid duration \"15\" (use "
         "e.g. \"15s\" or \"500ms\")"},
        {"DurationNegative", kMinimal + "shutdown_grace: -1s\n",
         "frontend.yaml: shutdown_grace: invalid duration \"-1s\" (use e.g. "
         "\"15s\" or \"500ms\")"},
        {"DurationUnknownUnit", kMinimal + "shutdown_grace: 3d\n",
         "frontend.yaml: shutdown_grace: invalid duration \"3d\" (use e.g. "
         "\"15s\" or \"500ms\")"},
        {"DurationOverflow", kMinimal + "shutdown_grace: 99999999999h\n",
         "frontend.yaml: shutdown_grace: invalid duration \"99999999999h\" "
         "(use e.g. \"15s\" or \"500ms\")"},
        {"DurationAsMap", WithRoute("    heartbeat: {seconds: 1}\n"),
         "frontend.yaml: routes[0].heartbeat: expected a duration such as "
         "\"15s\", got a map"},
        // Routes.
        {"NoRoutes", std::string(kBackend),
         "frontend.yaml: routes: at least one route is required"},
        {"EmptyFile", "",
         "frontend.yaml: routes: at least one route is required"},
        {"UndefinedBackend", absl::StrCat(kBackend, R"(
routes:
  - path: /a
    backend: chat_bto
)"),
         "frontend.yaml: routes[0].backend: unknown backend \"chat_bto\" "
         "(defined: chat_bot)"},
        {"MissingBackend", "routes:\n  - path: /a\n",
         "frontend.yaml: routes[0].backend: required (no backends are "
         "defined)"},
        {"DuplicateRoutePath", absl::StrCat(kBackend, R"(
routes:
  - path: /a
    backend: chat_bot
  - path: /b
    backend: chat_bot
  - path: /a
    backend: chat_bot
)"),
         "frontend.yaml: routes[2].path: duplicate path \"/a\" (also "
         "routes[0].path)"},
        {"PathWithoutSlash", absl::StrCat(kBackend, R"(
routes:
  - path: api/a
    backend: chat_bot
)"),
         "frontend.yaml: routes[0].path: must start with \"/\", got "
         "\"api/a\""},
        {"PathWithQuery", absl::StrCat(kBackend, R"(
routes:
  - path: /a?b=1
    backend: chat_bot
)"),
         "frontend.yaml: routes[0].path: must be a plain path without spaces, "
         "query or fragment, got \"/a?b=1\""},
        {"UnsupportedMethod", WithRoute("    methods: [GET, DELETE]\n"),
         "frontend.yaml: routes[0].methods[1]: unsupported method \"DELETE\" "
         "(use GET or POST)"},
        {"DuplicateMethod", WithRoute("    methods: [GET, get]\n"),
         "frontend.yaml: routes[0].methods[1]: duplicate method \"GET\""},
        {"EmptyMethods", WithRoute("    methods: []\n"),
         "frontend.yaml: routes[0].methods: must list at least one method"},
        {"ActionNotDerivable", absl::StrCat(kBackend, R"(
routes:
  - path: /
    backend: chat_bot
)"),
         "frontend.yaml: routes[0].action: cannot be derived from path "
         "\"/\"; set it explicitly"},
        {"ActionWithCr", WithRoute("    action: \"a\\rb\"\n"),
         "frontend.yaml: routes[0].action: must not contain CR or LF"},
        {"TerminalEventWithLf", WithRoute("    terminal_event: \"do\\nne\"\n"),
         "frontend.yaml: routes[0].terminal_event: must not contain CR or LF"},
        {"InvalidForwardHeader",
         WithRoute("    forward_headers: [cookie, \"x request\"]\n"),
         "frontend.yaml: routes[0].forward_headers[1]: invalid header name "
         "\"x request\""},
        {"ReplayOnARouteThatIsNotShared",
         WithRoute("    replay: {events: 100}\n"),
         "frontend.yaml: routes[0].replay: needs shared: true (a replay ring "
         "keeps a shared call's events)"},
        {"ReplayEventsGivenAsZero",
         WithRoute("    shared: true\n    replay: {events: 0}\n"),
         "frontend.yaml: routes[0].replay.events: must be between 1 and "
         "100000, got 0"},
        {"ReplayUnknownKey",
         WithRoute("    shared: true\n    replay: {event: 10}\n"),
         "frontend.yaml: routes[0].replay.event: unknown key"},
        // Backends.
        {"DuplicateTopLevelKey", absl::StrCat(kMinimal, R"(
  - path: /b
    backend: chat_bot
)") + R"(
backends:
  - name: x
    target: a:1
)",
         "frontend.yaml: backends: duplicate key"},
        {"DuplicateBackendNameInList", R"(
backends:
  - name: chat_bot
    target: a:1
  - name: chat_bot
    target: b:1
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[1].name: duplicate backend name "
         "\"chat_bot\" (also backends[0].name)"},
        {"EmptyBackendName", R"(
backends:
  - target: a:1
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[0].name: must not be empty"},
        {"EmptyTarget", R"(
backends:
  - name: chat_bot
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[0].target: must not be empty"},
        {"ChannelsZero", R"(
backends:
  - name: chat_bot
    target: a:1
    channels: 0
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[0].channels: must be between 1 and 64, got "
         "0"},
        {"ChannelsTooMany", R"(
backends:
  - name: chat_bot
    target: a:1
    channels: 65
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[0].channels: must be between 1 and 64, got "
         "65"},
        {"RouteLowWaterNotBelowHighWater", R"(
backends:
  - name: chat_bot
    target: a:1
routes:
  - path: /a
    backend: chat_bot
    high_water_bytes: 8192
)",
         "frontend.yaml: routes[0].low_water_bytes: must be less than the "
         "route's high water (65536 >= 8192)"},
        {"StreamWindowTooSmall", R"(
backends:
  - name: chat_bot
    target: a:1
    stream_window_bytes: 512
routes:
  - path: /a
    backend: chat_bot
)",
         "frontend.yaml: backends[0].stream_window_bytes: must be between "
         "1024 and 16777216, got 512"},
        // Listen, limits and the rest.
        {"PortTooLarge", kMinimal + "listen:\n  port: 70000\n",
         "frontend.yaml: listen.port: must be at most 65535, got 70000"},
        {"ThreadsZero", kMinimal + "listen:\n  threads: 0\n",
         "frontend.yaml: listen.threads: must be at least 1"},
        {"LowWaterEqualsHighWater",
         kMinimal + "limits:\n  low_water_bytes: 262144\n",
         "frontend.yaml: limits.low_water_bytes: must be less than "
         "high_water_bytes (262144 >= 262144)"},
        {"LowWaterAboveHighWater",
         kMinimal +
             "limits:\n  high_water_bytes: 100\n  low_water_bytes: 200\n",
         "frontend.yaml: limits.low_water_bytes: must be less than "
         "high_water_bytes (200 >= 100)"},
        {"WriteTimeoutZero", kMinimal + "limits:\n  write_timeout: 0s\n",
         "frontend.yaml: limits.write_timeout: must be greater than 0s"},
        {"BadLogLevel", kMinimal + "logging:\n  level: verbose\n",
         "frontend.yaml: logging.level: unknown level \"verbose\" (use trace, "
         "debug, info, warn, error or off)"},
        {"CorsTrailingSlash",
         kMinimal + "cors_origins: [\"https://app.example.com/\"]\n",
         "frontend.yaml: cors_origins[0]: invalid origin "
         "\"https://app.example.com/\" (use scheme://host[:port], no path or "
         "trailing slash)"},
        {"CorsWithoutScheme", kMinimal + "cors_origins: [app.example.com]\n",
         "frontend.yaml: cors_origins[0]: invalid origin \"app.example.com\" "
         "(use scheme://host[:port], no path or trailing slash)"},
        {"TrustedProxyCidr", kMinimal + "trusted_proxies: [10.0.0.0/8]\n",
         "frontend.yaml: trusted_proxies[0]: expected an IP address, got "
         "\"10.0.0.0/8\""},
        // Mux routes (issue 22).
        {"MuxUnknownRoute", WithMux("{routes: [/api/chat_stream, /api/nope]}"),
         "frontend.yaml: routes[1].mux.routes[1]: unknown route \"/api/nope\" "
         "(routes that can be multiplexed: /api/chat_stream, /api/news)"},
        {"MuxOfMux", WithMux("{routes: [/api/live]}"),
         "frontend.yaml: routes[1].mux.routes[0]: \"/api/live\" is a mux "
         "route itself (routes[1]); mux routes do not nest"},
        {"MuxDuplicateRoute",
         WithMux("{routes: [/api/chat_stream, /api/chat_stream]}"),
         "frontend.yaml: routes[1].mux.routes[1]: duplicate route "
         "\"/api/chat_stream\""},
        {"MuxPostOnlyRoute", WithMux("{routes: [/api/news]}"),
         "frontend.yaml: routes[1].mux.routes[0]: \"/api/news\" does not "
         "allow GET (routes[2].methods)"},
        {"MuxEmptyAllowList", WithMux("{routes: []}"),
         "frontend.yaml: routes[1].mux.routes: must list at least one route "
         "path (the allow-list)"},
        {"MuxMaxStreamsZero",
         WithMux("{routes: [/api/chat_stream], max_streams: 0}"),
         "frontend.yaml: routes[1].mux.max_streams: must be between 1 and 64, "
         "got 0"},
        {"MuxMaxStreamsTooMany",
         WithMux("{routes: [/api/chat_stream], max_streams: 65}"),
         "frontend.yaml: routes[1].mux.max_streams: must be between 1 and 64, "
         "got 65"},
        {"MuxWithBackend",
         WithMux("{routes: [/api/chat_stream]}", "    backend: chat_bot\n"),
         "frontend.yaml: routes[1].backend: a mux route has none of its own "
         "(each sub-stream uses its route's)"},
        {"MuxWithShared",
         WithMux("{routes: [/api/chat_stream]}", "    shared: true\n"),
         "frontend.yaml: routes[1].shared: a mux route has none of its own "
         "(each sub-stream uses its route's)"},
        {"MuxWithAuth",
         WithMux("{routes: [/api/chat_stream]}", "    auth: required\n"),
         "frontend.yaml: routes[1].auth: a mux route has none of its own "
         "(each sub-stream uses its route's)"},
        {"MuxWithPost",
         WithMux("{routes: [/api/chat_stream]}", "    methods: [GET, POST]\n"),
         "frontend.yaml: routes[1].methods[1]: a mux route is GET only "
         "(EventSource)"},
        {"MuxUnknownKey",
         WithMux("{routes: [/api/chat_stream], max_stream: 3}"),
         "frontend.yaml: routes[1].mux.max_stream: unknown key"},
    }),
    [](const testing::TestParamInfo<ErrorCase>& info) {
      return info.param.name;
    });

TEST(ParseConfigYamlTest, SyntaxErrorNamesFileLineAndColumn) {
  const absl::StatusOr<FrontendConfig> config =
      ParseConfigYaml("listen:\n  port: [1, 2\nroutes: []\n", kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              MatchesRegex("frontend\\.yaml: line [0-9]+, column [0-9]+: YAML "
                           "syntax error: .+"));
  EXPECT_THAT(std::string(config.status().message()), Not(HasSubstr("\n")));
}

TEST(ParseConfigYamlTest, SyntaxErrorReportsOneBasedPosition) {
  // The tab that starts line 3 is illegal indentation in YAML.
  const absl::StatusOr<FrontendConfig> config =
      ParseConfigYaml("listen:\n  port: 1\n\tthreads: 2\n", kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("frontend.yaml: line 3, column 1: YAML syntax error"));
}

TEST(ParseConfigYamlTest, ValuesInErrorsStayOnOneLine) {
  const absl::StatusOr<FrontendConfig> config =
      ParseConfigYaml(kMinimal + "listen:\n  port: |\n    80\n    80\n", kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(std::string(config.status().message()),
            "frontend.yaml: listen.port: expected an integer, got "
            "\"80\\n80\\n\"");
}

class LoadConfigFileTest : public testing::Test {
 protected:
  std::string WriteTemp(const std::string& name, const std::string& contents) {
    const std::string path = testing::TempDir() + name;
    std::ofstream(path) << contents;
    return path;
  }
};

TEST_F(LoadConfigFileTest, MissingFileIsNotFoundAndNamesTheFile) {
  const std::string path = testing::TempDir() + "no_such_config.yaml";
  const absl::StatusOr<FrontendConfig> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(config.status().message()),
            path + ": cannot open config file: No such file or directory");
}

TEST_F(LoadConfigFileTest, DirectoryIsAnError) {
  const absl::StatusOr<FrontendConfig> config =
      LoadConfigFile(testing::TempDir());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("is a directory"));
}

TEST_F(LoadConfigFileTest, LoadsFileAndUsesPathInErrors) {
  const std::string good = WriteTemp("good_config.yaml", kMinimal);
  const absl::StatusOr<FrontendConfig> config = LoadConfigFile(good);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->routes(0).path(), "/api/chat_stream");

  const std::string bad =
      WriteTemp("bad_config.yaml", kMinimal + "listen:\n  port: x\n");
  const absl::StatusOr<FrontendConfig> error = LoadConfigFile(bad);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(std::string(error.status().message()),
            bad + ": listen.port: expected an integer, got \"x\"");
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST(ExampleConfigTest, ShippedExampleLoads) {
  const absl::StatusOr<FrontendConfig> config =
      LoadConfigFile(SSEBRIDGE_EXAMPLE_CONFIG);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->backends_size(), 2);
  EXPECT_EQ(config->backends(0).name(), "chat_bot");
  EXPECT_EQ(config->backends(0).target(), "127.0.0.1:50051");
  ASSERT_EQ(config->routes_size(), 3);
  EXPECT_EQ(config->routes(0).path(), "/api/chat_send");
  EXPECT_THAT(config->routes(0).methods(), ElementsAre("GET", "POST"));
  EXPECT_EQ(config->routes(0).action(), "chat_send");
  EXPECT_EQ(config->routes(1).path(), "/api/chat_stream");
  EXPECT_THAT(config->routes(1).methods(), ElementsAre("GET"));
  EXPECT_EQ(config->routes(1).terminal_event(), "done");
  EXPECT_EQ(config->routes(1).heartbeat().seconds(), 15);
  EXPECT_FALSE(config->routes(1).shared());
  EXPECT_EQ(config->routes(2).path(), "/api/dashboard");
  EXPECT_TRUE(config->routes(2).shared());
  EXPECT_EQ(config->listen().port(), 8080u);
}

TEST(ConfigLoaderTest, MalformedInputThatHungYamlCppLoadAllIsAnError) {
  // Found by tests/fuzz/config_loader_fuzz: yaml-cpp 0.7's LoadAll loops
  // forever on this input. The loader must return an error promptly.
  const std::string input(",a\xb7 [:\xbe[\n", 9);
  auto cfg = ParseConfigYaml(input, "fuzz.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message().substr(0, 9), "fuzz.yaml");
}

}  // namespace
}  // namespace ssebridge::frontend
