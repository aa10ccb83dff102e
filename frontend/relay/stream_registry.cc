#include "frontend/relay/stream_registry.h"

namespace ssebridge::frontend {

bool StreamRegistry::TryAcquire(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  if (max_total_ > 0 && total_ >= max_total_) return false;
  int64_t& n = per_ip_[ip];
  if (max_per_ip_ > 0 && n >= max_per_ip_) {
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  ++total_;
  return true;
}

void StreamRegistry::Release(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second <= 0) per_ip_.erase(it);
  --total_;
}

int64_t StreamRegistry::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

int64_t StreamRegistry::count_for(const std::string& ip) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace ssebridge::frontend
