#include "services/chat_bot/redis_room_bus.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis/redis_connect.h"
#include "spdlog/spdlog.h"

namespace ssebridge::services::chat {
namespace {

std::string Endpoint(const RedisRoomBusOptions& o) {
  return absl::StrCat(o.host, ":", o.port);
}

// A connected, authenticated context with `io_timeout` on each read and
// write, or why not.
absl::StatusOr<redisContext*> Connect(const RedisRoomBusOptions& o,
                                      absl::Duration io_timeout) {
  if (o.before_connect) o.before_connect();
  redis::RedisEndpoint endpoint;
  endpoint.host = o.host;
  endpoint.port = o.port;
  endpoint.user = o.user;
  endpoint.password = o.password;
  return redis::ConnectRedis(endpoint, o.connect_timeout, io_timeout);
}

// Writes everything appended to the context.
absl::Status Flush(redisContext* ctx) {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(ctx, &done) != REDIS_OK) {
      return absl::UnavailableError(absl::StrCat("write: ", ctx->errstr));
    }
  }
  return absl::OkStatus();
}

absl::string_view ReplyString(const redisReply* r) {
  if (r == nullptr ||
      (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) {
    return {};
  }
  return absl::string_view(r->str, r->len);
}

}  // namespace

absl::StatusOr<RedisRoomBusOptions> ParseRedisAddress(
    absl::string_view address, RedisRoomBusOptions base) {
  absl::string_view host = address;
  absl::string_view port_text;
  if (absl::StartsWith(address, "[")) {  // [::1]:6379
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad redis address \"", address, "\""));
    }
    host = address.substr(1, close - 1);
    absl::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        return absl::InvalidArgumentError(
            absl::StrCat("bad redis address \"", address, "\""));
      }
      port_text = rest.substr(1);
    }
  } else if (const size_t colon = address.rfind(':');
             colon != absl::string_view::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 6379;
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad port in redis address \"", address, "\""));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no host in redis address \"", address, "\""));
  }
  base.host = std::string(host);
  base.port = port;
  return base;
}

std::string RedisRoomBus::EncodeMessage(const ChatMessage& message) {
  return absl::StrCat("1 ", message.from_bot ? 1 : 0, " ",
                      absl::ToUnixMicros(message.time), " ",
                      message.user.size(), "\n", message.user, message.text);
}

std::optional<ChatMessage> RedisRoomBus::DecodeMessage(
    absl::string_view room, absl::string_view payload) {
  const size_t nl = payload.find('\n');
  if (nl == absl::string_view::npos) return std::nullopt;
  const std::vector<absl::string_view> head =
      absl::StrSplit(payload.substr(0, nl), ' ');
  const absl::string_view body = payload.substr(nl + 1);
  int64_t micros = 0;
  size_t user_size = 0;
  if (head.size() != 4 || head[0] != "1" ||
      (head[1] != "0" && head[1] != "1") ||
      !absl::SimpleAtoi(head[2], &micros) ||
      !absl::SimpleAtoi(head[3], &user_size) || user_size > body.size()) {
    return std::nullopt;
  }
  ChatMessage message;
  message.room = std::string(room);
  message.from_bot = head[1] == "1";
  message.time = absl::FromUnixMicros(micros);
  message.user = std::string(body.substr(0, user_size));
  message.text = std::string(body.substr(user_size));
  return message;
}

RedisRoomBus::RedisRoomBus(RedisRoomBusOptions options)
    : options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wake_fd_ < 0) {
    spdlog::error("redis room bus: eventfd: {} (new rooms wait for a PING)",
                  std::strerror(errno));
  }
  redis::IgnoreSigpipeOnce();
  thread_ = std::thread([this] { Run(); });
  pub_thread_ = std::thread([this] { RunPublisher(); });
}

RedisRoomBus::~RedisRoomBus() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  Wake();
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_stopping_ = true;
  }
  pub_cv_.notify_all();
  thread_.join();
  pub_thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
  std::lock_guard<std::mutex> lock(pub_mu_);
  if (pub_ != nullptr) redisFree(pub_);
}

std::string RedisRoomBus::Channel(absl::string_view room) const {
  return absl::StrCat(options_.channel_prefix, room);
}

void RedisRoomBus::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  // EAGAIN (counter saturated) still leaves it readable: nothing to do.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

bool RedisRoomBus::SleepUnlessStopping(absl::Duration duration) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoNanoseconds(duration),
                       [this] { return stopping_; });
}

// ---------------------------------------------------------------- publish

bool RedisRoomBus::Publish(const ChatMessage& message) {
  const absl::Status status = PublishOrError(message);
  std::lock_guard<std::mutex> lock(pub_mu_);
  if (status.ok()) {
    if (pub_failing_) {
      spdlog::info("redis room bus: publishing to {} again",
                   Endpoint(options_));
    }
    pub_failing_ = false;
    return true;
  }
  if (!pub_failing_) {
    spdlog::warn("redis room bus: cannot publish: {}",
                 std::string(status.message()));
  }
  pub_failing_ = true;
  return false;
}

absl::Status RedisRoomBus::PublishOrError(const ChatMessage& message) {
  const std::string channel = Channel(message.room);
  const std::string payload = EncodeMessage(message);
  const char* argv[] = {"PUBLISH", channel.data(), payload.data()};
  const size_t lengths[] = {7, channel.size(), payload.size()};

  std::unique_lock<std::mutex> lock(pub_mu_);
  // Closed by Redis while idle: ask for a new one before using it.
  if (pub_ != nullptr && !redis::IdleConnectionAlive(pub_)) {
    DropPublisherLocked();
  }
  // Never connect here (see the header): wait, bounded, for the publisher
  // thread, unless its last attempt failed (Redis down: fail at once).
  if (pub_ == nullptr && !pub_down_) {
    pub_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.connect_timeout),
                     [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu_) {
                       return pub_ != nullptr || pub_down_ || pub_stopping_;
                     });
  }
  if (pub_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("chat rooms unavailable: not connected to redis ",
                     Endpoint(options_), " (reconnecting)"));
  }
  auto* reply =
      static_cast<redisReply*>(redisCommandArgv(pub_, 3, argv, lengths));
  if (reply == nullptr) {
    // Broken (Redis restarted, or no reply within command_timeout): the
    // publisher thread makes a new one.
    const std::string error = pub_->errstr;
    DropPublisherLocked();
    return absl::UnavailableError(absl::StrCat(
        "chat rooms unavailable: redis ", Endpoint(options_), ": ", error));
  }
  absl::Status status = absl::OkStatus();
  if (reply->type == REDIS_REPLY_ERROR) {
    status = absl::UnavailableError(
        absl::StrCat("chat rooms unavailable: redis: ", ReplyString(reply)));
  }
  freeReplyObject(reply);
  return status;
}

void RedisRoomBus::DropPublisherLocked() {
  redisFree(pub_);
  pub_ = nullptr;
  pub_cv_.notify_all();
}

void RedisRoomBus::RunPublisher() {
  absl::Duration backoff = options_.min_backoff;
  std::unique_lock<std::mutex> lock(pub_mu_);
  while (!pub_stopping_) {
    if (pub_ != nullptr) {
      // Connected: look again every ping_interval (an idle publisher may be
      // closed by Redis), or at once when Publish drops it.
      pub_cv_.wait_for(lock,
                       absl::ToChronoNanoseconds(options_.ping_interval),
                       [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu_) {
                         return pub_stopping_ || pub_ == nullptr;
                       });
      if (pub_ != nullptr && !redis::IdleConnectionAlive(pub_)) {
        DropPublisherLocked();
      }
      continue;
    }
    // Connecting may take seconds (name lookup): without the lock, so that
    // Publish answers (or waits, bounded) meanwhile.
    lock.unlock();
    absl::StatusOr<redisContext*> ctx =
        Connect(options_, options_.command_timeout);
    lock.lock();
    if (ctx.ok()) {
      pub_ = *ctx;
      pub_down_ = false;
      backoff = options_.min_backoff;
      pub_cv_.notify_all();
      continue;
    }
    // Publish logs the outage (once); the subscriber side notices too.
    pub_down_ = true;
    pub_cv_.notify_all();
    pub_cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff),
                     [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu_) {
                       return pub_stopping_;
                     });
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

// ------------------------------------------------------------- subscribers

RoomBus::SubscriberId RedisRoomBus::Subscribe(absl::string_view room,
                                              Handler handler,
                                              ClosedHandler on_closed) {
  auto sub = std::make_shared<const Subscription>(
      Subscription{std::move(handler), std::move(on_closed)});
  bool new_room = false;
  SubscriberId id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (connected_ && !stopping_) {
      id = next_id_++;
      SubscriptionMap& subs = rooms_[room];
      new_room = subs.empty();
      subs.emplace(id, std::move(sub));
      ++total_;
    }
  }
  if (id == 0) {  // 0 is never a valid id: Unsubscribe(room, 0) is a no-op
    if (sub->on_closed) {
      sub->on_closed(absl::UnavailableError(
          absl::StrCat("chat rooms unavailable: not connected to redis ",
                       Endpoint(options_))));
    }
    return 0;
  }
  if (new_room) Wake();
  return id;
}

void RedisRoomBus::Unsubscribe(absl::string_view room, SubscriberId id) {
  std::shared_ptr<const Subscription> dropped;  // destroyed after the lock
  bool room_emptied = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    auto sub = it->second.find(id);
    if (sub == it->second.end()) return;
    dropped = std::move(sub->second);
    it->second.erase(sub);
    --total_;
    if (it->second.empty()) {
      rooms_.erase(it);
      room_emptied = true;
    }
  }
  if (room_emptied) Wake();
}

bool RedisRoomBus::Connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

bool RedisRoomBus::WaitConnected(absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [this] { return connected_; });
}

bool RedisRoomBus::RoomReady(absl::string_view room) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ready_.find(room);
  return it != ready_.end() && it->second;
}

bool RedisRoomBus::WaitRoomReady(absl::string_view room,
                                 absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    auto it = ready_.find(room);
    return it != ready_.end() && it->second;
  });
}

size_t RedisRoomBus::SubscriberCount(absl::string_view room) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.size();
}

size_t RedisRoomBus::TotalSubscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

uint64_t RedisRoomBus::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

// --------------------------------------------------------- the bus thread

void RedisRoomBus::Run() {
  absl::Duration backoff = options_.min_backoff;
  bool reported_down = false;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    // The subscriber connection (the publisher's is its own thread's).
    absl::StatusOr<redisContext*> ctx =
        Connect(options_, options_.command_timeout);
    if (!ctx.ok()) {
      if (!reported_down) {
        spdlog::warn("redis room bus: {}; retrying (backoff up to {})",
                     std::string(ctx.status().message()),
                     absl::FormatDuration(options_.max_backoff));
        reported_down = true;
      }
      if (!SleepUnlessStopping(backoff)) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    backoff = options_.min_backoff;
    reported_down = false;
    channels_.clear();
    awaiting_pong_ = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      connected_ = true;
      ++connections_;
      ready_.clear();
    }
    cv_.notify_all();
    spdlog::info("redis room bus: connected to {}", Endpoint(options_));

    const absl::Status why = Serve(*ctx);
    redisFree(*ctx);
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
    }
    if (stopping) break;
    const size_t ended = CloseAll(absl::UnavailableError(
        absl::StrCat("chat rooms unavailable: redis ", Endpoint(options_), ": ",
                     why.message())));
    spdlog::warn(
        "redis room bus: connection to {} lost ({}); ended {} "
        "subscription(s), reconnecting",
        Endpoint(options_), std::string(why.message()), ended);
    reported_down = true;
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  std::lock_guard<std::mutex> lock(mu_);
  connected_ = false;
  ready_.clear();
}

absl::Status RedisRoomBus::Serve(redisContext* ctx) {
  absl::Time next_ping = absl::Now() + options_.ping_interval;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return absl::CancelledError("stopping");
    }
    if (absl::Status s = Reconcile(ctx); !s.ok()) return s;

    const absl::Time now = absl::Now();
    if (now >= next_ping) {
      if (awaiting_pong_) {
        return absl::DeadlineExceededError(
            absl::StrCat("no reply to PING within ",
                         absl::FormatDuration(options_.ping_interval)));
      }
      redisAppendCommand(ctx, "PING");
      if (absl::Status s = Flush(ctx); !s.ok()) return s;
      awaiting_pong_ = true;
      next_ping = now + options_.ping_interval;
    }
    const int64_t wait_ms = std::clamp<int64_t>(
        absl::ToInt64Milliseconds(next_ping - now) + 1, 1,
        60'000);
    pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(fds, 2, static_cast<int>(wait_ms));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof(count));
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    if (redisBufferRead(ctx) != REDIS_OK) {
      return absl::UnavailableError(ctx->errstr);
    }
    while (true) {
      void* reply = nullptr;
      if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
        return absl::UnavailableError(ctx->errstr);
      }
      if (reply == nullptr) break;
      const absl::Status s = HandleReply(reply);
      freeReplyObject(reply);
      if (!s.ok()) return s;
    }
  }
}

absl::Status RedisRoomBus::Reconcile(redisContext* ctx) {
  std::vector<std::string> subscribe;
  std::vector<std::string> unsubscribe;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [room, subs] : rooms_) {
      auto it = channels_.find(room);
      if (it == channels_.end() || !it->second.subscribed) {
        subscribe.push_back(room);
      }
    }
    for (const auto& [room, state] : channels_) {
      if (state.subscribed && !rooms_.contains(room)) {
        unsubscribe.push_back(room);
        ready_.erase(room);
      }
    }
  }
  auto append = [&](const char* command, const std::vector<std::string>& rooms,
                    bool subscribed) {
    if (rooms.empty()) return REDIS_OK;
    std::vector<std::string> channels;
    channels.reserve(rooms.size());
    std::vector<const char*> argv = {command};
    std::vector<size_t> lengths = {std::strlen(command)};
    for (const std::string& room : rooms) {
      channels.push_back(Channel(room));
      argv.push_back(channels.back().data());
      lengths.push_back(channels.back().size());
      ChannelState& state = channels_[room];
      state.subscribed = subscribed;
      ++state.pending;
    }
    return redisAppendCommandArgv(ctx, static_cast<int>(argv.size()),
                                  argv.data(), lengths.data());
  };
  if (append("SUBSCRIBE", subscribe, true) != REDIS_OK ||
      append("UNSUBSCRIBE", unsubscribe, false) != REDIS_OK) {
    return absl::UnavailableError(ctx->errstr);
  }
  if (subscribe.empty() && unsubscribe.empty()) return absl::OkStatus();
  return Flush(ctx);
}

absl::Status RedisRoomBus::HandleReply(void* raw) {
  const auto* reply = static_cast<const redisReply*>(raw);
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("redis replied: ", ReplyString(reply)));
  }
  // PING's reply is ["pong", ""] while the connection has subscriptions and a
  // plain +PONG when it has none (an idle bus, or after the last
  // UNSUBSCRIBE): both answer the PING.
  if (reply->type == REDIS_REPLY_STATUS) {
    if (absl::EqualsIgnoreCase(ReplyString(reply), "pong")) {
      awaiting_pong_ = false;
    }
    return absl::OkStatus();
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
    return absl::OkStatus();
  }
  const absl::string_view kind = ReplyString(reply->element[0]);
  if (kind == "pong") {
    awaiting_pong_ = false;
    return absl::OkStatus();
  }
  if (reply->elements < 2) return absl::OkStatus();
  const absl::string_view channel = ReplyString(reply->element[1]);
  if (!absl::StartsWith(channel, options_.channel_prefix)) {
    return absl::OkStatus();
  }
  const std::string room(channel.substr(options_.channel_prefix.size()));
  if (kind == "message" && reply->elements == 3) {
    std::optional<ChatMessage> message =
        DecodeMessage(room, ReplyString(reply->element[2]));
    if (!message) {
      spdlog::debug("redis room bus: undecodable message on {} dropped",
                    std::string(channel));
      return absl::OkStatus();
    }
    Deliver(room, *message);
  } else if (kind == "subscribe" || kind == "unsubscribe") {
    // Replies come in command order: when none is outstanding, the room's
    // state on the server is the last one sent.
    auto it = channels_.find(room);
    if (it == channels_.end()) return absl::OkStatus();
    if (it->second.pending > 0) --it->second.pending;
    const bool ready = it->second.subscribed && it->second.pending == 0;
    if (it->second.pending == 0 && !it->second.subscribed) {
      channels_.erase(it);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ready) {
        ready_[room] = true;
      } else {
        ready_.erase(room);
      }
    }
    if (ready) cv_.notify_all();
  }
  return absl::OkStatus();
}

void RedisRoomBus::Deliver(const std::string& room,
                           const ChatMessage& message) {
  std::vector<std::shared_ptr<const Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    subs.reserve(it->second.size());
    for (const auto& [id, sub] : it->second) subs.push_back(sub);
  }
  // No lock held: a handler may Unsubscribe.
  for (const auto& sub : subs) sub->handler(message);
}

size_t RedisRoomBus::CloseAll(const absl::Status& status) {
  std::vector<std::shared_ptr<const Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = false;
    ready_.clear();
    for (auto& [room, room_subs] : rooms_) {
      for (auto& [id, sub] : room_subs) subs.push_back(std::move(sub));
    }
    rooms_.clear();
    total_ = 0;
  }
  for (const auto& sub : subs) {
    if (sub->on_closed) sub->on_closed(status);
  }
  return subs.size();
}

}  // namespace ssebridge::services::chat
