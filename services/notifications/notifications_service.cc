#include "services/notifications/notifications_service.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::services::notifications {
namespace {

using sdk::Escape;
using sdk::Event;
using sdk::Html;

sdk::Event NotificationEvent(const Notification& n) {
  return Event::Named("notification")
      .Id(absl::StrCat(n.id))
      .Html(NotificationHtml(n));
}

// Resolves the user of a request; an over-long name is an error.
absl::StatusOr<std::string> UserOf(const sdk::Request& request) {
  std::string user =
      ResolveUser(request.Header("x-user"), request.Header("cookie"));
  if (user.size() > kMaxUserBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("user is limited to ", kMaxUserBytes, " bytes"));
  }
  return user;
}

}  // namespace

std::string CookieValue(absl::string_view cookie_header,
                        absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(cookie_header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) continue;
    if (absl::StripAsciiWhitespace(pair.substr(0, eq)) != name) continue;
    absl::string_view value = absl::StripAsciiWhitespace(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return "";
}

std::string ResolveUser(absl::string_view x_user,
                        absl::string_view cookie_header) {
  x_user = absl::StripAsciiWhitespace(x_user);
  if (!x_user.empty()) return std::string(x_user);
  std::string from_cookie = CookieValue(cookie_header, "user");
  if (!from_cookie.empty()) return from_cookie;
  return "demo";
}

Html NotificationHtml(const Notification& n) {
  return Html(
      "<li class=\"notification\">", Escape(n.text), " <time datetime=\"",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", n.time, absl::UTCTimeZone()),
      "\">", absl::FormatTime("%H:%M:%S", n.time, absl::UTCTimeZone()),
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

NotificationsService::NotificationsService(NotificationStore* store,
                                           std::function<absl::Time()> clock)
    : store_(store), clock_(std::move(clock)) {}

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
  absl::StatusOr<std::string> user = UserOf(request);
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
  const Notification added = store_->Add(*user, std::move(text), clock_());
  stream.TrySend(Event::Named("sent").Html("<span class=\"sent\" data-id=\"",
                                           added.id, "\">sent</span>"));
  stream.Finish();
}

void NotificationsService::Notifications(sdk::Request request,
                                         sdk::Stream stream) const {
  absl::StatusOr<std::string> user = UserOf(request);
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
  const NotificationStore::SubscriberId id = store_->Subscribe(
      *user, request.last_event_id(),
      [&](const Replay& replay) {
        if (replay.reset && !stream.TrySend(Event::Named("reset").Html(""))) {
          fell_behind(stream);
          return;
        }
        for (const Notification& n : replay.notifications) {
          if (!stream.TrySend(NotificationEvent(n))) {
            fell_behind(stream);
            return;
          }
        }
      },
      [stream, fell_behind](const Notification& n) mutable {
        if (stream.TrySend(NotificationEvent(n))) return true;
        fell_behind(stream);  // no-op if the client is gone
        return false;
      });
  stream.OnCancel(
      [store = store_, user = *user, id] { store->Unsubscribe(user, id); });
}

DemoNotifier::DemoNotifier(NotificationStore* store, absl::Duration interval,
                           std::string user)
    : store_(store), interval_(interval), user_(std::move(user)) {
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
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                       [this] { return stop_; })) {
    lock.unlock();
    ++n;
    store_->Add(user_, DemoText(n), absl::Now());
    lock.lock();
  }
}

}  // namespace ssebridge::services::notifications
