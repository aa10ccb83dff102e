// Whether a backend can take streams, as /readyz reports it, by the
// backend's configured check:
// - kGrpc: the standard health service (grpc.health.v1.Health/Check, whole
//   server) must answer SERVING. A service without it (UNIMPLEMENTED) is
//   checked as kConnect instead, logged once at warn: an ordinary service
//   must not keep the frontend unready forever.
// - kConnect: the backend's channel is connected (or connects in time).
// - kNone: not checked, always ready.
// Thread-safe; Check blocks the calling thread for at most `timeout`.
#ifndef SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_
#define SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_

#include <atomic>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/upstream/backend_pool.h"

namespace ssebridge::frontend {

enum class HealthCheck { kGrpc, kConnect, kNone };

// "grpc", "connect" or "none" (validated by the config loader); anything
// else is kGrpc.
HealthCheck HealthCheckFromName(absl::string_view name);
absl::string_view HealthCheckName(HealthCheck check);

class BackendHealth {
 public:
  // `pool` must outlive this object.
  BackendHealth(const BackendPool* pool, HealthCheck check)
      : pool_(pool), check_(check) {}

  struct Report {
    bool ready = false;
    // What /readyz prints: "serving", "connected", "not checked",
    // "not serving", "not connected", or the failed check's status code.
    std::string state;
  };
  Report Check(absl::Duration timeout);

  HealthCheck check() const { return check_; }

 private:
  Report CheckConnect(absl::Time deadline);

  const BackendPool* const pool_;
  const HealthCheck check_;
  std::atomic<bool> warned_unimplemented_{false};
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_HEALTH_H_
