#include "frontend/http/request_guard.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
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

// One line for what the guard made of an input: "refuse CODE", or the
// request passed on.
std::string Outcome(const std::vector<Result>& out) {
  if (out.size() != 1) return absl::StrCat(out.size(), " results");
  if (out[0].kind == Result::kRefuse) {
    return absl::StrCat("refuse ", out[0].code);
  }
  return out[0].request;
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

TEST(RequestGuardTest, PipelinedRequestsComeOutOneByOneInOrder) {
  const std::string a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string b =
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz";
  const std::string c = "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
  RequestGuard g(4096);
  Result r = g.Feed(a + b + c.substr(0, 10));
  ASSERT_EQ(r.kind, Result::kRequest) << r.message;
  EXPECT_EQ(r.request, WithNul(a));
  // The rest stays buffered: an empty Feed() releases what is complete.
  r = g.Feed("");
  ASSERT_EQ(r.kind, Result::kRequest) << r.message;
  EXPECT_EQ(r.request, WithNul(b));
  EXPECT_EQ(g.Feed("").kind, Result::kNeedMore);
  r = g.Feed(c.substr(10));
  ASSERT_EQ(r.kind, Result::kRequest) << r.message;
  EXPECT_EQ(r.request, WithNul(c));
  EXPECT_EQ(g.Feed("").kind, Result::kNeedMore);
}

TEST(RequestGuardTest, StopDropsPipelinedRequestsBehindAStream) {
  const std::string a = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
  RequestGuard g(4096);
  ASSERT_EQ(g.Feed(a + a).kind, Result::kRequest);
  g.Stop();
  EXPECT_EQ(g.Feed("").kind, Result::kNeedMore);
  EXPECT_EQ(g.Feed(a).kind, Result::kNeedMore);
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
  Result r = g.Feed(
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  ASSERT_EQ(r.kind, Result::kRequest);
  EXPECT_EQ(
      r.request,
      WithNul("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
}

TEST(RequestGuardTest, BadRequestsAreRefusedWithTheirStatus) {
  const std::string chunked =
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
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
      {"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST /e HTTP/1.1\r\nHost: x\r\n"
       "Transfer-Encoding: gzip, chunked\r\n\r\n",
       501},
      {"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       501},
      {"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 3\r\n\r\n",
       400},
      {"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
       "Content-Length: 3\r\n\r\n",
       400},
      {"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
      {"POST /e HTTP/1.1\r\nHost: x\r\n"
       "Content-Length: 99999999999999999999\r\n\r\n",
       400},
      {"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(5000, 'a'), 431},
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

// RFC 9112's rules for a request's head, beyond framing. Each input is
// fed whole and byte by byte to a guard whose max_request_bytes (1 MiB) is
// far above the 64 KiB head limit; `want` is what reaches Pistache, when
// the request passes and it differs from the input.
TEST(RequestGuardTest, HeadsFollowRfc9112) {
  struct Case {
    std::string input;
    Result::Kind kind;
    int code;
    std::string want = "";  // the input itself when empty
  };
  const Result::Kind kRefuse = Result::kRefuse;
  const Result::Kind kRequest = Result::kRequest;
  const std::string big(100 * 1024, 'a');
  const std::vector<Case> cases = {
      // The request line is method SP request-target SP HTTP-version,
      // exactly; known bad as soon as it ends.
      {"HELLO\r\n\r\n", kRefuse, 400},
      {"HELLO\r\n", kRefuse, 400},
      {"GET /\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET /  HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {" GET / HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / http/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.10\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET a HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET http://u@x/a HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET * HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 400},
      {"GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 414},
      // Versions: HTTP/1.0 and 1.1 are served, other majors are not.
      {"GET / HTTP/3.7\r\nHost: x\r\n\r\n", kRefuse, 505},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", kRefuse, 505},
      {"GET / HTTP/0.9\r\nHost: x\r\n\r\n", kRefuse, 505},
      {"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", kRefuse, 501},
      {"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", kRefuse, 501},
      // Host: exactly one in HTTP/1.1, at most one in 1.0, and valid.
      {"GET / HTTP/1.1\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", kRefuse, 400},
      // Bytes that never belong in a head: obs-fold, bare CR or LF, NUL and
      // other controls.
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\tfolded\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: x\rA: b\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\nC: d\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\nHost: x\r\n\r\n", kRefuse, 400},
      {std::string("GET / HTTP/1.1\r\nHost: x\r\nA: b") + '\0' + "c\r\n\r\n",
       kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n", kRefuse, 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\x1b\r\n\r\n", kRefuse, 400},
      // The head is limited to 64 KiB whatever max_request_bytes allows,
      // and known too large before its end arrives.
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + big + "\r\n\r\n", kRefuse, 431},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + big, kRefuse, 431},
      // Expectations other than 100-continue cannot be met.
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
       "Expect: teapot\r\n\r\nabc",
       kRefuse, 417},
      // HTTP/1.0 has no chunked coding.
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       kRefuse, 400},
      // Requests that pass.
      {"GET / HTTP/1.0\r\n\r\n", kRequest, 0},
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", kRequest, 0},
      {"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", kRequest, 0},
      {"GET / HTTP/1.1\r\nHost: a.b-c_d~%41!$&'()*+,;=:80\r\n\r\n", kRequest,
       0},
      {"GET /a?b=c&d=%20 HTTP/1.1\r\nHost: x\r\n\r\n", kRequest, 0},
      {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", kRequest, 0},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: caf\xc3\xa9\tb  \r\n\r\n", kRequest, 0},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(60 * 1024, 'a') +
           "\r\n\r\n",
       kRequest, 0},
      // An empty line before the request line is ignored (RFC 9112 2.2).
      {"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", kRequest, 0,
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
      // A higher HTTP/1 minor version is served as 1.1 (RFC 9110 2.5).
      {"GET / HTTP/1.2\r\nHost: x\r\n\r\n", kRequest, 0,
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
      // The absolute form becomes the origin form Pistache parses, and its
      // authority replaces Host (RFC 9112 3.2.2).
      {"GET http://a.example:80/p?q=1 HTTP/1.1\r\nHost: y\r\nX: 1\r\n\r\n",
       kRequest, 0,
       "GET /p?q=1 HTTP/1.1\r\nHost: a.example:80\r\nX: 1\r\n\r\n"},
      {"GET HTTPS://a HTTP/1.1\r\nHost: a\r\n\r\n", kRequest, 0,
       "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
  };
  for (const Case& tc : cases) {
    const std::string label = absl::CHexEscape(tc.input.substr(0, 60));
    const std::string want =
        tc.kind == kRefuse ? absl::StrCat("refuse ", tc.code)
                           : WithNul(tc.want.empty() ? tc.input : tc.want);
    for (size_t step : {size_t{1}, tc.input.size()}) {
      RequestGuard g(1 << 20);
      EXPECT_EQ(Outcome(FeedInSteps(g, tc.input, step)), want)
          << label << " (step " << step << ")";
    }
  }
}

TEST(RequestGuardTest, ContinueIsAskedForOnlyWhileTheBodyIsDue) {
  const std::string head =
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Expect: 100-Continue\r\n\r\n";
  {
    RequestGuard g(4096);
    EXPECT_EQ(g.Feed(head).kind, Result::kContinue);
    EXPECT_EQ(g.Next().kind, Result::kNeedMore);
    Result r = g.Feed("hello");
    ASSERT_EQ(r.kind, Result::kRequest);
    EXPECT_EQ(r.request, WithNul(head + "hello"));
  }
  {
    // The body came with the head: the client is not waiting.
    RequestGuard g(4096);
    EXPECT_EQ(g.Feed(head + "he").kind, Result::kNeedMore);
    EXPECT_EQ(g.Feed("llo").kind, Result::kRequest);
  }
  {
    RequestGuard g(4096);
    EXPECT_EQ(g.Feed("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n")
                  .kind,
              Result::kContinue);
    EXPECT_EQ(g.Feed("1\r\na\r\n0\r\n\r\n").kind, Result::kRequest);
  }
  {
    // No body, nothing to wait for.
    RequestGuard g(4096);
    EXPECT_EQ(
        g.Feed("GET /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
            .kind,
        Result::kRequest);
  }
  {
    // HTTP/1.0 clients do not wait for 100 (RFC 9110 10.1.1).
    RequestGuard g(4096);
    EXPECT_EQ(g.Feed("POST /e HTTP/1.0\r\nContent-Length: 1\r\n"
                     "Expect: 100-continue\r\n\r\n")
                  .kind,
              Result::kNeedMore);
  }
  {
    // A body that will be refused gets its refusal instead.
    RequestGuard g(4096);
    Result r = g.Feed(
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
        "Expect: 100-continue\r\n\r\n");
    EXPECT_EQ(r.kind, Result::kRefuse);
    EXPECT_EQ(r.code, 413);
  }
}

TEST(RequestGuardTest, ConnectionEndsAfterCloseAndAfterHttp10) {
  struct Case {
    std::string head;
    bool close;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\nHost: x\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", true},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, Close\r\n", true},
      {"GET / HTTP/1.0\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n",
       true},
  };
  for (const Case& tc : cases) {
    RequestGuard g(4096);
    const std::string next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    Result r = g.Feed(tc.head + "\r\n" + next);
    ASSERT_EQ(r.kind, Result::kRequest) << tc.head;
    EXPECT_EQ(r.close, tc.close) << tc.head;
    // After the last request the guard takes nothing more.
    EXPECT_EQ(g.Next().kind, tc.close ? Result::kNeedMore : Result::kRequest)
        << tc.head;
    EXPECT_EQ(g.Feed(next).kind,
              tc.close ? Result::kNeedMore : Result::kRequest)
        << tc.head;
  }
}

TEST(RequestGuardTest, RequestsSentFarAheadOfTheirAnswersAreRefused) {
  // While an answer is being written the caller only buffers; more than a
  // head plus max_request_bytes of requests waiting is refused.
  RequestGuard g(4096);
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  int buffered = 0;
  Result r;
  while ((r = g.Buffer(req)).kind == Result::kNeedMore) ++buffered;
  EXPECT_EQ(r.kind, Result::kRefuse);
  EXPECT_EQ(r.code, 429);
  EXPECT_EQ(buffered, static_cast<int>(2 * 4096 / req.size()));
  EXPECT_EQ(g.Next().kind, Result::kNeedMore);
}

TEST(RequestGuardTest, StoppedGuardDropsEverything) {
  RequestGuard g(4096);
  ASSERT_EQ(g.Feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n").kind,
            Result::kRequest);
  g.Stop();
  EXPECT_EQ(g.Feed("GET /b HTTP/1.1\r\nHost: x\r\n\r\n").kind,
            Result::kNeedMore);
  EXPECT_EQ(g.Feed("GET /c HTTP/1.1\r\nHost: x\r\n\r\n").kind,
            Result::kNeedMore);
}

TEST(RequestGuardTest, ManyTinyChunksUpToTheLimit) {
  RequestGuard g(64 * 1024);
  std::string req =
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 30000; ++i) req += "1\r\na\r\n";
  req += "0\r\n\r\n";
  auto out = FeedInSteps(g, req, 1000);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].kind, Result::kRequest);
  EXPECT_NE(out[0].request.find("Content-Length: 30000\r\n"),
            std::string::npos);
  const std::string head =
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n";
  EXPECT_EQ(out[0].request.size(), head.size() + 30000 + 1);
}

}  // namespace
}  // namespace ssebridge::frontend
