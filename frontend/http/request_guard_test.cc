#include "frontend/http/request_guard.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using Result = RequestGuard::Result;

// Feeds `input` in pieces of `step` bytes; returns every non-kNeedMore result.
std::vector<Result> FeedInSteps(RequestGuard& g, const std::string& input,
                                size_t step) {
  std::vector<Result> out;
  for (size_t i = 0; i < input.size(); i += step) {
    Result r = g.Feed(absl::string_view(input).substr(i, step));
    if (r.kind != Result::kNeedMore) out.push_back(std::move(r));
  }
  return out;
}

std::string WithNul(std::string s) {
  s.push_back('\0');
  return s;
}

TEST(RequestGuardTest, WholeRequestsPassUnchangedWithANulBehind) {
  const std::string get =
      "GET /t?a=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  const std::string post =
      "POST /t HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhello";
  for (const std::string& req : {get, post}) {
    for (size_t step : {size_t{1}, size_t{2}, size_t{7}, req.size()}) {
      RequestGuard g(4096);
      auto out = FeedInSteps(g, req, step);
      ASSERT_EQ(out.size(), 1u) << "step " << step;
      EXPECT_EQ(out[0].kind, Result::kRequest);
      EXPECT_EQ(out[0].request, WithNul(req)) << "step " << step;
    }
  }
}

TEST(RequestGuardTest, HeaderEndingInWhitespaceIsStillFollowedByNul) {
  // The input that made Pistache's strtol() run past its buffer.
  const std::string req =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nCache-Control: max-age=\r\n\r\n";
  RequestGuard g(4096);
  auto out = FeedInSteps(g, req, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].request.back(), '\0');
}

TEST(RequestGuardTest, BytesBehindACompleteRequestAreDroppedThenNextStarts) {
  RequestGuard g(4096);
  Result r = g.Feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.kind, Result::kRequest);
  EXPECT_EQ(r.request, WithNul("GET /a HTTP/1.1\r\n\r\n"));
  r = g.Feed("GET /c HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.kind, Result::kRequest);
  EXPECT_EQ(r.request, WithNul("GET /c HTTP/1.1\r\n\r\n"));
}

TEST(RequestGuardTest, ChunkedBodyIsDecodedAndGetsAContentLength) {
  const std::string req =
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "5\r\nhello\r\n6;name=value\r\n world\r\nA \r\n, 10 bytes\r\n"
      "0\r\nX-Trailer: dropped\r\n\r\n";
  const std::string want = WithNul(
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "Content-Length: 21\r\n\r\nhello world, 10 bytes");
  for (size_t step : {size_t{1}, size_t{3}, req.size()}) {
    RequestGuard g(4096);
    auto out = FeedInSteps(g, req, step);
    ASSERT_EQ(out.size(), 1u) << "step " << step;
    ASSERT_EQ(out[0].kind, Result::kRequest) << out[0].message;
    EXPECT_EQ(out[0].request, want) << "step " << step;
  }
}

TEST(RequestGuardTest, EmptyChunkedBody) {
  RequestGuard g(4096);
  Result r =
      g.Feed("POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_EQ(r.kind, Result::kRequest);
  EXPECT_EQ(r.request,
            WithNul("POST /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
}

TEST(RequestGuardTest, BadRequestsAreRefusedWithTheirStatus) {
  const std::string chunked =
      "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  struct Case {
    std::string input;
    int code;
  };
  const std::vector<Case> cases = {
      // The fuzzer's input: a chunk whose data is not followed by CRLF.
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "Content-Type: application/json\r\n\r\n6\r\n{\"a\":\r\n0\r\n\r\n",
       400},
      {chunked + "\r\n\r\n\r\n", 400},      // empty chunk-size line
      {chunked + "zz\r\n", 400},            // not hex
      {chunked + "5 x\r\nhello\r\n", 400},  // junk after the size
      {chunked + "-5\r\n", 400},
      {chunked + "1000000000000000\r\n", 400},  // 16 hex digits
      {chunked + std::string(2000, '1'), 400},  // size line never ends
      {chunked + "1001\r\n", 413},              // 4097 > limit
      {chunked + "0\r\n" + std::string(2000, 'a'), 431},  // trailer
      {"POST /e HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST /e HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       501},
      {"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 3\r\n\r\n",
       400},
      {"POST /e HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
       400},
      {"POST /e HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nContent-Length: 3x\r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nContent-Length: \r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: " + std::string(5000, 'a'), 431},
  };
  for (const Case& tc : cases) {
    for (size_t step : {size_t{1}, tc.input.size()}) {
      RequestGuard g(4096);
      auto out = FeedInSteps(g, tc.input, step);
      ASSERT_EQ(out.size(), 1u) << tc.input.substr(0, 80);
      EXPECT_EQ(out[0].kind, Result::kRefuse) << tc.input.substr(0, 80);
      EXPECT_EQ(out[0].code, tc.code) << tc.input.substr(0, 80);
      EXPECT_FALSE(out[0].message.empty());
      // A refused connection takes nothing more.
      EXPECT_EQ(g.Feed("GET / HTTP/1.1\r\n\r\n").kind, Result::kNeedMore);
    }
  }
}

TEST(RequestGuardTest, StoppedGuardDropsEverything) {
  RequestGuard g(4096);
  ASSERT_EQ(g.Feed("GET /a HTTP/1.1\r\n\r\n").kind, Result::kRequest);
  g.Stop();
  EXPECT_EQ(g.Feed("GET /b HTTP/1.1\r\n\r\n").kind, Result::kNeedMore);
  EXPECT_EQ(g.Feed("GET /c HTTP/1.1\r\n\r\n").kind, Result::kNeedMore);
}

TEST(RequestGuardTest, ManyTinyChunksUpToTheLimit) {
  RequestGuard g(64 * 1024);
  std::string req = "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 30000; ++i) req += "1\r\na\r\n";
  req += "0\r\n\r\n";
  auto out = FeedInSteps(g, req, 1000);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].kind, Result::kRequest);
  EXPECT_NE(out[0].request.find("Content-Length: 30000\r\n"),
            std::string::npos);
  EXPECT_EQ(
      out[0].request.size(),
      std::string("POST /e HTTP/1.1\r\nContent-Length: 30000\r\n\r\n").size() +
          30000 + 1);
}

}  // namespace
}  // namespace ssebridge::frontend
