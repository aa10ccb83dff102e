// libFuzzer target: the SSE encoder + parser round trip. The input is split
// into an event name, id and payload; whatever the encoder accepts must come
// back from the browser-algorithm parser exactly as a browser would dispatch
// it, and the raw input fed straight to the parser must never crash it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/sse/encoder.h"
#include "common/sse/parser.h"

namespace {

using ::ssebridge::action::v1::Event;
using ::ssebridge::common::sse::ParsedEvent;
using ::ssebridge::common::sse::Parser;

std::string Normalise(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  {
    Parser raw([](ParsedEvent&&) {});
    raw.Feed(in);
  }
  // name \x1f id \x1f payload; the first byte picks the payload kind.
  if (in.empty()) return 0;
  const uint8_t kind = static_cast<uint8_t>(in[0]) % 3;
  std::string rest = in.substr(1);
  size_t a = rest.find('\x1f');
  size_t b = a == std::string::npos ? std::string::npos : rest.find('\x1f', a + 1);
  Event e;
  std::string payload = rest;
  if (b != std::string::npos) {
    e.set_event(rest.substr(0, a));
    e.set_id(rest.substr(a + 1, b - a - 1));
    payload = rest.substr(b + 1);
  }
  std::string want;
  if (kind == 0) {
    e.set_text(payload);
    ssebridge::common::sse::AppendHtmlEscaped(Normalise(payload), want);
  } else if (kind == 1) {
    e.set_html(payload);
    want = Normalise(payload);
  } else {
    e.set_raw(payload);
    want = Normalise(payload);
  }
  std::string wire;
  if (!ssebridge::common::sse::AppendEvent(e, wire).ok()) {
    if (!wire.empty()) abort();  // a rejected event must write nothing
    return 0;
  }
  int dispatched = 0;
  Parser p([&](ParsedEvent&& ev) {
    ++dispatched;
    const std::string type = e.event().empty() ? "message" : e.event();
    if (ev.type != type || ev.data != want || ev.last_event_id != e.id()) {
      abort();
    }
  });
  p.Feed(wire);
  if (dispatched != 1) abort();
  return 0;
}
