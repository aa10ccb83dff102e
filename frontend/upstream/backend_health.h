// Whether a backend can take streams, as /readyz reports it: asks the
// backend's standard health service (grpc.health.v1.Health/Check, the whole
// server, empty service name) with a deadline. Thread-safe; blocks the
// calling thread for at most `timeout`.
#ifndef SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_
#define SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "frontend/upstream/backend_pool.h"

namespace ssebridge::frontend {

// OK when the backend answers SERVING; otherwise the gRPC status of the
// check, or FailedPrecondition("not serving").
absl::Status CheckBackendHealth(const BackendPool& pool,
                                absl::Duration timeout);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_
