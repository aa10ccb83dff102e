// notifications: per-user notifications with resume (Last-Event-ID). See
// notifications_service.h. History lives in this process by default; with
// --redis it lives in Redis Streams (redis_notification_store.h), so it
// survives restarts and is shared by replicas.
//
//   notifications --listen=127.0.0.1:50052 --history=200 --demo_interval=3s
//       --max_users=100000
//   notifications --listen=0.0.0.0:50052 --redis=redis:6379
//       --redis_password_file=/run/secrets/redis_password
#include <signal.h>

#include <memory>
#include <mutex>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/redis/redis_connect.h"
#include "common/sdk/sdk.h"
#include "services/notifications/notification_store.h"
#include "services/notifications/notifications_service.h"
#include "services/notifications/redis_notification_store.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "gRPC address to serve on (host:port; port 0 picks a free one)");
ABSL_FLAG(int32_t, history, 200,
          "retention: notifications kept per user for replay after a "
          "reconnect (with --redis: XADD MAXLEN ~ this, so Redis may keep a "
          "few more)");
ABSL_FLAG(int32_t, max_users, 100000,
          "in memory only: users whose history is kept; past it the least "
          "recently used user with no open stream is forgotten");
ABSL_FLAG(absl::Duration, demo_interval, absl::ZeroDuration(),
          "post a generated notification to user \"demo\" this often "
          "(0 = off); a user signed in with subject \"demo\" (e.g. the "
          "frontend's dev login) sees them");
ABSL_FLAG(std::string, redis, "",
          "Redis host:port keeping the history in Redis Streams (shared by "
          "replicas, kept across restarts); empty = in this process's memory");
ABSL_FLAG(std::string, redis_password_file, "",
          "file whose first line is the Redis password (AUTH password) or "
          "\"user password\" (an ACL user); empty = no AUTH");
ABSL_FLAG(std::string, redis_key_prefix, "ssebridge:notif:",
          "user U's notifications are the Redis Stream PREFIX + U");
ABSL_FLAG(absl::Duration, redis_max_backoff, absl::Seconds(5),
          "longest pause between reconnect attempts while Redis is down");

namespace n = ::ssebridge::services::notifications;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The sse-bridge demo notifications service.");
  absl::ParseCommandLine(argc, argv);

  // Wait for SIGINT/SIGTERM with sigwait: block them before any thread
  // starts (the Redis reader, the demo), so those threads never take them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const int32_t history = absl::GetFlag(FLAGS_history);
  if (history < 1) {
    spdlog::error("notifications: --history must be at least 1");
    return 1;
  }
  const int32_t max_users = absl::GetFlag(FLAGS_max_users);
  if (max_users < 1) {
    spdlog::error("notifications: --max_users must be at least 1");
    return 1;
  }

  // The gRPC health status follows the Redis connection (the frontend's
  // /readyz shows it): set from the store's reader thread.
  std::mutex health_mu;
  grpc::HealthCheckServiceInterface* health = nullptr;  // guarded by health_mu
  bool healthy = false;                                 // guarded by health_mu

  std::unique_ptr<n::NotificationFeed> feed;
  n::RedisNotificationStore* redis_store = nullptr;
  const std::string redis_address = absl::GetFlag(FLAGS_redis);
  if (redis_address.empty()) {
    feed = std::make_unique<n::NotificationStore>(
        static_cast<size_t>(history), static_cast<size_t>(max_users));
  } else {
    n::RedisNotificationStoreOptions options;
    absl::StatusOr<ssebridge::redis::RedisEndpoint> endpoint =
        ssebridge::redis::ParseRedisEndpoint(redis_address);
    if (!endpoint.ok()) {
      spdlog::error("notifications: --redis: {}",
                    std::string(endpoint.status().message()));
      return 2;
    }
    options.endpoint = *endpoint;
    if (const std::string path = absl::GetFlag(FLAGS_redis_password_file);
        !path.empty()) {
      if (absl::Status s =
              ssebridge::redis::ReadRedisPasswordFile(path, options.endpoint);
          !s.ok()) {
        spdlog::error("notifications: --redis_password_file: {}",
                      std::string(s.message()));
        return 2;
      }
    }
    options.key_prefix = absl::GetFlag(FLAGS_redis_key_prefix);
    options.retention = static_cast<size_t>(history);
    options.max_backoff = absl::GetFlag(FLAGS_redis_max_backoff);
    options.on_health = [&](bool up) {
      std::lock_guard<std::mutex> lock(health_mu);
      healthy = up;
      if (health != nullptr) health->SetServingStatus(up);
    };
    auto store = std::make_unique<n::RedisNotificationStore>(options);
    // Serve either way (reporting NOT_SERVING until Redis answers).
    if (!store->WaitHealthy(options.connect_timeout + absl::Seconds(1))) {
      spdlog::warn("notifications: redis {} not usable yet ({}); serving",
                   options.endpoint.ToString(),
                   std::string(store->LastError().message()));
    }
    redis_store = store.get();
    feed = std::move(store);
  }

  n::NotificationsService service(feed.get());
  ssebridge::sdk::ActionServer server;
  service.Register(server);

  std::unique_ptr<n::DemoNotifier> demo;
  const absl::Duration interval = absl::GetFlag(FLAGS_demo_interval);
  if (interval > absl::ZeroDuration()) {
    demo = std::make_unique<n::DemoNotifier>(feed.get(), interval, "demo");
  }
  absl::StatusOr<std::unique_ptr<ssebridge::sdk::RunningServer>> running =
      server.Start(absl::GetFlag(FLAGS_listen));
  if (!running.ok()) {
    spdlog::error("notifications: {}", running.status().ToString());
    return 1;
  }
  if (redis_store != nullptr) {
    std::lock_guard<std::mutex> lock(health_mu);
    health = (*running)->grpc_server().GetHealthCheckService();
    if (health != nullptr) health->SetServingStatus(healthy);
  }
  spdlog::info("serving notifications ({}) on port {}",
               redis_store != nullptr ? "redis " + redis_address : "in memory",
               (*running)->port());
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("signal {}: shutting down", signal);
  {
    std::lock_guard<std::mutex> lock(health_mu);
    health = nullptr;
  }
  (*running)->Shutdown(absl::Seconds(5));
  demo.reset();
  return 0;
}
