#include "frontend/upstream/backend_health.h"

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {

HealthCheck HealthCheckFromName(absl::string_view name) {
  if (name == "connect") return HealthCheck::kConnect;
  if (name == "none") return HealthCheck::kNone;
  return HealthCheck::kGrpc;
}

absl::string_view HealthCheckName(HealthCheck check) {
  switch (check) {
    case HealthCheck::kGrpc:
      return "grpc";
    case HealthCheck::kConnect:
      return "connect";
    case HealthCheck::kNone:
      return "none";
  }
  return "grpc";
}

BackendHealth::Report BackendHealth::Check(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  switch (check_) {
    case HealthCheck::kNone:
      return {true, "not checked"};
    case HealthCheck::kConnect:
      return CheckConnect(deadline);
    case HealthCheck::kGrpc:
      break;
  }
  auto stub = grpc::health::v1::Health::NewStub(pool_->channel(0));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    if (!warned_unimplemented_.exchange(true)) {
      spdlog::warn(
          "backend {} has no grpc.health.v1 service; /readyz checks that its "
          "channel connects instead (set health_check: connect to say so)",
          pool_->name());
    }
    return CheckConnect(deadline);
  }
  if (!st.ok()) {
    return {
        false,
        std::string(common::StatusCodeName(common::ToAbslStatus(st).code()))};
  }
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return {false, "not serving"};
  }
  return {true, "serving"};
}

BackendHealth::Report BackendHealth::CheckConnect(absl::Time deadline) {
  // Every channel of the pool must connect: streams go to all of them.
  for (int i = 0; i < pool_->size(); ++i) {
    std::shared_ptr<grpc::Channel> channel = pool_->channel(i);
    grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    while (state != GRPC_CHANNEL_READY) {
      // A failed connection answers at once (like a failed health RPC);
      // only a channel still connecting is worth waiting for.
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
          state == GRPC_CHANNEL_SHUTDOWN ||
          !channel->WaitForStateChange(state, absl::ToChronoTime(deadline))) {
        return {false, "not connected"};
      }
      state = channel->GetState(/*try_to_connect=*/true);
    }
  }
  return {true, "connected"};
}

}  // namespace ssebridge::frontend
