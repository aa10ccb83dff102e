// libFuzzer target: the YAML config loader. Any input must give either a
// config or one error line naming the file — never a crash, a hang or a
// multi-line message.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "frontend/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(reinterpret_cast<const char*>(data), size);
  auto cfg = ssebridge::frontend::ParseConfigYaml(yaml, "fuzz.yaml");
  if (!cfg.ok()) {
    const std::string msg(cfg.status().message());
    if (!absl::StartsWith(msg, "fuzz.yaml") ||
        msg.find('\n') != std::string::npos) {
      abort();
    }
  }
  return 0;
}
