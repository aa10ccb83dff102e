#include "frontend/upstream/backend_health.h"

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ssebridge::frontend {

absl::Status CheckBackendHealth(const BackendPool& pool,
                                absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(pool.channel(0));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (!st.ok()) return common::ToAbslStatus(st);
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::FailedPreconditionError("not serving");
  }
  return absl::OkStatus();
}

}  // namespace ssebridge::frontend
