#include "services/notifications/notifications_service.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace ssebridge::services::notifications {
namespace {

using sdk::Escape;
using sdk::Event;
using sdk::Html;

sdk::Event NotificationEvent(const FeedEntry& n) {
  return Event::Named("notification")
      .Id(n.id)
      .Html(NotificationHtml(n.text, n.time));
}

// The signed-in user of a request: its verified subject. UNAUTHENTICATED
// (with `sign_in_to`) when anonymous; an over-long subject is an error.
absl::StatusOr<std::string> UserOf(const sdk::Request& request,
                                   absl::string_view sign_in_to) {
  if (!request.Authenticated()) {
    return absl::UnauthenticatedError(absl::StrCat("sign in to ", sign_in_to));
  }
  if (request.Subject().size() > kMaxUserBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("user is limited to ", kMaxUserBytes, " bytes"));
  }
  return request.Subject();
}

}  // namespace

Html NotificationHtml(const Notification& n) {
  return NotificationHtml(n.text, n.time);
}

Html NotificationHtml(absl::string_view text, absl::Time time) {
  return Html("<li class=\"notification\">", Escape(text), " <time datetime=\"",
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone()),
              "\">", absl::FormatTime("%H:%M:%S", time, absl::UTCTimeZone()),
              "</time></li>");
}

std::string DemoText(uint64_t n) {
  static constexpr std::array<const char*, 5> kTemplates = {
      "Deploy #%d finished", "New comment on ticket #%d", "Backup %d completed",
      "Build #%d passed", "Alert %d resolved"};
  const std::string number = absl::StrCat(n);
  std::string text = kTemplates[(n - 1) % kTemplates.size()];
  text.replace(text.find("%d"), 2, number);
  return text;
}

NotificationsService::NotificationsService(NotificationFeed* feed,
                                           std::function<absl::Time()> clock)
    : feed_(feed), clock_(std::move(clock)) {}

void NotificationsService::Register(sdk::ActionServer& server) const {
  server
      .AsyncAction("notify",
                   [this](sdk::Request r, sdk::Stream s) {
                     Notify(std::move(r), std::move(s));
                   })
      .AsyncAction("notifications", [this](sdk::Request r, sdk::Stream s) {
        Notifications(std::move(r), std::move(s));
      });
}

void NotificationsService::Notify(sdk::Request request,
                                  sdk::Stream stream) const {
  absl::StatusOr<std::string> user = UserOf(request, "send notifications");
  if (!user.ok()) {
    stream.Finish(user.status());
    return;
  }
  std::string text = request.Param("text");
  if (text.empty() || text.size() > kMaxTextBytes) {
    stream.Finish(absl::InvalidArgumentError(
        absl::StrCat("text must be 1..", kMaxTextBytes, " bytes")));
    return;
  }
  const absl::StatusOr<FeedEntry> added =
      feed_->Append(*user, std::move(text), clock_());
  if (!added.ok()) {
    stream.Finish(added.status());
    return;
  }
  // Ids are digits (memory) or digits-digits (Redis); escaped all the same.
  stream.TrySend(Event::Named("sent").Html(
      "<span class=\"sent\" data-id=\"", Escape(added->id), "\">sent</span>"));
  stream.Finish();
}

void NotificationsService::Notifications(sdk::Request request,
                                         sdk::Stream stream) const {
  absl::StatusOr<std::string> user = UserOf(request, "read notifications");
  if (!user.ok()) {
    stream.Finish(user.status());
    return;
  }
  // A stream whose queue is full is ended rather than silently missing
  // notifications: the browser reconnects with its Last-Event-ID and the
  // replay fills the gap.
  auto fell_behind = [](sdk::Stream& s) {
    s.Finish(absl::UnavailableError(
        "too many undelivered notifications; reconnect to resume"));
  };
  const NotificationFeed::SubscriberId id = feed_->Watch(
      *user, request.last_event_id(),
      [&](const FeedReplay& replay) {
        if (replay.reset && !stream.TrySend(Event::Named("reset").Html(""))) {
          fell_behind(stream);
          return;
        }
        for (const FeedEntry& n : replay.entries) {
          if (!stream.TrySend(NotificationEvent(n))) {
            fell_behind(stream);
            return;
          }
        }
      },
      [stream, fell_behind](const FeedEntry& n) mutable {
        if (stream.TrySend(NotificationEvent(n))) return true;
        fell_behind(stream);  // no-op if the client is gone
        return false;
      },
      [stream](const absl::Status& why) mutable { stream.Finish(why); });
  if (id == 0) return;  // already finished with the reason
  stream.OnCancel(
      [feed = feed_, user = *user, id] { feed->Unwatch(user, id); });
}

DemoNotifier::DemoNotifier(NotificationFeed* feed, absl::Duration interval,
                           std::string user)
    : feed_(feed), interval_(interval), user_(std::move(user)) {
  thread_ = std::thread([this] { Run(); });
}

DemoNotifier::~DemoNotifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DemoNotifier::Run() {
  uint64_t n = 0;
  bool failing = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                       [this] { return stop_; })) {
    lock.unlock();
    ++n;
    // The next one may work (Redis back); logged when that changes.
    const absl::StatusOr<FeedEntry> added =
        feed_->Append(user_, DemoText(n), absl::Now());
    if (!added.ok() && !failing) {
      spdlog::warn("notifications: demo notification for {} failed: {}", user_,
                   added.status().ToString());
    } else if (added.ok() && failing) {
      spdlog::info("notifications: demo notifications for {} added again",
                   user_);
    }
    failing = !added.ok();
    lock.lock();
  }
}

}  // namespace ssebridge::services::notifications
