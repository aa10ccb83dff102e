// NotificationStore: the in-memory NotificationFeed (notification_feed.h),
// used when no Redis is configured. Each user's notifications are kept in a
// bounded history in this process (ids 1, 2, 3... per user, as decimal
// strings on the wire; lost when the process ends), and the live
// subscribers that get each new one. A reconnecting subscriber names the
// last id it saw (SSE Last-Event-ID) and first gets what it missed:
//
//   no last id                  nothing replayed, only new notifications
//   a retained id (or the one   the notifications after it, in order
//     just before the oldest)
//   unknown / too old / not a   reset = true and the whole retained history
//     number                      (the client should clear its list)
//
// The replay is delivered before any live notification and none is lost or
// repeated between the two: Add and Subscribe take turns per user.
//
// Users are bounded (`max_users`): the user names come from clients, so at
// the bound the least recently used user with no live subscriber is
// forgotten, history and all (its next reconnect gets reset = true). Users
// with live subscribers are never forgotten; they are bounded by the
// frontend's connection limits.
//
// Thread-safety: all methods may be called from any thread. Handlers are
// called with the user's delivery lock held (never the store's map lock):
// they must not block and must not call Add or Subscribe for the same user;
// they may call Unsubscribe.
#ifndef SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_STORE_H_
#define SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/notifications/notification_feed.h"

namespace ssebridge::services::notifications {

struct Notification {
  uint64_t id = 0;
  std::string text;
  absl::Time time;
};

// What a (re)connecting subscriber gets before the live notifications.
struct Replay {
  bool reset = false;
  std::vector<Notification> notifications;
};

// The replay rule above, over one user's retained `history` (ascending ids)
// and the last id ever assigned to that user.
Replay PlanReplay(const std::deque<Notification>& history, uint64_t last_id,
                  absl::string_view last_event_id);

class NotificationStore final : public NotificationFeed {
 public:
  // Delivers one live notification; returning false unsubscribes.
  using Handler = std::function<bool(const Notification&)>;

  explicit NotificationStore(size_t history_limit = 200,
                             size_t max_users = 100000);
  NotificationStore(const NotificationStore&) = delete;
  NotificationStore& operator=(const NotificationStore&) = delete;

  // Appends a notification for `user` (dropping the oldest past the limit),
  // hands it to the user's subscribers and returns it.
  Notification Add(absl::string_view user, std::string text, absl::Time time);

  // Plans the replay for `last_event_id`, passes it to `on_replay`, then
  // registers `live` for the notifications added afterwards.
  SubscriberId Subscribe(absl::string_view user,
                         absl::string_view last_event_id,
                         const std::function<void(const Replay&)>& on_replay,
                         Handler live);
  // Unknown ids are ignored.
  void Unsubscribe(absl::string_view user, SubscriberId id);

  std::vector<Notification> History(absl::string_view user) const;
  size_t SubscriberCount(absl::string_view user) const;
  size_t history_limit() const { return history_limit_; }
  size_t UserCount() const;

  // NotificationFeed, on top of the methods above (never fails).
  absl::StatusOr<FeedEntry> Append(absl::string_view user, std::string text,
                                   absl::Time time) override;
  SubscriberId Watch(absl::string_view user, absl::string_view last_event_id,
                     const std::function<void(const FeedReplay&)>& on_replay,
                     LiveHandler live, ClosedHandler on_closed) override;
  void Unwatch(absl::string_view user, SubscriberId id) override;

 private:
  struct User {
    // Held while delivering (replay or live), so deliveries to one user's
    // subscribers never interleave. Taken before mu.
    std::mutex deliver_mu;
    std::mutex mu;
    std::deque<Notification> history ABSL_GUARDED_BY(mu);
    uint64_t last_id ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<SubscriberId, std::shared_ptr<Handler>> subscribers
        ABSL_GUARDED_BY(mu);
  };
  struct Entry {
    std::shared_ptr<User> user;
    std::list<std::string>::iterator lru;  // position in lru_
  };

  std::shared_ptr<User> GetUser(absl::string_view user, bool create) const;
  // At the bound, forgets the least recently used idle user (none if every
  // user has live subscribers).
  void MakeRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t history_limit_;
  const size_t max_users_;
  mutable std::mutex mu_;
  // A user's history outlives its connections, up to max_users_ users.
  mutable absl::flat_hash_map<std::string, Entry> users_ ABSL_GUARDED_BY(mu_);
  // User names, most recently used first.
  mutable std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  SubscriberId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace ssebridge::services::notifications

#endif  // SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATION_STORE_H_
