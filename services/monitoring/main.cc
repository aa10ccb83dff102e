// monitoring: streams this machine's CPU, memory, load and network figures
// from /proc. See monitoring_service.h.
//
//   monitoring --listen=127.0.0.1:50053 --proc_root=/proc
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/sdk/sdk.h"
#include "services/monitoring/monitoring_service.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50053",
          "gRPC address to serve on (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, proc_root, "/proc",
          "directory holding stat, meminfo, loadavg and net/dev");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The sse-bridge demo monitoring service.");
  absl::ParseCommandLine(argc, argv);
  ssebridge::services::monitoring::MonitoringOptions options;
  options.proc_root = absl::GetFlag(FLAGS_proc_root);
  ssebridge::services::monitoring::MonitoringService service(options);
  ssebridge::sdk::ActionServer server;
  service.Register(server);
  absl::Status status = server.Serve(absl::GetFlag(FLAGS_listen));
  if (!status.ok()) {
    spdlog::error("monitoring: {}", status.ToString());
    return 1;
  }
  return 0;
}
