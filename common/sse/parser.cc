#include "common/sse/parser.h"

#include <limits>

namespace ssebridge::common::sse {
namespace {
constexpr absl::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

void Parser::Feed(absl::string_view bytes) {
  if (!seen_first_bytes_) {
    // Hold back up to three bytes until we know whether they are a BOM.
    bom_prefix_.append(bytes.data(), bytes.size());
    const size_t n = std::min(bom_prefix_.size(), kBom.size());
    if (absl::string_view(bom_prefix_).substr(0, n) != kBom.substr(0, n)) {
      seen_first_bytes_ = true;
    } else if (bom_prefix_.size() >= kBom.size()) {
      seen_first_bytes_ = true;
      bom_prefix_.erase(0, kBom.size());
    } else {
      return;  // still a possible BOM prefix
    }
    std::string held = std::move(bom_prefix_);
    bom_prefix_.clear();
    Feed(held);
    return;
  }

  size_t start = 0;
  const size_t n = bytes.size();
  if (skip_lf_ && n > 0) {
    skip_lf_ = false;
    if (bytes[0] == '\n') start = 1;
  }
  for (size_t i = start; i < n; ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    absl::string_view piece = bytes.substr(start, i - start);
    if (line_.empty()) {
      ProcessLine(piece);
    } else {
      line_.append(piece.data(), piece.size());
      std::string line = std::move(line_);
      line_.clear();
      ProcessLine(line);
    }
    if (c == '\r') {
      if (i + 1 < n) {
        if (bytes[i + 1] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
    start = i + 1;
  }
  line_.append(bytes.data() + start, n - start);
}

void Parser::ProcessLine(absl::string_view line) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line[0] == ':') {
    if (on_comment_) on_comment_(line.substr(1));
    return;
  }
  absl::string_view field = line;
  absl::string_view value;
  if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_type_.assign(value.data(), value.size());
  } else if (field == "data") {
    data_.append(value.data(), value.size());
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos) {
      last_event_id_.assign(value.data(), value.size());
    }
  } else if (field == "retry") {
    if (value.empty()) return;
    uint64_t v = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > std::numeric_limits<uint32_t>::max()) return;
    }
    retry_ms_ = static_cast<uint32_t>(v);
  }
  // Other fields are ignored, as the spec says.
}

void Parser::Dispatch() {
  if (data_.empty()) {
    event_type_.clear();
    return;
  }
  data_.pop_back();  // the trailing LF
  ParsedEvent ev;
  ev.type = event_type_.empty() ? "message" : std::move(event_type_);
  ev.data = std::move(data_);
  ev.last_event_id = last_event_id_;
  data_.clear();
  event_type_.clear();
  on_event_(std::move(ev));
}

}  // namespace ssebridge::common::sse
