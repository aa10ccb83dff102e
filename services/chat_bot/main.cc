// chat_bot: the demo chat service (chat_form, chat_send, chat_post,
// chat_stream) with rooms inside this process. See chat_service.h.
//
//   chat_bot --listen=127.0.0.1:50051 --think_delay=300ms --word_delay=80ms
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/chat_bot/chat_service.h"
#include "services/chat_bot/room_bus.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC address to serve on (host:port; port 0 picks a free one)");
ABSL_FLAG(absl::Duration, think_delay, absl::Milliseconds(300),
          "pause after \"Bot is thinking...\" before the reply");
ABSL_FLAG(absl::Duration, word_delay, absl::Milliseconds(80),
          "pause between the words of the bot's reply");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The sse-bridge demo chat service.");
  absl::ParseCommandLine(argc, argv);

  ssebridge::services::chat::InProcessRoomBus bus;  // outlives the server
  ssebridge::services::chat::ChatOptions options;
  options.think_delay = absl::GetFlag(FLAGS_think_delay);
  options.word_delay = absl::GetFlag(FLAGS_word_delay);
  ssebridge::services::chat::ChatService chat(&bus, options);

  ssebridge::sdk::ActionServer server;
  chat.Register(server);
  absl::Status status = server.Serve(absl::GetFlag(FLAGS_listen));
  if (!status.ok()) {
    spdlog::error("chat_bot: {}", status.ToString());
    return 1;
  }
  return 0;
}
