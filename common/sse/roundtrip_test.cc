// Property test: for thousands of random events, feeding the encoder's bytes
// (cut into random chunks) to the browser-algorithm parser dispatches exactly
// what a browser would: the right type, the payload with line ends
// normalised to LF (and HTML-escaped for text), and the persisting last id.
#include <random>
#include <string>
#include <vector>

#include "common/sse/encoder.h"
#include "common/sse/parser.h"
#include "gtest/gtest.h"

namespace ssebridge::common::sse {
namespace {

using ::ssebridge::action::v1::Event;

std::string RandomString(std::mt19937& rng, size_t max_len) {
  static const std::vector<std::string> kAtoms = {
      "a", "Z", "0", " ", "  ", "\n", "\r", "\r\n", "\n\n", ":", "data: ",
      "event:", "id:", "<", ">", "&", "\"", "'", "\xC3\xA9", "\xE2\x82\xAC",
      "\xF0\x9F\x98\x80", "\xEF\xBB\xBF", "\t", std::string("\0", 1)};
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<size_t> pick(0, kAtoms.size() - 1);
  std::string s;
  for (size_t n = len(rng); n > 0; --n) s += kAtoms[pick(rng)];
  return s;
}

std::string NormaliseLineEnds(const std::string& s) {
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

std::string Escaped(const std::string& s) {
  std::string out;
  AppendHtmlEscaped(s, out);
  return out;
}

std::string WithoutLineEnds(std::string s) {
  std::erase_if(s, [](char c) { return c == '\r' || c == '\n'; });
  return s;
}

TEST(RoundTripTest, ParseOfEncodeIsWhatABrowserDispatches) {
  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> coin(0, 3);
  std::string wire;
  std::vector<ParsedEvent> want;
  std::string last_id;
  int rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    Event e;
    // Mostly valid names and ids; sometimes ones with CR/LF that must be
    // rejected without writing anything.
    if (coin(rng) == 0) e.set_event(WithoutLineEnds(RandomString(rng, 4)));
    if (coin(rng) == 0) {
      std::string id = WithoutLineEnds(RandomString(rng, 4));
      std::erase(id, '\0');
      e.set_id(id);
    }
    const bool make_invalid = i % 97 == 0;
    if (make_invalid) e.set_event("bad\nname");
    std::string payload = RandomString(rng, 12);
    std::string data;
    switch (coin(rng)) {
      case 0:
        e.set_text(payload);
        data = Escaped(NormaliseLineEnds(payload));
        break;
      case 1:
        e.set_html(payload);
        data = NormaliseLineEnds(payload);
        break;
      case 2:
        e.set_raw(payload);
        data = NormaliseLineEnds(payload);
        break;
      default:
        e.mutable_json()->set_string_value(payload);
        std::string json;
        AppendJson(e.json(), json);
        ASSERT_EQ(json.find_first_of("\r\n"), std::string::npos);
        data = json;
        break;
    }
    const size_t before = wire.size();
    absl::Status s = AppendEvent(e, wire);
    if (make_invalid) {
      EXPECT_FALSE(s.ok());
      EXPECT_EQ(wire.size(), before);
      ++rejected;
      continue;
    }
    ASSERT_TRUE(s.ok()) << s;
    if (!e.id().empty()) last_id = e.id();
    want.push_back(ParsedEvent{e.event().empty() ? "message" : e.event(), data,
                               last_id});
  }
  EXPECT_GT(rejected, 0);

  // Feed in random chunk sizes, including splits inside CRLF and UTF-8.
  std::vector<ParsedEvent> got;
  Parser parser([&got](ParsedEvent&& ev) { got.push_back(std::move(ev)); });
  std::uniform_int_distribution<size_t> chunk(1, 64);
  for (size_t pos = 0; pos < wire.size();) {
    size_t n = std::min(chunk(rng), wire.size() - pos);
    parser.Feed(absl::string_view(wire).substr(pos, n));
    pos += n;
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "event " << i;
  }
}

}  // namespace
}  // namespace ssebridge::common::sse
