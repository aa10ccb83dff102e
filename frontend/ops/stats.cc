#include "frontend/ops/stats.h"

namespace ssebridge::frontend {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kDone: return "done";
    case Outcome::kClientGone: return "client_gone";
    case Outcome::kUpstreamError: return "upstream_error";
    case Outcome::kRejected: return "rejected";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kShutdown: return "shutdown";
    case Outcome::kAuthExpired: return "auth_expired";
    case Outcome::kCount: break;
  }
  return "unknown";
}

}  // namespace ssebridge::frontend
