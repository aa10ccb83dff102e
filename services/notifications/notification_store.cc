#include "services/notifications/notification_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ssebridge::services::notifications {

Replay PlanReplay(const std::deque<Notification>& history, uint64_t last_id,
                  absl::string_view last_event_id) {
  Replay replay;
  if (last_event_id.empty()) return replay;  // a first connect
  uint64_t seen = 0;
  const bool numeric =
      std::all_of(last_event_id.begin(), last_event_id.end(),
                  [](char c) { return absl::ascii_isdigit(c); }) &&
      absl::SimpleAtoi(last_event_id, &seen);
  const uint64_t oldest = history.empty() ? last_id + 1 : history.front().id;
  if (!numeric || seen > last_id || seen + 1 < oldest) {
    replay.reset = true;
    replay.notifications.assign(history.begin(), history.end());
    return replay;
  }
  for (const Notification& n : history) {
    if (n.id > seen) replay.notifications.push_back(n);
  }
  return replay;
}

NotificationStore::NotificationStore(size_t history_limit, size_t max_users)
    : history_limit_(std::max<size_t>(history_limit, 1)),
      max_users_(std::max<size_t>(max_users, 1)) {}

std::shared_ptr<NotificationStore::User> NotificationStore::GetUser(
    absl::string_view user, bool create) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(user);
  if (it != users_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.user;
  }
  if (!create) return nullptr;
  // With every user busy the bound is passed: users with live subscribers
  // are bounded by the frontend's connection limits anyway.
  MakeRoomLocked();
  auto state = std::make_shared<User>();
  lru_.emplace_front(user);
  users_.emplace(std::string(user), Entry{state, lru_.begin()});
  return state;
}

void NotificationStore::MakeRoomLocked() const {
  if (users_.size() < max_users_) return;
  for (auto it = lru_.end(); it != lru_.begin();) {
    --it;
    auto entry = users_.find(*it);
    // Under mu_ nobody can take a new reference: a count of one means no
    // Add or Subscribe is under way for this user.
    if (entry->second.user.use_count() == 1) {
      std::lock_guard<std::mutex> user_lock(entry->second.user->mu);
      if (entry->second.user->subscribers.empty()) {
        users_.erase(entry);
        lru_.erase(it);
        return;
      }
    }
  }
}

size_t NotificationStore::UserCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return users_.size();
}

Notification NotificationStore::Add(absl::string_view user, std::string text,
                                    absl::Time time) {
  std::shared_ptr<User> state = GetUser(user, /*create=*/true);
  std::lock_guard<std::mutex> deliver(state->deliver_mu);
  Notification added;
  std::vector<std::pair<SubscriberId, std::shared_ptr<Handler>>> handlers;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    added = Notification{++state->last_id, std::move(text), time};
    state->history.push_back(added);
    while (state->history.size() > history_limit_) state->history.pop_front();
    handlers.assign(state->subscribers.begin(), state->subscribers.end());
  }
  std::vector<SubscriberId> dropped;
  for (const auto& [id, handler] : handlers) {
    if (!(*handler)(added)) dropped.push_back(id);
  }
  if (!dropped.empty()) {
    std::lock_guard<std::mutex> lock(state->mu);
    for (SubscriberId id : dropped) state->subscribers.erase(id);
  }
  return added;
}

NotificationStore::SubscriberId NotificationStore::Subscribe(
    absl::string_view user, absl::string_view last_event_id,
    const std::function<void(const Replay&)>& on_replay, Handler live) {
  SubscriberId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
  }
  std::shared_ptr<User> state = GetUser(user, /*create=*/true);
  std::lock_guard<std::mutex> deliver(state->deliver_mu);
  Replay replay;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    replay = PlanReplay(state->history, state->last_id, last_event_id);
    state->subscribers.emplace(id, std::make_shared<Handler>(std::move(live)));
  }
  // Still holding deliver_mu: no live notification can overtake the replay.
  on_replay(replay);
  return id;
}

void NotificationStore::Unsubscribe(absl::string_view user, SubscriberId id) {
  std::shared_ptr<User> state = GetUser(user, /*create=*/false);
  if (state == nullptr) return;
  std::shared_ptr<Handler> handler;  // destroyed after the lock
  std::lock_guard<std::mutex> lock(state->mu);
  auto it = state->subscribers.find(id);
  if (it == state->subscribers.end()) return;
  handler = std::move(it->second);
  state->subscribers.erase(it);
}

std::vector<Notification> NotificationStore::History(
    absl::string_view user) const {
  std::shared_ptr<User> state = GetUser(user, /*create=*/false);
  if (state == nullptr) return {};
  std::lock_guard<std::mutex> lock(state->mu);
  return {state->history.begin(), state->history.end()};
}

size_t NotificationStore::SubscriberCount(absl::string_view user) const {
  std::shared_ptr<User> state = GetUser(user, /*create=*/false);
  if (state == nullptr) return 0;
  std::lock_guard<std::mutex> lock(state->mu);
  return state->subscribers.size();
}

namespace {
FeedEntry ToEntry(const Notification& n) {
  return FeedEntry{absl::StrCat(n.id), n.text, n.time};
}
}  // namespace

absl::StatusOr<FeedEntry> NotificationStore::Append(absl::string_view user,
                                                    std::string text,
                                                    absl::Time time) {
  return ToEntry(Add(user, std::move(text), time));
}

NotificationStore::SubscriberId NotificationStore::Watch(
    absl::string_view user, absl::string_view last_event_id,
    const std::function<void(const FeedReplay&)>& on_replay, LiveHandler live,
    ClosedHandler /*on_closed: memory never goes away*/) {
  return Subscribe(
      user, last_event_id,
      [&on_replay](const Replay& replay) {
        FeedReplay out;
        out.reset = replay.reset;
        out.entries.reserve(replay.notifications.size());
        for (const Notification& n : replay.notifications) {
          out.entries.push_back(ToEntry(n));
        }
        on_replay(out);
      },
      [live = std::move(live)](const Notification& n) {
        return live(ToEntry(n));
      });
}

void NotificationStore::Unwatch(absl::string_view user, SubscriberId id) {
  Unsubscribe(user, id);
}

}  // namespace ssebridge::services::notifications
