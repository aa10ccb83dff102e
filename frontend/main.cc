// ssebridge-frontend: loads the config, serves until SIGTERM/SIGINT, then
// shuts down gracefully within the configured grace period. SIGHUP re-reads
// the auth providers' JWKS files.
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "frontend/config/config_loader.h"
#include "frontend/http/frontend_server.h"
#include "frontend/ops/logging.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, config, "", "Path of the YAML config file (required).");
ABSL_FLAG(std::string, log_level, "",
          "Overrides logging.level: trace, debug, info, warn, error, off.");
ABSL_FLAG(int, port, -1, "Overrides listen.port (0 = ephemeral).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("ssebridge-frontend --config FILE");
  // Debian's Abseil checks every absl::Mutex (used inside gRPC) for lock-order
  // cycles; the benchmark profile showed ~5% of CPU per event there.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::fprintf(stderr, "ssebridge-frontend: --config FILE is required\n");
    return 2;
  }
  auto config = ssebridge::frontend::LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "ssebridge-frontend: config error: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_port) >= 0) {
    config->mutable_listen()->set_port(
        static_cast<uint32_t>(absl::GetFlag(FLAGS_port)));
  }
  std::string level = absl::GetFlag(FLAGS_log_level);
  if (level.empty()) level = config->logging().level();
  if (auto s = ssebridge::frontend::ConfigureLogging(level,
                                                     config->logging().json());
      !s.ok()) {
    std::fprintf(stderr, "ssebridge-frontend: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }

  // Signals are taken by sigwait() below; block them before any thread
  // starts so that no other thread receives them.
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = ssebridge::frontend::FrontendServer::Create(*config);
  if (!server.ok()) {
    // Invalid arguments name a config key (e.g. a JWKS file that does not
    // load); say which file they are in.
    const bool config_error =
        server.status().code() == absl::StatusCode::kInvalidArgument;
    std::fprintf(stderr, "ssebridge-frontend: %s%s\n",
                 config_error ? ("config error: " + path + ": ").c_str() : "",
                 std::string(server.status().message()).c_str());
    return 2;
  }
  if (auto s = (*server)->Start(); !s.ok()) {
    std::fprintf(stderr, "ssebridge-frontend: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  // One machine-readable line so scripts and tests learn the port.
  std::printf("listening on http://%s:%u/\n",
              config->listen().address().c_str(), (*server)->port());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    spdlog::info("SIGHUP: re-reading the JWKS files");
    (*server)->ReloadKeys();
  }
  const absl::Duration grace =
      config->has_shutdown_grace()
          ? absl::Seconds(config->shutdown_grace().seconds()) +
                absl::Nanoseconds(config->shutdown_grace().nanos())
          : absl::Seconds(10);
  spdlog::info("signal {}: shutting down (grace {})", sig,
               absl::FormatDuration(grace));
  (*server)->Shutdown(grace);
  spdlog::info("bye");
  return 0;
}
