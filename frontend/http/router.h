// Router: maps a request path and method to a configured route (exact path
// match, as configured). Built once at start-up and read-only afterwards, so
// it is safe to share between threads without locking.
#ifndef SSEBRIDGE_FRONTEND_HTTP_ROUTER_H_
#define SSEBRIDGE_FRONTEND_HTTP_ROUTER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

class Router {
 public:
  enum class Outcome { kMatched, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    int route_index = -1;               // into the config's routes
    std::vector<std::string> allowed;   // for 405's Allow header
  };

  explicit Router(const ssebridge::config::v1::FrontendConfig& config);

  // `method` as sent by the client ("GET", "POST", ...). HEAD and OPTIONS are
  // treated by the caller; here they only match when configured.
  Match Find(absl::string_view path, absl::string_view method) const;

 private:
  struct Entry {
    int index;
    std::vector<std::string> methods;
  };
  absl::flat_hash_map<std::string, Entry> by_path_;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_ROUTER_H_
