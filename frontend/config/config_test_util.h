// Helpers shared by the config unit tests: a FrontendConfig from text
// format, a proto comparison that prints the difference, and the documented
// top-level defaults. Test code only.
#ifndef SSEBRIDGE_FRONTEND_CONFIG_CONFIG_TEST_UTIL_H_
#define SSEBRIDGE_FRONTEND_CONFIG_CONFIG_TEST_UTIL_H_

#include <string>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend::config_testing {

inline ssebridge::config::v1::FrontendConfig FromText(const std::string& text) {
  ssebridge::config::v1::FrontendConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config))
      << text;
  return config;
}

inline void ExpectProtoEq(
    const ssebridge::config::v1::FrontendConfig& actual,
    const ssebridge::config::v1::FrontendConfig& expected) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(actual, expected)) << diff;
}

// The defaults documented in config.proto for everything outside lists.
inline constexpr char kTopLevelDefaults[] = R"pb(
  listen {
    address: "127.0.0.1"
    port: 8080
    threads: 1
    io_threads: 1
    header_timeout { seconds: 10 }
    idle_timeout { seconds: 60 }
    max_request_bytes: 1048576
  }
  limits {
    max_connections: 10000
    high_water_bytes: 262144
    low_water_bytes: 65536
    write_timeout { seconds: 30 }
    max_event_bytes: 4194304
    retry_after_seconds: 5
    socket_unsent_bytes: 16384
  }
  shutdown_grace { seconds: 10 }
  logging { level: "info" }
  auth { expired_event: "auth-expired" }
)pb";

}  // namespace ssebridge::frontend::config_testing

#endif  // SSEBRIDGE_FRONTEND_CONFIG_CONFIG_TEST_UTIL_H_
