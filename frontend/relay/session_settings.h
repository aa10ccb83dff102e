// The per-route settings a relayed stream runs with (resolved once from the
// config by the HTTP edge), and the few constants the relay's units share.
// Immutable after start-up; read from any thread.
#ifndef SSEBRIDGE_FRONTEND_RELAY_SESSION_SETTINGS_H_
#define SSEBRIDGE_FRONTEND_RELAY_SESSION_SETTINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "frontend/ops/stats.h"

namespace ssebridge::frontend {

// How long one stream of a shared route may keep the call waiting (or half
// of limits.write_timeout, if that is shorter).
inline constexpr absl::Duration kSharedWaitLimit = absl::Seconds(1);

// How long a call may sit between its last read and OnDone before we assume
// gRPC failed to parse a message and cancel it.
inline constexpr absl::Duration kStuckAfterReadEnd = absl::Seconds(1);

// The INTERNAL error a stream ends with when its call (own or shared) was
// cancelled because gRPC could not parse a message from the service.
inline constexpr char kUnparsableUpstream[] =
    "upstream sent a message that cannot be parsed";

// A shared call whose last stream left keeps running (with its replay ring)
// for Route.replay.max_age, but never longer than this.
inline constexpr absl::Duration kMaxReplayLinger = absl::Seconds(60);

// A shared route's replay ring (Route.replay); off when max_events is 0.
struct ReplaySettings {
  size_t max_events = 0;
  absl::Duration max_age = absl::Minutes(5);
  size_t max_bytes = 1 << 20;
  size_t on_join = 0;
  // The reset event, encoded once: "event: <reset_event>\ndata: \n\n".
  std::string reset_bytes;
  // How long a call nobody watches keeps running: min(max_age,
  // kMaxReplayLinger).
  absl::Duration linger = absl::ZeroDuration();
  bool enabled() const { return max_events > 0; }
};

// kSse relays events as Server-Sent Events. kCollectHtml serves an htmx 2
// form POST that did not ask for a stream: every fragment is collected and
// sent as one text/html response when the call ends.
enum class ResponseMode { kSse, kCollectHtml };

// Per-route settings a session needs, resolved once from the config.
struct SessionSettings {
  std::string route_path;
  RouteStats* route_stats = nullptr;  // per-route counters (not owned)
  std::string terminal_event = "done";
  absl::Duration heartbeat = absl::Seconds(15);
  absl::Duration max_duration = absl::ZeroDuration();  // zero: no limit
  absl::Duration header_wait = absl::Seconds(2);       // backend not yet READY
  absl::Duration write_timeout = absl::Seconds(30);
  bool expose_errors = false;
  uint32_t retry_ms = 0;           // sent after the head when non-zero
  uint32_t error_retry_ms = 5000;  // retry hint on error / timeout events
  size_t high_water = 256 * 1024;
  size_t low_water = 64 * 1024;
  size_t max_event_bytes = 4 * 1024 * 1024;
  uint32_t retry_after_seconds = 5;
  // The final event of a stream whose token expired (Auth.expired_event).
  std::string auth_expired_event = "auth-expired";
  ReplaySettings replay;  // shared routes only
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_SESSION_SETTINGS_H_
