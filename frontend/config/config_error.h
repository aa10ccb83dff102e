// What the config loader's units (yaml_to_proto, config_defaults,
// config_validation) share: the one-line error format
// `<file>: <key path>: <problem>`, key paths, quoting of user values in
// errors, and GivenKeys, the set of keys the YAML file gave.
#ifndef SSEBRIDGE_FRONTEND_CONFIG_CONFIG_ERROR_H_
#define SSEBRIDGE_FRONTEND_CONFIG_CONFIG_ERROR_H_

#include <cstddef>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// Canonical key paths (proto field names, with list indices, e.g.
// "routes[0].heartbeat") that appeared in the YAML. Defaults are applied only
// to absent keys, so explicit zeros such as `port: 0` survive and meaningless
// explicit zeros can be reported.
using GivenKeys = std::set<std::string>;

// InvalidArgumentError "<file>: <path>: <problem>", or "<file>: <problem>"
// when `path` is empty (an error about the file as a whole).
absl::Status ConfigError(absl::string_view file, absl::string_view path,
                         absl::string_view problem);

// Renders a user-supplied value for an error message: quoted, escaped so the
// message stays on one line, and shortened so a pasted blob cannot flood logs.
std::string Quote(absl::string_view s);

// The key path of element `i` of the list at `parent`: "parent[i]".
std::string IndexPath(absl::string_view parent, size_t i);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_CONFIG_CONFIG_ERROR_H_
