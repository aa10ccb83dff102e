// Integration tests of what an operator needs: limits, /healthz, /readyz,
// /metrics, graceful SIGTERM of the real binary, channel pools, CORS, static
// files and htmx POST content negotiation. Real sockets on 127.0.0.1.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/http/frontend_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/child_process.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_service.h"
#include "tests/util/test_util.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::Event;
using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::ChildProcess;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestServer;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;

// A plain HTTP/1.1 exchange; returns the client after the response ended.
std::unique_ptr<SseClient> Request(int port, const std::string& raw) {
  return integration::Exchange(port, raw);
}

FrontendConfig BaseConfig(const std::string& target) {
  FrontendConfig cfg = integration::LoopbackConfig(target);
  for (const char* action : {"idle", "tokens", "paced", "script"}) {
    auto* r = cfg.add_routes();
    r->set_path(absl::StrCat("/t/", action));
    r->add_methods("GET");
    r->add_methods("POST");
    r->set_backend("test");
  }
  return cfg;
}

using integration::StartFrontend;

// Asks /readyz until it answers `status` (or `timeout` passes); returns the
// last answer.
std::unique_ptr<SseClient> ReadyzUntil(int port, int status,
                                       absl::Duration timeout) {
  std::unique_ptr<SseClient> last;
  WaitFor(
      [&] {
        last = Request(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        return last->status() == status;
      },
      timeout);
  return last;
}

class ProductionTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
  TestServer backend_;
};

TEST_F(ProductionTest, PerIpLimitRejectsTheFourthStream) {
  FrontendConfig cfg = BaseConfig(backend_.target());
  cfg.mutable_limits()->set_max_connections_per_ip(3);
  cfg.mutable_limits()->set_retry_after_seconds(7);
  cfg.mutable_routes(0)->mutable_heartbeat()->set_nanos(200000000);
  auto fe = StartFrontend(cfg);
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 3; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(fe->port()));
    ASSERT_TRUE(c->Get("/t/idle"));
    ASSERT_TRUE(c->ReadHead());
    EXPECT_EQ(c->status(), 200);
    open.push_back(std::move(c));
  }
  SseClient fourth;
  ASSERT_TRUE(fourth.Connect(fe->port()));
  ASSERT_TRUE(fourth.Get("/t/idle"));
  ASSERT_TRUE(fourth.ReadHead());
  EXPECT_EQ(fourth.status(), 503);
  EXPECT_EQ(fourth.header("retry-after"), "7");
  // The first three still flow (heartbeats keep arriving).
  for (auto& c : open) {
    const size_t before = c->comments().size();
    EXPECT_TRUE(c->ReadUntil([&] { return c->comments().size() > before + 1; },
                             absl::Seconds(3)));
  }
  // A slot frees when a stream ends.
  open[0]->Close();
  ASSERT_TRUE(
      WaitFor([&] { return fe->open_sessions() == 2; }, absl::Seconds(2)));
  SseClient again;
  ASSERT_TRUE(again.Connect(fe->port()));
  ASSERT_TRUE(again.Get("/t/idle"));
  ASSERT_TRUE(again.ReadHead());
  EXPECT_EQ(again.status(), 200);
}

TEST_F(ProductionTest, MaxDurationEndsWithTerminalEventAndRetry) {
  FrontendConfig cfg = BaseConfig(backend_.target());
  cfg.mutable_routes(0)->mutable_max_duration()->set_nanos(400000000);
  auto fe = StartFrontend(cfg);
  SseClient c;
  ASSERT_TRUE(c.Connect(fe->port()));
  ASSERT_TRUE(c.Get("/t/idle"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(3)));
  ASSERT_EQ(c.events().size(), 1u);
  EXPECT_EQ(c.events()[0].type, "done");
  EXPECT_THAT(c.raw_body(), HasSubstr("retry: 5000\n"));
  EXPECT_TRUE(WaitFor([&] { return backend_.service().active() == 0; },
                      absl::Seconds(2)));
}

TEST_F(ProductionTest, ReadyzFollowsTheBackend) {
  const int port = backend_.port();
  FrontendConfig cfg = BaseConfig(backend_.target());
  auto fe = StartFrontend(cfg);
  auto ok = Request(fe->port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok->status(), 200);
  EXPECT_EQ(
      Request(fe->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")->status(),
      200);
  backend_.Stop();
  std::unique_ptr<SseClient> down;
  ASSERT_TRUE(WaitFor(
      [&] {
        down = Request(fe->port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        return down->status() == 503;
      },
      absl::Seconds(5)));
  EXPECT_THAT(down->raw_body(), HasSubstr("test"));
  TestServer again(port);
  ASSERT_EQ(again.port(), port);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Request(fe->port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                   ->status() == 200;
      },
      absl::Seconds(10)));
}

// A plain service (no grpc.health.v1) behind three backends, one per check
// mode: the default grpc check falls back to connectivity instead of
// keeping the frontend unready forever.
TEST_F(ProductionTest, ReadyzChecksEachBackendByItsMode) {
  TestServer plain(0, /*health=*/false);
  FrontendConfig cfg = BaseConfig(backend_.target());
  for (const char* mode : {"grpc", "connect", "none"}) {
    auto* b = cfg.add_backends();
    b->set_name(absl::StrCat("plain_", mode));
    b->set_target(plain.target());
    b->set_health_check(mode);
  }
  auto fe = StartFrontend(cfg);
  std::unique_ptr<SseClient> ready =
      ReadyzUntil(fe->port(), 200, absl::Seconds(5));
  ASSERT_EQ(ready->status(), 200) << ready->raw_body();
  const std::string body = ready->raw_body();
  EXPECT_THAT(body, ::testing::StartsWith("ready\n"));
  EXPECT_THAT(body, HasSubstr("backend test (grpc check): serving\n"));
  EXPECT_THAT(body, HasSubstr("backend plain_grpc (grpc check): connected\n"));
  EXPECT_THAT(body,
              HasSubstr("backend plain_connect (connect check): connected\n"));
  EXPECT_THAT(body,
              HasSubstr("backend plain_none (none check): not checked\n"));

  plain.Stop();
  std::unique_ptr<SseClient> down =
      ReadyzUntil(fe->port(), 503, absl::Seconds(5));
  ASSERT_EQ(down->status(), 503) << down->raw_body();
  const std::string first_line =
      down->raw_body().substr(0, down->raw_body().find('\n'));
  // The health RPC itself now fails: no fallback, the code is the reason.
  EXPECT_THAT(first_line, HasSubstr("plain_grpc (UNAVAILABLE)"));
  EXPECT_THAT(first_line, HasSubstr("plain_connect (not connected)"));
  EXPECT_THAT(first_line, ::testing::Not(HasSubstr("plain_none")));
  EXPECT_THAT(first_line, ::testing::Not(HasSubstr("test")));
  EXPECT_THAT(down->raw_body(),
              HasSubstr("backend plain_none (none check): not checked\n"));
}

// A strict parser of the Prometheus text format (0.0.4): every sample's
// family has exactly one TYPE (and at most one HELP) declared before it,
// names and label names are valid, label values use only the three escapes.
struct Scrape {
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::map<std::string, std::string> types;
};

absl::StatusOr<Scrape> ParsePrometheus(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  Scrape out;
  std::set<std::string> helps;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    std::string l(line);
    if (l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) {
      std::vector<std::string> parts =
          absl::StrSplit(l.substr(7), absl::MaxSplits(' ', 1));
      if (parts.size() != 2 || !std::regex_match(parts[0], kName)) {
        return absl::InvalidArgumentError("bad comment: " + l);
      }
      if (l[2] == 'T') {
        if (out.types.contains(parts[0]))
          return absl::InvalidArgumentError("dup TYPE " + l);
        static const std::set<std::string> kTypes = {
            "counter", "gauge", "histogram", "summary", "untyped"};
        if (!kTypes.contains(parts[1]))
          return absl::InvalidArgumentError("bad type " + l);
        out.types[parts[0]] = parts[1];
      } else if (!helps.insert(parts[0]).second) {
        return absl::InvalidArgumentError("dup HELP " + l);
      }
      continue;
    }
    if (l[0] == '#') continue;
    size_t i = 0;
    while (i < l.size() && l[i] != '{' && l[i] != ' ') ++i;
    std::string name = l.substr(0, i);
    if (!std::regex_match(name, kName))
      return absl::InvalidArgumentError("bad name " + l);
    std::string labels;
    if (i < l.size() && l[i] == '{') {
      size_t j = i + 1;
      while (j < l.size() && l[j] != '}') {
        size_t eq = l.find('=', j);
        if (eq == std::string::npos)
          return absl::InvalidArgumentError("bad labels " + l);
        if (!std::regex_match(l.substr(j, eq - j), kLabelName))
          return absl::InvalidArgumentError("bad label name " + l);
        if (l[eq + 1] != '"')
          return absl::InvalidArgumentError("unquoted " + l);
        size_t k = eq + 2;
        for (; k < l.size() && l[k] != '"'; ++k) {
          if (l[k] == '\\') {
            if (k + 1 >= l.size() ||
                std::string("\\\"n").find(l[k + 1]) == std::string::npos) {
              return absl::InvalidArgumentError("bad escape " + l);
            }
            ++k;
          }
        }
        if (k >= l.size())
          return absl::InvalidArgumentError("unterminated " + l);
        j = k + 1;
        if (l[j] == ',') ++j;
      }
      labels = l.substr(i, j + 1 - i);
      i = j + 1;
    }
    if (i >= l.size() || l[i] != ' ')
      return absl::InvalidArgumentError("no value " + l);
    std::string v = l.substr(i + 1);
    double value;
    if (v == "+Inf") {
      value = INFINITY;
    } else if (!absl::SimpleAtod(v, &value)) {
      return absl::InvalidArgumentError("bad value " + l);
    }
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (absl::EndsWith(name, suffix) &&
          out.types.contains(name.substr(0, name.size() - strlen(suffix))) &&
          out.types[name.substr(0, name.size() - strlen(suffix))] ==
              "histogram") {
        family = name.substr(0, name.size() - strlen(suffix));
      }
    }
    if (!out.types.contains(family))
      return absl::InvalidArgumentError("no TYPE for " + l);
    out.samples[name + labels] = value;
  }
  return out;
}

// ssebridge_upstream_calls{backend=...} follows the calls the frontend has
// open upstream, so an operator sees a leak as a number that never falls.
TEST_F(ProductionTest, MetricsShowUpstreamCallsInFlightPerBackend) {
  auto fe = StartFrontend(BaseConfig(backend_.target()));
  auto calls = [&]() -> double {
    auto scrape =
        Request(fe->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    auto parsed = ParsePrometheus(scrape->raw_body());
    if (!parsed.ok()) return -1;
    auto it =
        parsed->samples.find("ssebridge_upstream_calls{backend=\"test\"}");
    return it == parsed->samples.end() ? -1 : it->second;
  };
  EXPECT_EQ(calls(), 0);
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(open.back()->Connect(fe->port()));
    ASSERT_TRUE(open.back()->Get("/t/idle"));
    ASSERT_TRUE(open.back()->ReadHead());
  }
  ASSERT_TRUE(WaitFor([&] { return backend_.service().active() == 3; },
                      absl::Seconds(2)));
  EXPECT_EQ(calls(), 3);
  for (auto& c : open) c->Close();
  EXPECT_TRUE(WaitFor([&] { return calls() == 0; }, absl::Seconds(2)));
  EXPECT_TRUE(WaitFor([&] { return backend_.service().active() == 0; },
                      absl::Seconds(2)));
}

TEST_F(ProductionTest, MetricsParseAndCountWhatHappened) {
  FrontendConfig cfg = BaseConfig(backend_.target());
  auto* weird = cfg.add_routes();
  weird->set_path("/t/we\"ird\\route");
  weird->set_backend("test");
  weird->set_action("tokens");
  auto fe = StartFrontend(cfg);
  for (int i = 0; i < 3; ++i) {
    SseClient c;
    ASSERT_TRUE(c.Connect(fe->port()));
    ASSERT_TRUE(c.Get("/t/tokens?n=4"));
    ASSERT_TRUE(c.ReadToEof());
  }
  SseClient gone;
  ASSERT_TRUE(gone.Connect(fe->port()));
  ASSERT_TRUE(gone.Get("/t/idle"));
  ASSERT_TRUE(gone.ReadHead());
  gone.Close();
  ASSERT_TRUE(
      WaitFor([&] { return fe->live_sessions() == 0; }, absl::Seconds(2)));

  auto scrape = Request(fe->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(scrape->status(), 200);
  EXPECT_THAT(scrape->header("content-type"), HasSubstr("text/plain"));
  auto parsed = ParsePrometheus(scrape->raw_body());
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << scrape->raw_body();
  auto& s = parsed->samples;
  EXPECT_EQ(s["ssebridge_streams_total{route=\"/t/tokens\",outcome=\"done\"}"],
            3);
  EXPECT_EQ(
      s["ssebridge_streams_total{route=\"/t/idle\",outcome=\"client_gone\"}"],
      1);
  EXPECT_EQ(s["ssebridge_open_streams{route=\"/t/tokens\"}"], 0);
  EXPECT_EQ(s["ssebridge_events_relayed_total"], 12);
  EXPECT_EQ(s["ssebridge_upstream_first_event_seconds_count"], 3);
  EXPECT_EQ(s["ssebridge_upstream_first_event_seconds_bucket{le=\"+Inf\"}"], 3);
  EXPECT_GT(s["ssebridge_bytes_relayed_total"], 0);
  EXPECT_GT(s["process_resident_memory_bytes"], 1e6);
  EXPECT_GT(s["process_open_fds"], 3);
  EXPECT_TRUE(
      s.contains("ssebridge_open_streams{route=\"/t/we\\\"ird\\\\route\"}"));
  EXPECT_EQ(parsed->types["ssebridge_upstream_first_event_seconds"],
            "histogram");
}

TEST_F(ProductionTest, SigtermSendsFinalEventsAndExitsWithinGrace) {
  const std::string dir = ::testing::TempDir() + "/sigterm";
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/frontend.yaml";
  std::ofstream(config) << "listen:\n  port: 0\n  io_threads: 2\n"
                        << "backends:\n  - name: test\n    target: "
                        << backend_.target() << "\n    channels: 2\n"
                        << "routes:\n  - path: /t/idle\n    backend: test\n"
                        << "shutdown_grace: 3s\nlogging:\n  level: warn\n";
  ChildProcess fe({SSEBRIDGE_FRONTEND_BIN, "--config", config});
  ASSERT_TRUE(fe.started());
  auto line = fe.WaitForLine("listening on", absl::Seconds(10));
  ASSERT_TRUE(line.has_value());
  const int port = ssebridge::testing::PortFromListeningLine(*line);
  ASSERT_GT(port, 0) << *line;
  constexpr int kStreams = 100;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(port));
    ASSERT_TRUE(c->Get(absl::StrCat("/t/idle?tag=term", i)));
    ASSERT_TRUE(c->ReadHead());
    clients.push_back(std::move(c));
  }
  ASSERT_TRUE(WaitFor([&] { return backend_.service().active() == kStreams; },
                      absl::Seconds(5)));
  const int64_t cancelled_before = backend_.service().cancelled();
  const absl::Time t0 = absl::Now();
  fe.Signal(SIGTERM);
  auto status = fe.Wait(absl::Seconds(3) + absl::Seconds(2));
  const absl::Duration took = absl::Now() - t0;
  ASSERT_TRUE(status.has_value()) << "did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_LT(took, absl::Seconds(3));
  for (auto& c : clients) {
    ASSERT_TRUE(c->ReadToEof(absl::Seconds(2)));
    ASSERT_EQ(c->events().size(), 1u);
    EXPECT_EQ(c->events()[0].type, "shutdown");
    EXPECT_THAT(c->raw_body(), HasSubstr("retry: "));
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return backend_.service().cancelled() - cancelled_before == kStreams;
      },
      absl::Seconds(3)));
  EXPECT_EQ(backend_.service().active(), 0);
  std::filesystem::remove_all(dir);
}

TEST_F(ProductionTest, ChannelPoolCarriesThreeHundredStreams) {
  FrontendConfig cfg = BaseConfig(backend_.target());
  cfg.mutable_backends(0)->set_channels(4);
  auto fe = StartFrontend(cfg);
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(fe->port()));
    ASSERT_TRUE(c->Get(absl::StrCat("/t/paced?tag=p", i, "&n=20&ms=150")));
    clients.push_back(std::move(c));
  }
  ASSERT_TRUE(WaitFor([&] { return backend_.service().started() >= kStreams; },
                      absl::Seconds(10)));
  EXPECT_GE(backend_.service().active(), kStreams * 9 / 10)
      << "streams should be concurrent";
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(clients[i]->ReadToEof(absl::Seconds(20)));
    ASSERT_EQ(clients[i]->events().size(), 21u) << i;
    EXPECT_EQ(clients[i]->events()[19].data, absl::StrCat("p", i, "-19"));
  }
  EXPECT_EQ(backend_.service().peers().size(), 4u)
      << "one connection per channel";
}

TEST_F(ProductionTest, CorsOnlyForAllowedOrigins) {
  FrontendConfig cfg = BaseConfig(backend_.target());
  cfg.add_cors_origins("https://app.example.com");
  auto fe = StartFrontend(cfg);
  SseClient yes;
  ASSERT_TRUE(yes.Connect(fe->port()));
  ASSERT_TRUE(yes.Get("/t/tokens?n=1", {"Origin: https://app.example.com"}));
  ASSERT_TRUE(yes.ReadToEof());
  EXPECT_EQ(yes.header("access-control-allow-origin"),
            "https://app.example.com");
  EXPECT_EQ(yes.header("access-control-allow-credentials"), "true");
  for (const char* origin : {"https://evil.example.com",
                             "https://app.example.com.evil.com", "null"}) {
    SseClient no;
    ASSERT_TRUE(no.Connect(fe->port()));
    ASSERT_TRUE(no.Get("/t/tokens?n=1", {std::string("Origin: ") + origin}));
    ASSERT_TRUE(no.ReadToEof());
    EXPECT_EQ(no.status(), 200);
    EXPECT_EQ(no.header("access-control-allow-origin"), "") << origin;
  }
  auto pre = Request(
      fe->port(),
      "OPTIONS /t/tokens HTTP/1.1\r\nHost: x\r\n"
      "Origin: https://app.example.com\r\n"
      "Access-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: content-type, hx-request\r\n\r\n");
  EXPECT_EQ(pre->status(), 204);
  EXPECT_EQ(pre->header("access-control-allow-origin"),
            "https://app.example.com");
  EXPECT_THAT(pre->header("access-control-allow-methods"), HasSubstr("POST"));
  EXPECT_EQ(pre->header("access-control-allow-headers"),
            "content-type, hx-request");
  auto bad_pre = Request(fe->port(),
                         "OPTIONS /t/tokens HTTP/1.1\r\nHost: x\r\n"
                         "Origin: https://evil.example.com\r\n\r\n");
  EXPECT_EQ(bad_pre->header("access-control-allow-origin"), "");
}

TEST_F(ProductionTest, StaticFilesAreServedAndConfined) {
  const std::string base = ::testing::TempDir() + "/static_test";
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base + "/root/sub");
  std::ofstream(base + "/root/index.html") << "<h1>home</h1>";
  std::ofstream(base + "/root/app.js") << "console.log(1)";
  std::ofstream(base + "/root/sub/style.css") << "body{}";
  std::ofstream(base + "/secret.txt") << "top secret";
  std::ofstream(base + "/root/.env") << "KEY=1";
  std::filesystem::create_symlink(base + "/secret.txt",
                                  base + "/root/link.txt");
  FrontendConfig cfg = BaseConfig(backend_.target());
  cfg.set_static_root(base + "/root");
  auto fe = StartFrontend(cfg);

  auto home = Request(fe->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(home->status(), 200);
  EXPECT_EQ(home->raw_body(), "<h1>home</h1>");
  EXPECT_THAT(home->header("content-type"), HasSubstr("text/html"));
  const std::string etag = home->header("etag");
  EXPECT_FALSE(etag.empty());
  EXPECT_FALSE(home->header("last-modified").empty());
  auto js = Request(fe->port(), "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(js->header("content-type"), HasSubstr("text/javascript"));
  auto css =
      Request(fe->port(), "GET /sub/style.css HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(css->header("content-type"), HasSubstr("text/css"));
  auto cached = Request(
      fe->port(),
      absl::StrCat("GET /index.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: ",
                   etag, "\r\n\r\n"));
  EXPECT_EQ(cached->status(), 304);

  for (const char* path :
       {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/link.txt",
        "/.env", "/..%5csecret.txt", "/missing.html", "/%00index.html",
        "/bad%zz"}) {
    auto r = Request(
        fe->port(), absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(r->status() == 404 || r->status() == 400)
        << path << " -> " << r->status();
    EXPECT_THAT(r->raw_body(), ::testing::Not(HasSubstr("secret"))) << path;
  }
  std::filesystem::remove_all(base);
}

TEST_F(ProductionTest, HtmxPostWithoutSseAcceptGetsOneHtmlBody) {
  Event a;
  a.set_html("<div id=\"a\">one</div>");
  Event b;
  b.set_text("two & <three>");
  b.set_event("update");
  Event c;
  c.set_html("<div id=\"c\">four</div>");
  backend_.service().SetScript("frag", {a, b, c});
  auto fe = StartFrontend(BaseConfig(backend_.target()));
  auto html =
      Request(fe->port(),
              "POST /t/script HTTP/1.1\r\nHost: x\r\nHX-Request: true\r\n"
              "Accept: */*\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: 13\r\n\r\nscript=frag&x");
  EXPECT_EQ(html->status(), 200);
  EXPECT_EQ(html->header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(html->raw_body(),
            "<div id=\"a\">one</div>\ntwo &amp; &lt;three&gt;\n"
            "<div id=\"c\">four</div>\n");
  // With Accept: text/event-stream the same POST streams.
  SseClient sse;
  ASSERT_TRUE(sse.Connect(fe->port()));
  ASSERT_TRUE(sse.Post("/t/script", "application/x-www-form-urlencoded",
                       "script=frag", {"Accept: text/event-stream"}));
  ASSERT_TRUE(sse.ReadToEof());
  EXPECT_EQ(sse.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(sse.events().size(), 4u);
  // The same fragments as one batch (Event.batch) collect the same way.
  Event batch;
  *batch.add_batch() = a;
  *batch.add_batch() = b;
  *batch.add_batch() = c;
  backend_.service().SetScript("frag_batch", {batch});
  auto batched =
      Request(fe->port(),
              "POST /t/script HTTP/1.1\r\nHost: x\r\nHX-Request: true\r\n"
              "Accept: */*\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: 19\r\n\r\nscript=frag_batch&x");
  EXPECT_EQ(batched->status(), 200);
  EXPECT_EQ(batched->raw_body(), html->raw_body());
}

}  // namespace
}  // namespace ssebridge::frontend
