#include "frontend/http/router.h"

#include <algorithm>

namespace ssebridge::frontend {

Router::Router(const ssebridge::config::v1::FrontendConfig& config) {
  for (int i = 0; i < config.routes_size(); ++i) {
    const auto& r = config.routes(i);
    Entry e{i, {r.methods().begin(), r.methods().end()}};
    if (e.methods.empty()) e.methods.push_back("GET");
    by_path_.emplace(r.path(), std::move(e));
  }
}

Router::Match Router::Find(absl::string_view path,
                           absl::string_view method) const {
  Match m;
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return m;
  const Entry& e = it->second;
  if (std::find(e.methods.begin(), e.methods.end(), method) ==
      e.methods.end()) {
    m.outcome = Outcome::kMethodNotAllowed;
    m.allowed = e.methods;
    return m;
  }
  m.outcome = Outcome::kMatched;
  m.route_index = e.index;
  return m;
}

}  // namespace ssebridge::frontend
