// End-to-end test of monitoring through a real FrontendServer on loopback:
// the dashboard's named events arrive in order each interval and carry real
// numbers from this machine's /proc that change between two intervals.
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proc_stats.h"
#include "spdlog/spdlog.h"
#include "tests/services/service_test_util.h"

namespace ssebridge::services::monitoring {
namespace {

using ::ssebridge::testing::NumberAt;
using ::ssebridge::testing::ParseJson;
using ::ssebridge::testing::ReadEvents;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kRoutes[] = R"(
  - path: /api/dashboard
    backend: monitoring
)";

std::string ReadProc(const std::string& name) {
  std::ifstream in("/proc/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The "lo" entry of a metrics payload's network.interfaces.
double LoopbackRx(const google::protobuf::Value& metrics) {
  const auto& ifs = metrics.struct_value()
                        .fields()
                        .at("network")
                        .struct_value()
                        .fields()
                        .at("interfaces")
                        .list_value();
  for (const auto& i : ifs.values()) {
    if (i.struct_value().fields().at("name").string_value() == "lo") {
      return NumberAt(i, "rx_bytes");
    }
  }
  return std::nan("");
}

TEST(MonitoringE2eTest, DashboardStreamsRealChangingNumbers) {
  spdlog::set_level(spdlog::level::warn);
  MonitoringService service;
  sdk::ActionServer server;
  service.Register(server);
  auto running = ssebridge::testing::StartService(server);
  ASSERT_NE(running, nullptr);
  auto frontend = ssebridge::testing::StartFrontend(
      ssebridge::testing::FrontendYaml("monitoring", running->port(), kRoutes));
  ASSERT_NE(frontend, nullptr);

  SseClient c;
  ASSERT_TRUE(c.Connect(frontend->port()));
  ASSERT_TRUE(c.Get("/api/dashboard?interval_ms=150"));
  ASSERT_TRUE(ReadEvents(c, 10));
  EXPECT_EQ(c.status(), 200);
  const std::vector<std::string> names = {"cpu", "memory", "load", "network",
                                          "metrics"};
  std::vector<google::protobuf::Value> metrics;
  for (size_t i = 0; i < 10; ++i) {
    const auto& e = c.events()[i];
    ASSERT_EQ(e.type, names[i % 5]) << "event " << i;
    if (e.type == "metrics") {
      auto json = ParseJson(e.data);
      ASSERT_TRUE(json.ok()) << json.status();
      metrics.push_back(*json);
    } else {
      EXPECT_THAT(e.data, StartsWith("<div class=\"panel " + e.type + "\">"));
    }
  }
  EXPECT_THAT(c.events()[0].data,
              HasSubstr("<span class=\"name\">cpu0</span>"));
  ASSERT_EQ(metrics.size(), 2u);

  // Real numbers: this machine's memory size and core count.
  auto meminfo = ParseMeminfo(ReadProc("meminfo"));
  auto cpus = ParseProcStat(ReadProc("stat"));
  ASSERT_TRUE(meminfo.ok() && cpus.ok());
  for (const auto& m : metrics) {
    EXPECT_EQ(NumberAt(m, "memory.total_kb"),
              static_cast<double>(meminfo->total_kb));
    EXPECT_EQ(m.struct_value()
                  .fields()
                  .at("cpu")
                  .struct_value()
                  .fields()
                  .at("cores")
                  .list_value()
                  .values_size(),
              static_cast<int>(cpus->size() - 1));
    const double cpu = NumberAt(m, "cpu.total");
    EXPECT_GE(cpu, 0);
    EXPECT_LE(cpu, 100);
    EXPECT_GT(NumberAt(m, "memory.used_kb"), 0);
    EXPECT_GT(NumberAt(m, "load.tasks"), 0);
  }
  // ...that change: time moves on, and this very stream's bytes crossed the
  // loopback interface between the two samples.
  EXPECT_GE(NumberAt(metrics[1], "time_ms") - NumberAt(metrics[0], "time_ms"),
            100);
  EXPECT_GT(LoopbackRx(metrics[1]), LoopbackRx(metrics[0]));

  c.Close();
  EXPECT_TRUE(WaitFor([&] { return frontend->live_sessions() == 0; }));
  frontend->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace ssebridge::services::monitoring
