// The notifications service on Redis Streams, as real processes: a real
// redis-server (ephemeral loopback port, requirepass with the password in a
// file, appendonly yes with fsync always in a temp dir), the notifications
// binary with --redis, and the real frontend with token auth.
//  - kill -9 of the service mid-stream, notifications posted meanwhile
//    through a second replica, then a new instance: the client resumes with
//    its Last-Event-ID and sees every notification exactly once, in order.
//  - Redis down: the open stream ends with an UNAVAILABLE error event, the
//    frontend's /readyz reports the backend not serving; once Redis is back
//    a resume gets everything written before and after.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_util.h"
#include "tests/util/child_process.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_tokens.h"
#include "tests/util/test_util.h"

namespace ssebridge {
namespace {

using ::ssebridge::testing::ChildProcess;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestTokens;
using ::ssebridge::testing::WaitFor;
using ::ssebridge::testing::deploy::RedisServer;
using ::ssebridge::testing::deploy::RedisServerOptions;
using ::ssebridge::testing::deploy::TempDir;
using ::ssebridge::testing::deploy::WriteFile;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr char kPassword[] = "notif-test-password";

// The frontend binary with a config in `dir`.
class Frontend {
 public:
  Frontend(const std::string& dir, const std::string& yaml) {
    const std::string path = dir + "/frontend.yaml";
    std::ofstream(path) << yaml;
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{SSEBRIDGE_FRONTEND_BIN, "--config", path});
    auto line = proc_->WaitForLine("listening on", absl::Seconds(10));
    if (line) port_ = ssebridge::testing::PortFromListeningLine(*line);
  }
  int port() const { return port_; }
  std::string Get(const std::string& path) {
    SseClient c;
    if (!c.Connect(port_)) return "";
    c.SendAll(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.ReadToEof(absl::Seconds(3));
    return c.raw_body();
  }
  bool Ready() { return absl::StartsWith(Get("/readyz"), "ready\n"); }

 private:
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

// POST /api/notify as the subject of `token`: the status and the body.
std::pair<int, std::string> Notify(int port, const std::string& token,
                                   const std::string& text) {
  SseClient c;
  if (!c.Connect(port)) return {0, ""};
  const std::string body = "text=" + text;
  c.SendAll(
      absl::StrCat("POST /api/notify HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer ",
                   token,
                   "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: ",
                   body.size(), "\r\n\r\n", body));
  c.ReadToEof(absl::Seconds(5));
  return {c.status(), c.raw_body()};
}

// The texts of the "notification" events a client has seen, in order.
std::vector<std::string> Texts(const SseClient& c) {
  std::vector<std::string> out;
  for (const auto& e : c.events()) {
    if (e.type != "notification") continue;
    const size_t start = e.data.find('>') + 1;
    out.push_back(e.data.substr(start, e.data.find(' ', start) - start));
  }
  return out;
}
size_t CountType(const SseClient& c, const std::string& type) {
  return std::count_if(c.events().begin(), c.events().end(),
                       [&](const auto& e) { return e.type == type; });
}

class NotificationsRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::Binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed; `make deps` installs it";
    }
    redis_ = std::make_unique<RedisServer>(
        dir_.path(), RedisServerOptions{kPassword, /*appendonly=*/true});
    ASSERT_TRUE(redis_->Start().ok());
    password_file_ = dir_.File("redis_password");
    ASSERT_TRUE(WriteFile(password_file_, std::string(kPassword) + "\n"));
    port_a_ = ssebridge::testing::FreeLoopbackPort();
    port_b_ = ssebridge::testing::FreeLoopbackPort();
  }

  std::unique_ptr<ChildProcess> StartService(int port) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        SSEBRIDGE_NOTIFICATIONS_BIN, absl::StrCat("--listen=127.0.0.1:", port),
        "--redis=" + redis_->address(),
        "--redis_password_file=" + password_file_,
        "--redis_max_backoff=200ms"});
  }

  // A frontend whose notes backend is `port`.
  std::unique_ptr<Frontend> StartFrontend(int port) {
    return std::make_unique<Frontend>(
        dir_.path(),
        absl::StrCat(
            "listen:\n  port: 0\nbackends:\n  - name: notes\n"
            "    target: 127.0.0.1:",
            port, "\n    connect_timeout: 500ms\n",
            "routes:\n  - path: /api/notifications\n    backend: notes\n",
            "    auth: required\n    heartbeat: 500ms\n",
            "  - path: /api/notify\n    backend: notes\n    methods: [POST]\n",
            "    auth: required\n", "logging:\n  level: warn\n",
            tokens_.AuthYaml()));
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::string password_file_;
  TestTokens tokens_;
  int port_a_ = 0;
  int port_b_ = 0;
};

TEST_F(NotificationsRedisTest, KillDashNineThenResumeSeesEveryNoteOnce) {
  auto service = StartService(port_a_);
  auto replica = StartService(port_b_);
  auto fe = StartFrontend(port_a_);
  auto fe_b = StartFrontend(port_b_);  // the same route on the replica
  ASSERT_GT(fe->port(), 0);
  ASSERT_GT(fe_b->port(), 0);
  ASSERT_TRUE(
      WaitFor([&] { return fe->Ready() && fe_b->Ready(); }, absl::Seconds(10)));
  const std::string kim = tokens_.Token("kim");

  SseClient a;
  ASSERT_TRUE(a.Connect(fe->port()));
  ASSERT_TRUE(a.Get("/api/notifications",
                    {"Authorization: Bearer " + kim, "Last-Event-ID: 0"}));
  ASSERT_TRUE(a.ReadHead());
  std::vector<std::string> sent;
  for (int i = 1; i <= 3; ++i) {
    const std::string text = absl::StrCat("before", i);
    auto [status, body] = Notify(fe->port(), kim, text);
    ASSERT_EQ(status, 200) << body;
    EXPECT_THAT(body, HasSubstr("class=\"sent\" data-id=\""));
    sent.push_back(text);
  }
  ASSERT_TRUE(a.ReadUntil([&] { return Texts(a).size() >= 3; }))
      << a.raw_body();
  const std::string last_id = a.last_event_id();
  EXPECT_THAT(last_id, ::testing::MatchesRegex("[0-9]+-[0-9]+"));

  // kill -9 mid-stream: error event, the end.
  service->Signal(SIGKILL);
  service->Wait(absl::Seconds(5));
  ASSERT_TRUE(a.ReadToEof(absl::Seconds(5)));
  EXPECT_EQ(a.events().back().type, "error");
  EXPECT_EQ(a.last_event_id(), last_id);

  // While it is gone, the other replica takes notifications for kim.
  for (int i = 1; i <= 2; ++i) {
    const std::string text = absl::StrCat("during", i);
    ASSERT_EQ(Notify(fe_b->port(), kim, text).first, 200);
    sent.push_back(text);
  }
  // A new instance on the same address; the client resumes.
  service = StartService(port_a_);
  ASSERT_TRUE(WaitFor([&] { return fe->Ready(); }, absl::Seconds(10)));
  SseClient b;
  ASSERT_TRUE(b.Connect(fe->port()));
  ASSERT_TRUE(b.Get("/api/notifications", {"Authorization: Bearer " + kim,
                                           "Last-Event-ID: " + last_id}));
  ASSERT_TRUE(b.ReadUntil([&] { return Texts(b).size() >= 2; }))
      << b.raw_body();
  for (int i = 1; i <= 2; ++i) {
    const std::string text = absl::StrCat("after", i);
    ASSERT_EQ(Notify(fe->port(), kim, text).first, 200);
    sent.push_back(text);
  }
  ASSERT_TRUE(b.ReadUntil([&] { return Texts(b).size() >= 4; }))
      << b.raw_body();
  EXPECT_EQ(CountType(b, "reset"), 0u);
  std::vector<std::string> seen = Texts(a);
  for (const std::string& t : Texts(b)) seen.push_back(t);
  EXPECT_THAT(seen, ElementsAreArray(sent));
  // The replica's own stream, resumed from the same id, agrees.
  SseClient c;
  ASSERT_TRUE(c.Connect(fe_b->port()));
  ASSERT_TRUE(c.Get("/api/notifications", {"Authorization: Bearer " + kim,
                                           "Last-Event-ID: " + last_id}));
  ASSERT_TRUE(c.ReadUntil([&] { return Texts(c).size() >= 4; }));
  EXPECT_EQ(Texts(c), Texts(b));
}

TEST_F(NotificationsRedisTest, RedisOutageEndsStreamAndResumeGetsEverything) {
  auto service = StartService(port_a_);
  auto fe = StartFrontend(port_a_);
  ASSERT_GT(fe->port(), 0);
  ASSERT_TRUE(WaitFor([&] { return fe->Ready(); }, absl::Seconds(10)));
  const std::string ann = tokens_.Token("ann");

  SseClient a;
  ASSERT_TRUE(a.Connect(fe->port()));
  ASSERT_TRUE(a.Get("/api/notifications",
                    {"Authorization: Bearer " + ann, "Last-Event-ID: 0"}));
  ASSERT_TRUE(a.ReadHead());
  ASSERT_EQ(Notify(fe->port(), ann, "one").first, 200);
  ASSERT_EQ(Notify(fe->port(), ann, "two").first, 200);
  ASSERT_TRUE(a.ReadUntil([&] { return Texts(a).size() >= 2; }));
  const std::string last_id = a.last_event_id();

  const int redis_port = redis_->port();
  redis_->Stop();
  ASSERT_TRUE(a.ReadToEof(absl::Seconds(10))) << a.raw_body();
  ASSERT_EQ(a.events().back().type, "error");
  EXPECT_THAT(a.events().back().data, HasSubstr("UNAVAILABLE"));
  ASSERT_TRUE(WaitFor([&] { return !fe->Ready(); }, absl::Seconds(10)))
      << "the service's gRPC health follows Redis";
  EXPECT_THAT(fe->Get("/readyz"), HasSubstr("not serving"));
  // Writes fail visibly rather than vanish.
  auto [status, body] = Notify(fe->port(), ann, "lost");
  EXPECT_THAT(body, HasSubstr("UNAVAILABLE"));
  // A stream opened now ends at once with the same error.
  {
    SseClient down;
    ASSERT_TRUE(down.Connect(fe->port()));
    ASSERT_TRUE(down.Get("/api/notifications", {"Authorization: Bearer " + ann,
                                                "Last-Event-ID: " + last_id}));
    ASSERT_TRUE(down.ReadToEof(absl::Seconds(10)));
    if (down.status() == 200) {
      ASSERT_FALSE(down.events().empty());
      EXPECT_EQ(down.events().back().type, "error");
    }
  }

  // Redis comes back with its append-only file: nothing written is lost.
  ASSERT_TRUE(redis_->Start(redis_port).ok());
  ASSERT_TRUE(WaitFor([&] { return fe->Ready(); }, absl::Seconds(15)));
  ASSERT_EQ(Notify(fe->port(), ann, "three").first, 200);
  SseClient b;
  ASSERT_TRUE(b.Connect(fe->port()));
  ASSERT_TRUE(b.Get("/api/notifications",
                    {"Authorization: Bearer " + ann, "Last-Event-ID: 0"}));
  ASSERT_TRUE(b.ReadUntil([&] { return Texts(b).size() >= 3; }))
      << b.raw_body();
  EXPECT_THAT(Texts(b), ::testing::ElementsAre("one", "two", "three"));
  SseClient c;
  ASSERT_TRUE(c.Connect(fe->port()));
  ASSERT_TRUE(c.Get("/api/notifications", {"Authorization: Bearer " + ann,
                                           "Last-Event-ID: " + last_id}));
  ASSERT_TRUE(c.ReadUntil([&] { return Texts(c).size() >= 1; }));
  ASSERT_EQ(Notify(fe->port(), ann, "four").first, 200);
  ASSERT_TRUE(c.ReadUntil([&] { return Texts(c).size() >= 2; }));
  EXPECT_THAT(Texts(c), ::testing::ElementsAre("three", "four"));
  EXPECT_EQ(CountType(c, "reset"), 0u);
}

}  // namespace
}  // namespace ssebridge
