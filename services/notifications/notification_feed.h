// NotificationFeed: the interface of a per-user notification history with
// live subscribers, as NotificationsService uses it. Two implementations:
// NotificationStore (in this process's memory; ids 1, 2, 3... per user; lost
// on restart) and RedisNotificationStore (Redis Streams; ids are stream entry
// ids like "1712345678901-0"; shared by replicas and durable across
// restarts). Ids are opaque strings to the service and the browser.
//
// The replay rule for a (re)connecting subscriber with SSE Last-Event-ID:
//   ""                           nothing replayed, only new notifications
//   an id the feed still covers  the notifications after it, in order
//   unknown / too old / malformed  reset = true and the retained history
// The replay comes before any live notification, with no gap and no repeat.
//
// Thread-safety: implementations are thread-safe. Handlers run on the
// feed's threads (or inside Watch); they must not block and must not call
// Append or Watch for the same user; they may call Unwatch.
#ifndef SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_FEED_H_
#define SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_FEED_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::services::notifications {

struct FeedEntry {
  std::string id;  // the SSE id
  std::string text;
  absl::Time time;
};

struct FeedReplay {
  bool reset = false;
  std::vector<FeedEntry> entries;
};

class NotificationFeed {
 public:
  using SubscriberId = uint64_t;  // 0 = none
  // One live notification; returning false unsubscribes.
  using LiveHandler = std::function<bool(const FeedEntry&)>;
  // The feed ended the subscription (e.g. UNAVAILABLE: storage lost).
  using ClosedHandler = std::function<void(const absl::Status&)>;

  virtual ~NotificationFeed() = default;

  // Stores a notification for `user` and hands it to the user's subscribers;
  // UNAVAILABLE when the storage cannot be reached.
  virtual absl::StatusOr<FeedEntry> Append(absl::string_view user,
                                           std::string text,
                                           absl::Time time) = 0;
  // Passes the replay for `last_event_id` to `on_replay`, then `live` gets
  // the notifications that follow. Returns 0 (after calling `on_closed`
  // with the reason, never `on_replay`) when that cannot be done now.
  virtual SubscriberId Watch(
      absl::string_view user, absl::string_view last_event_id,
      const std::function<void(const FeedReplay&)>& on_replay, LiveHandler live,
      ClosedHandler on_closed) = 0;
  // Unknown ids are ignored; `on_closed` is not called.
  virtual void Unwatch(absl::string_view user, SubscriberId id) = 0;
};

}  // namespace ssebridge::services::notifications

#endif  // SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_FEED_H_
