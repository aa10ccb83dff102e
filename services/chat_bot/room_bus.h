// RoomBus: where chat messages meet their rooms' subscribers. The chat
// service publishes every posted message to its room and each chat_stream
// call subscribes to one room. Two implementations: InProcessRoomBus below
// (rooms inside one process, the default) and RedisRoomBus
// (redis_room_bus.h: rooms shared by every replica through Redis pub/sub).
//
// Contract for every implementation:
//  - Publish delivers the message to each handler subscribed to its room at
//    that moment, exactly once, on the publishing thread (an implementation
//    may use its own threads instead). Handlers must not block and must not
//    Publish to the room they are called for; they may Unsubscribe.
//  - Messages published to one room reach every subscriber in one order.
//  - After Unsubscribe returns, the handler is not called again except by a
//    Publish already running.
//  - A bus backed by another system may fail: Publish then returns false
//    (nobody gets the message), and the bus may end subscriptions, each by
//    calling its ClosedHandler once with the reason (also from inside
//    Subscribe when it cannot subscribe at all). An ended subscription's
//    handler is not called again and its id is forgotten. ClosedHandlers
//    must not block; they may Unsubscribe.
//
// Thread-safety: all methods may be called from any thread.
#ifndef SSEBRIDGE_SERVICES_CHAT_BOT_ROOM_BUS_H_
#define SSEBRIDGE_SERVICES_CHAT_BOT_ROOM_BUS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::services::chat {

struct ChatMessage {
  std::string room;
  std::string user;
  std::string text;
  bool from_bot = false;
  absl::Time time;
};

class RoomBus {
 public:
  using SubscriberId = uint64_t;
  using Handler = std::function<void(const ChatMessage&)>;
  // Why the bus ended a subscription (e.g. UNAVAILABLE: Redis went away).
  using ClosedHandler = std::function<void(const absl::Status&)>;

  virtual ~RoomBus() = default;

  // Delivers `message` to the subscribers of message.room. False when it
  // reached nobody because the bus's backend is unreachable (such a bus
  // logs why).
  virtual bool Publish(const ChatMessage& message) = 0;
  // Calls `handler` for each message published to `room` from now on, until
  // Unsubscribe or until the bus ends the subscription: then `on_closed`
  // (may be null) is called once with the reason.
  virtual SubscriberId Subscribe(absl::string_view room, Handler handler,
                                 ClosedHandler on_closed) = 0;
  // Subscribe without a ClosedHandler.
  SubscriberId Subscribe(absl::string_view room, Handler handler) {
    return Subscribe(room, std::move(handler), nullptr);
  }
  // Stops the subscription; unknown ids are ignored.
  virtual void Unsubscribe(absl::string_view room, SubscriberId id) = 0;
};

// Rooms inside this process: a map from room to its subscribers. A room
// exists while it has subscribers. Publish always succeeds and never ends a
// subscription (the ClosedHandler is never called).
class InProcessRoomBus final : public RoomBus {
 public:
  InProcessRoomBus() = default;
  InProcessRoomBus(const InProcessRoomBus&) = delete;
  InProcessRoomBus& operator=(const InProcessRoomBus&) = delete;

  bool Publish(const ChatMessage& message) override;  // always true
  using RoomBus::Subscribe;
  SubscriberId Subscribe(absl::string_view room, Handler handler,
                         ClosedHandler on_closed) override;
  void Unsubscribe(absl::string_view room, SubscriberId id) override;

  // Current subscribers of `room`, and of all rooms.
  size_t SubscriberCount(absl::string_view room) const;
  size_t TotalSubscribers() const;
  size_t RoomCount() const;

 private:
  struct Room {
    // Serialises publishes to this room, so all subscribers see one order.
    // Taken before mu_ (never the other way round).
    std::mutex publish_mu;
    absl::flat_hash_map<SubscriberId, std::shared_ptr<const Handler>>
        subscribers;  // guarded by the bus's mu_
  };

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Room>> rooms_
      ABSL_GUARDED_BY(mu_);
  SubscriberId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ssebridge::services::chat

#endif  // SSEBRIDGE_SERVICES_CHAT_BOT_ROOM_BUS_H_
