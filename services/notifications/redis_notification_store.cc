#include "services/notifications/redis_notification_store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace ssebridge::services::notifications {
namespace {

absl::Status Flush(redisContext* ctx) {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(ctx, &done) != REDIS_OK) {
      return absl::UnavailableError(absl::StrCat("write: ", ctx->errstr));
    }
  }
  return absl::OkStatus();
}

absl::Status AppendArgv(redisContext* ctx,
                        const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) != REDIS_OK) {
    return absl::UnavailableError(ctx->errstr);
  }
  return absl::OkStatus();
}

// An entry [id, [field, value, ...]] of XRANGE / XREAD; nullopt if garbled.
std::optional<std::pair<StreamId, FeedEntry>> ParseEntry(const redisReply* e) {
  if (e == nullptr || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[1]->type != REDIS_REPLY_ARRAY) {
    return std::nullopt;
  }
  const absl::string_view id_text = redis::ReplyText(e->element[0]);
  std::optional<StreamId> id = StreamId::Parse(id_text);
  if (!id) return std::nullopt;
  FeedEntry entry;
  entry.id = std::string(id_text);
  const redisReply* fields = e->element[1];
  int64_t micros = 0;
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const absl::string_view name = redis::ReplyText(fields->element[i]);
    const absl::string_view value = redis::ReplyText(fields->element[i + 1]);
    if (name == "text") entry.text = std::string(value);
    if (name == "at") (void)absl::SimpleAtoi(value, &micros);
  }
  entry.time = micros != 0 ? absl::FromUnixMicros(micros)
                           : absl::FromUnixMillis(static_cast<int64_t>(id->ms));
  return std::make_pair(*id, std::move(entry));
}

}  // namespace

std::optional<StreamId> StreamId::Parse(absl::string_view text) {
  auto digits = [](absl::string_view s) {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(),
                       [](char c) { return absl::ascii_isdigit(c); });
  };
  StreamId id;
  const size_t dash = text.find('-');
  const absl::string_view ms = text.substr(0, dash);
  if (!digits(ms) || !absl::SimpleAtoi(ms, &id.ms)) return std::nullopt;
  if (dash != absl::string_view::npos) {
    const absl::string_view seq = text.substr(dash + 1);
    if (!digits(seq) || !absl::SimpleAtoi(seq, &id.seq)) return std::nullopt;
  }
  return id;
}

std::string StreamId::ToString() const { return absl::StrCat(ms, "-", seq); }

RedisNotificationStore::RedisNotificationStore(
    RedisNotificationStoreOptions options)
    : options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wake_fd_ < 0) {
    spdlog::error("notifications redis: eventfd: {} (new users wait for {})",
                  std::strerror(errno),
                  absl::FormatDuration(options_.block_timeout));
  }
  redis::IgnoreSigpipeOnce();
  thread_ = std::thread([this] { Run(); });
  cmd_thread_ = std::thread([this] { RunCommandConnection(); });
}

RedisNotificationStore::~RedisNotificationStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  Wake();
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    cmd_stopping_ = true;
  }
  cmd_cv_.notify_all();
  thread_.join();
  cmd_thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
  std::lock_guard<std::mutex> lock(cmd_mu_);
  if (cmd_ != nullptr) redisFree(cmd_);
}

std::string RedisNotificationStore::Key(absl::string_view user) const {
  return absl::StrCat(options_.key_prefix, user);
}

void RedisNotificationStore::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

bool RedisNotificationStore::SleepUnlessStopping(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                       [this] { return stopping_; });
}

bool RedisNotificationStore::Healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return healthy_;
}

bool RedisNotificationStore::WaitHealthy(absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [this] { return healthy_; });
}

absl::Status RedisNotificationStore::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

size_t RedisNotificationStore::SubscriberCount(absl::string_view user) const {
  std::shared_ptr<User> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return 0;
    state = it->second;
  }
  std::lock_guard<std::mutex> lock(state->mu);
  return state->subscribers.size();
}

void RedisNotificationStore::SetHealthy(bool healthy, absl::Status why) {
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = healthy_ != healthy || !reported_;
    healthy_ = healthy;
    last_error_ = std::move(why);
    reported_ = true;
  }
  cv_.notify_all();
  if (!changed) return;
  if (healthy) {
    spdlog::info("notifications: connected to redis {}",
                 options_.endpoint.ToString());
  } else {
    spdlog::warn("notifications: redis unavailable: {}; retrying",
                 std::string(LastError().message()));
  }
  if (options_.on_health) options_.on_health(healthy);
}

// ------------------------------------------------------------- commands

void RedisNotificationStore::DropCommandLocked() {
  redisFree(cmd_);
  cmd_ = nullptr;
  cmd_cv_.notify_all();  // the connection thread makes a new one
}

void RedisNotificationStore::RunCommandConnection() {
  absl::Duration backoff = options_.min_backoff;
  std::unique_lock<std::mutex> lock(cmd_mu_);
  while (!cmd_stopping_) {
    if (cmd_ != nullptr) {
      // Connected: look again every block_timeout (Redis may close an idle
      // connection), or at once when a caller drops a broken one.
      cmd_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.block_timeout),
                       [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cmd_mu_) {
                         return cmd_stopping_ || cmd_ == nullptr;
                       });
      if (cmd_ != nullptr && !redis::IdleConnectionAlive(cmd_)) {
        DropCommandLocked();
      }
      continue;
    }
    // Connecting may take seconds (the name lookup is not bounded by
    // connect_timeout): without the lock, so callers answer meanwhile.
    lock.unlock();
    absl::StatusOr<redisContext*> c = Connect();
    lock.lock();
    if (c.ok()) {
      if (cmd_stopping_) {
        redisFree(*c);
        break;
      }
      cmd_ = *c;
      cmd_error_ = absl::OkStatus();
      backoff = options_.min_backoff;
      cmd_cv_.notify_all();
      continue;
    }
    ++cmd_failures_;
    cmd_error_ = c.status();
    cmd_wanted_ = false;
    cmd_cv_.notify_all();
    // A caller that needs the connection cuts the backoff short.
    cmd_cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff),
                     [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cmd_mu_) {
                       return cmd_stopping_ || cmd_wanted_;
                     });
    cmd_wanted_ = false;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<std::vector<RedisNotificationStore::ReplyHolder>>
RedisNotificationStore::Pipeline(
    std::unique_lock<std::mutex>& lock,
    const std::vector<std::vector<std::string>>& commands) {
  // Closed by Redis while idle: ask for a new one before using it.
  if (cmd_ != nullptr && !redis::IdleConnectionAlive(cmd_)) {
    DropCommandLocked();
  }
  // Never connect here (see the header): ask the connection thread for an
  // attempt now and wait, bounded, for it to connect or fail.
  if (cmd_ == nullptr) {
    const uint64_t failures = cmd_failures_;
    cmd_wanted_ = true;
    cmd_cv_.notify_all();
    cmd_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.connect_timeout),
                     [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cmd_mu_) {
                       return cmd_ != nullptr || cmd_failures_ != failures ||
                              cmd_stopping_;
                     });
  }
  if (cmd_ == nullptr && !cmd_error_.ok()) return cmd_error_;
  if (cmd_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("not connected to redis ",
                                               options_.endpoint.ToString(),
                                               " (reconnecting)"));
  }
  auto fail = [&](absl::string_view what) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("redis ", options_.endpoint.ToString(), ": ", what, ": ",
                     cmd_->errstr));
    DropCommandLocked();
    return s;
  };
  for (const auto& args : commands) {
    if (!AppendArgv(cmd_, args).ok()) return fail("append");
  }
  std::vector<ReplyHolder> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(cmd_, &reply) != REDIS_OK || reply == nullptr) {
      return fail("command");
    }
    replies.emplace_back(reply, freeReplyObject);
  }
  return replies;
}

absl::StatusOr<FeedEntry> RedisNotificationStore::Append(absl::string_view user,
                                                         std::string text,
                                                         absl::Time time) {
  const std::vector<std::string> xadd = {
      "XADD",
      Key(user),
      "MAXLEN",
      "~",
      absl::StrCat(options_.retention),
      "*",
      "text",
      text,
      "at",
      absl::StrCat(absl::ToUnixMicros(time))};
  std::unique_lock<std::mutex> lock(cmd_mu_);
  absl::StatusOr<std::vector<ReplyHolder>> replies = Pipeline(lock, {xadd});
  if (!replies.ok()) {
    return absl::UnavailableError(absl::StrCat("notifications unavailable: ",
                                               replies.status().message()));
  }
  const auto* r = static_cast<const redisReply*>((*replies)[0].get());
  if (r->type != REDIS_REPLY_STRING) {
    return absl::UnavailableError(
        absl::StrCat("notifications unavailable: XADD: ", redis::ReplyText(r)));
  }
  return FeedEntry{std::string(redis::ReplyText(r)), std::move(text), time};
}

absl::StatusOr<FeedReplay> RedisNotificationStore::PlanReplay(
    const std::string& key, absl::string_view last_event_id, StreamId& seen) {
  // One transaction: the stream's bounds and its entries, consistent.
  std::unique_lock<std::mutex> lock(cmd_mu_);
  absl::StatusOr<std::vector<ReplyHolder>> replies =
      Pipeline(lock, {{"MULTI"},
                      {"XINFO", "STREAM", key},
                      {"XRANGE", key, "-", "+"},
                      {"EXEC"}});
  if (!replies.ok()) return replies.status();
  const auto* exec = static_cast<const redisReply*>((*replies)[3].get());
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
    return absl::UnavailableError(
        absl::StrCat("redis transaction failed: ", redis::ReplyText(exec)));
  }
  StreamId last_generated, max_deleted, first_retained;
  int64_t added = 0, length = 0;
  const redisReply* info = exec->element[0];
  if (info->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i + 1 < info->elements; i += 2) {
      const absl::string_view name = redis::ReplyText(info->element[i]);
      const absl::string_view value = redis::ReplyText(info->element[i + 1]);
      if (name == "last-generated-id") {
        last_generated = StreamId::Parse(value).value_or(StreamId{});
      } else if (name == "max-deleted-entry-id") {
        max_deleted = StreamId::Parse(value).value_or(StreamId{});
      } else if (name == "recorded-first-entry-id") {
        first_retained = StreamId::Parse(value).value_or(StreamId{});
      } else if (name == "entries-added") {
        added = info->element[i + 1]->integer;
      } else if (name == "length") {
        length = info->element[i + 1]->integer;
      }
    }
  } else if (info->type == REDIS_REPLY_ERROR &&
             !absl::StrContains(redis::ReplyText(info), "no such key")) {
    return absl::UnavailableError(
        absl::StrCat("XINFO STREAM: ", redis::ReplyText(info)));
  }  // no such key: an empty stream that never had an entry
  std::vector<std::pair<StreamId, FeedEntry>> entries;
  const redisReply* range = exec->element[1];
  if (range->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < range->elements; ++i) {
      if (auto e = ParseEntry(range->element[i])) entries.push_back(*e);
    }
  }
  seen = last_generated;  // what follows reaches the subscriber live
  FeedReplay replay;
  if (last_event_id.empty()) return replay;
  // Ids we hand out always have the "-SEQ" part: a bare number is another
  // store's (e.g. the in-memory one's before a switch) and resets. "0" is
  // "from the start".
  const std::optional<StreamId> from =
      last_event_id == "0" || absl::StrContains(last_event_id, '-')
          ? StreamId::Parse(last_event_id)
          : std::nullopt;
  // Lost entries after `from`: XDEL records the largest deleted id, but
  // MAXLEN trimming does not (Redis 7.0): when anything was trimmed, an id
  // before the first retained entry may have missed some, so it resets.
  const bool trimmed = added > length;
  replay.reset = !from.has_value() || last_generated < *from ||
                 *from < max_deleted || (trimmed && *from < first_retained);
  for (auto& [id, entry] : entries) {
    if (replay.reset || *from < id) replay.entries.push_back(std::move(entry));
  }
  return replay;
}

// ---------------------------------------------------------- subscribers

NotificationFeed::SubscriberId RedisNotificationStore::Watch(
    absl::string_view user, absl::string_view last_event_id,
    const std::function<void(const FeedReplay&)>& on_replay, LiveHandler live,
    ClosedHandler on_closed) {
  auto unavailable = [&](absl::string_view why) {
    if (on_closed) {
      on_closed(absl::UnavailableError(
          absl::StrCat("notifications unavailable: ", why)));
    }
    return SubscriberId{0};
  };
  std::shared_ptr<User> state;
  SubscriberId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!healthy_) return unavailable(last_error_.message());
    std::shared_ptr<User>& slot = users_[user];
    if (slot == nullptr) slot = std::make_shared<User>();
    state = slot;
    id = next_id_++;
  }
  // Held through the replay: the reader cannot deliver to this user until
  // the subscriber knows what it has seen.
  std::lock_guard<std::mutex> deliver(state->deliver_mu);
  auto sub = std::make_shared<Subscriber>();
  const absl::Time start = absl::Now();
  absl::StatusOr<FeedReplay> replay =
      PlanReplay(Key(user), last_event_id, sub->seen);
  if (const absl::Duration took = absl::Now() - start;
      took > absl::Seconds(1)) {
    spdlog::warn("notifications: reading {}'s history took {}",
                 std::string(user), absl::FormatDuration(took));
  }
  if (!replay.ok()) return unavailable(replay.status().message());
  sub->live = std::move(live);
  sub->on_closed = std::move(on_closed);
  bool first;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    first = state->subscribers.empty();
    if (first) state->read_from = sub->seen;
    state->subscribers.emplace(id, sub);
  }
  if (first) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys_changed_ = true;
    }
    Wake();
  }
  on_replay(*replay);
  return id;
}

void RedisNotificationStore::Unwatch(absl::string_view user, SubscriberId id) {
  std::shared_ptr<User> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    state = it->second;
  }
  std::shared_ptr<Subscriber> dropped;  // destroyed after the lock
  std::lock_guard<std::mutex> lock(state->mu);
  auto it = state->subscribers.find(id);
  if (it == state->subscribers.end()) return;
  dropped = std::move(it->second);
  state->subscribers.erase(it);
}

size_t RedisNotificationStore::CloseAll(const absl::Status& status) {
  std::vector<std::shared_ptr<User>> users;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, state] : users_) users.push_back(state);
  }
  std::vector<std::shared_ptr<Subscriber>> subs;
  for (const auto& state : users) {
    std::lock_guard<std::mutex> deliver(state->deliver_mu);
    std::lock_guard<std::mutex> lock(state->mu);
    for (auto& [id, sub] : state->subscribers) subs.push_back(std::move(sub));
    state->subscribers.clear();
  }
  for (const auto& sub : subs) {
    if (sub->on_closed) sub->on_closed(status);
  }
  return subs.size();
}

// ------------------------------------------------------ the reader thread

absl::StatusOr<redisContext*> RedisNotificationStore::Connect() const {
  const absl::Time start = absl::Now();
  if (options_.before_connect) options_.before_connect();
  absl::StatusOr<redisContext*> c = redis::ConnectRedis(
      options_.endpoint, options_.connect_timeout, options_.command_timeout);
  // The name lookup is not bounded by connect_timeout: say when it was slow.
  if (const absl::Duration took = absl::Now() - start;
      took > options_.connect_timeout) {
    spdlog::warn("notifications: connecting to redis {} took {} ({})",
                 options_.endpoint.ToString(), absl::FormatDuration(took),
                 c.ok() ? "ok" : c.status().ToString());
  }
  return c;
}

void RedisNotificationStore::Run() {
  absl::Duration backoff = options_.min_backoff;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    absl::StatusOr<redisContext*> ctx = Connect();
    long long client_id = -1;
    if (ctx.ok()) {
      auto* r = static_cast<redisReply*>(redisCommand(*ctx, "CLIENT ID"));
      if (r != nullptr && r->type == REDIS_REPLY_INTEGER)
        client_id = r->integer;
      if (r != nullptr) freeReplyObject(r);
      if (r == nullptr) {
        const std::string error = (*ctx)->errstr;
        redisFree(*ctx);  // else its descriptor leaks on every retry
        ctx = absl::UnavailableError(
            absl::StrCat("redis ", options_.endpoint.ToString(), ": ", error));
      }
    }
    if (!ctx.ok()) {
      SetHealthy(false, ctx.status());
      CloseAll(absl::UnavailableError(
          absl::StrCat("notifications unavailable: ", ctx.status().message())));
      if (!SleepUnlessStopping(backoff)) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    // The CLIENT UNBLOCK connection now, not when a new user needs it (see
    // the header). Without it Serve reconnects instead of unblocking.
    absl::StatusOr<redisContext*> unblocker = Connect();
    backoff = options_.min_backoff;
    SetHealthy(true, absl::OkStatus());
    const absl::Status why =
        Serve(*ctx, client_id, unblocker.ok() ? *unblocker : nullptr);
    redisFree(*ctx);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    if (absl::IsAborted(why)) continue;  // a fresh connection, same state
    const absl::Status lost = absl::UnavailableError(
        absl::StrCat("notifications unavailable: redis ",
                     options_.endpoint.ToString(), ": ", why.message()));
    SetHealthy(false, lost);
    const size_t ended = CloseAll(lost);
    spdlog::warn(
        "notifications: redis connection lost ({}); ended {} stream(s)",
        std::string(why.message()), ended);
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  std::lock_guard<std::mutex> lock(mu_);
  healthy_ = false;
}

absl::Status RedisNotificationStore::Serve(redisContext* ctx,
                                           long long client_id,
                                           redisContext* unblocker) {
  const int64_t block_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.block_timeout));
  struct Cleanup {
    redisContext*& c;
    ~Cleanup() {
      if (c != nullptr) redisFree(c);
    }
  } cleanup{unblocker};
  bool in_flight = false, is_xread = false, unblock_sent = false;
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time next_ping = absl::Now();
  while (true) {
    std::vector<std::string> keys, ids;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return absl::CancelledError("stopping");
      if (!in_flight) {
        keys_changed_ = false;
        for (auto it = users_.begin(); it != users_.end();) {
          std::shared_ptr<User>& state = it->second;
          std::lock_guard<std::mutex> user_lock(state->mu);
          if (!state->subscribers.empty()) {
            keys.push_back(Key(it->first));
            ids.push_back(state->read_from.ToString());
          } else if (state.use_count() == 1) {
            // Nobody else holds it (under mu_ nobody can take it): forget.
            users_.erase(it++);
            continue;
          }
          ++it;
        }
      }
    }
    const absl::Time now = absl::Now();
    if (!in_flight && !keys.empty()) {
      std::vector<std::string> args = {
          "XREAD", "COUNT", "1000", "BLOCK", absl::StrCat(block_ms), "STREAMS"};
      args.insert(args.end(), keys.begin(), keys.end());
      args.insert(args.end(), ids.begin(), ids.end());
      if (absl::Status s = AppendArgv(ctx, args); !s.ok()) return s;
      if (absl::Status s = Flush(ctx); !s.ok()) return s;
      in_flight = is_xread = true;
      deadline = now + options_.block_timeout + options_.command_timeout;
    } else if (!in_flight && now >= next_ping) {
      if (absl::Status s = AppendArgv(ctx, {"PING"}); !s.ok()) return s;
      if (absl::Status s = Flush(ctx); !s.ok()) return s;
      in_flight = true;
      is_xread = false;
      deadline = now + options_.command_timeout;
      next_ping = now + options_.block_timeout;
    }
    const absl::Time until = in_flight ? deadline : next_ping;
    const int wait_ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(until - now) + 1, 1, 60'000));
    pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(fds, wake_fd_ >= 0 ? 2 : 1, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (wake_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof(count));
      bool changed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        changed = keys_changed_;
      }
      if (changed && in_flight && is_xread && !unblock_sent) {
        // Interrupt the XREAD so that it is sent again with the new key.
        bool unblocked = false;
        // Never connect here: that could outlast the XREAD's deadline.
        if (unblocker != nullptr && !redis::IdleConnectionAlive(unblocker)) {
          redisFree(unblocker);
          unblocker = nullptr;
        }
        if (unblocker != nullptr && client_id >= 0) {
          const std::string id = absl::StrCat(client_id);
          auto* r = static_cast<redisReply*>(
              redisCommand(unblocker, "CLIENT UNBLOCK %s", id.c_str()));
          unblocked = r != nullptr && r->type == REDIS_REPLY_INTEGER;
          if (r == nullptr) {
            redisFree(unblocker);
            unblocker = nullptr;
          } else {
            freeReplyObject(r);
          }
        }
        // Not allowed (ACL) or no unblocker: a fresh connection instead.
        if (!unblocked) {
          spdlog::info(
              "notifications: new user while reading; reconnecting to "
              "read its stream too (CLIENT UNBLOCK {})",
              unblocker == nullptr ? "has no connection" : "refused");
          return absl::AbortedError("re-issue XREAD");
        }
        unblock_sent = true;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (redisBufferRead(ctx) != REDIS_OK) {
        return absl::UnavailableError(ctx->errstr);
      }
      while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
          return absl::UnavailableError(ctx->errstr);
        }
        if (raw == nullptr) break;
        ReplyHolder reply(raw, freeReplyObject);
        const auto* r = static_cast<const redisReply*>(raw);
        if (r->type == REDIS_REPLY_ERROR) {
          return absl::UnavailableError(
              absl::StrCat("redis replied: ", redis::ReplyText(r)));
        }
        if (is_xread) Deliver(raw);
        in_flight = false;
        unblock_sent = false;
      }
      continue;
    }
    if (in_flight && absl::Now() > deadline) {
      return absl::DeadlineExceededError(is_xread ? "no reply to XREAD in time"
                                                  : "no reply to PING in time");
    }
  }
}

void RedisNotificationStore::Deliver(void* raw) {
  const auto* reply = static_cast<const redisReply*>(raw);
  if (reply->type != REDIS_REPLY_ARRAY) return;  // nil: timeout / unblocked
  for (size_t s = 0; s < reply->elements; ++s) {
    const redisReply* stream = reply->element[s];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
        stream->element[1]->type != REDIS_REPLY_ARRAY) {
      continue;
    }
    const absl::string_view key = redis::ReplyText(stream->element[0]);
    if (!absl::StartsWith(key, options_.key_prefix)) continue;
    const absl::string_view user = key.substr(options_.key_prefix.size());
    std::shared_ptr<User> state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = users_.find(user);
      if (it == users_.end()) continue;
      state = it->second;
    }
    std::lock_guard<std::mutex> deliver(state->deliver_mu);
    std::vector<std::pair<SubscriberId, std::shared_ptr<Subscriber>>> subs;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      subs.assign(state->subscribers.begin(), state->subscribers.end());
    }
    std::vector<SubscriberId> dropped;
    StreamId last;
    const redisReply* entries = stream->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      std::optional<std::pair<StreamId, FeedEntry>> e =
          ParseEntry(entries->element[i]);
      if (!e) continue;
      last = e->first;
      for (auto& [id, sub] : subs) {
        if (sub == nullptr || !(sub->seen < e->first)) continue;
        sub->seen = e->first;
        if (!sub->live(e->second)) {
          dropped.push_back(id);
          sub = nullptr;
        }
      }
    }
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->read_from < last) state->read_from = last;
    for (SubscriberId id : dropped) state->subscribers.erase(id);
  }
}

}  // namespace ssebridge::services::notifications
