#include "services/chat_bot/room_bus.h"

#include <utility>
#include <vector>

namespace ssebridge::services::chat {

bool InProcessRoomBus::Publish(const ChatMessage& message) {
  std::shared_ptr<Room> room;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(message.room);
    if (it == rooms_.end()) return true;  // nobody listening
    room = it->second;
  }
  std::lock_guard<std::mutex> publish_lock(room->publish_mu);
  std::vector<std::shared_ptr<const Handler>> handlers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handlers.reserve(room->subscribers.size());
    for (const auto& [id, handler] : room->subscribers) {
      handlers.push_back(handler);
    }
  }
  // No bus lock held: a handler may Unsubscribe (or Subscribe elsewhere).
  for (const auto& handler : handlers) (*handler)(message);
  return true;
}

RoomBus::SubscriberId InProcessRoomBus::Subscribe(
    absl::string_view room, Handler handler,
    ClosedHandler /*on_closed: never called*/) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Room>& slot = rooms_[room];
  if (slot == nullptr) slot = std::make_shared<Room>();
  const SubscriberId id = next_id_++;
  slot->subscribers.emplace(id, std::move(shared));
  ++total_;
  return id;
}

void InProcessRoomBus::Unsubscribe(absl::string_view room, SubscriberId id) {
  std::shared_ptr<const Handler> handler;  // destroyed after the lock
  std::shared_ptr<Room> emptied;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  auto sub = it->second->subscribers.find(id);
  if (sub == it->second->subscribers.end()) return;
  handler = std::move(sub->second);
  it->second->subscribers.erase(sub);
  --total_;
  if (it->second->subscribers.empty()) {
    emptied = std::move(it->second);
    rooms_.erase(it);
  }
}

size_t InProcessRoomBus::SubscriberCount(absl::string_view room) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second->subscribers.size();
}

size_t InProcessRoomBus::TotalSubscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

size_t InProcessRoomBus::RoomCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rooms_.size();
}

}  // namespace ssebridge::services::chat
