// RedisRoomBus: chat rooms shared by every chat_bot replica through Redis
// pub/sub (hiredis). A room is the channel `channel_prefix + room`.
//
//  - Publish sends `PUBLISH channel payload` on the publisher connection
//    (one, under a mutex; a Redis round trip per message). Publish never
//    delivers locally itself: this replica's subscribers get the message
//    back from Redis like everyone else's, so every subscriber of a room, on
//    every replica, sees the room's messages in Redis's one order.
//  - One subscriber connection per process, read by the bus's own thread:
//    it SUBSCRIBEs to each room that has local subscribers (UNSUBSCRIBEs when
//    the last one leaves) and calls the room's handlers for each message, on
//    that thread, without holding the bus's lock.
//  - Publish never connects on the caller's thread: connecting includes the
//    host name's lookup (getaddrinfo), which no timeout here bounds and
//    which takes 5 s per lost DNS reply, and Publish runs on request paths (a
//    gRPC thread for chat_post). A second thread, the publisher's, makes and
//    remakes that connection (also when Redis closed it while idle, checked
//    every ping_interval and before each use), so a slow connect never holds
//    up the subscriber thread either. Publish waits for it at most
//    connect_timeout when the connection was just lost, and fails at once
//    while the last attempt failed (Redis down).
//  - Redis down: Publish returns false (logged once per outage); when the
//    subscriber connection breaks (or stops answering PING), every
//    subscription is ended through its ClosedHandler with UNAVAILABLE, and
//    Subscribe ends new ones at once until the connection is back. The
//    thread reconnects with exponential backoff (min_backoff doubling up to
//    max_backoff), the publisher connection too.
//
// Messages are encoded by EncodeMessage (a small versioned text header plus
// the raw user and text bytes); payloads that do not decode are dropped.
//
// Thread-safety: every method may be called from any thread. Handlers run
// on the bus's thread; ClosedHandlers run on it or inside Subscribe.
#ifndef SSEBRIDGE_SERVICES_CHAT_BOT_REDIS_ROOM_BUS_H_
#define SSEBRIDGE_SERVICES_CHAT_BOT_REDIS_ROOM_BUS_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/chat_bot/room_bus.h"

struct redisContext;

namespace ssebridge::services::chat {

struct RedisRoomBusOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH before use (see common/redis/redis_connect.h): `password` alone,
  // or `user` and `password` for an ACL user; none if empty.
  std::string user;
  std::string password;
  // Room "lobby" is channel "ssebridge:chat:lobby".
  std::string channel_prefix = "ssebridge:chat:";
  // Bounds a TCP connect, and each read/write of the publisher connection.
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  // Reconnect delays after a failure: min_backoff, doubling to max_backoff.
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // The subscriber connection sends PING this often; no reply within another
  // ping_interval counts as a lost connection.
  absl::Duration ping_interval = absl::Seconds(5);
  // Tests: called on the connecting thread before each connection attempt
  // (e.g. to make connecting as slow as a name lookup whose DNS reply was
  // lost). Must be thread-safe.
  std::function<void()> before_connect;
};

// "host:port" or "host" (port 6379); an error for anything else.
absl::StatusOr<RedisRoomBusOptions> ParseRedisAddress(
    absl::string_view address, RedisRoomBusOptions base = {});

class RedisRoomBus final : public RoomBus {
 public:
  // Starts the subscriber thread, which connects in the background (see
  // WaitConnected). Never fails: an unreachable Redis is retried forever.
  explicit RedisRoomBus(RedisRoomBusOptions options);
  // Stops the thread and closes both connections. Open subscriptions are
  // dropped without calling their ClosedHandlers (the server is going away).
  ~RedisRoomBus() override;
  RedisRoomBus(const RedisRoomBus&) = delete;
  RedisRoomBus& operator=(const RedisRoomBus&) = delete;

  bool Publish(const ChatMessage& message) override;
  // Publish with the reason of a failure (UNAVAILABLE).
  absl::Status PublishOrError(const ChatMessage& message);
  using RoomBus::Subscribe;
  SubscriberId Subscribe(absl::string_view room, Handler handler,
                         ClosedHandler on_closed) override;
  void Unsubscribe(absl::string_view room, SubscriberId id) override;

  // Whether the subscriber connection is up (Subscribe works).
  bool Connected() const;
  // Waits up to `timeout` for Connected().
  bool WaitConnected(absl::Duration timeout) const;
  // Whether Redis has confirmed this process's subscription to `room`:
  // messages published from then on reach the room's local subscribers.
  bool RoomReady(absl::string_view room) const;
  // Waits up to `timeout` for RoomReady(room).
  bool WaitRoomReady(absl::string_view room, absl::Duration timeout) const;
  size_t SubscriberCount(absl::string_view room) const;
  size_t TotalSubscribers() const;
  // How often the subscriber connection has been established.
  uint64_t connections() const;

  // The wire format of a message (the room is the channel). Exposed for
  // tests.
  static std::string EncodeMessage(const ChatMessage& message);
  static std::optional<ChatMessage> DecodeMessage(absl::string_view room,
                                                  absl::string_view payload);

 private:
  struct Subscription {
    Handler handler;
    ClosedHandler on_closed;
  };
  using SubscriptionMap =
      absl::flat_hash_map<SubscriberId, std::shared_ptr<const Subscription>>;
  // What the thread has sent to Redis for a room's channel: the last
  // command (SUBSCRIBE or UNSUBSCRIBE) and how many replies are due.
  struct ChannelState {
    bool subscribed = false;
    int pending = 0;
  };

  void Run();
  // Serves one established connection until it fails or Stop; returns why.
  absl::Status Serve(redisContext* ctx);
  // Sends SUBSCRIBE / UNSUBSCRIBE so the connection's rooms match rooms_.
  absl::Status Reconcile(redisContext* ctx);
  absl::Status HandleReply(void* reply);
  // The publisher thread: keeps pub_ connected (see the file comment).
  void RunPublisher();
  // Frees pub_ and asks the publisher thread for a new one.
  void DropPublisherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu_);
  void Deliver(const std::string& room, const ChatMessage& message);
  // Marks the bus disconnected and ends every subscription with `status`;
  // returns how many.
  size_t CloseAll(const absl::Status& status);
  void Wake();
  // Sleeps up to `duration` or until the destructor; false when stopping.
  bool SleepUnlessStopping(absl::Duration duration);
  std::string Channel(absl::string_view room) const;

  const RedisRoomBusOptions options_;
  const int wake_fd_;  // eventfd: Subscribe/Unsubscribe/stop -> thread

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // connected_, ready rooms, stopping_
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t connections_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, SubscriptionMap> rooms_ ABSL_GUARDED_BY(mu_);
  // Rooms Redis confirmed on the current connection.
  absl::flat_hash_map<std::string, bool> ready_ ABSL_GUARDED_BY(mu_);
  SubscriberId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;

  // Only the thread touches these.
  absl::flat_hash_map<std::string, ChannelState> channels_;
  bool awaiting_pong_ = false;
  absl::Time ping_sent_;

  std::mutex pub_mu_;  // the publisher connection (made by its thread)
  std::condition_variable pub_cv_;  // pub_ made or dropped, pub_stopping_
  redisContext* pub_ ABSL_GUARDED_BY(pub_mu_) = nullptr;
  // The publisher thread's last attempt failed: Publish fails at once.
  bool pub_down_ ABSL_GUARDED_BY(pub_mu_) = false;
  bool pub_stopping_ ABSL_GUARDED_BY(pub_mu_) = false;
  bool pub_failing_ ABSL_GUARDED_BY(pub_mu_) = false;  // for logging

  // Last: they start after everything above exists.
  std::thread thread_;
  std::thread pub_thread_;
};

}  // namespace ssebridge::services::chat

#endif  // SSEBRIDGE_SERVICES_CHAT_BOT_REDIS_ROOM_BUS_H_
