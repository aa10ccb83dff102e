// hello: the smallest sse-bridge action service (see services/README.md).
//
//   hello --listen=127.0.0.1:50055
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/sdk/sdk.h"
#include "services/hello/hello.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50055", "gRPC address to serve on");
ABSL_FLAG(absl::Duration, word_delay, absl::Milliseconds(200),
          "pause between words");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  ssebridge::sdk::ActionServer server;
  ssebridge::services::hello::RegisterHello(server,
                                            absl::GetFlag(FLAGS_word_delay));
  return server.Serve(absl::GetFlag(FLAGS_listen)).ok() ? 0 : 1;
}
