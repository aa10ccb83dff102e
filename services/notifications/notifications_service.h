// The notifications action service, on top of a NotificationFeed (the
// in-memory NotificationStore or the Redis Streams RedisNotificationStore):
//
//   notify         (text) appends a notification for the signed-in user
//                  themself, then sends one html event "sent" and finishes
//                  OK (data-id = the notification's id; UNAVAILABLE when
//                  the feed cannot store it).
//   notifications  streams the user's new notifications as event
//                  "notification" (id = its number, html <li>...</li>);
//                  with a Last-Event-ID it first replays what was missed, or
//                  sends event "reset" (empty data) and the whole retained
//                  history if that id is unknown. Async: no thread per
//                  subscriber. Never ends by itself, except with an error
//                  when the feed ends it (Redis lost: UNAVAILABLE).
//
// The user is the verified subject the frontend passes on an authenticated
// route (sdk::Request::Subject(), metadata x-ssebridge-sub). Both actions
// refuse an anonymous call with UNAUTHENTICATED; nothing the browser sends
// (an x-user header, a "user" cookie or param) names the user.
//
// DemoNotifier posts a generated notification to one user periodically
// (main.cc: user "demo"), so the demo page has something to show: a user
// signed in as "demo" (e.g. through the frontend's dev login) sees them.
//
// Thread-safety: NotificationsService is immutable after construction and
// its handlers run concurrently on gRPC threads; the feed must outlive
// every server it is registered with. DemoNotifier's constructor and
// destructor must not race each other; it runs its own thread in between.
#ifndef SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATIONS_SERVICE_H_
#define SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATIONS_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/notifications/notification_feed.h"
#include "services/notifications/notification_store.h"

namespace ssebridge::services::notifications {

inline constexpr size_t kMaxTextBytes = 1000;
// A longer subject is refused (INVALID_ARGUMENT). OpenID Connect Core 1.0
// §2: "sub" MUST NOT exceed 255 ASCII characters.
inline constexpr size_t kMaxUserBytes = 255;

class NotificationsService {
 public:
  explicit NotificationsService(
      NotificationFeed* feed,
      std::function<absl::Time()> clock = [] { return absl::Now(); });

  void Register(sdk::ActionServer& server) const;

 private:
  void Notify(sdk::Request request, sdk::Stream stream) const;
  void Notifications(sdk::Request request, sdk::Stream stream) const;

  NotificationFeed* const feed_;
  const std::function<absl::Time()> clock_;
};

class DemoNotifier {
 public:
  // Adds a notification for `user` every `interval` (> 0) until destroyed.
  DemoNotifier(NotificationFeed* feed, absl::Duration interval,
               std::string user = "demo");
  ~DemoNotifier();
  DemoNotifier(const DemoNotifier&) = delete;
  DemoNotifier& operator=(const DemoNotifier&) = delete;

 private:
  void Run();

  NotificationFeed* const feed_;
  const absl::Duration interval_;
  const std::string user_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// --- Pure helpers (exposed for tests). ---

// <li class="notification">escaped text <time ...>HH:MM:SS</time></li>
sdk::Html NotificationHtml(const Notification& notification);
sdk::Html NotificationHtml(absl::string_view text, absl::Time time);

// The n-th generated demo notification text (n >= 1).
std::string DemoText(uint64_t n);

}  // namespace ssebridge::services::notifications

#endif  // SSEBRIDGE_SERVICES_NOTIFICATIONS_NOTIFICATIONS_SERVICE_H_
