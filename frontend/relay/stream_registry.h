// StreamRegistry: admission control for streams — the total and per-client
// IP limits. Acquire before any SSE header is sent; Release when the stream's
// socket is closed. Thread-safe (one small mutex).
#ifndef SSEBRIDGE_FRONTEND_RELAY_STREAM_REGISTRY_H_
#define SSEBRIDGE_FRONTEND_RELAY_STREAM_REGISTRY_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include <mutex>

namespace ssebridge::frontend {

class StreamRegistry {
 public:
  // 0 means unlimited.
  StreamRegistry(uint32_t max_total, uint32_t max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // Returns false (and changes nothing) when a limit is reached.
  bool TryAcquire(const std::string& ip);
  void Release(const std::string& ip);

  int64_t total() const;
  int64_t count_for(const std::string& ip) const;

 private:
  const uint32_t max_total_;
  const uint32_t max_per_ip_;
  mutable std::mutex mu_;
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int64_t> per_ip_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_STREAM_REGISTRY_H_
