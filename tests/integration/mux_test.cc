// Mux routes (issue 22) through a real frontend on 127.0.0.1 and two real
// gRPC test services: several sub-streams on one HTTP/1.1 connection, each
// exactly its route (own backend, params, shared-route joining), renamed
// events, the resume cursor, 400s before any call, cancellation.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontend/http/frontend_server.h"
#include "frontend/relay/mux_cursor.h"
#include "gmock/gmock.h"
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
using ::ssebridge::testing::WaitUntilSteady;
using ::testing::HasSubstr;

class MuxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    a_ = new TestServer();
    b_ = new TestServer();
    FrontendConfig cfg = integration::LoopbackConfig(a_->target());
    auto* other = cfg.add_backends();
    other->set_name("other");
    other->set_target(b_->target());
    auto add = [&](const std::string& path, const std::string& backend,
                   const std::string& action, bool shared) {
      auto* r = cfg.add_routes();
      r->set_path(path);
      r->add_methods("GET");
      r->set_backend(backend);
      r->set_action(action);
      r->set_shared(shared);
      r->add_forward_headers("x-request-id");
      return r;
    };
    for (const char* action :
         {"paced", "tokens", "fail_after", "idle", "endless", "echo"}) {
      add(absl::StrCat("/t/", action), "test", action, false);
      add(absl::StrCat("/o/", action), "other", action, false);
    }
    add("/s/paced", "test", "paced", true);
    add("/t/script", "test", "script", false);
    add("/s/script", "test", "script", true);
    auto* post_only = add("/t/post_only", "test", "tokens", false);
    post_only->clear_methods();
    post_only->add_methods("POST");
    auto* live = cfg.add_routes();
    live->set_path("/live");
    live->add_methods("GET");
    live->mutable_heartbeat()->set_seconds(15);
    auto* mux = live->mutable_mux();
    for (const char* p : {"/t/paced", "/o/paced", "/s/paced", "/t/tokens",
                          "/t/fail_after", "/t/idle", "/o/idle", "/t/endless",
                          "/o/endless", "/t/echo", "/t/script", "/s/script"}) {
      mux->add_routes(p);
    }
    mux->set_max_streams(4);
    auto* limits = cfg.mutable_limits();
    limits->set_high_water_bytes(64 * 1024);
    limits->set_low_water_bytes(16 * 1024);
    cfg.mutable_listen()->set_io_threads(2);
    frontend_ = integration::StartFrontend(cfg).release();
    ASSERT_NE(frontend_, nullptr);
  }

  static void TearDownTestSuite() {
    frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete a_;
    delete b_;
  }

  void TearDown() override {
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; },
                        absl::Seconds(3)))
        << frontend_->live_sessions() << " sessions still alive";
    EXPECT_TRUE(WaitFor(
        [] {
          return a_->service().active() == 0 && b_->service().active() == 0;
        },
        absl::Seconds(3)))
        << a_->service().active() << " + " << b_->service().active()
        << " calls still active";
    EXPECT_TRUE(
        WaitFor([] { return frontend_->stats().shared_calls.load() == 0; },
                absl::Seconds(3)));
  }

  static int port() { return frontend_->port(); }

  static TestServer* a_;
  static TestServer* b_;
  static FrontendServer* frontend_;
};

TestServer* MuxTest::a_ = nullptr;
TestServer* MuxTest::b_ = nullptr;
FrontendServer* MuxTest::frontend_ = nullptr;

// The index in "<tag>-<i>", or -1.
int Seq(const std::string& data) {
  int i = -1;
  const size_t dash = data.rfind('-');
  if (dash == std::string::npos ||
      !absl::SimpleAtoi(data.substr(dash + 1), &i)) {
    return -1;
  }
  return i;
}

// Events of one sub-stream (type == alias) in order.
std::vector<std::string> DataOf(const SseClient& c, const std::string& type) {
  std::vector<std::string> out;
  for (const auto& e : c.events()) {
    if (e.type == type) out.push_back(e.data);
  }
  return out;
}

int CountType(const SseClient& c, const std::string& type) {
  int n = 0;
  for (const auto& e : c.events()) n += e.type == type;
  return n;
}

TEST_F(MuxTest, ThreeSubStreamsInterleaveWithTheirNamesAndNoCrosstalk) {
  constexpr int kN = 30;
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(
      c.Get(absl::StrCat("/live?s=a:/t/paced&a.tag=A&a.n=", kN, "&a.ms=3",
                         "&s=b:/o/paced&b.tag=B&b.n=", kN, "&b.ms=4",
                         "&s=c:/s/paced&c.tag=C&c.n=", kN, "&c.ms=5")));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.header("content-type"), "text/event-stream; charset=utf-8");
  for (const auto& [alias, tag] :
       std::map<std::string, std::string>{{"a", "A"}, {"b", "B"}, {"c", "C"}}) {
    std::vector<std::string> data = DataOf(c, alias);
    ASSERT_EQ(data.size(), static_cast<size_t>(kN)) << alias;
    for (int i = 0; i < kN; ++i) {
      EXPECT_EQ(data[i], absl::StrCat(tag, "-", i)) << alias;
    }
    EXPECT_EQ(CountType(c, alias + ".done"), 1) << alias;
  }
  // Each went to its own backend: a and c to the first, b to the other.
  EXPECT_TRUE(a_->service().last_request("A").has_value());
  EXPECT_TRUE(b_->service().last_request("B").has_value());
  EXPECT_FALSE(a_->service().last_request("B").has_value());
  // Interleaved, not one after the other; the connection's own end last.
  int first_b = -1, last_a = -1;
  for (size_t i = 0; i < c.events().size(); ++i) {
    if (c.events()[i].type == "a") last_a = static_cast<int>(i);
    if (c.events()[i].type == "b" && first_b < 0) first_b = static_cast<int>(i);
  }
  EXPECT_LT(first_b, last_a);
  EXPECT_EQ(c.events().back().type, "done");
  EXPECT_EQ(CountType(c, "done"), 1);
  // Every id is a cursor holding each sub-stream's latest id.
  std::map<std::string, int> latest;
  for (const auto& e : c.events()) {
    if (e.type == "a" || e.type == "b" || e.type == "c") {
      latest[e.type] = Seq(e.data);
      auto pos = DecodeMuxCursor(e.last_event_id);
      ASSERT_TRUE(pos.has_value()) << e.last_event_id;
      for (const auto& [alias, id] : *pos) {
        EXPECT_EQ(id, absl::StrCat(latest[alias])) << alias;
      }
      EXPECT_EQ(pos->size(), latest.size());
    }
  }
}

// Batched messages (Event.batch) on a sub-stream of its own call and on one
// of a shared call: each event is its own aliased event, in order, with the
// cursor of its id.
TEST_F(MuxTest, EventsOfABatchAreEachTheirOwnSubStreamEvent) {
  std::vector<action::v1::Event> script(2);
  for (int i = 1; i <= 4; ++i) {
    action::v1::Event e;
    e.set_id(absl::StrCat("m", i));
    e.set_text(absl::StrCat("B-", i));
    *script[i <= 3 ? 0 : 1].add_batch() = e;
  }
  a_->service().SetScript("mux_batches", script);
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(
      c.Get("/live?s=o:/t/script&o.script=mux_batches&o.tag=MO"
            "&s=s:/s/script&s.script=mux_batches&s.tag=MS"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  for (const char* alias : {"o", "s"}) {
    SCOPED_TRACE(alias);
    EXPECT_THAT(DataOf(c, alias),
                ::testing::ElementsAre("B-1", "B-2", "B-3", "B-4"));
    EXPECT_EQ(CountType(c, absl::StrCat(alias, ".done")), 1);
    // Each carries a cursor that holds its own id.
    int with_id = 0;
    for (const auto& e : c.events()) {
      if (e.type != alias) continue;
      auto pos = DecodeMuxCursor(e.last_event_id);
      ASSERT_TRUE(pos.has_value()) << e.last_event_id;
      bool found = false;
      for (const auto& [a, id] : *pos) {
        if (a == alias) {
          EXPECT_EQ(id, absl::StrCat("m", Seq(e.data)));
          found = true;
        }
      }
      EXPECT_TRUE(found) << e.last_event_id;
      ++with_id;
    }
    EXPECT_EQ(with_id, 4);
  }
}

TEST_F(MuxTest, OneSubStreamEndingOrFailingLeavesTheOthersRunning) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(
      c.Get("/live?s=f:/t/fail_after&f.k=2&f.tag=F&s=t:/t/tokens&t.n=3&t.tag=T"
            "&s=p:/t/paced&p.tag=P&p.n=40&p.ms=10"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  std::vector<std::string> f = DataOf(c, "f");
  EXPECT_THAT(f, ::testing::ElementsAre("before-fail-0", "before-fail-1"));
  ASSERT_EQ(CountType(c, "f.error"), 1);
  EXPECT_EQ(CountType(c, "t.done"), 1);
  EXPECT_EQ(DataOf(c, "t").size(), 3u);
  std::vector<std::string> p = DataOf(c, "p");
  ASSERT_EQ(p.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(p[i], absl::StrCat("P-", i));
  // p went on after f failed and t ended.
  size_t f_error = 0, t_done = 0, p_last = 0;
  for (size_t i = 0; i < c.events().size(); ++i) {
    const std::string& type = c.events()[i].type;
    if (type == "f.error") {
      f_error = i;
      EXPECT_EQ(c.events()[i].data, "{\"code\":\"UNAVAILABLE\"}");
    }
    if (type == "t.done") t_done = i;
    if (type == "p") p_last = i;
  }
  EXPECT_LT(f_error, p_last);
  EXPECT_LT(t_done, p_last);
  EXPECT_EQ(CountType(c, "p.done"), 1);
  // A sub-stream failed: the connection ends with "error" (the browser
  // reconnects and resumes), not the terminal event.
  EXPECT_EQ(c.events().back().type, "error");
  EXPECT_EQ(CountType(c, "done"), 0);
}

TEST_F(MuxTest, ResumeWithTheCursorAfterADropHasNoGapNorDuplicate) {
  constexpr int kN = 60;
  const std::string query =
      absl::StrCat("/live?s=a:/t/paced&a.tag=RA&a.resume=1&a.n=", kN, "&a.ms=3",
                   "&s=b:/o/paced&b.tag=RB&b.resume=1&b.n=", kN, "&b.ms=5");
  std::map<std::string, std::vector<int>> seen;
  std::string last_id;
  {
    SseClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Get(query));
    ASSERT_TRUE(c.ReadUntil(
        [&] {
          return DataOf(c, "a").size() >= 10 && DataOf(c, "b").size() >= 5;
        },
        absl::Seconds(5)));
    c.Close();  // the drop: whatever was in flight is lost
    // Only what the client parsed counts, up to the last id it saw.
    last_id = c.last_event_id();
    auto pos = DecodeMuxCursor(last_id);
    ASSERT_TRUE(pos.has_value());
    std::map<std::string, int> upto;
    for (const auto& [alias, id] : *pos)
      ASSERT_TRUE(absl::SimpleAtoi(id, &upto[alias]));
    for (const auto& e : c.events()) {
      if ((e.type == "a" || e.type == "b") && Seq(e.data) <= upto[e.type]) {
        seen[e.type].push_back(Seq(e.data));
      }
    }
  }
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get(query, {absl::StrCat("Last-Event-ID: ", last_id)}));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  EXPECT_EQ(c.status(), 200);
  for (const auto& e : c.events()) {
    if (e.type == "a" || e.type == "b") seen[e.type].push_back(Seq(e.data));
  }
  for (const char* alias : {"a", "b"}) {
    std::vector<int>& s = seen[alias];
    ASSERT_EQ(s.size(), static_cast<size_t>(kN)) << alias;
    for (int i = 0; i < kN; ++i) ASSERT_EQ(s[i], i) << alias;
  }
  EXPECT_EQ(a_->service().last_request("RA")->last_event_id() != "", true);
}

TEST_F(MuxTest, ACursorThatDoesNotParseIsNoIdAndCounted) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/live?s=a:/t/echo&a.tag=E1",
                    {"Last-Event-ID: 41", "X-Request-Id: r-7"}));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(5)));
  ASSERT_EQ(c.status(), 200);
  std::vector<std::string> a = DataOf(c, "a");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_THAT(a[0], HasSubstr("\"last_event_id\":\"\""));
  EXPECT_THAT(a[0], HasSubstr("\"path\":\"/t/echo\""));
  EXPECT_THAT(a[0], HasSubstr("\"method\":\"GET\""));
  EXPECT_THAT(a[0], HasSubstr("\"tag\":\"E1\""));
  EXPECT_THAT(a[0], HasSubstr("\"x-request-id\":\"r-7\""));
  auto m =
      integration::Exchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(m->raw_body(),
              HasSubstr("ssebridge_mux_bad_cursors_total{route=\"/live\"} 1"));
  // A cursor reaches each sub-stream's service as its own Last-Event-ID.
  SseClient r;
  ASSERT_TRUE(r.Connect(port()));
  ASSERT_TRUE(r.Get(absl::StrCat(
      "/live?s=a:/t/echo&a.tag=E2&s=b:/t/echo&b.tag=E3&lastEventId=",
      EncodeMuxCursor({{"a", "a-7"}, {"b", "b 9"}}))));
  ASSERT_TRUE(r.ReadToEof(absl::Seconds(5)));
  EXPECT_EQ(a_->service().last_request("E2")->last_event_id(), "a-7");
  EXPECT_EQ(a_->service().last_request("E3")->last_event_id(), "b 9");
}

TEST_F(MuxTest, EveryBadQueryIs400BeforeAnyCallStarts) {
  const int64_t started = a_->service().started() + b_->service().started();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/live", "no sub-stream"},
      {"/live?s=a:/t/post_only", "is not in this route's allow-list"},
      {"/live?s=a:/t/paced&s=a:/o/paced", "alias \"a\" is repeated"},
      {"/live?s=a.b:/t/paced", "malformed alias"},
      {"/live?s=a:/t/paced&s=b:/t/paced&s=c:/t/paced&s=d:/t/paced"
       "&s=e:/t/paced",
       "5 sub-streams, at most 4"},
      {"/live?s=a:/t/paced&z.n=1", "names no sub-stream"},
      {"/live?s=a:/t/paced&n=1", "unknown parameter n"},
      {"/live?s=a:/t/paced&a.n=1&a.n=2", "parameter a.n is repeated"},
      {"/live?s=a:/t/paced?n=1", "a.NAME=VALUE"},
      {"/live?s=done:/t/paced",
       "alias \"done\" is the name of one of the "
       "connection's own events"},
      {"/live?s=error:/t/paced", "connection's own events"},
  };
  for (const auto& [target, problem] : cases) {
    auto c = integration::Exchange(
        port(), absl::StrCat("GET ", target,
                             " HTTP/1.1\r\nHost: x\r\nAccept: "
                             "text/event-stream\r\n\r\n"));
    EXPECT_EQ(c->status(), 400) << target;
    EXPECT_THAT(c->raw_body(), HasSubstr("bad mux request: ")) << target;
    EXPECT_THAT(c->raw_body(), HasSubstr(problem)) << target;
  }
  EXPECT_EQ(a_->service().started() + b_->service().started(), started);
}

TEST_F(MuxTest, ClientLeavingCancelsEveryCall) {
  const int64_t cancelled =
      a_->service().cancelled() + b_->service().cancelled();
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get(
      "/live?s=x:/t/idle&x.tag=L1&s=y:/o/idle&y.tag=L2&s=z:/t/idle&z.tag=L3"));
  ASSERT_TRUE(c.ReadHead());
  ASSERT_TRUE(WaitFor(
      [] { return a_->service().active() == 2 && b_->service().active() == 1; },
      absl::Seconds(5)));
  c.Close();
  EXPECT_TRUE(WaitFor(
      [] { return a_->service().active() == 0 && b_->service().active() == 0; },
      absl::Seconds(2)));
  EXPECT_EQ(a_->service().cancelled() + b_->service().cancelled(),
            cancelled + 3);
  EXPECT_TRUE(a_->service().cancel_times().contains("L1"));
  EXPECT_TRUE(b_->service().cancel_times().contains("L2"));
  EXPECT_TRUE(a_->service().cancel_times().contains("L3"));
}

TEST_F(MuxTest,
       SocketBackpressurePausesEveryCallAndAFastSubStreamIsNotHeldBack) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/live?s=a:/t/endless&a.tag=BA&s=b:/o/endless&b.tag=BB"));
  ASSERT_TRUE(c.ReadHead());
  // Not reading: both services are pushed back (their counts stop rising).
  ASSERT_TRUE(WaitUntilSteady(
      [] {
        return a_->service().endless_written() +
               b_->service().endless_written();
      },
      0, absl::Milliseconds(100), absl::Seconds(5)))
      << "services never blocked";
  EXPECT_GT(a_->service().endless_written(), 0);
  EXPECT_GT(b_->service().endless_written(), 0);
  EXPECT_LE(frontend_->stats().peak_buffered_bytes.load(), 64 * 1024 + 4096);
  // Reading again, both flow again.
  const int64_t a0 = a_->service().endless_written();
  const int64_t b0 = b_->service().endless_written();
  ASSERT_TRUE(c.ReadUntil(
      [&] {
        return a_->service().endless_written() > a0 + 100 &&
               b_->service().endless_written() > b0 + 100;
      },
      absl::Seconds(10)));
  c.Close();
}

TEST_F(MuxTest, ASlowSubStreamDoesNotDelayTheOthers) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  // `slow` says nothing for a long time; `fast` must arrive at its pace.
  ASSERT_TRUE(c.Get(
      "/live?s=slow:/t/idle&slow.tag=SL&s=fast:/o/paced&fast.tag=FA&fast.n=20"
      "&fast.ms=5"));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(c.ReadUntil([&] { return CountType(c, "fast.done") == 1; },
                          absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(DataOf(c, "fast").size(), 20u);
  c.Close();
}

}  // namespace
}  // namespace ssebridge::frontend
