// Counters the frontend keeps for /metrics and tests. Plain atomics, updated
// from Pistache reactor threads, gRPC callback threads and the IO loops;
// relaxed ordering is enough because each counter stands alone.
#ifndef SSEBRIDGE_FRONTEND_OPS_STATS_H_
#define SSEBRIDGE_FRONTEND_OPS_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// How a stream ended; one counter each.
enum class Outcome : int {
  kDone = 0,       // service finished OK, terminal event delivered
  kClientGone,     // browser disconnected first; RPC cancelled
  kUpstreamError,  // service failed after headers; error event sent
  kRejected,       // refused before SSE headers (limits, 503 ...)
  kTimeout,        // write timeout or max duration
  kShutdown,       // frontend shutting down
  kAuthExpired,    // the client's token expired; auth-expired event sent
  kCount
};
const char* OutcomeName(Outcome o);

// Why a request on a route with auth was refused: the reason label of
// ssebridge_auth_refusals_total. The token words are the verifier's; then
// "missing" (required route, no token), "forbidden" (require_claims) and
// "origin" (a cookie-authenticated POST from a foreign origin).
inline constexpr std::array<const char*, 13> kAuthRefusalReasons = {
    "missing",       "malformed", "too_large",     "algorithm", "unknown_key",
    "signature",     "expired",   "not_yet_valid", "issuer",    "audience",
    "missing_claim", "forbidden", "origin"};

// Per-route counters (labelled by route path in /metrics).
struct RouteStats {
  std::atomic<int64_t> open_streams{0};
  std::array<std::atomic<uint64_t>, static_cast<int>(Outcome::kCount)>
      streams_by_outcome{};
  std::array<std::atomic<uint64_t>, kAuthRefusalReasons.size()> auth_refusals{};
  // Shared routes with a replay ring (set once at start-up, before any
  // thread reads it): bytes held by the route's live rings, and streams
  // whose Last-Event-ID no ring held (sent the reset event).
  bool replay = false;
  std::atomic<int64_t> replay_ring_bytes{0};
  std::atomic<uint64_t> replay_resets{0};
  // Mux routes (set once at start-up): requests whose Last-Event-ID was not
  // a cursor (treated as no id).
  bool mux = false;
  std::atomic<uint64_t> mux_bad_cursors{0};
  void Count(Outcome o) {
    streams_by_outcome[static_cast<int>(o)].fetch_add(
        1, std::memory_order_relaxed);
  }
  // `reason` is one of kAuthRefusalReasons (others count as "malformed").
  void CountAuthRefusal(absl::string_view reason) {
    size_t i = 1;
    for (size_t k = 0; k < kAuthRefusalReasons.size(); ++k) {
      if (reason == kAuthRefusalReasons[k]) i = k;
    }
    auth_refusals[i].fetch_add(1, std::memory_order_relaxed);
  }
};

// Upper bounds (seconds) of the time-to-first-event histogram buckets.
inline constexpr std::array<double, 12> kFirstEventBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

struct FrontendStats {
  std::atomic<int64_t> open_streams{0};
  std::array<std::atomic<uint64_t>, static_cast<int>(Outcome::kCount)>
      streams_by_outcome{};
  std::atomic<uint64_t> events_relayed{0};
  std::atomic<uint64_t> bytes_relayed{0};
  std::atomic<uint64_t> invalid_events_dropped{0};
  std::atomic<uint64_t> oversized_events_dropped{0};
  std::atomic<uint64_t> write_stalls{0};
  std::atomic<uint64_t> heartbeats{0};
  // Shared routes: upstream calls alive, and streams dropped for being too
  // slow for their shared call.
  std::atomic<int64_t> shared_calls{0};
  std::atomic<uint64_t> shared_slow_dropped{0};
  // Largest number of bytes any one stream had buffered (pending + unsent).
  std::atomic<uint64_t> peak_buffered_bytes{0};

  // Upstream time from call start to its first event: cumulative buckets
  // (one per kFirstEventBuckets bound, then +Inf), sum in microseconds.
  std::array<std::atomic<uint64_t>, kFirstEventBuckets.size() + 1>
      first_event_buckets{};
  std::atomic<uint64_t> first_event_sum_us{0};
  std::atomic<uint64_t> first_event_count{0};

  void ObserveFirstEvent(double seconds) {
    for (size_t i = 0; i < kFirstEventBuckets.size(); ++i) {
      if (seconds <= kFirstEventBuckets[i]) {
        first_event_buckets[i].fetch_add(1, std::memory_order_relaxed);
      }
    }
    first_event_buckets.back().fetch_add(1, std::memory_order_relaxed);
    first_event_sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6),
                                 std::memory_order_relaxed);
    first_event_count.fetch_add(1, std::memory_order_relaxed);
  }

  void NoteBuffered(uint64_t n) {
    uint64_t cur = peak_buffered_bytes.load(std::memory_order_relaxed);
    while (n > cur && !peak_buffered_bytes.compare_exchange_weak(
                          cur, n, std::memory_order_relaxed)) {
    }
  }

  void Count(Outcome o) {
    streams_by_outcome[static_cast<int>(o)].fetch_add(
        1, std::memory_order_relaxed);
  }
  uint64_t Get(Outcome o) const {
    return streams_by_outcome[static_cast<int>(o)].load(
        std::memory_order_relaxed);
  }
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_OPS_STATS_H_
