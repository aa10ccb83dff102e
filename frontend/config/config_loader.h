// Loads the frontend's YAML config file into a
// ssebridge.config.v1.FrontendConfig.
//
// The proto (protos/ssebridge/config/v1/config.proto) is the only schema: the
// YAML is walked guided by the message descriptor and turned into protobuf's
// JSON form, so a field added to the proto is configurable without touching
// this code. On top of that the loader applies the defaults documented in the
// proto comments (tracking which keys were given, so an explicit `port: 0` or
// `heartbeat: "0s"` is kept) and checks the semantic rules the proto cannot
// express (routes name defined backends, low < high water, ...). Each of the
// three steps is its own unit: yaml_to_proto.h, config_defaults.h and
// config_validation.h; this file runs them in order and reads the file.
//
// Every error is one line, `<file>: <key path>: <problem>`, e.g.
//   frontend.yaml: routes[1].backnd: unknown key
// so it can be logged as-is and points the operator at the offending key.
#ifndef SSEBRIDGE_FRONTEND_CONFIG_CONFIG_LOADER_H_
#define SSEBRIDGE_FRONTEND_CONFIG_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

// Parses YAML text, applies defaults and validates the result. `file` is used
// only in error messages. Returns InvalidArgumentError for syntax, schema and
// semantic errors.
//
// Defaults fill only keys that are absent; explicit values are validated, so a
// meaningless explicit zero (`channels: 0`, `threads: 0`) is an error rather
// than silently replaced. Methods are normalised to upper case; header names,
// CORS origins and the log level to lower case.
absl::StatusOr<ssebridge::config::v1::FrontendConfig> ParseConfigYaml(
    absl::string_view yaml, absl::string_view file);

// Reads `path` and parses it with ParseConfigYaml. Returns NotFoundError if the
// file does not exist and another error (naming the file) if it cannot be
// read.
absl::StatusOr<ssebridge::config::v1::FrontendConfig> LoadConfigFile(
    const std::string& path);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_CONFIG_CONFIG_LOADER_H_
