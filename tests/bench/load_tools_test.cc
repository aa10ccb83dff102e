// Unit tests of the load client's building blocks: the histogram's
// percentiles and merging, and the HTTP response reader's framings.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/bench/http_response.h"
#include "tests/bench/load_stats.h"

namespace ssebridge::bench {
namespace {

TEST(HistogramTest, PercentilesWithinOnePointSixPercent) {
  Histogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 50e6, 50e6 * 0.016);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 99e6, 99e6 * 0.016);
  EXPECT_EQ(h.Percentile(1.0), 100000000u);
}

TEST(HistogramTest, SmallValuesExactAndMergeAdds) {
  Histogram a, b;
  a.Record(3);
  a.Record(-5);  // clamps to 0
  b.Record(7);
  b.Record(7);
  a.Merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.Percentile(0.25), 0u);
  EXPECT_EQ(a.Percentile(0.5), 3u);
  EXPECT_EQ(a.Percentile(0.99), 7u);
  EXPECT_EQ(Histogram().Percentile(0.5), 0u);
}

// Feeds `response` split into pieces of `step` bytes; returns the body.
std::string FeedInPieces(HttpResponseReader& r, const std::string& response,
                         size_t step, bool* ok) {
  std::string body;
  *ok = true;
  for (size_t i = 0; i < response.size() && *ok; i += step) {
    *ok = r.Feed(absl::string_view(response).substr(i, step),
                 [&](absl::string_view b) { body.append(b.data(), b.size()); });
  }
  return body;
}

TEST(HttpResponseReaderTest, ChunkedAcrossEveryPieceSize) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "6\r\ndata: \r\n8;ext=1\r\nhello\n\n\n\r\n0\r\n\r\n";
  for (size_t step = 1; step <= response.size(); ++step) {
    HttpResponseReader r;
    bool ok;
    EXPECT_EQ(FeedInPieces(r, response, step, &ok), "data: hello\n\n\n")
        << step;
    EXPECT_TRUE(ok);
    EXPECT_EQ(r.status(), 200);
    EXPECT_TRUE(r.complete()) << step;
    EXPECT_EQ(r.Header("CONTENT-TYPE"), "text/event-stream");
  }
}

TEST(HttpResponseReaderTest, ContentLengthThenKeepAliveReset) {
  HttpResponseReader r;
  bool ok;
  EXPECT_EQ(FeedInPieces(
                r, "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabcEXTRA",
                5, &ok),
            "abc");
  EXPECT_TRUE(ok);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.status(), 201);
  r.Reset();
  EXPECT_FALSE(r.head_done());
}

TEST(HttpResponseReaderTest, CloseDelimitedAndMalformed) {
  HttpResponseReader r;
  bool ok;
  EXPECT_EQ(FeedInPieces(r, "HTTP/1.1 200 OK\r\nX: y\r\n\r\n: ok\n\n", 7, &ok),
            ": ok\n\n");
  EXPECT_TRUE(ok);
  EXPECT_FALSE(r.complete());
  HttpResponseReader bad;
  EXPECT_FALSE(bad.Feed("SMTP ready\r\n\r\n", [](absl::string_view) {}));
  HttpResponseReader bad_chunk;
  EXPECT_FALSE(bad_chunk.Feed(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      [](absl::string_view) {}));
}

}  // namespace
}  // namespace ssebridge::bench
