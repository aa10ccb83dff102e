#include "services/monitoring/monitoring_service.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ssebridge::services::monitoring {
namespace {

using sdk::Escape;
using sdk::Event;
using sdk::Html;
using sdk::Json;

std::string Percent(double p) { return absl::StrFormat("%.1f%%", p); }
std::string OneDecimal(double p) { return absl::StrFormat("%.1f", p); }
// Two decimals are plenty for charts and keep the JSON short.
double Round2(double x) { return std::round(x * 100.0) / 100.0; }

Html Meter(double percent) {
  return Html("<meter min=\"0\" max=\"100\" value=\"", OneDecimal(percent),
              "\"></meter>");
}

}  // namespace

absl::StatusOr<absl::Duration> ParseInterval(absl::string_view interval_ms) {
  interval_ms = absl::StripAsciiWhitespace(interval_ms);
  int64_t ms = kDefaultIntervalMs;
  if (!interval_ms.empty() && !absl::SimpleAtoi(interval_ms, &ms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("interval_ms is not a whole number: ", interval_ms));
  }
  return absl::Milliseconds(std::clamp(ms, kMinIntervalMs, kMaxIntervalMs));
}

std::string FormatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B",   "KiB", "MiB",
                                           "GiB", "TiB", "PiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(static_cast<uint64_t>(bytes), " B");
  return absl::StrFormat("%.1f %s", bytes, kUnits[unit]);
}

Html CpuPanel(const Metrics& m) {
  Html html("<div class=\"panel cpu\"><h3>CPU <span class=\"value\">",
            Percent(m.cpu_percent), "</span></h3>", Meter(m.cpu_percent),
            "<ul class=\"cores\">");
  for (size_t i = 0; i < m.core_percent.size(); ++i) {
    html.Append(Html("<li><span class=\"name\">cpu", i, "</span> ",
                     Meter(m.core_percent[i]), " <span class=\"value\">",
                     Percent(m.core_percent[i]), "</span></li>"));
  }
  return html.Append("</ul></div>");
}

Html MemoryPanel(const Metrics& m) {
  const MemInfo& mem = m.memory;
  const uint64_t swap_used = mem.swap_total_kb >= mem.swap_free_kb
                                 ? mem.swap_total_kb - mem.swap_free_kb
                                 : 0;
  return Html("<div class=\"panel memory\"><h3>Memory <span class=\"value\">",
              Percent(m.memory_used_percent), "</span></h3>",
              Meter(m.memory_used_percent), "<p>used ",
              FormatBytes(1024.0 * m.memory_used_kb), " of ",
              FormatBytes(1024.0 * mem.total_kb), ", available ",
              FormatBytes(1024.0 * mem.available_kb), ", cached ",
              FormatBytes(1024.0 * mem.cached_kb), "</p><p>swap used ",
              FormatBytes(1024.0 * swap_used), " of ",
              FormatBytes(1024.0 * mem.swap_total_kb), "</p></div>");
}

Html LoadPanel(const Metrics& m) {
  return Html(
      "<div class=\"panel load\"><h3>Load</h3><p>"
      "<span class=\"value\">",
      absl::StrFormat("%.2f", m.load.load1), "</span> ",
      absl::StrFormat("%.2f %.2f", m.load.load5, m.load.load15),
      " <small>(1, 5, 15 min)</small></p><p>", m.load.running, " of ",
      m.load.total, " tasks runnable</p></div>");
}

Html NetworkPanel(const Metrics& m) {
  Html html(
      "<div class=\"panel network\"><h3>Network</h3><table>"
      "<tr><th>interface</th><th>received</th><th>sent</th>"
      "<th>rx/s</th><th>tx/s</th></tr>");
  for (const Metrics::Interface& i : m.interfaces) {
    html.Append(Html("<tr><td>", Escape(i.name), "</td><td>",
                     FormatBytes(static_cast<double>(i.rx_bytes)), "</td><td>",
                     FormatBytes(static_cast<double>(i.tx_bytes)), "</td><td>",
                     FormatBytes(i.rx_rate), "/s</td><td>",
                     FormatBytes(i.tx_rate), "/s</td></tr>"));
  }
  return html.Append("</table></div>");
}

Json MetricsJson(const Metrics& m) {
  Json cores = Json::Array();
  for (double p : m.core_percent) cores.Push(Round2(p));
  Json interfaces = Json::Array();
  for (const Metrics::Interface& i : m.interfaces) {
    interfaces.Push(Json::Object({{"name", i.name},
                                  {"rx_bytes", i.rx_bytes},
                                  {"tx_bytes", i.tx_bytes},
                                  {"rx_rate", Round2(i.rx_rate)},
                                  {"tx_rate", Round2(i.tx_rate)}}));
  }
  return Json::Object(
      {{"time_ms", absl::ToUnixMillis(m.time)},
       {"cpu",
        Json::Object({{"total", Round2(m.cpu_percent)}, {"cores", cores}})},
       {"memory", Json::Object({{"total_kb", m.memory.total_kb},
                                {"available_kb", m.memory.available_kb},
                                {"used_kb", m.memory_used_kb},
                                {"used_percent", Round2(m.memory_used_percent)},
                                {"swap_total_kb", m.memory.swap_total_kb},
                                {"swap_free_kb", m.memory.swap_free_kb}})},
       {"load", Json::Object({{"load1", m.load.load1},
                              {"load5", m.load.load5},
                              {"load15", m.load.load15},
                              {"running", m.load.running},
                              {"tasks", m.load.total}})},
       {"network", Json::Object({{"rx_bytes", m.rx_bytes},
                                 {"tx_bytes", m.tx_bytes},
                                 {"rx_rate", Round2(m.rx_rate)},
                                 {"tx_rate", Round2(m.tx_rate)},
                                 {"interfaces", interfaces}})}});
}

MonitoringService::MonitoringService(MonitoringOptions options)
    : options_(std::move(options)) {}

void MonitoringService::Register(sdk::ActionServer& server) const {
  server.Action("dashboard", [this](sdk::Request r, sdk::Stream s) {
    Dashboard(std::move(r), std::move(s));
  });
}

void MonitoringService::Dashboard(sdk::Request request,
                                  sdk::Stream stream) const {
  absl::StatusOr<absl::Duration> interval =
      ParseInterval(request.Param("interval_ms"));
  if (!interval.ok()) {
    stream.Finish(interval.status());
    return;
  }
  sdk::CancellableSleep sleep(stream);
  absl::StatusOr<Snapshot> before =
      ReadSnapshot(options_.proc_root, absl::Now());
  if (!before.ok()) {
    stream.Finish(before.status());
    return;
  }
  while (sleep.Sleep(*interval)) {
    absl::StatusOr<Snapshot> after =
        ReadSnapshot(options_.proc_root, absl::Now());
    if (!after.ok()) {
      stream.Finish(after.status());
      return;
    }
    const Metrics m = ComputeMetrics(*before, *after);
    if (!stream.Send(Event::Named("cpu").Html(CpuPanel(m))) ||
        !stream.Send(Event::Named("memory").Html(MemoryPanel(m))) ||
        !stream.Send(Event::Named("load").Html(LoadPanel(m))) ||
        !stream.Send(Event::Named("network").Html(NetworkPanel(m))) ||
        !stream.Send(Event::Named("metrics").Json(MetricsJson(m)))) {
      return;  // the client went away
    }
    before = std::move(after);
  }
}

}  // namespace ssebridge::services::monitoring
