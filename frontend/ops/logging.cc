#include "frontend/ops/logging.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sse/encoder.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

// Formats a record as {"ts":...,"level":...,"msg":...} with the message
// JSON-escaped, so any text a client sent cannot break the line.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    google::protobuf::Value v;
    v.set_string_value(std::string(msg.payload.data(), msg.payload.size()));
    std::string line = absl::StrCat(
        "{\"ts\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(msg.time),
                         absl::UTCTimeZone()),
        "\",\"level\":\"",
        std::string(spdlog::level::to_string_view(msg.level).data(),
                    spdlog::level::to_string_view(msg.level).size()),
        "\",\"msg\":");
    common::sse::AppendJson(v, line);
    line.append("}\n");
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

absl::Status ConfigureLogging(absl::string_view level, bool json) {
  const std::string name = level.empty() ? "info" : std::string(level);
  const spdlog::level::level_enum lvl = spdlog::level::from_str(name);
  if (lvl == spdlog::level::off && name != "off") {
    return absl::InvalidArgumentError(absl::StrCat("unknown log level ", name));
  }
  spdlog::set_level(lvl);
  if (json) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  return absl::OkStatus();
}

}  // namespace ssebridge::frontend
