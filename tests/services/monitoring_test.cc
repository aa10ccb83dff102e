// Unit tests of the monitoring service's logic: the /proc parsers on sample
// text, the rate maths, rendering, and the dashboard action through gRPC
// against a fake /proc directory.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proc_stats.h"
#include "tests/services/service_test_util.h"

namespace ssebridge::services::monitoring {
namespace {

using ::ssebridge::testing::MakeRequest;
using ::ssebridge::testing::NumberAt;
using ::ssebridge::testing::ParseJson;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kStat[] =
    "cpu  178856 11702 50912 164209 949 0 902 0 0 0\n"
    "cpu0 86034 6292 24770 86037 214 0 385 0 0 0\n"
    "cpu1 92821 5410 26142 78172 735 0 517 0 0 0\n"
    "intr 1670827 0 0 0\n"
    "ctxt 123\n"
    "btime 1700000000\n";

// One second later: cpu0 busy 50 of 100 ticks, cpu1 busy 100 of 100.
constexpr char kStatLater[] =
    "cpu  178956 11702 50962 164254 954 0 902 0 0 0\n"
    "cpu0 86059 6292 24795 86082 219 0 385 0 0 0\n"
    "cpu1 92896 5410 26167 78172 735 0 517 0 0 0\n";

constexpr char kMeminfo[] =
    "MemTotal:       24683620 kB\n"
    "MemFree:        22196488 kB\n"
    "MemAvailable:   23790464 kB\n"
    "Buffers:            8560 kB\n"
    "Cached:          1734656 kB\n"
    "SwapCached:            0 kB\n"
    "SwapTotal:       1048576 kB\n"
    "SwapFree:         524288 kB\n"
    "HugePages_Total:       0\n";

constexpr char kLoadavg[] = "3.12 2.38 2.17 3/100 30424\n";

constexpr char kNetDev[] =
    "Inter-|   Receive                                                |  "
    "Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes "
    "   packets errs drop fifo colls carrier compressed\n"
    "    lo: 413979651 1329720    0    0    0     0          0         0 "
    "413979651 1329720    0    0    0     0       0          0\n"
    "  eth0:150026303    5093    0    0    0     0          0         0   "
    "212438    2989    0    0    0     0       0          0\n";

// --- Parsers. ---

TEST(ProcStatTest, ParsesAggregateAndCores) {
  auto cpus = ParseProcStat(kStat);
  ASSERT_TRUE(cpus.ok()) << cpus.status();
  ASSERT_EQ(cpus->size(), 3u);
  EXPECT_EQ((*cpus)[0].name, "cpu");
  EXPECT_EQ((*cpus)[1].name, "cpu0");
  EXPECT_EQ((*cpus)[2].name, "cpu1");
  // total = user nice system idle iowait irq softirq steal
  EXPECT_EQ((*cpus)[1].total, 86034u + 6292 + 24770 + 86037 + 214 + 385);
  EXPECT_EQ((*cpus)[1].busy, 86034u + 6292 + 24770 + 385);
}

TEST(ProcStatTest, OldKernelsWithFourFields) {
  auto cpus = ParseProcStat("cpu 10 0 10 80\n");
  ASSERT_TRUE(cpus.ok());
  EXPECT_EQ((*cpus)[0].total, 100u);
  EXPECT_EQ((*cpus)[0].busy, 20u);
}

TEST(ProcStatTest, Errors) {
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("intr 1 2\n").ok());
  EXPECT_FALSE(ParseProcStat("cpu 1 2 x 4\n").ok());
  EXPECT_FALSE(ParseProcStat("cpu 1 2\n").ok());
  EXPECT_FALSE(ParseProcStat("cpu0 1 2 3 4\n").ok()) << "no aggregate line";
}

TEST(ProcStatTest, CpuPercent) {
  auto before = ParseProcStat(kStat);
  auto after = ParseProcStat(kStatLater);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_DOUBLE_EQ(CpuPercent((*before)[1], (*after)[1]), 50.0);
  EXPECT_DOUBLE_EQ(CpuPercent((*before)[2], (*after)[2]), 100.0);
  EXPECT_DOUBLE_EQ(CpuPercent((*before)[0], (*after)[0]), 75.0);
  EXPECT_DOUBLE_EQ(CpuPercent((*after)[1], (*before)[1]), 0.0)
      << "backwards counters";
  EXPECT_DOUBLE_EQ(CpuPercent((*before)[1], (*before)[1]), 0.0) << "no ticks";
}

TEST(MeminfoTest, Parses) {
  auto m = ParseMeminfo(kMeminfo);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->total_kb, 24683620u);
  EXPECT_EQ(m->free_kb, 22196488u);
  EXPECT_EQ(m->available_kb, 23790464u);
  EXPECT_EQ(m->buffers_kb, 8560u);
  EXPECT_EQ(m->cached_kb, 1734656u);
  EXPECT_EQ(m->swap_total_kb, 1048576u);
  EXPECT_EQ(m->swap_free_kb, 524288u);
}

TEST(MeminfoTest, EstimatesAvailableAndNeedsTotal) {
  auto m = ParseMeminfo(
      "MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\n"
      "Cached: 20 kB\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->available_kb, 35u);
  EXPECT_FALSE(ParseMeminfo("MemFree: 10 kB\n").ok());
}

TEST(LoadavgTest, ParsesAndRejects) {
  auto l = ParseLoadavg(kLoadavg);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_DOUBLE_EQ(l->load1, 3.12);
  EXPECT_DOUBLE_EQ(l->load5, 2.38);
  EXPECT_DOUBLE_EQ(l->load15, 2.17);
  EXPECT_EQ(l->running, 3u);
  EXPECT_EQ(l->total, 100u);
  EXPECT_FALSE(ParseLoadavg("").ok());
  EXPECT_FALSE(ParseLoadavg("1 2 3").ok());
  EXPECT_FALSE(ParseLoadavg("1 2 3 4 5").ok()) << "no running/total";
  EXPECT_FALSE(ParseLoadavg("a 2 3 1/2 5").ok());
}

TEST(NetDevTest, ParsesIncludingGluedCounters) {
  auto devs = ParseNetDev(kNetDev);
  ASSERT_TRUE(devs.ok()) << devs.status();
  ASSERT_EQ(devs->size(), 2u);
  EXPECT_EQ((*devs)[0].name, "lo");
  EXPECT_EQ((*devs)[0].rx_bytes, 413979651u);
  EXPECT_EQ((*devs)[0].tx_bytes, 413979651u);
  EXPECT_EQ((*devs)[1].name, "eth0");
  EXPECT_EQ((*devs)[1].rx_bytes, 150026303u);
  EXPECT_EQ((*devs)[1].tx_bytes, 212438u);
  EXPECT_FALSE(ParseNetDev("h1\nh2\n  eth0: 1 2 3\n").ok());
  EXPECT_FALSE(ParseNetDev("h1\nh2\nno colon here\n").ok());
  auto none = ParseNetDev("h1\nh2\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

Snapshot Snap(absl::Time t, const char* stat, uint64_t lo_rx, uint64_t eth_rx,
              uint64_t eth_tx) {
  Snapshot s;
  s.time = t;
  s.cpus = *ParseProcStat(stat);
  s.memory = *ParseMeminfo(kMeminfo);
  s.load = *ParseLoadavg(kLoadavg);
  s.net = {{"lo", lo_rx, lo_rx}, {"eth0", eth_rx, eth_tx}};
  return s;
}

TEST(ComputeMetricsTest, RatesPercentagesAndTotalsWithoutLoopback) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Metrics m =
      ComputeMetrics(Snap(t0, kStat, 1000, 5000, 100),
                     Snap(t0 + absl::Seconds(2), kStatLater, 3000, 9000, 50));
  EXPECT_DOUBLE_EQ(m.cpu_percent, 75.0);
  EXPECT_THAT(m.core_percent, ElementsAre(50.0, 100.0));
  EXPECT_EQ(m.memory_used_kb, 24683620u - 23790464u);
  EXPECT_NEAR(m.memory_used_percent, 3.618, 0.001);
  ASSERT_EQ(m.interfaces.size(), 2u);
  EXPECT_DOUBLE_EQ(m.interfaces[0].rx_rate, 1000.0);  // lo: 2000 B in 2 s
  EXPECT_DOUBLE_EQ(m.interfaces[1].rx_rate, 2000.0);
  EXPECT_DOUBLE_EQ(m.interfaces[1].tx_rate, 0.0) << "counter reset";
  EXPECT_EQ(m.rx_bytes, 9000u) << "lo is left out of the totals";
  EXPECT_DOUBLE_EQ(m.rx_rate, 2000.0);
  EXPECT_EQ(m.time, t0 + absl::Seconds(2));
}

TEST(ComputeMetricsTest, NewInterfaceOrZeroTimeGivesZeroRates) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Snapshot before = Snap(t0, kStat, 1000, 5000, 100);
  before.net.pop_back();  // eth0 appears later
  Metrics m = ComputeMetrics(before, Snap(t0, kStat, 2000, 9000, 200));
  EXPECT_DOUBLE_EQ(m.interfaces[0].rx_rate, 0.0) << "no time passed";
  EXPECT_DOUBLE_EQ(m.interfaces[1].rx_rate, 0.0);
}

// A fake /proc in a temporary directory.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/ssebridge_fakeproc_XXXXXX";
    root_ = mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/net");
    Write("stat", kStat);
    Write("meminfo", kMeminfo);
    Write("loadavg", kLoadavg);
    Write("net/dev", kNetDev);
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  // Atomically (write, then rename), as the service may be reading.
  void Write(const std::string& name, const std::string& text) {
    const std::string path = root_ + "/" + name;
    std::ofstream(path + ".tmp") << text;
    std::filesystem::rename(path + ".tmp", path);
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(ReadSnapshotTest, ReadsAFakeAndTheRealProc) {
  FakeProc fake;
  auto s = ReadSnapshot(fake.root(), absl::FromUnixSeconds(5));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->cpus.size(), 3u);
  EXPECT_EQ(s->memory.total_kb, 24683620u);
  EXPECT_EQ(s->net.size(), 2u);
  EXPECT_EQ(s->time, absl::FromUnixSeconds(5));
  fake.Write("loadavg", "garbage");
  EXPECT_FALSE(ReadSnapshot(fake.root(), absl::Now()).ok());
  EXPECT_FALSE(ReadSnapshot(fake.root() + "/missing", absl::Now()).ok());

  auto real = ReadSnapshot("/proc", absl::Now());
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(real->cpus.size(),
            1u + static_cast<size_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GT(real->memory.total_kb, 0u);
}

// --- Rendering. ---

TEST(RenderTest, IntervalParsing) {
  EXPECT_EQ(*ParseInterval(""), absl::Milliseconds(1000));
  EXPECT_EQ(*ParseInterval("250"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseInterval("5"), absl::Milliseconds(100)) << "minimum";
  EXPECT_EQ(*ParseInterval("-5"), absl::Milliseconds(100));
  EXPECT_FALSE(ParseInterval("fast").ok());
  EXPECT_FALSE(ParseInterval("1.5").ok());
}

TEST(RenderTest, FormatBytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST(RenderTest, PanelsShowTheNumbers) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Metrics m =
      ComputeMetrics(Snap(t0, kStat, 1000, 5000, 100),
                     Snap(t0 + absl::Seconds(2), kStatLater, 3000, 9000, 50));
  EXPECT_THAT(CpuPanel(m).str(), HasSubstr("CPU <span class=\"value\">75.0%"));
  EXPECT_THAT(CpuPanel(m).str(), HasSubstr("cpu1</span> <meter min=\"0\" "
                                           "max=\"100\" value=\"100.0\">"));
  EXPECT_THAT(MemoryPanel(m).str(), HasSubstr("3.6%"));
  EXPECT_THAT(MemoryPanel(m).str(), HasSubstr("of 23.5 GiB"));
  EXPECT_THAT(MemoryPanel(m).str(),
              HasSubstr("swap used 512.0 MiB of 1.0 GiB"));
  EXPECT_THAT(LoadPanel(m).str(), HasSubstr("3.12</span> 2.38 2.17"));
  EXPECT_THAT(NetworkPanel(m).str(), HasSubstr("<td>eth0</td>"));
  EXPECT_THAT(NetworkPanel(m).str(), HasSubstr("2.0 KiB/s"));
  m.interfaces[0].name = "<evil>";
  EXPECT_THAT(NetworkPanel(m).str(), HasSubstr("&lt;evil&gt;"));
  EXPECT_THAT(NetworkPanel(m).str(), Not(HasSubstr("<evil>")));
}

TEST(RenderTest, MetricsJsonCarriesNumbers) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Metrics m =
      ComputeMetrics(Snap(t0, kStat, 1000, 5000, 100),
                     Snap(t0 + absl::Seconds(2), kStatLater, 3000, 9000, 50));
  const google::protobuf::Value v = MetricsJson(m).value();
  EXPECT_EQ(NumberAt(v, "time_ms"), 1002000);
  EXPECT_EQ(NumberAt(v, "cpu.total"), 75);
  EXPECT_EQ(NumberAt(v, "memory.total_kb"), 24683620);
  EXPECT_EQ(NumberAt(v, "memory.used_percent"), 3.62);
  EXPECT_EQ(NumberAt(v, "load.load1"), 3.12);
  EXPECT_EQ(NumberAt(v, "load.tasks"), 100);
  EXPECT_EQ(NumberAt(v, "network.rx_rate"), 2000);
  const auto& cores = v.struct_value()
                          .fields()
                          .at("cpu")
                          .struct_value()
                          .fields()
                          .at("cores")
                          .list_value();
  ASSERT_EQ(cores.values_size(), 2);
  EXPECT_EQ(cores.values(1).number_value(), 100);
  const auto& ifs = v.struct_value()
                        .fields()
                        .at("network")
                        .struct_value()
                        .fields()
                        .at("interfaces")
                        .list_value();
  ASSERT_EQ(ifs.values_size(), 2);
  EXPECT_EQ(NumberAt(ifs.values(0), "rx_bytes"), 3000);
}

// --- The action, through gRPC, on a fake /proc. ---

TEST(DashboardServiceTest, StreamsTheFivePanelsEachInterval) {
  FakeProc fake;
  MonitoringOptions options;
  options.proc_root = fake.root();
  MonitoringService service(options);
  sdk::ActionServer server;
  service.Register(server);
  auto running = ssebridge::testing::StartService(server);
  ASSERT_NE(running, nullptr);

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", running->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = ssebridge::action::v1::ActionService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + ssebridge::testing::kWait));
  auto reader =
      stub->Run(&context, MakeRequest("dashboard", {{"interval_ms", "100"}}));
  ssebridge::action::v1::Event e;
  // Reads one interval's five events; returns the metrics JSON.
  auto tick = [&]() -> google::protobuf::Value {
    for (const char* name : {"cpu", "memory", "load", "network"}) {
      EXPECT_TRUE(reader->Read(&e));
      EXPECT_EQ(e.event(), name);
      EXPECT_TRUE(e.has_html());
    }
    EXPECT_TRUE(reader->Read(&e));
    EXPECT_EQ(e.event(), "metrics");
    EXPECT_TRUE(e.has_json());
    return e.json();
  };
  google::protobuf::Value metrics = tick();
  EXPECT_EQ(NumberAt(metrics, "memory.total_kb"), 24683620);
  // The fake files have not changed: no ticks, no bytes, so 0 % and 0 B/s.
  EXPECT_EQ(NumberAt(metrics, "cpu.total"), 0);
  EXPECT_EQ(NumberAt(metrics, "network.rx_bytes"), 150026303);
  EXPECT_EQ(NumberAt(metrics, "network.rx_rate"), 0);
  // Make the CPUs busy (cpu0 50 %, cpu1 100 %): a later interval shows it.
  fake.Write("stat", kStatLater);
  bool busy = false;
  for (int i = 0; i < 50 && !busy && !::testing::Test::HasFailure(); ++i) {
    metrics = tick();
    busy = NumberAt(metrics, "cpu.total") == 75;
  }
  EXPECT_TRUE(busy);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(DashboardServiceTest, BadIntervalAndUnreadableProcAreErrors) {
  MonitoringOptions options;
  options.proc_root = "/nonexistent/proc";
  MonitoringService service(options);
  sdk::ActionServer server;
  service.Register(server);
  auto running = ssebridge::testing::StartService(server);
  ASSERT_NE(running, nullptr);
  EXPECT_EQ(
      ssebridge::testing::RunCall(
          running->port(), MakeRequest("dashboard", {{"interval_ms", "soon"}}))
          .status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      ssebridge::testing::RunCall(running->port(), MakeRequest("dashboard"))
          .status.error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace ssebridge::services::monitoring
