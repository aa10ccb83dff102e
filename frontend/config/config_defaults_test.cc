#include "frontend/config/config_defaults.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontend/config/config_error.h"
#include "frontend/config/config_test_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using config_testing::ExpectProtoEq;
using config_testing::FromText;
using config_testing::kTopLevelDefaults;

TEST(ConfigDefaultsTest, EmptyConfigGetsTheDocumentedDefaultsAndNothingElse) {
  // Fields documented as "Default 0", "Default false" or without a default
  // (max_connections_per_ip, static_root, cors_origins, ...) stay unset.
  FrontendConfig config;
  ApplyDefaults({}, config);
  ExpectProtoEq(config, FromText(kTopLevelDefaults));
}

TEST(ConfigDefaultsTest, ListElementsGetTheirDefaults) {
  FrontendConfig config = FromText(R"pb(
    backends { name: "chat_bot" target: "a:1" }
    routes { path: "/api/chat_stream" backend: "chat_bot" }
  )pb");
  ApplyDefaults({}, config);
  ExpectProtoEq(config, FromText(absl::StrCat(kTopLevelDefaults, R"pb(
                  backends {
                    name: "chat_bot"
                    target: "a:1"
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

TEST(ConfigDefaultsTest, GivenKeysKeepTheirValuesEvenZero) {
  // What yaml_to_proto gives for `port: 0`, `heartbeat: 0s`, `methods: []`,
  // `channels: 0` and friends: the keys are present, the values zero.
  FrontendConfig config = FromText(R"pb(
    backends { name: "b" target: "a:1" }
    routes { path: "/a" backend: "b" }
  )pb");
  const GivenKeys given = {
      "listen",
      "listen.address",
      "listen.port",
      "listen.threads",
      "listen.header_timeout",
      "backends",
      "backends[0]",
      "backends[0].name",
      "backends[0].target",
      "backends[0].channels",
      "routes",
      "routes[0]",
      "routes[0].path",
      "routes[0].backend",
      "routes[0].methods",
      "routes[0].action",
      "routes[0].heartbeat",
      "limits",
      "limits.low_water_bytes",
      "shutdown_grace",
      "logging",
      "logging.level",
  };
  ApplyDefaults(given, config);

  EXPECT_EQ(config.listen().address(), "");
  EXPECT_EQ(config.listen().port(), 0u);
  EXPECT_EQ(config.listen().threads(), 0u);
  EXPECT_FALSE(config.listen().has_header_timeout());
  EXPECT_EQ(config.backends(0).channels(), 0u);
  EXPECT_THAT(config.routes(0).methods(), IsEmpty());
  EXPECT_EQ(config.routes(0).action(), "");
  EXPECT_FALSE(config.routes(0).has_heartbeat());
  EXPECT_EQ(config.limits().low_water_bytes(), 0u);
  EXPECT_FALSE(config.has_shutdown_grace());
  EXPECT_EQ(config.logging().level(), "");

  // Their siblings that were not given still get defaults.
  EXPECT_EQ(config.listen().io_threads(), 1u);
  EXPECT_EQ(config.listen().idle_timeout().seconds(), 60);
  EXPECT_EQ(config.backends(0).connect_timeout().seconds(), 2);
  EXPECT_EQ(config.routes(0).terminal_event(), "done");
  EXPECT_EQ(config.limits().high_water_bytes(), 262144u);
}

TEST(ConfigDefaultsTest, GivenValuesAreNotReplaced) {
  FrontendConfig config = FromText(R"pb(
    listen {
      port: 9000
      idle_timeout { nanos: 500000000 }
    }
    routes { path: "/a" methods: "POST" action: "run" }
    logging { level: "debug" }
  )pb");
  ApplyDefaults({"listen.port", "listen.idle_timeout", "routes[0].methods",
                 "routes[0].action", "logging.level"},
                config);
  EXPECT_EQ(config.listen().port(), 9000u);
  EXPECT_EQ(config.listen().idle_timeout().seconds(), 0);
  EXPECT_EQ(config.listen().idle_timeout().nanos(), 500000000);
  EXPECT_THAT(config.routes(0).methods(), ElementsAre("POST"));
  EXPECT_EQ(config.routes(0).action(), "run");
  EXPECT_EQ(config.logging().level(), "debug");
}

TEST(ConfigDefaultsTest, EachListElementIsDefaultedOnItsOwn) {
  FrontendConfig config = FromText(R"pb(
    backends { name: "a" channels: 4 }
    backends { name: "b" }
    routes { path: "/x" }
    routes { path: "/y" }
  )pb");
  ApplyDefaults(
      {"backends[0].channels", "routes[0].heartbeat", "routes[1].methods"},
      config);
  EXPECT_EQ(config.backends(0).channels(), 4u);
  EXPECT_EQ(config.backends(1).channels(), 1u);
  EXPECT_FALSE(config.routes(0).has_heartbeat());
  EXPECT_EQ(config.routes(1).heartbeat().seconds(), 15);
  EXPECT_THAT(config.routes(0).methods(), ElementsAre("GET"));
  EXPECT_THAT(config.routes(1).methods(), IsEmpty());
}

TEST(ConfigDefaultsTest, AGivenSectionDoesNotCountForItsKeys) {
  // `listen:` with nothing under it gives only "listen".
  FrontendConfig config;
  ApplyDefaults({"listen", "limits", "logging"}, config);
  ExpectProtoEq(config, FromText(kTopLevelDefaults));
}

TEST(ConfigDefaultsTest, ReplayGetsItsDefaultsOnlyWhenSet) {
  // `replay: {}` on the first route, nothing on the second, and a ring with
  // some keys given (zero or not) on the third.
  FrontendConfig config = FromText(R"pb(
    routes {
      path: "/a"
      shared: true
      replay {}
    }
    routes { path: "/b" shared: true }
    routes {
      path: "/c"
      shared: true
      replay { events: 0 on_join: 3 reset_event: "" }
    }
  )pb");
  ApplyDefaults({"routes[0].replay", "routes[1].shared", "routes[2].replay",
                 "routes[2].replay.events", "routes[2].replay.on_join",
                 "routes[2].replay.reset_event"},
                config);
  ExpectProtoEq(
      [&] {
        FrontendConfig only_replays;
        for (const auto& r : config.routes()) {
          auto* route = only_replays.add_routes();
          if (r.has_replay()) *route->mutable_replay() = r.replay();
        }
        return only_replays;
      }(),
      FromText(R"pb(
        routes {
          replay {
            events: 1000
            max_age { seconds: 300 }
            max_bytes: 1048576
            reset_event: "reset"
          }
        }
        routes {}
        routes {
          replay {
            events: 0
            max_age { seconds: 300 }
            max_bytes: 1048576
            on_join: 3
            reset_event: ""
          }
        }
      )pb"));
}

TEST(ConfigDefaultsTest, DefaultActionIsTheLastPathSegment) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/chat_stream", "chat_stream"},
      {"/cpu", "cpu"},
      {"/api/v1/", "v1"},
      {"//a//b//", "b"},
      // Nothing to derive: validation then asks for an explicit action.
      {"/", ""},
      {"", ""},
  };
  for (const auto& [path, action] : cases) {
    SCOPED_TRACE(path);
    FrontendConfig config;
    config.add_routes()->set_path(path);
    ApplyDefaults({}, config);
    EXPECT_EQ(config.routes(0).action(), action);
  }
}

}  // namespace
}  // namespace ssebridge::frontend
