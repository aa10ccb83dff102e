// chat_bot: the demo chat service (chat_form, chat_send, chat_post,
// chat_stream). See chat_service.h. Rooms live in this process by default;
// with --room_bus=redis they live in Redis pub/sub, so every replica sharing
// that Redis serves the same rooms (redis_room_bus.h).
//
//   chat_bot --listen=127.0.0.1:50051 --think_delay=300ms --word_delay=80ms
//   chat_bot --listen=0.0.0.0:50051 --room_bus=redis --redis=redis:6379
//       --redis_password_file=/run/secrets/redis_password
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/redis_connect.h"
#include "common/sdk/sdk.h"
#include "services/chat_bot/chat_service.h"
#include "services/chat_bot/redis_room_bus.h"
#include "services/chat_bot/room_bus.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC address to serve on (host:port; port 0 picks a free one)");
ABSL_FLAG(absl::Duration, think_delay, absl::Milliseconds(300),
          "pause after \"Bot is thinking...\" before the reply");
ABSL_FLAG(absl::Duration, word_delay, absl::Milliseconds(80),
          "pause between the words of the bot's reply");
ABSL_FLAG(std::string, room_bus, "inprocess",
          "where chat rooms live: \"inprocess\" (this process only) or "
          "\"redis\" (shared by every replica using the same --redis)");
ABSL_FLAG(std::string, redis, "127.0.0.1:6379",
          "Redis host:port for --room_bus=redis");
ABSL_FLAG(std::string, redis_channel_prefix,
          "ssebridge:chat:", "Redis pub/sub channel of room R is PREFIX + R");
ABSL_FLAG(std::string, redis_password_file, "",
          "file whose first line is the Redis password (AUTH password) or "
          "\"user password\" (an ACL user); empty = no AUTH");
ABSL_FLAG(absl::Duration, redis_max_backoff, absl::Seconds(5),
          "longest pause between reconnect attempts while Redis is down");

namespace chat = ssebridge::services::chat;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The sse-bridge demo chat service.");
  absl::ParseCommandLine(argc, argv);

  std::unique_ptr<chat::RoomBus> bus;  // outlives the server
  const std::string kind = absl::GetFlag(FLAGS_room_bus);
  if (kind == "inprocess") {
    bus = std::make_unique<chat::InProcessRoomBus>();
  } else if (kind == "redis") {
    chat::RedisRoomBusOptions defaults;
    defaults.channel_prefix = absl::GetFlag(FLAGS_redis_channel_prefix);
    defaults.max_backoff = absl::GetFlag(FLAGS_redis_max_backoff);
    absl::StatusOr<chat::RedisRoomBusOptions> options =
        chat::ParseRedisAddress(absl::GetFlag(FLAGS_redis), defaults);
    if (!options.ok()) {
      spdlog::error("chat_bot: --redis: {}",
                    std::string(options.status().message()));
      return 2;
    }
    if (const std::string path = absl::GetFlag(FLAGS_redis_password_file);
        !path.empty()) {
      ssebridge::redis::RedisEndpoint credentials;
      if (absl::Status s =
              ssebridge::redis::ReadRedisPasswordFile(path, credentials);
          !s.ok()) {
        spdlog::error("chat_bot: --redis_password_file: {}",
                      std::string(s.message()));
        return 2;
      }
      options->user = credentials.user;
      options->password = credentials.password;
    }
    auto redis = std::make_unique<chat::RedisRoomBus>(*options);
    // Serve either way: the bus keeps reconnecting, and until it is up
    // chat_stream/chat_post answer UNAVAILABLE while chat_send still works.
    if (!redis->WaitConnected(options->connect_timeout + absl::Seconds(1))) {
      spdlog::warn("chat_bot: redis {}:{} not reachable yet; serving anyway",
                   options->host, options->port);
    }
    bus = std::move(redis);
  } else {
    spdlog::error("chat_bot: --room_bus must be inprocess or redis, not \"{}\"",
                  kind);
    return 2;
  }

  chat::ChatOptions options;
  options.think_delay = absl::GetFlag(FLAGS_think_delay);
  options.word_delay = absl::GetFlag(FLAGS_word_delay);
  chat::ChatService service(bus.get(), options);

  ssebridge::sdk::ActionServer server;
  service.Register(server);
  absl::Status status = server.Serve(absl::GetFlag(FLAGS_listen));
  if (!status.ok()) {
    spdlog::error("chat_bot: {}", status.ToString());
    return 1;
  }
  return 0;
}
