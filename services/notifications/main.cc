// notifications: per-user notifications with resume (Last-Event-ID). See
// notifications_service.h.
//
//   notifications --listen=127.0.0.1:50052 --history=200 --demo_interval=3s
//       --max_users=100000
#include <signal.h>

#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/notifications/notification_store.h"
#include "services/notifications/notifications_service.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "gRPC address to serve on (host:port; port 0 picks a free one)");
ABSL_FLAG(int32_t, history, 200,
          "notifications kept per user for replay after a reconnect");
ABSL_FLAG(int32_t, max_users, 100000,
          "users whose history is kept; past it the least recently used "
          "user with no open stream is forgotten");
ABSL_FLAG(absl::Duration, demo_interval, absl::ZeroDuration(),
          "post a generated notification to user \"demo\" this often "
          "(0 = off); a user signed in with subject \"demo\" (e.g. the "
          "frontend's dev login) sees them");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The sse-bridge demo notifications service.");
  absl::ParseCommandLine(argc, argv);
  namespace n = ::ssebridge::services::notifications;

  // Serve waits for SIGINT/SIGTERM with sigwait: block them before the demo
  // thread starts, so that thread inherits the mask and never takes them.
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
  n::NotificationStore store(static_cast<size_t>(history),
                             static_cast<size_t>(max_users));
  n::NotificationsService service(&store);
  ssebridge::sdk::ActionServer server;
  service.Register(server);

  std::unique_ptr<n::DemoNotifier> demo;
  const absl::Duration interval = absl::GetFlag(FLAGS_demo_interval);
  if (interval > absl::ZeroDuration()) {
    demo = std::make_unique<n::DemoNotifier>(&store, interval, "demo");
  }
  absl::Status status = server.Serve(absl::GetFlag(FLAGS_listen));
  if (!status.ok()) {
    spdlog::error("notifications: {}", status.ToString());
    return 1;
  }
  return 0;
}
