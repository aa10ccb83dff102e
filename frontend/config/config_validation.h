// Semantic checks of a loaded config that the proto cannot express: the last
// of the config loader's steps (yaml_to_proto, config_defaults,
// config_validation; config_loader.h runs all three).
#ifndef SSEBRIDGE_FRONTEND_CONFIG_CONFIG_VALIDATION_H_
#define SSEBRIDGE_FRONTEND_CONFIG_CONFIG_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "frontend/config/config_error.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

// Checks `config` (after ApplyDefaults) against the rules the proto cannot
// express: routes name defined backends, paths and backend names are unique,
// low water < high water, origins are scheme://host[:port], header names are
// tokens, ... Explicit values are checked too: a meaningless explicit zero
// (e.g. `channels: 0`) is reported rather than silently replaced by the
// default. `given` tells an empty action that was derived from the path
// (e.g. "/") from one set explicitly.
//
// Also normalises `config` as it goes: methods to upper case; header names,
// CORS origins and the log level to lower case.
//
// Returns the first problem found as InvalidArgumentError
// `<file>: <key path>: <problem>`, with `file` used only in the message.
absl::Status Validate(absl::string_view file, const GivenKeys& given,
                      ssebridge::config::v1::FrontendConfig& config);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_CONFIG_CONFIG_VALIDATION_H_
