// loadgen: the benchmark action service. Serves the `load` action (see
// load_generator.h) until SIGTERM/SIGINT and prints one line
// "loadgen listening on HOST:PORT" once it accepts calls, so scripts can
// start it on port 0.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/loadgen/load_generator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50061",
          "Address to serve on; port 0 picks a free one.");
ABSL_FLAG(int, threads, 1, "Scheduler threads generating events.");
ABSL_FLAG(int, max_queued, 256,
          "Events queued per stream before a stream counts as full.");
ABSL_FLAG(absl::Duration, max_queue_delay, absl::ZeroDuration(),
          "A stream also counts as full once its oldest queued event has "
          "waited this long (the SDK's max_queue_delay; 0: off).");
ABSL_FLAG(bool, deadlock_detection, false,
          "Keep Abseil's Mutex deadlock detection (on by default in Debian's "
          "Abseil build; gRPC's locks then pay for lock-graph bookkeeping).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("loadgen --listen=127.0.0.1:PORT");
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }

  // Block the stop signals before any thread starts, so only sigwait() below
  // receives them.
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ssebridge::loadgen::LoadGenerator generator(absl::GetFlag(FLAGS_threads));
  ssebridge::sdk::ServerOptions options;
  options.max_queue_delay = absl::GetFlag(FLAGS_max_queue_delay);
  options.max_queued_events =
      static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_max_queued)));
  options.configure = [](grpc::ServerBuilder& builder) {
    // Thousands of streams per connection: never queue them behind a
    // concurrency limit.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100000);
  };
  ssebridge::sdk::ActionServer server(options);
  generator.Register(server);
  const std::string address = absl::GetFlag(FLAGS_listen);
  auto running = server.Start(address);
  if (!running.ok()) {
    std::fprintf(stderr, "loadgen: %s\n",
                 std::string(running.status().message()).c_str());
    return 1;
  }
  std::printf("loadgen listening on %s:%d\n",
              address.substr(0, address.rfind(':')).c_str(),
              (*running)->port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  (*running)->Shutdown(absl::Seconds(1));
  generator.Stop();
  return 0;
}
