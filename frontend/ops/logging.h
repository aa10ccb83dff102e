// Process-wide logging set-up for the frontend and services: spdlog level
// from the config or a flag, and an optional JSON-lines format (one object
// per line with ts, level and msg) for log shippers. Call once at start-up,
// before threads log.
#ifndef SSEBRIDGE_FRONTEND_OPS_LOGGING_H_
#define SSEBRIDGE_FRONTEND_OPS_LOGGING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// `level`: trace, debug, info, warn, error or off.
absl::Status ConfigureLogging(absl::string_view level, bool json);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_OPS_LOGGING_H_
