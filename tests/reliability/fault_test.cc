// Fault injection against the real frontend binary (a child process) and
// in-process gRPC backends on 127.0.0.1: a backend that accepts TCP but
// never speaks, file-descriptor exhaustion, slowloris and oversized
// requests, and services that send invalid events.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/child_process.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_service.h"
#include "tests/util/test_tokens.h"
#include "tests/util/test_util.h"

namespace ssebridge {
namespace {

using ::ssebridge::action::v1::Event;
using ::ssebridge::testing::ChildProcess;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestServer;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;

// The frontend binary with a config written to a temp file.
class Frontend {
 public:
  explicit Frontend(const std::string& yaml, int max_fds = 0) {
    static int n = 0;
    path_ = absl::StrCat(::testing::TempDir(), "/fault_", getpid(), "_", n++,
                         ".yaml");
    const std::string& path = path_;
    std::ofstream(path) << yaml;
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{SSEBRIDGE_FRONTEND_BIN, "--config", path},
        max_fds);
    auto line = proc_->WaitForLine("listening on", absl::Seconds(10));
    if (line) port_ = ssebridge::testing::PortFromListeningLine(*line);
  }
  ~Frontend() {
    proc_.reset();  // stop the process before its config goes
    std::filesystem::remove(path_);
  }
  int port() const { return port_; }
  ChildProcess& proc() { return *proc_; }
  std::string Get(const std::string& path) {
    SseClient c;
    if (!c.Connect(port_)) return "";
    c.SendAll(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.ReadToEof(absl::Seconds(3));
    return c.raw_body();
  }

 private:
  std::string path_;
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

std::string Config(const std::string& target,
                   const std::string& extra_route = "",
                   const std::string& extra = "") {
  return absl::StrCat(
      "listen:\n  port: 0\n  header_timeout: 2s\n  max_request_bytes: 65536\n",
      "backends:\n  - name: test\n    target: ", target,
      "\n    connect_timeout: 500ms\n", "routes:\n",
      "  - path: /t/idle\n    backend: test\n    action: idle\n    heartbeat: "
      "200ms\n",
      "  - path: /t/paced\n    backend: test\n    action: paced\n",
      "  - path: /t/script\n    backend: test\n    action: script\n    "
      "methods: [GET, POST]\n",
      extra_route, "logging:\n  level: warn\n", extra);
}

// A TCP listener that accepts connections and never says a word.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);  // the kernel completes handshakes; nobody reads
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST(FaultTest, HungBackendGetsHeartbeatsThenMaxDurationEndsIt) {
  SilentServer silent;
  Frontend fe(Config(absl::StrCat("127.0.0.1:", silent.port()),
                     "  - path: /hang\n    backend: test\n    action: idle\n"
                     "    heartbeat: 200ms\n    max_duration: 2s\n"));
  ASSERT_GT(fe.port(), 0);
  SseClient c;
  ASSERT_TRUE(c.Connect(fe.port()));
  ASSERT_TRUE(c.Get("/hang"));
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(6)));
  const absl::Duration took = absl::Now() - t0;
  EXPECT_EQ(c.status(), 200) << "head sent after connect_timeout";
  EXPECT_GE(std::count(c.comments().begin(), c.comments().end(), " ping"), 3);
  ASSERT_FALSE(c.events().empty());
  EXPECT_EQ(c.events().back().type, "done");
  EXPECT_THAT(c.raw_body(), HasSubstr("retry: "));
  EXPECT_GE(took, absl::Milliseconds(1900));
  EXPECT_LT(took, absl::Seconds(4));
  EXPECT_THAT(fe.Get("/healthz"), HasSubstr("ok"));
}

TEST(FaultTest, FdExhaustionRefusesNewStreamsKeepsOldOnesAndRecovers) {
  TestServer backend;
  constexpr int kMaxFds = 96;
  Frontend fe(Config(backend.target()), kMaxFds);
  ASSERT_GT(fe.port(), 0);
  // Each stream costs the frontend two fds (Pistache's and our dup); the
  // frontend keeps the top 32 descriptors in reserve, so the streams that
  // would eat into it get a clean 503 with Retry-After, never a reset.
  std::vector<std::unique_ptr<SseClient>> streams;
  int refused = 0;
  for (int i = 0; i < kMaxFds && refused < 5; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(fe.port())) << "stream " << i;
    ASSERT_TRUE(c->Get("/t/idle"));
    ASSERT_TRUE(c->ReadHead(absl::Seconds(2))) << "stream " << i;
    if (c->status() == 200) {
      streams.push_back(std::move(c));
      continue;
    }
    EXPECT_EQ(c->status(), 503) << "stream " << i;
    EXPECT_FALSE(c->header("retry-after").empty());
    ++refused;
  }
  ASSERT_GT(streams.size(), 10u);
  EXPECT_GT(refused, 0) << "the limit was never reached";
  // Old streams keep flowing: every one still gets heartbeats.
  for (auto& s : streams) {
    const size_t before = s->comments().size();
    EXPECT_TRUE(s->ReadUntil([&] { return s->comments().size() > before; },
                             absl::Seconds(3)));
  }
  // Load drops: the frontend serves new streams again.
  streams.resize(streams.size() / 2);
  bool recovered = WaitFor(
      [&] {
        SseClient c;
        if (!c.Connect(fe.port()) || !c.Get("/t/paced?n=2&ms=1")) return false;
        return c.ReadToEof(absl::Seconds(2)) && c.status() == 200 &&
               c.events().size() == 3;
      },
      absl::Seconds(15));
  EXPECT_TRUE(recovered);
  EXPECT_THAT(fe.Get("/healthz"), HasSubstr("ok"));
}

TEST(FaultTest, SlowlorisAndOversizedRequestsAreCutOff) {
  TestServer backend;
  Frontend fe(Config(backend.target()));
  ASSERT_GT(fe.port(), 0);
  // A stream that must not be disturbed meanwhile.
  SseClient bystander;
  ASSERT_TRUE(bystander.Connect(fe.port()));
  ASSERT_TRUE(bystander.Get("/t/idle"));
  ASSERT_TRUE(bystander.ReadHead());

  // Slowloris: one byte a second; cut off within header_timeout (2 s) + tick.
  SseClient slow;
  ASSERT_TRUE(slow.Connect(fe.port()));
  const std::string req =
      "GET /t/idle HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaa";
  const absl::Time t0 = absl::Now();
  bool cut = false;
  for (size_t i = 0; i < req.size() && absl::Now() - t0 < absl::Seconds(8);
       ++i) {
    if (!slow.SendAll(req.substr(i, 1))) {
      cut = true;
      break;
    }
    if (slow.ReadToEof(absl::Seconds(1))) {
      cut = true;
      break;
    }
  }
  EXPECT_TRUE(cut) << "slowloris connection still open";
  EXPECT_LT(absl::Now() - t0, absl::Seconds(6));
  if (slow.status() != 0) {
    EXPECT_EQ(slow.status(), 408);
  }

  // Oversized head (> 64 KiB) and oversized body.
  SseClient big;
  ASSERT_TRUE(big.Connect(fe.port()));
  big.SendAll(absl::StrCat("GET /t/idle HTTP/1.1\r\nHost: x\r\nX-Big: ",
                           std::string(70 * 1024, 'a'), "\r\n\r\n"));
  ASSERT_TRUE(big.ReadHead(absl::Seconds(3)));
  EXPECT_EQ(big.status(), 431);
  SseClient body;
  ASSERT_TRUE(body.Connect(fe.port()));
  body.SendAll(absl::StrCat(
      "POST /t/script HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
      std::string(100000, 'a')));
  ASSERT_TRUE(body.ReadHead(absl::Seconds(3)));
  EXPECT_EQ(body.status(), 413);

  // The bystander never noticed.
  const size_t before = bystander.comments().size();
  EXPECT_TRUE(bystander.ReadUntil(
      [&] { return bystander.comments().size() > before; }, absl::Seconds(2)));
  EXPECT_TRUE(bystander.events().empty());
}

TEST(FaultTest, InvalidEventsAreDroppedCountedAndNeverInjected) {
  TestServer backend;
  Event bad_name;
  bad_name.set_event("x\r\ndata: injected-name");
  bad_name.set_text("n");
  Event bad_id;
  bad_id.set_id(std::string("1\0\n", 3));
  bad_id.set_text("i");
  Event huge;
  huge.set_html(std::string(10 * 1024 * 1024, 'h'));
  Event fine;
  fine.set_text("still here");
  backend.service().SetScript("bad", {bad_name, bad_id, huge, fine});
  Event utf8;
  utf8.set_raw(std::string("ok \xff\xfe bytes"));
  backend.service().SetScript("utf8", {fine, utf8, fine});
  Frontend fe(Config(backend.target()));
  ASSERT_GT(fe.port(), 0);

  SseClient c;
  ASSERT_TRUE(c.Connect(fe.port()));
  ASSERT_TRUE(c.Get("/t/script?script=bad"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ASSERT_EQ(c.events().size(), 2u);
  EXPECT_EQ(c.events()[0].data, "still here");
  EXPECT_EQ(c.events()[1].type, "done");
  EXPECT_THAT(c.raw_body(), ::testing::Not(HasSubstr("injected")));
  EXPECT_LT(c.raw_body().size(), 1000u);

  // Invalid UTF-8 in a proto3 string cannot even be parsed by the frontend's
  // gRPC client: the stream ends with an error event, nothing garbled.
  SseClient u;
  ASSERT_TRUE(u.Connect(fe.port()));
  ASSERT_TRUE(u.Get("/t/script?script=utf8"));
  ASSERT_TRUE(u.ReadToEof(absl::Seconds(5))) << u.raw_body();
  ASSERT_FALSE(u.events().empty());
  EXPECT_EQ(u.events()[0].data, "still here");
  EXPECT_EQ(u.events().back().type, "error");
  EXPECT_THAT(u.raw_body(), ::testing::Not(HasSubstr("\xff")));

  const std::string metrics = fe.Get("/metrics");
  EXPECT_THAT(
      metrics,
      HasSubstr("ssebridge_dropped_events_total{reason=\"invalid\"} 2"));
  EXPECT_THAT(
      metrics,
      HasSubstr("ssebridge_dropped_events_total{reason=\"oversized\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("ssebridge_streams_total{route=\"/t/"
                                 "script\",outcome=\"upstream_error\"} 1"));
}

// Notifies the subject of `token` (the notifications service trusts only a
// verified identity).
std::string Notify(int port, const std::string& token,
                   const std::string& text) {
  SseClient c;
  if (!c.Connect(port)) return "";
  const std::string body = "text=" + text;
  c.SendAll(
      absl::StrCat("POST /api/notify HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer ",
                   token,
                   "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: ",
                   body.size(), "\r\n\r\n", body));
  c.ReadToEof(absl::Seconds(3));
  return absl::StrCat(c.status());
}

TEST(FaultTest, KilledBackendGivesErrorEventsAndResumeLosesNothing) {
  TestServer other;  // a second backend that must keep serving
  const int port = ssebridge::testing::FreeLoopbackPort();
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", port);
  auto start_backend = [&] {
    auto p = std::make_unique<ChildProcess>(
        std::vector<std::string>{SSEBRIDGE_NOTIFICATIONS_BIN, listen});
    return p;
  };
  auto backend = start_backend();
  ssebridge::testing::TestTokens tokens;
  const std::string u1 = tokens.Token("u1");
  Frontend fe(absl::StrCat(
      "listen:\n  port: 0\nbackends:\n  - name: notes\n    target: 127.0.0.1:",
      port, "\n  - name: test\n    target: ", other.target(), "\n",
      "routes:\n  - path: /api/notifications\n    backend: notes\n",
      "    auth: required\n    heartbeat: 500ms\n",
      "  - path: /api/notify\n    backend: notes\n    methods: [POST]\n",
      "    auth: required\n",
      "  - path: /t/paced\n    backend: test\n    action: paced\n",
      "logging:\n  level: warn\n", tokens.AuthYaml()));
  ASSERT_GT(fe.port(), 0);
  ASSERT_TRUE(
      WaitFor([&] { return absl::StartsWith(fe.Get("/readyz"), "ready\n"); },
              absl::Seconds(10)));

  SseClient a;
  ASSERT_TRUE(a.Connect(fe.port()));
  // Last-Event-ID 0 ("before the first"): the stream replays from the
  // start, so posts racing with the subscription are not missed.
  ASSERT_TRUE(a.Get("/api/notifications",
                    {"Authorization: Bearer " + u1, "Last-Event-ID: 0"}));
  ASSERT_TRUE(a.ReadHead());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(Notify(fe.port(), u1, absl::StrCat("before", i)), "200");
  }
  ASSERT_TRUE(a.ReadUntil([&] { return a.events().size() >= 3; }))
      << a.raw_body();
  EXPECT_EQ(a.events()[2].last_event_id, "3");

  // kill -9 mid-stream: an error event with a retry hint, then the end.
  backend->Signal(SIGKILL);
  backend->Wait(absl::Seconds(5));
  ASSERT_TRUE(a.ReadToEof(absl::Seconds(5)));
  EXPECT_EQ(a.events().back().type, "error");
  EXPECT_THAT(a.events().back().data, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(a.raw_body(), HasSubstr("retry: "));
  const std::string last_id = a.last_event_id();
  EXPECT_EQ(last_id, "3");

  // Other routes keep working while the backend is down.
  {
    SseClient o;
    ASSERT_TRUE(o.Connect(fe.port()));
    ASSERT_TRUE(o.Get("/t/paced?n=3&ms=1"));
    ASSERT_TRUE(o.ReadToEof());
    EXPECT_EQ(o.events().size(), 4u);
  }

  // The backend comes back; notifications are posted while the client is
  // away; the client resumes with its Last-Event-ID and gets every one of
  // them exactly once, in order, then new ones live.
  backend = start_backend();
  ASSERT_TRUE(
      WaitFor([&] { return absl::StartsWith(fe.Get("/readyz"), "ready\n"); },
              absl::Seconds(10)));
  ASSERT_EQ(Notify(fe.port(), u1, "after1"), "200");
  ASSERT_EQ(Notify(fe.port(), u1, "after2"), "200");
  SseClient b;
  ASSERT_TRUE(b.Connect(fe.port()));
  ASSERT_TRUE(b.Get("/api/notifications", {"Authorization: Bearer " + u1,
                                           "Last-Event-ID: " + last_id}));
  ASSERT_TRUE(b.ReadUntil([&] {
    return std::count_if(
               b.events().begin(), b.events().end(),
               [](const auto& e) { return e.type == "notification"; }) >= 2;
  }));
  ASSERT_EQ(Notify(fe.port(), u1, "live"), "200");
  auto texts = [&] {
    std::vector<std::string> out;
    for (const auto& e : b.events()) {
      if (e.type != "notification") continue;
      for (const char* t :
           {"before1", "before2", "before3", "after1", "after2", "live"}) {
        if (absl::StrContains(e.data, t)) out.push_back(t);
      }
    }
    return out;
  };
  ASSERT_TRUE(b.ReadUntil([&] { return texts().size() >= 3; }));
  EXPECT_THAT(texts(), ::testing::ElementsAre("after1", "after2", "live"));
}

}  // namespace
}  // namespace ssebridge
