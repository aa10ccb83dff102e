// The docker-compose topology run as local processes on 127.0.0.1 ephemeral
// ports (DESIGN.md §8: no Docker engine here): a real redis-server, two
// chat_bot replicas with --room_bus=redis, the frontend binary with
// docker/frontend.yaml (rendered for loopback), and Debian's nginx started
// by docker/edge-entrypoint.sh from docker/nginx.conf.template (self-signed
// certificate made by openssl in a temp dir, running as the current user).
// Clients are real curl processes speaking HTTP/2 over TLS to the edge.
//
// Shown here: a message posted through replica A reaches a subscriber on
// replica B; 20 concurrent SSE streams share one HTTP/2 connection and all
// flow; the edge does not buffer (the first event arrives long before the
// stream ends); HTTP redirects to HTTPS; a Redis outage ends room streams
// with an SSE error event and everything works again when Redis returns;
// the Dockerfiles' HEALTHCHECK commands pass against the real processes.
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sse/parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_util.h"
#include "tests/util/child_process.h"
#include "tests/util/test_tokens.h"

namespace ssebridge::testing::deploy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(15);
constexpr char kChannelPrefix[] = "ssebridge:chat:";

// One curl process reading an endless or long stream; every stdout line is
// kept with its arrival time.
class CurlStream {
 public:
  CurlStream(const std::string& curl, const std::string& url)
      : process_(std::vector<std::string>{curl, "--http2", "-k", "-sS", "-N",
                                          "-i", url}) {}
  ~CurlStream() { StopChild(process_, SIGTERM, absl::Seconds(2)); }

  // The first line (from the start) containing `needle`, waiting for more
  // output up to `timeout`.
  std::optional<std::string> Await(absl::string_view needle,
                                   absl::Duration timeout = kWait) {
    const absl::Time deadline = absl::Now() + timeout;
    size_t i = 0;
    while (true) {
      for (; i < lines_.size(); ++i) {
        if (absl::StrContains(lines_[i].first, needle)) return lines_[i].first;
      }
      if (eof_ || absl::Now() >= deadline) return std::nullopt;
      std::optional<std::string> line =
          process_.ReadLine(deadline - absl::Now());
      if (!line) {
        // EOF or timeout: tell them apart by whether curl exited.
        eof_ = process_.Wait(absl::Milliseconds(1)).has_value();
        continue;
      }
      if (!line->empty() && line->back() == '\r') line->pop_back();
      lines_.emplace_back(std::move(*line), absl::Now());
    }
  }
  // When the line containing `needle` arrived (it must have been awaited).
  std::optional<absl::Time> ArrivalOf(absl::string_view needle) const {
    for (const auto& [line, when] : lines_) {
      if (absl::StrContains(line, needle)) return when;
    }
    return std::nullopt;
  }
  // Waits for curl to exit (the server ended the stream).
  bool Ended(absl::Duration timeout) {
    if (eof_) return true;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<std::string> line =
          process_.ReadLine(deadline - absl::Now());
      if (line) {
        lines_.emplace_back(std::move(*line), absl::Now());
        continue;
      }
      if (process_.Wait(absl::Milliseconds(100)).has_value()) {
        eof_ = true;
        return true;
      }
    }
    return false;
  }
  std::string Transcript() const {
    std::string out;
    for (const auto& [line, when] : lines_) absl::StrAppend(&out, line, "\n");
    return out;
  }

 private:
  ChildProcess process_;
  std::vector<std::pair<std::string, absl::Time>> lines_;
  bool eof_ = false;
};

// redis, chat_bot A and B, frontend, edge: started in that order, stopped in
// the reverse one (also when a test fails: the destructor).
class EdgeStack {
 public:
  EdgeStack() : redis_(dir_.path()) {}
  ~EdgeStack() { Stop(); }

  absl::Status Start() {
    if (absl::Status s = redis_.Start(); !s.ok()) return s;
    if (absl::Status s = StartChatBot(&chat_a_, &chat_a_port_); !s.ok()) {
      return s;
    }
    if (absl::Status s = StartChatBot(&chat_b_, &chat_b_port_); !s.ok()) {
      return s;
    }
    if (absl::Status s = StartFrontend(); !s.ok()) return s;
    return StartEdge();
  }

  void Stop() {
    if (edge_) StopChild(*edge_, SIGTERM);
    if (frontend_) StopChild(*frontend_, SIGTERM);
    if (chat_a_) StopChild(*chat_a_, SIGTERM);
    if (chat_b_) StopChild(*chat_b_, SIGTERM);
    edge_.reset();
    frontend_.reset();
    chat_a_.reset();
    chat_b_.reset();
    redis_.Stop();
  }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("https://127.0.0.1:", https_port_, path);
  }
  // curl through the edge; stdout+stderr, then "\n<code> <http version>".
  CommandResult Curl(const std::vector<std::string>& args,
                     absl::Duration timeout = absl::Seconds(20)) const {
    std::vector<std::string> argv = {curl_, "--http2",
                                     "-k",  "-sS",
                                     "-w",  "\n%{http_code} %{http_version}\n"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, timeout);
  }
  CommandResult Post(absl::string_view path) const {
    return Curl({"-X", "POST", Url(path)});
  }

  RedisServer& redis() { return redis_; }
  const TempDir& dir() const { return dir_; }
  const std::string& curl() const { return curl_; }
  int https_port() const { return https_port_; }
  int http_port() const { return http_port_; }
  int frontend_port() const { return frontend_port_; }
  int chat_a_port() const { return chat_a_port_; }
  std::string access_log() const { return dir_.File("edge-access.log"); }

  // What a test needs that may be missing; "" if everything is there.
  static std::string MissingTools() {
    std::vector<std::string> missing;
    for (const char* tool :
         {"curl", "nginx", "openssl", "envsubst", "redis-server"}) {
      if (FindProgram(tool).empty()) missing.push_back(tool);
    }
    if (missing.empty()) return "";
    return absl::StrCat(
        absl::StrJoin(missing, ", "),
        " not installed (`make deps` installs them: Makefile DEB_PACKAGES)");
  }

 private:
  absl::Status StartChatBot(std::unique_ptr<ChildProcess>* child, int* port) {
    *child = std::make_unique<ChildProcess>(std::vector<std::string>{
        SSEBRIDGE_CHAT_BOT_BIN, "--listen=127.0.0.1:0", "--room_bus=redis",
        absl::StrCat("--redis=", redis_.address()), "--think_delay=1s",
        "--word_delay=50ms", "--redis_max_backoff=300ms"});
    std::optional<std::string> line =
        (*child)->WaitForLine("serving", absl::Seconds(20));
    if (!line) return absl::UnavailableError("chat_bot did not start");
    const size_t at = line->rfind("port ");
    if (at == std::string::npos ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(line->substr(at + 5)),
                          port)) {
      return absl::InternalError(absl::StrCat("chat_bot said: ", *line));
    }
    return absl::OkStatus();
  }

  // docker/frontend.yaml with loopback addresses, plus routes pinned to one
  // replica each, so the test knows which replica serves which request.
  absl::Status StartFrontend() {
    YAML::Node config = YAML::LoadFile(SourcePath("docker/frontend.yaml"));
    config["listen"]["address"] = "127.0.0.1";
    config["listen"]["port"] = 0;
    config["static_root"] = "";
    config["shutdown_grace"] = "1s";
    // The dev login's keys, made for the test (compose makes them at the
    // frontend's first start).
    config["auth"]["providers"][0]["jwks_file"] = tokens_.jwks_file();
    config["auth"]["dev_login"]["signing_key_file"] =
        tokens_.signing_key_file();
    for (YAML::Node backend : config["backends"]) {
      if (backend["name"].as<std::string>() == "chat_bot") {
        // Both replicas behind one target, round_robin: what
        // dns:///chat_bot:50051 resolves to in compose.
        backend["target"] = absl::StrCat("ipv4:127.0.0.1:", chat_a_port_,
                                         ",127.0.0.1:", chat_b_port_);
      } else {  // not started here: nothing listens there
        backend["target"] = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
      }
    }
    for (const auto& [name, port] :
         {std::pair<std::string, int>{"chat_a", chat_a_port_},
          {"chat_b", chat_b_port_}}) {
      YAML::Node backend;
      backend["name"] = name;
      backend["target"] = absl::StrCat("127.0.0.1:", port);
      config["backends"].push_back(backend);
      for (const char* action : {"chat_post", "chat_stream", "chat_send"}) {
        YAML::Node route;
        route["path"] = absl::StrCat("/", name, "/", action);
        route["backend"] = name;
        route["action"] = action;
        route["methods"].push_back(std::string(action) == "chat_post" ? "POST"
                                                                      : "GET");
        config["routes"].push_back(route);
      }
    }
    YAML::Emitter out;
    out << config;
    const std::string path = dir_.File("frontend.yaml");
    if (!WriteFile(path, out.c_str())) {
      return absl::InternalError("cannot write the frontend config");
    }
    frontend_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        SSEBRIDGE_FRONTEND_BIN, absl::StrCat("--config=", path),
        "--log_level=warn"});
    std::optional<std::string> line =
        frontend_->WaitForLine("listening on", absl::Seconds(20));
    if (!line) return absl::UnavailableError("frontend did not start");
    frontend_port_ = PortFromListeningLine(*line);
    if (frontend_port_ == 0) {
      return absl::InternalError(absl::StrCat("frontend said: ", *line));
    }
    return absl::OkStatus();
  }

  absl::Status StartEdge() {
    curl_ = FindProgram("curl");
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      https_port_ = FreeLoopbackPort();
      http_port_ = FreeLoopbackPort();
      const std::string run_dir = dir_.File(absl::StrCat("edge-", attempt));
      edge_ = std::make_unique<ChildProcess>(std::vector<std::string>{
          "/usr/bin/env", "EDGE_LISTEN_ADDR=127.0.0.1",
          absl::StrCat("EDGE_HTTP_PORT=", http_port_),
          absl::StrCat("EDGE_HTTPS_PORT=", https_port_),
          absl::StrCat("FRONTEND_UPSTREAM=127.0.0.1:", frontend_port_),
          absl::StrCat("TLS_CERT=", dir_.File("certs/tls.crt")),
          absl::StrCat("TLS_KEY=", dir_.File("certs/tls.key")),
          absl::StrCat("NGINX_RUNTIME_DIR=", run_dir),
          absl::StrCat("NGINX_ERROR_LOG=", dir_.File("edge-error.log")),
          absl::StrCat("NGINX_ACCESS_LOG=", access_log()),
          // One process, so that it dies with the test even on a crash
          // (nginx workers outlive a killed master).
          "NGINX_MASTER_PROCESS=off", "NGINX_WORKERS=1",
          absl::StrCat("NGINX_TEMPLATE=",
                       SourcePath("docker/nginx.conf.template")),
          absl::StrCat("NGINX_BIN=", FindProgram("nginx")), "/bin/sh",
          SourcePath("docker/edge-entrypoint.sh")});
      bool exited = false;
      const bool up = WaitFor(
          [&] {
            if (edge_->Wait(absl::ZeroDuration()).has_value()) {
              exited = true;
              return true;
            }
            CommandResult r =
                RunCommand({curl_, "-k", "-sS", "-o", "/dev/null", "-w",
                            "%{http_code}", Url("/healthz")},
                           absl::Seconds(2));
            return r.exit_code == 0 && r.output == "200";
          },
          kWait);
      if (up && !exited) return absl::OkStatus();
      last_error = absl::StrCat(
          "edge did not come up: ",
          ReadFile(dir_.File("edge-error.log")).value_or("(no error log)"));
      StopChild(*edge_, SIGKILL);
      edge_.reset();
    }
    return absl::UnavailableError(last_error);
  }

  TempDir dir_;
  ssebridge::testing::TestTokens tokens_;
  RedisServer redis_;
  std::unique_ptr<ChildProcess> chat_a_, chat_b_, frontend_, edge_;
  int chat_a_port_ = 0, chat_b_port_ = 0, frontend_port_ = 0;
  int https_port_ = 0, http_port_ = 0;
  std::string curl_;
};

class EdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = EdgeStack::MissingTools(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    stack_ = std::make_unique<EdgeStack>();
    const absl::Status started = stack_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override { stack_.reset(); }

  // Waits until `n` chat_bot processes subscribe to `room` in Redis.
  bool AwaitRoomSubscribers(const std::string& room, int n) {
    return WaitFor(
        [&] {
          return stack_->redis().NumSub(absl::StrCat(kChannelPrefix, room)) ==
                 n;
        },
        kWait);
  }

  std::unique_ptr<EdgeStack> stack_;
};

TEST_F(EdgeTest, MessagePostedOnReplicaAReachesSubscriberOnReplicaB) {
  CurlStream on_b(stack_->curl(),
                  stack_->Url("/chat_b/chat_stream?room=cross"));
  ASSERT_TRUE(on_b.Await("HTTP/2 200")) << on_b.Transcript();
  ASSERT_TRUE(on_b.Await("text/event-stream")) << on_b.Transcript();
  ASSERT_TRUE(AwaitRoomSubscribers("cross", 1));  // replica B only

  const CommandResult post = stack_->Post(
      "/chat_a/chat_post?room=cross&user=ann&message=hello-from-a");
  EXPECT_THAT(post.output, HasSubstr("sent"));
  EXPECT_THAT(post.output, HasSubstr("200 2"));  // HTTP/2 through the edge

  std::optional<std::string> data = on_b.Await("hello-from-a");
  ASSERT_TRUE(data) << on_b.Transcript();
  EXPECT_THAT(*data, HasSubstr("ann"));
  EXPECT_TRUE(on_b.Await("event: chat")) << on_b.Transcript();

  // And the other way round.
  CurlStream on_a(stack_->curl(),
                  stack_->Url("/chat_a/chat_stream?room=cross"));
  ASSERT_TRUE(on_a.Await("HTTP/2 200")) << on_a.Transcript();
  ASSERT_TRUE(AwaitRoomSubscribers("cross", 2));
  EXPECT_THAT(
      stack_->Post("/chat_b/chat_post?room=cross&user=bo&message=b2a").output,
      HasSubstr("sent"));
  EXPECT_TRUE(on_a.Await("b2a")) << on_a.Transcript();
  EXPECT_TRUE(on_b.Await("b2a")) << on_b.Transcript();
}

TEST_F(EdgeTest, DeployRoutesRoundRobinAndEveryoneSharesTheRoom) {
  // /api/* as in docker/frontend.yaml: chat_bot = both replicas, round_robin.
  std::vector<std::unique_ptr<CurlStream>> subs;
  for (int i = 0; i < 4; ++i) {
    subs.push_back(std::make_unique<CurlStream>(
        stack_->curl(), stack_->Url("/api/chat_stream?room=rr")));
    ASSERT_TRUE(subs.back()->Await("HTTP/2 200")) << subs.back()->Transcript();
  }
  // Which replica serves which stream is round robin's choice: post until
  // every stream has seen a message, i.e. each replica holding a stream has
  // its room subscription confirmed by Redis.
  int warmups = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        stack_->Post(
            absl::StrCat("/api/chat_post?room=rr&message=warm-", warmups++));
        for (auto& sub : subs) {
          if (!sub->Await("warm-", absl::Milliseconds(300))) return false;
        }
        return true;
      },
      kWait));
  // Round robin over two ready replicas puts streams on both.
  const int replicas = stack_->redis().NumSub("ssebridge:chat:rr");
  std::printf("room rr: subscribed from %d replica(s) after %d warm-up(s)\n",
              replicas, warmups);
  for (int k = 0; k < 2; ++k) {
    const std::string msg = absl::StrCat("rr-message-", k);
    EXPECT_THAT(
        stack_->Post(absl::StrCat("/api/chat_post?room=rr&message=", msg))
            .output,
        HasSubstr("sent"));
    for (auto& sub : subs) {
      EXPECT_TRUE(sub->Await(msg)) << sub->Transcript();
    }
  }
}

TEST_F(EdgeTest, TwentyStreamsShareOneHttp2ConnectionAndAllFlow) {
  constexpr int kStreams = 20;
  std::vector<std::string> argv = {
      stack_->curl(),
      "--http2",
      "-k",
      "-sS",
      "--no-progress-meter",
      "--parallel",
      "--parallel-max",
      absl::StrCat(kStreams),
      "-w",
      "%{http_version} %{num_connects} %{http_code} %{time_total}\n"};
  for (int i = 0; i < kStreams; ++i) {
    argv.push_back(stack_->Url(
        absl::StrCat("/api/chat_send?room=par&user=u", i, "&message=hi")));
    argv.push_back("-o");
    argv.push_back(stack_->dir().File(absl::StrCat("stream-", i, ".txt")));
  }
  const absl::Time start = absl::Now();
  const CommandResult result = RunCommand(argv, absl::Seconds(60));
  const absl::Duration wall = absl::Now() - start;
  ASSERT_EQ(result.exit_code, 0) << result.output;

  // One line per transfer: HTTP/2, status 200, and only one of them opened
  // a connection: the other 19 were streams multiplexed on it.
  const std::vector<std::string> lines =
      absl::StrSplit(result.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kStreams)) << result.output;
  int connects = 0;
  double longest = 0;
  for (const std::string& line : lines) {
    const std::vector<std::string> f = absl::StrSplit(line, ' ');
    ASSERT_EQ(f.size(), 4u) << line;
    EXPECT_EQ(f[0], "2") << line;
    EXPECT_EQ(f[2], "200") << line;
    int n = 0;
    double total = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[1], &n) && absl::SimpleAtod(f[3], &total));
    connects += n;
    longest = std::max(longest, total);
  }
  EXPECT_EQ(connects, 1) << result.output;

  // Every stream: "Bot is thinking...", the reply growing, then done.
  for (int i = 0; i < kStreams; ++i) {
    std::vector<common::sse::ParsedEvent> events;
    common::sse::Parser parser(
        [&](common::sse::ParsedEvent&& e) { events.push_back(std::move(e)); });
    const std::optional<std::string> body =
        ReadFile(stack_->dir().File(absl::StrCat("stream-", i, ".txt")));
    ASSERT_TRUE(body.has_value());
    parser.Feed(*body);
    ASSERT_GE(events.size(), 3u) << *body;
    EXPECT_EQ(events.front().type, "update");
    EXPECT_THAT(events.front().data, HasSubstr("Bot is thinking"));
    EXPECT_EQ(events.back().type, "done") << *body;
    EXPECT_THAT(events[events.size() - 2].data, HasSubstr("Hello!"));
  }
  // Concurrent, not one after the other: each takes > 1 s (think_delay).
  EXPECT_GT(longest, 1.0);
  EXPECT_LT(absl::ToDoubleSeconds(wall), 4 * longest + 5) << "serialised?";

  // The edge saw all 20 on one client connection.
  const std::optional<std::string> log = ReadFile(stack_->access_log());
  ASSERT_TRUE(log.has_value());
  std::map<std::string, int> by_connection;
  for (absl::string_view line : absl::StrSplit(*log, '\n')) {
    if (!absl::StrContains(line, "/api/chat_send?room=par")) continue;
    EXPECT_THAT(std::string(line), HasSubstr("HTTP/2.0"));
    const size_t at = line.find("conn=");
    ASSERT_NE(at, absl::string_view::npos) << line;
    const absl::string_view rest = line.substr(at);
    ++by_connection[std::string(rest.substr(0, rest.find(' ')))];
  }
  ASSERT_EQ(by_connection.size(), 1u) << *log;
  EXPECT_EQ(by_connection.begin()->second, kStreams) << *log;
}

TEST_F(EdgeTest, EdgeForwardsEachEventAtOnceNotWhenTheStreamEnds) {
  // chat_send: "Bot is thinking..." at once, then 1 s of thinking, then the
  // reply word by word (50 ms apart), then done. A buffering proxy would
  // deliver everything together at the end.
  const absl::Time start = absl::Now();
  CurlStream stream(stack_->curl(),
                    stack_->Url("/api/chat_send?room=nobuf&message=hi"));
  ASSERT_TRUE(stream.Await("Bot is thinking")) << stream.Transcript();
  ASSERT_TRUE(stream.Await("event: done")) << stream.Transcript();
  const absl::Time first = *stream.ArrivalOf("Bot is thinking");
  const absl::Time done = *stream.ArrivalOf("event: done");
  const absl::Time first_word = *stream.ArrivalOf("Hello!");
  EXPECT_GE(done - first, absl::Milliseconds(900))
      << "first event " << (first - start) << " after start, done "
      << (done - start);
  EXPECT_GE(first_word - first, absl::Milliseconds(800));
  EXPECT_GE(done - first_word, absl::Milliseconds(200));  // words trickle
  EXPECT_TRUE(stream.Ended(kWait));
}

TEST_F(EdgeTest, PlainHttpRedirectsToHttps) {
  const CommandResult r =
      RunCommand({stack_->curl(), "-sS", "-o", "/dev/null", "-w",
                  "%{http_code} %{redirect_url}",
                  absl::StrCat("http://127.0.0.1:", stack_->http_port(),
                               "/chat.html?x=1")},
                 absl::Seconds(10));
  EXPECT_EQ(r.output, absl::StrCat("301 https://127.0.0.1:",
                                   stack_->https_port(), "/chat.html?x=1"));
}

TEST_F(EdgeTest, RedisOutageEndsRoomStreamsWithErrorThenAllRecovers) {
  CurlStream sub(stack_->curl(), stack_->Url("/api/chat_stream?room=outage"));
  ASSERT_TRUE(sub.Await("HTTP/2 200")) << sub.Transcript();
  ASSERT_TRUE(WaitFor(
      [&] { return stack_->redis().NumSub("ssebridge:chat:outage") >= 1; },
      kWait));
  const int redis_port = stack_->redis().port();

  stack_->redis().Stop();
  // The service finished the call with UNAVAILABLE: the frontend sends an
  // error event (the browser reconnects after its retry hint) and closes.
  ASSERT_TRUE(sub.Await("event: error")) << sub.Transcript();
  ASSERT_TRUE(sub.Await("UNAVAILABLE")) << sub.Transcript();
  EXPECT_TRUE(sub.Ended(kWait)) << sub.Transcript();

  // While Redis is down: posting fails (503: nothing was streamed yet), a
  // new subscription ends at once with the same error event ...
  const CommandResult post =
      stack_->Post("/api/chat_post?room=outage&message=lost");
  EXPECT_THAT(post.output, Not(HasSubstr("sent")));
  EXPECT_THAT(post.output, HasSubstr("503 2"));
  const CommandResult refused =
      stack_->Curl({"-m", "10", stack_->Url("/api/chat_stream?room=outage")});
  EXPECT_EQ(refused.exit_code, 0) << refused.output;  // ended, not timed out
  EXPECT_THAT(refused.output, HasSubstr("event: error"));
  EXPECT_THAT(refused.output, HasSubstr("UNAVAILABLE"));
  // ... but the rest of the service works: chat_send answers.
  const CommandResult send =
      stack_->Curl({stack_->Url("/api/chat_send?room=outage&message=hi")});
  EXPECT_THAT(send.output, HasSubstr("Hello!"));
  EXPECT_THAT(send.output, HasSubstr("event: done"));

  // Redis returns: both replicas reconnect (backoff capped at 300 ms here).
  // Their publisher connections come back on the next post ...
  ASSERT_TRUE(stack_->redis().Start(redis_port).ok());
  int consecutive = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const bool ok = absl::StrContains(
            stack_->Post("/api/chat_post?room=probe&message=x").output, "sent");
        consecutive = ok ? consecutive + 1 : 0;
        return consecutive >= 4;  // round robin: both replicas, twice
      },
      kWait));
  // ... but each replica's subscriber connection comes back on its own
  // thread, after its own backoff, which the posts above do not show (on a
  // busy machine it can still be down). Until it is, a new room stream there
  // ends at once with the outage's error event, and a browser reconnects
  // after the retry hint. So does this client: it opens the stream on
  // replica B again each time it ends that way, until Redis has B's
  // subscription to the room (bounded by the deadline, not by a guess).
  std::unique_ptr<CurlStream> again;
  std::vector<std::string> ended;  // transcripts of streams that ended
  const bool subscribed = WaitFor(
      [&] {
        if (again == nullptr) {
          again = std::make_unique<CurlStream>(
              stack_->curl(), stack_->Url("/chat_b/chat_stream?room=outage"));
          if (!again->Await("HTTP/2 200")) {
            ended.push_back(again->Transcript());
            again.reset();
            return false;
          }
        }
        if (stack_->redis().NumSub("ssebridge:chat:outage") == 1) return true;
        if (again->Ended(absl::Milliseconds(50))) {
          ended.push_back(again->Transcript());
          again.reset();
        }
        return false;
      },
      2 * kWait);
  std::printf("room outage: subscribed again after %zu ended stream(s)\n",
              ended.size());
  for (const std::string& transcript : ended) {
    // Only the outage's own error may end a stream here.
    EXPECT_THAT(transcript, HasSubstr("UNAVAILABLE")) << transcript;
  }
  ASSERT_TRUE(subscribed) << ended.size() << " stream(s) ended:\n"
                          << absl::StrJoin(ended, "\n---\n") << "\n---\n"
                          << (again ? again->Transcript() : "");
  EXPECT_THAT(
      stack_->Post("/chat_a/chat_post?room=outage&message=back-again").output,
      HasSubstr("sent"));
  EXPECT_TRUE(again->Await("back-again")) << again->Transcript();
}

// The HEALTHCHECK lines of the Dockerfiles, run as written (only the ports
// mapped to this stack's) against the real processes.
TEST_F(EdgeTest, DockerfileHealthchecksPassAgainstTheRealProcesses) {
  const std::string sh = "/bin/sh";
  const std::string path_env = absl::StrCat(
      "PATH=",
      absl::StripSuffix(SSEBRIDGE_HEALTH_PROBE_BIN, "/grpc_health_probe"), ":",
      getenv("PATH") != nullptr ? getenv("PATH") : "/usr/bin:/bin");

  // Services: grpc_health_probe --addr="127.0.0.1:${SERVICE_PORT}".
  const std::string service_check =
      DockerHealthcheck(SourcePath("docker/Dockerfile.service"));
  ASSERT_THAT(service_check, HasSubstr("grpc_health_probe"));
  CommandResult r = RunCommand(
      {sh, "-c", service_check}, absl::Seconds(10),
      {path_env, absl::StrCat("SERVICE_PORT=", stack_->chat_a_port())});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("SERVING"));
  const absl::Time start = absl::Now();
  r = RunCommand({sh, "-c", service_check}, absl::Seconds(10),
                 {path_env, absl::StrCat("SERVICE_PORT=", FreeLoopbackPort())});
  EXPECT_NE(r.exit_code, 0) << r.output;  // nothing there
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  // Frontend: curl /healthz on its port.
  const std::string frontend_check =
      DockerHealthcheck(SourcePath("docker/Dockerfile.frontend"));
  ASSERT_THAT(frontend_check, HasSubstr("127.0.0.1:8080/healthz"));
  r = RunCommand({sh, "-c",
                  absl::StrReplaceAll(
                      frontend_check,
                      {{"127.0.0.1:8080",
                        absl::StrCat("127.0.0.1:", stack_->frontend_port())}})},
                 absl::Seconds(10), {path_env});
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // Edge: curl -k https://127.0.0.1:8443/healthz (through to the frontend).
  const std::string edge_check =
      DockerHealthcheck(SourcePath("docker/Dockerfile.edge"));
  ASSERT_THAT(edge_check, HasSubstr("https://127.0.0.1:8443/healthz"));
  r = RunCommand(
      {sh, "-c",
       absl::StrReplaceAll(
           edge_check, {{"127.0.0.1:8443",
                         absl::StrCat("127.0.0.1:", stack_->https_port())}})},
      absl::Seconds(10), {path_env});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(PythonHealthcheckTest, DockerfileHealthcheckPassesAgainstQuotesServer) {
  const CommandResult has_grpc = RunCommand(
      {SSEBRIDGE_PYTHON3, "-c", "import grpc, grpc_tools"}, absl::Seconds(20));
  if (has_grpc.exit_code != 0) {
    GTEST_SKIP() << "python3 grpc modules missing (`make deps` installs "
                    "python3-grpcio python3-grpc-tools): "
                 << has_grpc.output;
  }
  ChildProcess server(
      {SSEBRIDGE_PYTHON3, SourcePath("services/python_quotes/quotes_server.py"),
       "--listen", "127.0.0.1:0", "--proto_root", SourcePath("protos")});
  std::optional<std::string> line =
      server.WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.has_value());
  const std::string addr(absl::StripPrefix(*line, "listening on "));

  const std::optional<std::vector<std::string>> words = JsonArrayWords(
      DockerHealthcheck(SourcePath("docker/Dockerfile.python_quotes")));
  ASSERT_TRUE(words.has_value());
  ASSERT_EQ(words->size(), 3u);
  EXPECT_EQ((*words)[1], "/usr/local/bin/python_health_check");
  EXPECT_EQ((*words)[2], "127.0.0.1:50054");
  CommandResult r = RunCommand(
      {SSEBRIDGE_PYTHON3, SourcePath("docker/python_health_check.py"), addr},
      absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("SERVING"));
  StopChild(server, SIGTERM);
  r = RunCommand(
      {SSEBRIDGE_PYTHON3, SourcePath("docker/python_health_check.py"), addr,
       "--timeout", "1"},
      absl::Seconds(20));
  EXPECT_NE(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace ssebridge::testing::deploy
