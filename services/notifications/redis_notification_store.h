// RedisNotificationStore: the NotificationFeed (notification_feed.h) in
// Redis Streams (hiredis), so notifications survive a restart or a crash of
// the service and every replica sharing the Redis sees the same history.
//
//  - One stream per user, key `key_prefix + user` (default
//    "ssebridge:notif:kim"); an entry has the fields `text` and `at` (unix
//    microseconds). Append is `XADD key MAXLEN ~ retention * text .. at ..`;
//    the SSE id is the entry id ("1712345678901-0").
//  - Watch with a Last-Event-ID reads, in one MULTI/EXEC, XINFO STREAM (the
//    last id ever generated and the largest id ever trimmed) and XRANGE
//    after that id: an id after the last generated one, older than what was
//    trimmed, or not of the form MS-SEQ ("0" = from the start) gets
//    reset = true and the retained
//    history; else the entries after it. The replay runs on a command
//    connection under the user's delivery lock, so the live reader cannot
//    overtake it; each subscriber keeps the id it has seen last and never
//    gets an entry twice.
//  - Live: one reader thread with its own connection runs `XREAD BLOCK`
//    over the streams of every user with local subscribers (no polling).
//    When a user's first local subscriber arrives, the thread interrupts its
//    XREAD with CLIENT UNBLOCK (from a second connection, made together with
//    the reader's own: never at that moment, as connecting includes a host
//    name lookup that a lost DNS reply stalls for 5 s per try, longer than
//    the XREAD's deadline; if the ACL user may not unblock, or that
//    connection broke, it reconnects instead) and re-issues it with the new
//    key.
//  - Redis down: Append and Watch fail with UNAVAILABLE, and when the
//    reader's connection breaks (or stops answering within block_timeout +
//    command_timeout), every subscription is ended through its
//    ClosedHandler with UNAVAILABLE. The reader reconnects with exponential
//    backoff; Healthy()/the health callback say whether it is connected.
//  - Append sends XADD once: if the connection breaks after sending, the
//    result is UNAVAILABLE though Redis may have stored it (never twice).
//  - The command connection (Append, the replay of Watch) is made and kept
//    by its own thread, never on the caller's: it connects at start, looks
//    at an idle connection every block_timeout (Redis may have closed it)
//    and replaces a broken one at once. A caller that finds none asks for an
//    attempt now (cutting a backoff short) and waits for it at most
//    connect_timeout, then gets UNAVAILABLE.
//
// Watch and Append block for at most connect_timeout plus a Redis round
// trip (command_timeout); a Watch while the reader is known to be
// disconnected fails at once.
//
// Thread-safety: every method may be called from any thread. Live handlers
// and ClosedHandlers run on the reader thread (or inside Watch); the health
// callback runs on the reader thread.
#ifndef SSEBRIDGE_SERVICES_NOTIFICATIONS_REDIS_NOTIFICATION_STORE_H_
#define SSEBRIDGE_SERVICES_NOTIFICATIONS_REDIS_NOTIFICATION_STORE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/redis_connect.h"
#include "services/notifications/notification_feed.h"

struct redisContext;

namespace ssebridge::services::notifications {

struct RedisNotificationStoreOptions {
  redis::RedisEndpoint endpoint;
  std::string key_prefix = "ssebridge:notif:";
  // Entries kept per user (XADD MAXLEN ~: Redis may keep a few more).
  size_t retention = 200;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  // How long one XREAD blocks (and, with no subscribers, the PING period):
  // also how soon a silent dead connection is noticed (+ command_timeout).
  absl::Duration block_timeout = absl::Seconds(5);
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Called on the reader thread when it connects (true) or loses Redis
  // (false); e.g. to set the gRPC health status.
  std::function<void(bool healthy)> on_health;
  // Tests: called on the connecting thread before each connection attempt
  // (e.g. to make connecting as slow as a lost DNS reply makes it).
  std::function<void()> before_connect;
};

// A stream entry id "MS-SEQ" (or "MS", SEQ 0), ordered.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  static std::optional<StreamId> Parse(absl::string_view text);
  std::string ToString() const;
  friend bool operator<(const StreamId& a, const StreamId& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
  }
  friend bool operator==(const StreamId& a, const StreamId& b) {
    return a.ms == b.ms && a.seq == b.seq;
  }
};

class RedisNotificationStore final : public NotificationFeed {
 public:
  // Starts the reader thread, which connects in the background (see
  // WaitHealthy). Never fails: an unreachable Redis is retried forever.
  explicit RedisNotificationStore(RedisNotificationStoreOptions options);
  // Stops the thread; open subscriptions are dropped without ClosedHandler.
  ~RedisNotificationStore() override;
  RedisNotificationStore(const RedisNotificationStore&) = delete;
  RedisNotificationStore& operator=(const RedisNotificationStore&) = delete;

  absl::StatusOr<FeedEntry> Append(absl::string_view user, std::string text,
                                   absl::Time time) override;
  SubscriberId Watch(absl::string_view user, absl::string_view last_event_id,
                     const std::function<void(const FeedReplay&)>& on_replay,
                     LiveHandler live, ClosedHandler on_closed) override;
  void Unwatch(absl::string_view user, SubscriberId id) override;

  // Whether the reader is connected to Redis.
  bool Healthy() const;
  bool WaitHealthy(absl::Duration timeout) const;
  // Why the last connection attempt failed (OK when connected).
  absl::Status LastError() const;
  size_t SubscriberCount(absl::string_view user) const;
  // The Redis key of a user's stream.
  std::string Key(absl::string_view user) const;

 private:
  struct Subscriber {
    LiveHandler live;
    ClosedHandler on_closed;
    StreamId seen;  // guarded by the user's deliver_mu
  };
  // Lock order: deliver_mu, then the store's mu_, then mu.
  struct User {
    // Held while replaying or delivering, so the two never interleave.
    std::mutex deliver_mu;
    std::mutex mu;
    absl::flat_hash_map<SubscriberId, std::shared_ptr<Subscriber>> subscribers
        ABSL_GUARDED_BY(mu);
    // Where the reader continues XREAD for this user.
    StreamId read_from ABSL_GUARDED_BY(mu);
  };

  using ReplyHolder = std::unique_ptr<void, void (*)(void*)>;
  // Commands sent together on the shared command connection (connecting
  // first if needed); one reply each. Never retried: UNAVAILABLE once sent.
  // `lock` holds cmd_mu_; Pipeline may wait on it for the connection.
  absl::StatusOr<std::vector<ReplyHolder>> Pipeline(
      std::unique_lock<std::mutex>& lock,
      const std::vector<std::vector<std::string>>& commands)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cmd_mu_);
  // The command connection's thread (see above).
  void RunCommandConnection();
  void DropCommandLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cmd_mu_);
  absl::StatusOr<FeedReplay> PlanReplay(const std::string& key,
                                        absl::string_view last_event_id,
                                        StreamId& seen);
  void Run();
  // Serves the reader connection `ctx` until it fails; `unblocker` (may be
  // null) is the second connection, for CLIENT UNBLOCK; Serve frees it.
  absl::Status Serve(redisContext* ctx, long long client_id,
                     redisContext* unblocker);
  absl::StatusOr<redisContext*> Connect() const;
  void Deliver(void* reply);
  size_t CloseAll(const absl::Status& status);
  void SetHealthy(bool healthy, absl::Status why);
  void Wake();
  bool SleepUnlessStopping(absl::Duration d);

  const RedisNotificationStoreOptions options_;
  const int wake_fd_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool healthy_ ABSL_GUARDED_BY(mu_) = false;
  bool reported_ ABSL_GUARDED_BY(mu_) = false;  // the first state is logged
  absl::Status last_error_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("not connected yet");
  // Users with local subscribers (the reader forgets idle ones).
  absl::flat_hash_map<std::string, std::shared_ptr<User>> users_
      ABSL_GUARDED_BY(mu_);
  bool keys_changed_ ABSL_GUARDED_BY(mu_) = false;
  SubscriberId next_id_ ABSL_GUARDED_BY(mu_) = 1;

  std::mutex cmd_mu_;
  std::condition_variable cmd_cv_;  // cmd_, cmd_failures_, the flags changed
  redisContext* cmd_ ABSL_GUARDED_BY(cmd_mu_) = nullptr;
  // Failed connect attempts so far; a caller waits for the next attempt.
  uint64_t cmd_failures_ ABSL_GUARDED_BY(cmd_mu_) = 0;
  absl::Status cmd_error_ ABSL_GUARDED_BY(cmd_mu_);  // of the last failure
  bool cmd_wanted_ ABSL_GUARDED_BY(cmd_mu_) = false;  // retry now
  bool cmd_stopping_ ABSL_GUARDED_BY(cmd_mu_) = false;

  std::thread thread_;  // last two: start after the members above
  std::thread cmd_thread_;
};

}  // namespace ssebridge::services::notifications

#endif  // SSEBRIDGE_SERVICES_NOTIFICATIONS_REDIS_NOTIFICATION_STORE_H_
