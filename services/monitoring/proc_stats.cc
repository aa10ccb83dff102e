#include "services/monitoring/proc_stats.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::services::monitoring {
namespace {

std::vector<absl::string_view> Fields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double Rate(uint64_t before, uint64_t after, double seconds) {
  if (seconds <= 0 || after < before) return 0;  // no time, or a reset
  return static_cast<double>(after - before) / seconds;
}

}  // namespace

absl::StatusOr<std::vector<CpuTimes>> ParseProcStat(absl::string_view text) {
  std::vector<CpuTimes> cpus;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "cpu")) continue;
    std::vector<absl::string_view> f = Fields(line);
    // name user nice system idle [iowait irq softirq steal [guest ...]]
    if (f.size() < 5) {
      return absl::InvalidArgumentError(absl::StrCat("short cpu line: ", line));
    }
    uint64_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 1; i < f.size() && i <= 8; ++i) {
      if (!absl::SimpleAtoi(f[i], &v[i - 1])) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad number in cpu line: ", line));
      }
    }
    // guest and guest_nice are already counted in user and nice.
    CpuTimes cpu;
    cpu.name = std::string(f[0]);
    for (uint64_t x : v) cpu.total += x;
    const uint64_t idle = v[3] + v[4];  // idle + iowait
    cpu.busy = cpu.total - idle;
    if (cpu.name == "cpu" && !cpus.empty()) {
      return absl::InvalidArgumentError("two aggregate cpu lines");
    }
    cpus.push_back(std::move(cpu));
  }
  if (cpus.empty() || cpus.front().name != "cpu") {
    return absl::InvalidArgumentError("no aggregate \"cpu\" line");
  }
  return cpus;
}

absl::StatusOr<MemInfo> ParseMeminfo(absl::string_view text) {
  absl::flat_hash_map<absl::string_view, uint64_t> kb;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::vector<absl::string_view> f = Fields(line.substr(colon + 1));
    uint64_t value = 0;
    if (f.empty() || !absl::SimpleAtoi(f[0], &value)) continue;
    kb[line.substr(0, colon)] = value;
  }
  if (!kb.contains("MemTotal")) {
    return absl::InvalidArgumentError("no MemTotal in meminfo");
  }
  MemInfo m;
  m.total_kb = kb["MemTotal"];
  m.free_kb = kb["MemFree"];
  m.buffers_kb = kb["Buffers"];
  m.cached_kb = kb["Cached"];
  m.available_kb = kb.contains("MemAvailable")
                       ? kb["MemAvailable"]
                       : m.free_kb + m.buffers_kb + m.cached_kb;
  m.swap_total_kb = kb["SwapTotal"];
  m.swap_free_kb = kb["SwapFree"];
  return m;
}

absl::StatusOr<LoadAvg> ParseLoadavg(absl::string_view text) {
  std::vector<absl::string_view> f = Fields(absl::StripAsciiWhitespace(text));
  LoadAvg load;
  std::pair<absl::string_view, absl::string_view> procs;
  if (f.size() >= 4) procs = absl::StrSplit(f[3], absl::MaxSplits('/', 1));
  if (f.size() < 4 || !absl::SimpleAtod(f[0], &load.load1) ||
      !absl::SimpleAtod(f[1], &load.load5) ||
      !absl::SimpleAtod(f[2], &load.load15) ||
      !absl::SimpleAtoi(procs.first, &load.running) ||
      !absl::SimpleAtoi(procs.second, &load.total)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed loadavg: ", text));
  }
  return load;
}

absl::StatusOr<std::vector<NetDev>> ParseNetDev(absl::string_view text) {
  std::vector<NetDev> devs;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (++line_no <= 2 || absl::StripAsciiWhitespace(line).empty()) continue;
    // "  eth0: 123 ..." -- large counters may touch the colon ("eth0:123").
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("no colon: ", line));
    }
    std::vector<absl::string_view> f = Fields(line.substr(colon + 1));
    NetDev dev;
    dev.name = std::string(absl::StripAsciiWhitespace(line.substr(0, colon)));
    // 8 receive fields (bytes first), then 8 transmit fields (bytes first).
    if (f.size() < 16 || !absl::SimpleAtoi(f[0], &dev.rx_bytes) ||
        !absl::SimpleAtoi(f[8], &dev.tx_bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed interface line: ", line));
    }
    devs.push_back(std::move(dev));
  }
  return devs;
}

double CpuPercent(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0;
  const double busy = static_cast<double>(after.busy - before.busy);
  const double total = static_cast<double>(after.total - before.total);
  return busy >= total ? 100.0 : 100.0 * busy / total;
}

absl::StatusOr<Snapshot> ReadSnapshot(const std::string& proc_root,
                                      absl::Time now) {
  Snapshot s;
  s.time = now;
  absl::StatusOr<std::string> stat = ReadFile(proc_root + "/stat");
  absl::StatusOr<std::string> meminfo = ReadFile(proc_root + "/meminfo");
  absl::StatusOr<std::string> loadavg = ReadFile(proc_root + "/loadavg");
  absl::StatusOr<std::string> netdev = ReadFile(proc_root + "/net/dev");
  for (const auto* file : {&stat, &meminfo, &loadavg, &netdev}) {
    if (!file->ok()) return file->status();
  }
  absl::StatusOr<std::vector<CpuTimes>> cpus = ParseProcStat(*stat);
  if (!cpus.ok()) return cpus.status();
  absl::StatusOr<MemInfo> memory = ParseMeminfo(*meminfo);
  if (!memory.ok()) return memory.status();
  absl::StatusOr<LoadAvg> load = ParseLoadavg(*loadavg);
  if (!load.ok()) return load.status();
  absl::StatusOr<std::vector<NetDev>> net = ParseNetDev(*netdev);
  if (!net.ok()) return net.status();
  s.cpus = *std::move(cpus);
  s.memory = *memory;
  s.load = *load;
  s.net = *std::move(net);
  return s;
}

Metrics ComputeMetrics(const Snapshot& before, const Snapshot& after) {
  Metrics m;
  m.time = after.time;
  absl::flat_hash_map<absl::string_view, const CpuTimes*> old_cpus;
  for (const CpuTimes& c : before.cpus) old_cpus[c.name] = &c;
  for (const CpuTimes& c : after.cpus) {
    auto it = old_cpus.find(c.name);
    const double pct = it == old_cpus.end() ? 0 : CpuPercent(*it->second, c);
    if (c.name == "cpu") {
      m.cpu_percent = pct;
    } else {
      m.core_percent.push_back(pct);
    }
  }
  m.memory = after.memory;
  m.memory_used_kb = after.memory.total_kb >= after.memory.available_kb
                         ? after.memory.total_kb - after.memory.available_kb
                         : 0;
  m.memory_used_percent = after.memory.total_kb == 0
                              ? 0
                              : 100.0 * static_cast<double>(m.memory_used_kb) /
                                    static_cast<double>(after.memory.total_kb);
  m.load = after.load;
  const double seconds = absl::ToDoubleSeconds(after.time - before.time);
  absl::flat_hash_map<absl::string_view, const NetDev*> old_net;
  for (const NetDev& d : before.net) old_net[d.name] = &d;
  for (const NetDev& d : after.net) {
    Metrics::Interface i;
    i.name = d.name;
    i.rx_bytes = d.rx_bytes;
    i.tx_bytes = d.tx_bytes;
    auto it = old_net.find(d.name);
    if (it != old_net.end()) {
      i.rx_rate = Rate(it->second->rx_bytes, d.rx_bytes, seconds);
      i.tx_rate = Rate(it->second->tx_bytes, d.tx_bytes, seconds);
    }
    if (d.name != "lo") {
      m.rx_bytes += i.rx_bytes;
      m.tx_bytes += i.tx_bytes;
      m.rx_rate += i.rx_rate;
      m.tx_rate += i.tx_rate;
    }
    m.interfaces.push_back(std::move(i));
  }
  return m;
}

}  // namespace ssebridge::services::monitoring
