// grpc_health_probe: the container health check of the C++ action services.
// Asks grpc.health.v1.Health/Check on --addr and exits 0 only if the answer
// is SERVING; prints one line saying what it found. Every service built on
// common/sdk serves the health service (ActionServer enables it).
//
//   grpc_health_probe --addr=127.0.0.1:50051 [--service=NAME] [--timeout=2s]
//
// Exit codes: 0 SERVING, 1 not serving / unknown service, 2 unreachable or
// timed out, 3 bad flags. Built by tests/deploy/CMakeLists.txt (which also
// tests it against a real chat_bot) and installed in docker/Dockerfile.service.
// Single-threaded program.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051",
          "host:port of the gRPC server to ask");
ABSL_FLAG(std::string, service, "",
          "service name to ask about; \"\" = the server as a whole");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(2),
          "deadline for connecting and the answer");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "grpc_health_probe --addr=HOST:PORT: exit 0 if the server is SERVING");
  absl::ParseCommandLine(argc, argv);
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (addr.empty() || timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "grpc_health_probe: need --addr and --timeout > 0\n");
    return 3;
  }

  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(timeout));
  context.set_wait_for_ready(true);  // a connecting server gets the timeout
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::printf("%s: unhealthy: rpc failed: code %d: %s\n", addr.c_str(),
                static_cast<int>(status.error_code()),
                status.error_message().c_str());
    return status.error_code() == grpc::StatusCode::NOT_FOUND ? 1 : 2;
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::printf("%s: unhealthy: %s\n", addr.c_str(), name.c_str());
    return 1;
  }
  std::printf("%s: %s\n", addr.c_str(), name.c_str());
  return 0;
}
