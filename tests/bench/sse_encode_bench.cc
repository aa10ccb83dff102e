// Encoder speed: ns per event and bytes/s for a 100-byte HTML event and a
// 4 KiB multi-line event, appended into one reused buffer as the frontend
// does when batching.
#include <string>

#include "benchmark/benchmark.h"
#include "common/sse/encoder.h"

namespace {

using ::ssebridge::action::v1::Event;

void RunEncode(benchmark::State& state, const Event& e) {
  std::string out;
  out.reserve(64 * 1024);
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    auto s = ssebridge::common::sse::AppendEvent(e, out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
    bytes += out.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_Html100(benchmark::State& state) {
  Event e;
  e.set_event("update");
  e.set_id("12345");
  std::string html = "<div class='msg'><b>bot</b> ";
  while (html.size() < 94) html += "word ";
  html += "</div>";
  html.resize(100);
  e.set_html(html);
  RunEncode(state, e);
}
BENCHMARK(BM_Html100);

void BM_MultiLine4K(benchmark::State& state) {
  Event e;
  e.set_event("log");
  std::string text;
  while (text.size() < 4096) text += "line of log output with some text\n";
  text.resize(4096);
  e.set_raw(text);
  RunEncode(state, e);
}
BENCHMARK(BM_MultiLine4K);

void BM_Text100Escaped(benchmark::State& state) {
  Event e;
  std::string text;
  while (text.size() < 100) text += "a<b & \"c\" ";
  text.resize(100);
  e.set_text(text);
  RunEncode(state, e);
}
BENCHMARK(BM_Text100Escaped);

}  // namespace

BENCHMARK_MAIN();
