#include "frontend/ops/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace ssebridge::frontend {
namespace {

void Header(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

template <typename T>
void Sample(std::string& out, absl::string_view name, absl::string_view labels,
            T value) {
  absl::StrAppend(&out, name, labels.empty() ? "" : "{", labels,
                  labels.empty() ? "" : "}", " ", value, "\n");
}

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory handle itself
}

}  // namespace

std::string EscapeLabelValue(absl::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string RenderMetrics(
    const FrontendStats& stats,
    const std::vector<std::pair<std::string, const RouteStats*>>& routes,
    const std::vector<std::pair<std::string, int64_t>>& backend_calls) {
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  Header(out, "ssebridge_open_streams", "gauge",
         "Streams with an open client connection.");
  for (const auto& [path, rs] : routes) {
    Sample(out, "ssebridge_open_streams",
           absl::StrCat("route=\"", EscapeLabelValue(path), "\""),
           load(rs->open_streams));
  }
  Header(out, "ssebridge_streams_total", "counter",
         "Streams ended, by route and outcome.");
  for (const auto& [path, rs] : routes) {
    for (int o = 0; o < static_cast<int>(Outcome::kCount); ++o) {
      Sample(out, "ssebridge_streams_total",
             absl::StrCat("route=\"", EscapeLabelValue(path), "\",outcome=\"",
                          OutcomeName(static_cast<Outcome>(o)), "\""),
             load(rs->streams_by_outcome[o]));
    }
  }
  Header(out, "ssebridge_auth_refusals_total", "counter",
         "Requests refused by authentication or authorization, by route and "
         "reason (only reasons seen so far).");
  for (const auto& [path, rs] : routes) {
    for (size_t i = 0; i < kAuthRefusalReasons.size(); ++i) {
      const uint64_t n = load(rs->auth_refusals[i]);
      if (n == 0) continue;
      Sample(out, "ssebridge_auth_refusals_total",
             absl::StrCat("route=\"", EscapeLabelValue(path), "\",reason=\"",
                          kAuthRefusalReasons[i], "\""),
             n);
    }
  }
  Header(out, "ssebridge_upstream_calls", "gauge",
         "Upstream gRPC calls in flight (started, not yet ended), by "
         "backend.");
  for (const auto& [name, calls] : backend_calls) {
    Sample(out, "ssebridge_upstream_calls",
           absl::StrCat("backend=\"", EscapeLabelValue(name), "\""), calls);
  }
  Header(out, "ssebridge_events_relayed_total", "counter",
         "Events received from services and queued to clients.");
  Sample(out, "ssebridge_events_relayed_total", "", load(stats.events_relayed));
  Header(out, "ssebridge_bytes_relayed_total", "counter",
         "SSE bytes written to client sockets.");
  Sample(out, "ssebridge_bytes_relayed_total", "", load(stats.bytes_relayed));
  Header(out, "ssebridge_dropped_events_total", "counter",
         "Service events dropped, by reason.");
  Sample(out, "ssebridge_dropped_events_total", "reason=\"invalid\"",
         load(stats.invalid_events_dropped));
  Sample(out, "ssebridge_dropped_events_total", "reason=\"oversized\"",
         load(stats.oversized_events_dropped));
  Header(out, "ssebridge_write_stalls_total", "counter",
         "Times a client socket stopped accepting bytes.");
  Sample(out, "ssebridge_write_stalls_total", "", load(stats.write_stalls));
  Header(out, "ssebridge_heartbeats_total", "counter",
         "Heartbeat comments sent on idle streams.");
  Sample(out, "ssebridge_heartbeats_total", "", load(stats.heartbeats));
  Header(out, "ssebridge_shared_calls", "gauge",
         "Upstream calls shared by the streams of shared routes.");
  Sample(out, "ssebridge_shared_calls", "", load(stats.shared_calls));
  Header(out, "ssebridge_shared_slow_dropped_total", "counter",
         "Streams closed for falling behind their shared call.");
  Sample(out, "ssebridge_shared_slow_dropped_total", "",
         load(stats.shared_slow_dropped));
  bool any_replay = false;
  for (const auto& [path, rs] : routes) any_replay |= rs->replay;
  if (any_replay) {
    Header(out, "ssebridge_replay_ring_bytes", "gauge",
           "Bytes held by the replay rings of a shared route's live calls.");
    for (const auto& [path, rs] : routes) {
      if (!rs->replay) continue;
      Sample(out, "ssebridge_replay_ring_bytes",
             absl::StrCat("route=\"", EscapeLabelValue(path), "\""),
             load(rs->replay_ring_bytes));
    }
    Header(out, "ssebridge_replay_resets_total", "counter",
           "Streams whose Last-Event-ID the replay ring did not hold (sent "
           "the reset event).");
    for (const auto& [path, rs] : routes) {
      if (!rs->replay) continue;
      Sample(out, "ssebridge_replay_resets_total",
             absl::StrCat("route=\"", EscapeLabelValue(path), "\""),
             load(rs->replay_resets));
    }
  }
  bool any_mux = false;
  for (const auto& [path, rs] : routes) any_mux |= rs->mux;
  if (any_mux) {
    Header(out, "ssebridge_mux_bad_cursors_total", "counter",
           "Mux requests whose Last-Event-ID was not a cursor (treated as "
           "no id).");
    for (const auto& [path, rs] : routes) {
      if (!rs->mux) continue;
      Sample(out, "ssebridge_mux_bad_cursors_total",
             absl::StrCat("route=\"", EscapeLabelValue(path), "\""),
             load(rs->mux_bad_cursors));
    }
  }
  Header(out, "ssebridge_upstream_first_event_seconds", "histogram",
         "Time from starting the upstream call to its first event.");
  for (size_t i = 0; i < kFirstEventBuckets.size(); ++i) {
    Sample(out, "ssebridge_upstream_first_event_seconds_bucket",
           absl::StrCat("le=\"", kFirstEventBuckets[i], "\""),
           load(stats.first_event_buckets[i]));
  }
  Sample(out, "ssebridge_upstream_first_event_seconds_bucket", "le=\"+Inf\"",
         load(stats.first_event_buckets.back()));
  Sample(out, "ssebridge_upstream_first_event_seconds_sum", "",
         static_cast<double>(load(stats.first_event_sum_us)) / 1e6);
  Sample(out, "ssebridge_upstream_first_event_seconds_count", "",
         load(stats.first_event_count));
  Header(out, "process_resident_memory_bytes", "gauge",
         "Resident memory size in bytes.");
  Sample(out, "process_resident_memory_bytes", "", ResidentBytes());
  Header(out, "process_open_fds", "gauge", "Open file descriptors.");
  Sample(out, "process_open_fds", "", OpenFds());
  return out;
}

}  // namespace ssebridge::frontend
