#include "frontend/relay/route_event.h"

#include "absl/status/status.h"
#include "common/sse/encoder.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/struct.pb.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {

bool AppendRouteEvent(const ssebridge::action::v1::Event& event,
                      const SessionSettings& settings, FrontendStats* stats,
                      std::string& out) {
  const size_t before = out.size();
  absl::Status s = common::sse::AppendEvent(event, out);
  const size_t max = settings.max_event_bytes;
  if (!s.ok()) {
    stats->invalid_events_dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("route {}: dropped invalid event from service: {}",
                 settings.route_path, std::string(s.message()));
    return false;
  }
  if (max > 0 && out.size() - before > max) {
    out.resize(before);
    stats->oversized_events_dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("route {}: dropped event over max_event_bytes ({} > {})",
                 settings.route_path, event.ByteSizeLong(), max);
    return false;
  }
  return true;
}

std::string UpstreamErrorData(const absl::Status& status, bool expose_errors) {
  std::string json = "{\"code\":";
  google::protobuf::Value v;
  v.set_string_value(std::string(common::StatusCodeName(status.code())));
  common::sse::AppendJson(v, json);
  if (expose_errors) {
    v.set_string_value(std::string(status.message()));
    json.append(",\"message\":");
    common::sse::AppendJson(v, json);
  }
  json.push_back('}');
  return json;
}

}  // namespace ssebridge::frontend
