// Renders the frontend's counters in the Prometheus text exposition format
// (version 0.0.4): HELP/TYPE lines, escaped label values, a histogram with
// cumulative buckets, and process RSS / open fds read from /proc. Pure apart
// from reading /proc; thread-safe (reads atomics only).
#ifndef SSEBRIDGE_FRONTEND_OPS_METRICS_H_
#define SSEBRIDGE_FRONTEND_OPS_METRICS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "frontend/ops/stats.h"

namespace ssebridge::frontend {

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view v);

// `routes`: each route's path and counters; `backend_calls`: each backend's
// name and its upstream calls in flight.
std::string RenderMetrics(
    const FrontendStats& stats,
    const std::vector<std::pair<std::string, const RouteStats*>>& routes,
    const std::vector<std::pair<std::string, int64_t>>& backend_calls);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_OPS_METRICS_H_
