// The config defaults documented in protos/ssebridge/config/v1/config.proto:
// the second of the config loader's steps (yaml_to_proto, config_defaults,
// config_validation; config_loader.h runs all three).
#ifndef SSEBRIDGE_FRONTEND_CONFIG_CONFIG_DEFAULTS_H_
#define SSEBRIDGE_FRONTEND_CONFIG_CONFIG_DEFAULTS_H_

#include "frontend/config/config_error.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

// Sets every field that has a documented default and whose key is not in
// `given` (so an explicit `port: 0` or `heartbeat: "0s"` is kept). A route's
// default action is the last segment of its path ("/api/chat_stream" ->
// "chat_stream"; "" for "/", which validation then reports). Fields without a
// documented default are left alone.
void ApplyDefaults(const GivenKeys& given,
                   ssebridge::config::v1::FrontendConfig& config);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_CONFIG_CONFIG_DEFAULTS_H_
