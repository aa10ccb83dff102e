// The frontend's HTTP/1.1 edge against RFC 9112, end to end: a real
// FrontendServer on 127.0.0.1, a real in-process gRPC test service, and raw
// TCP connections. A table of raw inputs, each on its own connection, must
// each be answered (or the connection closed) within 1 s, while three SSE
// streams on other connections keep receiving events throughout.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "frontend/http/frontend_server.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_service.h"
#include "tests/util/test_util.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestServer;
using ::ssebridge::testing::WaitFor;

// Every answer, and every close, is due within this.
constexpr absl::Duration kAnswerWithin = absl::Seconds(1);

// One response as read off the wire.
struct Response {
  int status = 0;
  std::string head;  // status line and header lines, without the blank line
  std::string connection;  // the Connection header, lower case
  bool stream = false;     // text/event-stream: the connection is a stream now
};

// A raw client connection that reads responses one by one (Content-Length
// bodies; a stream's head ends the responses).
class RawConnection {
 public:
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }

  bool Connect(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return false;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return true;
  }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next response, or nullopt if none was complete by `deadline` (or
  // the connection closed first).
  std::optional<Response> ReadResponse(absl::Time deadline) {
    while (true) {
      if (std::optional<Response> r = TakeResponse()) return r;
      if (!ReadSome(deadline)) return std::nullopt;
    }
  }

  // True once the server closed the connection (EOF or reset) before
  // `deadline`. Bytes that arrive first are kept in unread().
  bool WaitForClose(absl::Time deadline) {
    while (!closed_) {
      if (!ReadSome(deadline) && !closed_) return false;
    }
    return true;
  }

  const std::string& unread() const { return in_; }

 private:
  std::optional<Response> TakeResponse() {
    const size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    Response r;
    r.head = in_.substr(0, end);
    std::vector<absl::string_view> lines = absl::StrSplit(r.head, "\r\n");
    std::vector<absl::string_view> first = absl::StrSplit(lines[0], ' ');
    if (first.size() < 2 || !absl::StartsWith(first[0], "HTTP/1.") ||
        !absl::SimpleAtoi(first[1], &r.status)) {
      r.status = -1;  // not a status line
    }
    size_t length = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) continue;
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      absl::string_view value =
          absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
      if (name == "content-length") (void)absl::SimpleAtoi(value, &length);
      if (name == "connection") r.connection = absl::AsciiStrToLower(value);
      if (name == "content-type" &&
          absl::StartsWith(value, "text/event-stream")) {
        r.stream = true;
      }
    }
    if (r.status / 100 == 1 || r.stream) length = 0;
    if (in_.size() < end + 4 + length) return std::nullopt;
    in_.erase(0, end + 4 + length);
    return r;
  }

  bool ReadSome(absl::Time deadline) {
    if (closed_) return false;
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(ms)) <= 0) return false;
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

// What the client sends in one write, and the statuses it then expects, in
// order.
struct Exchange {
  std::string send;
  std::vector<int> statuses;
};

enum class After {
  kKeptOpen,  // no answer says close; the next request is answered too
  kClosed,    // the last answer says Connection: close, then the server closes
  kStream,    // the last answer starts a stream, which ends on its own
};

struct Case {
  std::string name;
  std::vector<Exchange> exchanges;
  After after;
};

class HttpEdgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    backend_ = new TestServer();
    FrontendConfig cfg = integration::LoopbackConfig(backend_->target());
    for (const char* action : {"echo", "paced"}) {
      auto* r = cfg.add_routes();
      r->set_path(absl::StrCat("/t/", action));
      r->add_methods("GET");
      r->add_methods("POST");
      r->set_backend("test");
    }
    frontend_ = integration::StartFrontend(cfg).release();
    ASSERT_NE(frontend_, nullptr);
  }

  static void TearDownTestSuite() {
    frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete backend_;
  }

  static int port() { return frontend_->port(); }

  static TestServer* backend_;
  static FrontendServer* frontend_;
};

TestServer* HttpEdgeTest::backend_ = nullptr;
FrontendServer* HttpEdgeTest::frontend_ = nullptr;

// SSE streams read on their own threads; events() counts what each got.
class BackgroundStreams {
 public:
  static constexpr int kStreams = 3;

  explicit BackgroundStreams(int port) {
    for (int i = 0; i < kStreams; ++i) {
      auto c = std::make_unique<SseClient>();
      ok_ = ok_ && c->Connect(port) &&
            c->Get(absl::StrCat("/t/paced?tag=bg", i, "&n=1000000&ms=10"));
      clients_.push_back(std::move(c));
    }
    for (int i = 0; i < kStreams && ok_; ++i) {
      threads_.emplace_back([this, i] {
        SseClient& c = *clients_[i];
        while (!stop_.load() && !c.eof()) {
          c.ReadUntil(
              [&] {
                return stop_.load() || c.events().size() > counts_[i].load();
              },
              absl::Milliseconds(100));
          counts_[i].store(c.events().size());
        }
      });
    }
  }

  ~BackgroundStreams() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
  }

  bool ok() const { return ok_; }
  size_t events(int i) const { return counts_[i].load(); }

 private:
  bool ok_ = true;
  std::vector<std::unique_ptr<SseClient>> clients_;
  std::array<std::atomic<size_t>, kStreams> counts_{};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

std::string Head(absl::string_view request_line,
                 const std::vector<std::string>& headers = {"Host: x"}) {
  std::string out = absl::StrCat(request_line, "\r\n");
  for (const std::string& h : headers) absl::StrAppend(&out, h, "\r\n");
  out.append("\r\n");
  return out;
}

std::vector<Case> Cases() {
  const std::string healthz = Head("GET /healthz HTTP/1.1");
  const std::string big(100 * 1024, 'a');
  std::string many_headers = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(&many_headers, "X-N", i, ": ", std::string(40, 'v'),
                    "\r\n");
  }
  many_headers.append("\r\n");
  const std::string post_healthz =
      Head("POST /healthz HTTP/1.1",
           {"Host: x", "Content-Length: 5", "Expect: 100-continue"});
  const std::string post_echo =
      Head("POST /t/echo HTTP/1.1",
           {"Host: x", "Accept: text/event-stream",
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Length: 8", "Expect: 100-continue"});
  const std::string stream = Head("GET /t/paced?tag=p&n=3&ms=1 HTTP/1.1");
  return {
      // The request line: method SP request-target SP HTTP-version.
      {"request line without a version",
       {{"HELLO\r\n\r\n", {400}}},
       After::kClosed},
      {"request line alone", {{"HELLO\r\n", {400}}}, After::kClosed},
      {"no version", {{Head("GET /healthz"), {400}}}, After::kClosed},
      {"two spaces after the method",
       {{Head("GET  /healthz HTTP/1.1"), {400}}},
       After::kClosed},
      {"two spaces before the version",
       {{Head("GET /healthz  HTTP/1.1"), {400}}},
       After::kClosed},
      {"space after the version",
       {{Head("GET /healthz HTTP/1.1 "), {400}}},
       After::kClosed},
      {"lower-case version",
       {{Head("GET /healthz http/1.1"), {400}}},
       After::kClosed},
      {"TLS on the plain port",
       {{std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
         {400}}},
       After::kClosed},
      {"unknown method",
       {{Head("BREW /healthz HTTP/1.1"), {501}}},
       After::kClosed},
      {"target of 100 KiB",
       {{Head(absl::StrCat("GET /healthz?", big, " HTTP/1.1")), {414}}},
       After::kClosed},
      // Versions.
      {"HTTP/3.7", {{Head("GET /healthz HTTP/3.7"), {505}}}, After::kClosed},
      {"HTTP/2.0 as text",
       {{Head("GET /healthz HTTP/2.0"), {505}}},
       After::kClosed},
      {"HTTP/2 preface",
       {{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {505}}},
       After::kClosed},
      {"HTTP/1.0 closes after its answer",
       {{Head("GET /healthz HTTP/1.0", {}), {200}}},
       After::kClosed},
      {"HTTP/1.0 keep-alive",
       {{Head("GET /healthz HTTP/1.0", {"Connection: keep-alive"}), {200}}},
       After::kKeptOpen},
      {"absolute form",
       {{Head("GET http://x/healthz HTTP/1.1"), {200}}},
       After::kKeptOpen},
      // The head: size, Host, bytes that never belong in it.
      {"header line of 100 KiB",
       {{Head("GET /healthz HTTP/1.1", {"Host: x", "X-Big: " + big}), {431}}},
       After::kClosed},
      {"header line of 100 KiB on a stream route",
       {{Head("GET /t/echo HTTP/1.1", {"Host: x", "X-Big: " + big}), {431}}},
       After::kClosed},
      {"2000 header lines", {{many_headers, {431}}}, After::kClosed},
      {"HTTP/1.1 without Host",
       {{Head("GET /healthz HTTP/1.1", {}), {400}}},
       After::kClosed},
      {"two Host headers",
       {{Head("GET /healthz HTTP/1.1", {"Host: a", "Host: b"}), {400}}},
       After::kClosed},
      {"obs-fold",
       {{Head("GET /healthz HTTP/1.1", {"Host: x", "A: b", " folded"}), {400}}},
       After::kClosed},
      {"bare CR",
       {{"GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", {400}}},
       After::kClosed},
      {"bare LF",
       {{"GET /healthz HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", {400}}},
       After::kClosed},
      {"NUL",
       {{std::string("GET /healthz HTTP/1.1\r\nHost: x") + '\0' + "\r\n\r\n",
         {400}}},
       After::kClosed},
      // Expect.
      {"100-continue before the body",
       {{post_healthz, {100}}, {"hello", {200}}},
       After::kKeptOpen},
      {"100-continue on a stream route",
       {{post_echo, {100}}, {"tag=e100", {200}}},
       After::kStream},
      {"100-continue with the body already there",
       {{post_healthz + "hello", {200}}},
       After::kKeptOpen},
      {"unknown expectation",
       {{Head("POST /healthz HTTP/1.1",
              {"Host: x", "Content-Length: 5", "Expect: teapot"}),
         {417}}},
       After::kClosed},
      // Connection management and pipelining.
      {"Connection: close",
       {{Head("GET /healthz HTTP/1.1", {"Host: x", "Connection: close"}),
         {200}}},
       After::kClosed},
      {"two requests in one write",
       {{healthz + healthz, {200, 200}}},
       After::kKeptOpen},
      {"three requests, one with a body, in one write",
       {{healthz +
             Head("POST /healthz HTTP/1.1", {"Host: x", "Content-Length: 3"}) +
             "abc" + Head("GET /nope HTTP/1.1"),
         {200, 200, 404}}},
       After::kKeptOpen},
      {"a pipeline ends at Connection: close",
       {{Head("GET /healthz HTTP/1.1", {"Host: x", "Connection: close"}) +
             healthz,
         {200}}},
       After::kClosed},
      {"a pipeline ends at a bad request",
       {{healthz + "HELLO\r\n\r\n" + healthz, {200, 400}}},
       After::kClosed},
      {"nothing is answered into a stream",
       {{healthz + stream + healthz, {200, 200}}},
       After::kStream},
  };
}

// What a case should look like: each answer's status ("[close]" where it
// says Connection: close), then how the connection ends.
std::string Expected(const Case& tc) {
  std::vector<std::string> parts;
  for (const Exchange& ex : tc.exchanges) {
    for (int status : ex.statuses) parts.push_back(absl::StrCat(status));
  }
  switch (tc.after) {
    case After::kKeptOpen:
      return absl::StrCat(absl::StrJoin(parts, " "), "; then answers 200");
    case After::kClosed:
      parts.back() += " [close]";
      return absl::StrCat(absl::StrJoin(parts, " "), "; then closed");
    case After::kStream:
      return absl::StrCat(absl::StrJoin(parts, " "), "; stream ended");
  }
  return "";
}

// Sends one case's exchanges on a new connection; returns what happened, in
// Expected()'s words.
std::string RunCase(int port, const Case& tc) {
  RawConnection conn;
  if (!conn.Connect(port)) return "cannot connect";
  std::vector<std::string> parts;
  auto describe = [](const Response& r) {
    return absl::StrCat(r.status, r.connection == "close" ? " [close]" : "");
  };
  auto timed_out = [&] {
    parts.push_back(absl::StrCat("nothing within 1 s (got \"",
                                 absl::CHexEscape(conn.unread().substr(0, 100)),
                                 "\")"));
    return absl::StrJoin(parts, " ");
  };
  std::optional<Response> last;
  for (const Exchange& ex : tc.exchanges) {
    if (!conn.Send(ex.send)) return "send failed";
    const absl::Time deadline = absl::Now() + kAnswerWithin;
    for (size_t i = 0; i < ex.statuses.size(); ++i) {
      last = conn.ReadResponse(deadline);
      if (!last) return timed_out();
      parts.push_back(describe(*last));
      if (last->status == 100) {
        EXPECT_EQ(last->head, "HTTP/1.1 100 Continue") << tc.name;
      }
    }
  }
  std::string out = absl::StrJoin(parts, " ");
  const absl::Time deadline = absl::Now() + kAnswerWithin;
  switch (tc.after) {
    case After::kKeptOpen: {
      // Still open, and in step: the next request gets its own answer.
      if (!conn.Send(Head("GET /healthz HTTP/1.1"))) return out + "; closed";
      std::optional<Response> r = conn.ReadResponse(deadline);
      if (!r) return out + "; then no answer";
      return absl::StrCat(out, "; then answers ", describe(*r));
    }
    case After::kClosed:
      if (!conn.WaitForClose(deadline)) return out + "; open after 1 s";
      if (!conn.unread().empty()) {
        return absl::StrCat(out, "; closed after ", conn.unread().size(),
                            " more bytes");
      }
      return out + "; then closed";
    case After::kStream:
      if (!last->stream) return out + "; not a stream";
      if (!conn.WaitForClose(deadline)) return out + "; stream open after 1 s";
      if (absl::StrContains(conn.unread(), "HTTP/1.")) {
        return out + "; a response inside the stream";
      }
      return out + "; stream ended";
  }
  return out;
}

TEST_F(HttpEdgeTest, EveryInputIsAnsweredWithinASecondAndStreamsFlow) {
  BackgroundStreams streams(port());
  ASSERT_TRUE(streams.ok());
  std::array<size_t, BackgroundStreams::kStreams> seen{};
  auto streams_flow = [&](const std::string& when) {
    for (int i = 0; i < BackgroundStreams::kStreams; ++i) {
      EXPECT_TRUE(
          WaitFor([&] { return streams.events(i) > seen[i]; }, kAnswerWithin))
          << "stream " << i << " stalled at " << seen[i] << " events " << when;
      seen[i] = streams.events(i);
    }
  };
  streams_flow("before the table");
  for (const Case& tc : Cases()) {
    EXPECT_EQ(RunCase(port(), tc), Expected(tc)) << tc.name;
    streams_flow("after " + tc.name);
  }
}

}  // namespace
}  // namespace ssebridge::frontend
