// The monitoring action service: one action, `dashboard`, that samples this
// machine's /proc every interval and streams it as named events.
//
//   dashboard (interval_ms=1000, at least 100) every interval, in order:
//     cpu      html panel: total and per-core busy %
//     memory   html panel: used / total / available, swap
//     load     html panel: 1, 5 and 15 minute load averages
//     network  html panel: per-interface byte counters and rates
//     metrics  JSON numbers for charts (see MetricsJson)
//   Endless until the client goes away. Runs on its own thread per viewer.
//
// Thread-safety: MonitoringService is immutable after construction; its
// handler runs concurrently on per-call threads. The render functions are
// pure.
#ifndef SSEBRIDGE_SERVICES_MONITORING_MONITORING_SERVICE_H_
#define SSEBRIDGE_SERVICES_MONITORING_MONITORING_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/monitoring/proc_stats.h"

namespace ssebridge::services::monitoring {

inline constexpr int64_t kDefaultIntervalMs = 1000;
inline constexpr int64_t kMinIntervalMs = 100;
inline constexpr int64_t kMaxIntervalMs = 3600 * 1000;

struct MonitoringOptions {
  // Where stat, meminfo, loadavg and net/dev are read from.
  std::string proc_root = "/proc";
};

class MonitoringService {
 public:
  explicit MonitoringService(MonitoringOptions options = {});

  void Register(sdk::ActionServer& server) const;

 private:
  void Dashboard(sdk::Request request, sdk::Stream stream) const;

  const MonitoringOptions options_;
};

// --- Pure helpers (exposed for tests). ---

// interval_ms as given ("" = default), raised to the minimum; an error if it
// is not a whole number.
absl::StatusOr<absl::Duration> ParseInterval(absl::string_view interval_ms);

// "512 B", "1.5 KiB", "2.0 GiB" ...
std::string FormatBytes(double bytes);

sdk::Html CpuPanel(const Metrics& m);
sdk::Html MemoryPanel(const Metrics& m);
sdk::Html LoadPanel(const Metrics& m);
sdk::Html NetworkPanel(const Metrics& m);

// {"time_ms", "cpu": {"total", "cores": [...]}, "memory": {"total_kb",
//  "available_kb", "used_kb", "used_percent", "swap_total_kb",
//  "swap_free_kb"}, "load": {"load1", "load5", "load15", "running",
//  "tasks"}, "network": {"rx_bytes", "tx_bytes", "rx_rate", "tx_rate",
//  "interfaces": [{"name", "rx_bytes", "tx_bytes", "rx_rate", "tx_rate"}]}}
// Percentages 0..100, rates in bytes per second; the network totals leave
// out the loopback interface "lo".
sdk::Json MetricsJson(const Metrics& m);

}  // namespace ssebridge::services::monitoring

#endif  // SSEBRIDGE_SERVICES_MONITORING_MONITORING_SERVICE_H_
