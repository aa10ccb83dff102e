#include "frontend/config/yaml_to_proto.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "frontend/config/config_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ssebridge/action/v1/action.pb.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::Event;
using ::ssebridge::config::v1::FrontendConfig;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1'000'000'000;

TEST(ConfigDurationTest, AcceptsGoStyleDurations) {
  struct Case {
    std::string text;
    int64_t nanos;
  };
  const std::vector<Case> cases = {
      {"0", 0},
      {"0s", 0},
      {"15s", 15 * kSecond},
      {"1.5s", 1'500'000'000},
      {".25s", 250'000'000},
      {"500ms", 500'000'000},
      {"250us", 250'000},
      {"250\xC2\xB5s", 250'000},  // U+00B5 MICRO SIGN
      {"250\xCE\xBCs", 250'000},  // U+03BC GREEK SMALL LETTER MU
      {"10ns", 10},
      {"2m", 120 * kSecond},
      {"1h30m", 5400 * kSecond},
      {"1m0.001s", 60 * kSecond + 1'000'000},
      {"1h1h", 7200 * kSecond},
      {" 15s\t", 15 * kSecond},
      // Fractions below a nanosecond are dropped, however many digits.
      {"1.0000000009s", kSecond},
      {"0.12345678912345678999999s", 123'456'789},
      {"9223372036854775807ns", std::numeric_limits<int64_t>::max()},
      {"2562047h", int64_t{2562047} * 3600 * kSecond},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ParseDurationNanos(c.text), std::optional<int64_t>(c.nanos));
  }
}

TEST(ConfigDurationTest, RejectsMalformedNegativeAndHugeDurations) {
  for (const char* text : {
           "",
           " ",
           "15",  // Only a bare 0 may omit the unit.
           "00",
           "s",
           ".s",
           "-1s",
           "+1s",
           "3d",
           "15 s",
           "15 seconds",
           "1h 30m",
           "1.5.5s",
           "1e3s",
           "0x10s",
           "15S",
           "9223372036854775808ns",  // One past int64 nanoseconds.
           "2562048h",
           "2562047h2562047h",
           "99999999999999999999s",
       }) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseDurationNanos(text), std::nullopt);
  }
}

TEST(ConfigYamlToProtoTest, RecordsGivenKeysByProtoNameAndAppliesNoDefaults) {
  FrontendConfig config;
  GivenKeys given;
  ASSERT_TRUE(YamlToProto(R"(
listen:
  ioThreads: 3
  port: 0
routes:
  - path: /a
  - path: /b
    methods: []
logging:
)",
                          "f.yaml", config, given)
                  .ok());

  EXPECT_THAT(given, UnorderedElementsAre(
                         "listen", "listen.io_threads", "listen.port", "routes",
                         "routes[0]", "routes[0].path", "routes[1]",
                         "routes[1].path", "routes[1].methods", "logging"));
  FrontendConfig expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        listen { io_threads: 3 }
        routes { path: "/a" }
        routes { path: "/b" }
        logging {}
      )pb",
      &expected));
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(config, expected)) << diff;
}

TEST(ConfigYamlToProtoTest, EmptyInputIsAnEmptyMessage) {
  for (const char* yaml : {"", "# only a comment\n", "~\n"}) {
    SCOPED_TRACE(yaml);
    FrontendConfig config;
    GivenKeys given;
    ASSERT_TRUE(YamlToProto(yaml, "f.yaml", config, given).ok());
    EXPECT_EQ(config.ByteSizeLong(), 0u);
    EXPECT_THAT(given, IsEmpty());
  }
}

TEST(ConfigYamlToProtoTest, DurationsBecomeProtoDurations) {
  struct Case {
    std::string text;
    int64_t seconds;
    int32_t nanos;
  };
  const std::vector<Case> cases = {
      {"1ns", 0, 1},
      {"0.999999999s", 0, 999'999'999},
      {"1h0.5ns", 3600, 0},
      {"2562047h", 2562047LL * 3600, 0},
      {"9223372036854775807ns", 9223372036, 854775807},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    FrontendConfig config;
    GivenKeys given;
    ASSERT_TRUE(
        YamlToProto("shutdown_grace: " + c.text, "f.yaml", config, given).ok());
    EXPECT_EQ(config.shutdown_grace().seconds(), c.seconds);
    EXPECT_EQ(config.shutdown_grace().nanos(), c.nanos);
  }
}

// FrontendConfig has no map fields; ActionRequest's params and headers are
// map<string, string>.
TEST(ConfigYamlToProtoTest, MapsKeepTheirKeysAndRecordThem) {
  ActionRequest request;
  GivenKeys given;
  ASSERT_TRUE(YamlToProto(R"(
action: chat
params:
  q: hello
  n: 1
  Mixed.Case: "x y"
headers: {}
)",
                          "req.yaml", request, given)
                  .ok());
  EXPECT_EQ(request.action(), "chat");
  EXPECT_THAT(request.params(),
              UnorderedElementsAre(Pair("q", "hello"), Pair("n", "1"),
                                   Pair("Mixed.Case", "x y")));
  EXPECT_THAT(request.headers(), IsEmpty());
  EXPECT_THAT(given,
              UnorderedElementsAre("action", "params", "params.q", "params.n",
                                   "params.Mixed.Case", "headers"));
}

struct ErrorCase {
  std::string yaml;
  std::string message;
};

TEST(ConfigYamlToProtoTest, MapErrorsNameTheKey) {
  const std::vector<ErrorCase> cases = {
      {"params:\n  q: 1\n  q: 2\n", "req.yaml: params.q: duplicate key"},
      {"params:\n  [a]: 1\n",
       "req.yaml: params: keys must be plain strings, got a list"},
      {"params:\n  q: [1]\n",
       "req.yaml: params.q: expected a string, got a list"},
      {"params: [a]\n", "req.yaml: params: expected a map, got a list"},
      {"\"x\\ny\": 1\n", "req.yaml: x\\ny: unknown key"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    ActionRequest request;
    GivenKeys given;
    const absl::Status s = YamlToProto(c.yaml, "req.yaml", request, given);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(ConfigYamlToProtoTest, OtherWellKnownTypesAreRefused) {
  Event event;
  GivenKeys given;
  const absl::Status s = YamlToProto("json: 1\n", "ev.yaml", event, given);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "ev.yaml: json: fields of type google.protobuf.Value are not "
            "supported by the loader");
}

TEST(ConfigYamlToProtoTest, SchemaErrorsFromTheJsonParserStayOneLine) {
  // The walker cannot see that two members of one oneof are set; protobuf's
  // JSON parser refuses it, and its message is wrapped in the usual form.
  Event event;
  GivenKeys given;
  const absl::Status s =
      YamlToProto("text: a\nhtml: b\n", "ev.yaml", event, given);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("ev.yaml: cannot map the config onto the schema: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("oneof"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("\n")));
}

}  // namespace
}  // namespace ssebridge::frontend
