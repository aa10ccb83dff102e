// YAML text -> protobuf message, guided by the message's descriptor: the
// first of the config loader's steps (yaml_to_proto, config_defaults,
// config_validation; config_loader.h runs all three).
//
// The YAML is walked field by field and turned into protobuf's JSON form,
// typing each scalar by its target field, so a field added to the proto is
// configurable without touching this code, quoted numbers and YAML booleans
// (yes/on/...) work, durations are written Go-style ("1h30m", "1.5s"), and
// schema errors name the key: `frontend.yaml: routes[1].backnd: unknown key`.
// The walk records which keys were given, so the later steps can tell an
// absent key from an explicit zero.
#ifndef SSEBRIDGE_FRONTEND_CONFIG_YAML_TO_PROTO_H_
#define SSEBRIDGE_FRONTEND_CONFIG_YAML_TO_PROTO_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "frontend/config/config_error.h"
#include "google/protobuf/message.h"

namespace ssebridge::frontend {

// Parses `yaml`, one YAML document whose top level is a map (or empty), into
// `message`, and adds to `given` the canonical path of every key and list
// element present (e.g. "listen", "listen.io_threads", "routes[0]"). Keys may
// be proto field names or their JSON names ("io_threads" or "ioThreads").
// Applies no defaults and no semantic checks. `file` is used only in error
// messages.
//
// Returns InvalidArgumentError `<file>: <key path>: <problem>` (or
// `<file>: line L, column C: <problem>`) for YAML syntax errors, several
// documents, unknown or duplicate keys and values of the wrong type; on error
// `message` and `given` may be partly filled.
absl::Status YamlToProto(absl::string_view yaml, absl::string_view file,
                         google::protobuf::Message& message, GivenKeys& given);

// Parses a Go-style duration: one or more <number><unit> terms ("15s", "1.5s",
// "500ms", "1h30m"); units ns, us (or µs), ms, s, m, h. A bare "0" is allowed
// because it is unambiguous; surrounding whitespace is ignored. Returns
// nanoseconds, or nullopt if malformed, negative or too large for int64
// nanoseconds (~292 years).
std::optional<int64_t> ParseDurationNanos(absl::string_view s);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_CONFIG_YAML_TO_PROTO_H_
