// Parsers for the Linux /proc files the monitoring dashboard reads
// (/proc/stat, /proc/meminfo, /proc/loadavg, /proc/net/dev), and the maths
// that turns two samples into rates and percentages. The parsers are pure
// functions of the file text, so they are tested on sample text; only
// ReadSnapshot touches the file system.
//
// Thread-safety: everything here is a pure function or a plain value, safe
// to use from any thread.
#ifndef SSEBRIDGE_SERVICES_MONITORING_PROC_STATS_H_
#define SSEBRIDGE_SERVICES_MONITORING_PROC_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::services::monitoring {

// One "cpu" / "cpuN" line of /proc/stat, in clock ticks since boot.
struct CpuTimes {
  std::string name;    // "cpu" (all cores) or "cpu0", "cpu1", ...
  uint64_t busy = 0;   // total - idle
  uint64_t total = 0;  // user nice system idle iowait irq softirq steal
};

// From /proc/meminfo, in KiB.
struct MemInfo {
  uint64_t total_kb = 0;
  uint64_t free_kb = 0;
  uint64_t available_kb = 0;  // MemAvailable (estimated free on old kernels)
  uint64_t buffers_kb = 0;
  uint64_t cached_kb = 0;
  uint64_t swap_total_kb = 0;
  uint64_t swap_free_kb = 0;
};

// /proc/loadavg.
struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t running = 0;  // runnable scheduling entities
  uint64_t total = 0;    // scheduling entities
};

// One interface of /proc/net/dev: byte counters since boot.
struct NetDev {
  std::string name;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
};

// The aggregate line first, then the cores in file order. Error if there is
// no "cpu" line or a cpu line is malformed.
absl::StatusOr<std::vector<CpuTimes>> ParseProcStat(absl::string_view text);
// Error without MemTotal.
absl::StatusOr<MemInfo> ParseMeminfo(absl::string_view text);
absl::StatusOr<LoadAvg> ParseLoadavg(absl::string_view text);
// Skips the two header lines; error on a malformed interface line.
absl::StatusOr<std::vector<NetDev>> ParseNetDev(absl::string_view text);

// Busy share of the ticks between two samples of one CPU, 0..100 (0 when no
// tick passed or the counters went backwards).
double CpuPercent(const CpuTimes& before, const CpuTimes& after);

// Everything read at one moment.
struct Snapshot {
  absl::Time time;
  std::vector<CpuTimes> cpus;  // aggregate first
  MemInfo memory;
  LoadAvg load;
  std::vector<NetDev> net;
};

// Reads <proc_root>/stat, meminfo, loadavg and net/dev.
absl::StatusOr<Snapshot> ReadSnapshot(const std::string& proc_root,
                                      absl::Time now);

// What the dashboard shows: one sample and its rates since the previous.
struct Metrics {
  absl::Time time;
  double cpu_percent = 0;            // all cores
  std::vector<double> core_percent;  // cpu0, cpu1, ...
  MemInfo memory;
  uint64_t memory_used_kb = 0;  // total - available
  double memory_used_percent = 0;
  LoadAvg load;
  struct Interface {
    std::string name;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    double rx_rate = 0, tx_rate = 0;  // bytes per second
  };
  std::vector<Interface> interfaces;  // in file order
  // Sums over every interface but the loopback "lo".
  uint64_t rx_bytes = 0, tx_bytes = 0;
  double rx_rate = 0, tx_rate = 0;
};

// `after`'s values plus the rates since `before` (an interface or core that
// is new in `after` gets rate 0 / percent 0).
Metrics ComputeMetrics(const Snapshot& before, const Snapshot& after);

}  // namespace ssebridge::services::monitoring

#endif  // SSEBRIDGE_SERVICES_MONITORING_PROC_STATS_H_
