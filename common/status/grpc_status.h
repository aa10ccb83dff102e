// The one place where gRPC statuses and absl::Status convert into each other.
// Codes share numbering (both follow google.rpc.Code), so the mapping is
// exact; the message is carried over unchanged. Pure functions, thread-safe.
#ifndef SSEBRIDGE_COMMON_STATUS_GRPC_STATUS_H_
#define SSEBRIDGE_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ssebridge::common {

absl::Status ToAbslStatus(const grpc::Status& status);
grpc::Status ToGrpcStatus(const absl::Status& status);

// Canonical upper-case code name, e.g. "UNAVAILABLE" (as in error events).
absl::string_view StatusCodeName(absl::StatusCode code);

}  // namespace ssebridge::common

#endif  // SSEBRIDGE_COMMON_STATUS_GRPC_STATUS_H_
