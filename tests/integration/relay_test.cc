// Integration tests of the relay core: a real FrontendServer on 127.0.0.1
// with an ephemeral port, a real in-process gRPC test service, and raw TCP
// clients that parse with common/sse.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontend/http/frontend_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_service.h"
#include "tests/util/test_util.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::Event;
using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestServer;
using ::ssebridge::testing::WaitFor;
using ::ssebridge::testing::WaitUntilSteady;
using ::testing::HasSubstr;

constexpr size_t kHighWater = 64 * 1024;

class RelayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    backend_ = new TestServer();
    FrontendConfig cfg = integration::LoopbackConfig(backend_->target());
    auto* down = cfg.add_backends();
    down->set_name("down");
    down->set_target(
        absl::StrCat("127.0.0.1:", ssebridge::testing::FreeLoopbackPort()));
    down->mutable_connect_timeout()->set_seconds(1);
    for (const char* action : {"script", "tokens", "endless", "idle",
                               "fail_after", "echo", "paced"}) {
      auto* r = cfg.add_routes();
      r->set_path(absl::StrCat("/t/", action));
      r->add_methods("GET");
      r->add_methods("POST");
      r->set_backend("test");
      r->add_forward_headers("x-request-id");
      r->add_forward_headers("Cookie");
      if (std::string(action) == "idle") {
        r->mutable_heartbeat()->set_nanos(300 * 1000 * 1000);
      }
    }
    auto* get_only = cfg.add_routes();
    get_only->set_path("/t/get_only");
    get_only->add_methods("GET");
    get_only->set_backend("test");
    get_only->set_action("tokens");
    auto* dr = cfg.add_routes();
    dr->set_path("/down/tokens");
    dr->set_backend("down");
    for (const char* action : {"paced", "endless", "script"}) {
      auto* r = cfg.add_routes();
      r->set_path(absl::StrCat("/s/", action));
      r->set_backend("test");
      r->set_shared(true);
    }
    auto* ds = cfg.add_routes();
    ds->set_path("/down/shared");
    ds->set_backend("down");
    ds->set_action("tokens");
    ds->set_shared(true);
    auto* limits = cfg.mutable_limits();
    limits->set_high_water_bytes(kHighWater);
    limits->set_low_water_bytes(16 * 1024);
    limits->mutable_write_timeout()->set_nanos(800 * 1000 * 1000);
    cfg.mutable_listen()->set_io_threads(2);
    cfg.mutable_listen()->set_threads(2);
    frontend_ = integration::StartFrontend(cfg).release();
    ASSERT_NE(frontend_, nullptr);
  }

  static void TearDownTestSuite() {
    frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete backend_;
  }

  void TearDown() override {
    // Every test must leave nothing behind: no open stream, no live call.
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; },
                        absl::Seconds(3)))
        << frontend_->live_sessions() << " sessions still alive";
    EXPECT_TRUE(WaitFor([] { return backend_->service().active() == 0; },
                        absl::Seconds(3)))
        << backend_->service().active() << " calls still active";
    EXPECT_TRUE(
        WaitFor([] { return frontend_->stats().shared_calls.load() == 0; },
                absl::Seconds(3)))
        << frontend_->stats().shared_calls.load() << " shared calls alive";
  }

  static int port() { return frontend_->port(); }
  static ssebridge::testing::TestService& svc() { return backend_->service(); }

  static TestServer* backend_;
  static FrontendServer* frontend_;
};

TestServer* RelayTest::backend_ = nullptr;
FrontendServer* RelayTest::frontend_ = nullptr;

Event TextProto(const char* field, const std::string& v) {
  Event e;
  if (std::string(field) == "text") e.set_text(v);
  if (std::string(field) == "html") e.set_html(v);
  if (std::string(field) == "raw") e.set_raw(v);
  return e;
}

TEST_F(RelayTest, ExactBytesOnTheWire) {
  std::vector<Event> events;
  events.push_back(TextProto("text", "a<b"));
  events.push_back(TextProto("html", "<p>x</p>\n<p>y</p>"));
  Event json;
  (*json.mutable_json()->mutable_struct_value()->mutable_fields())["n"]
      .set_number_value(3);
  events.push_back(json);
  Event named = TextProto("html", "<li>1</li>");
  named.set_event("update");
  named.set_id("42");
  events.push_back(named);
  Event retry = TextProto("raw", " spaced");
  retry.set_retry_ms(1500);
  events.push_back(retry);
  Event comment;
  comment.set_comment("just a note");
  events.push_back(comment);
  svc().SetScript("wire", events);

  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/script?script=wire"));
  ASSERT_TRUE(c.ReadToEof());
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(c.header("cache-control"), "no-cache, no-transform");
  EXPECT_EQ(c.header("x-accel-buffering"), "no");
  EXPECT_EQ(c.header("content-length"), "");
  EXPECT_EQ(c.raw_body(),
            ": ok\n\n"
            "data: a&lt;b\n\n"
            "data: <p>x</p>\ndata: <p>y</p>\n\n"
            "data: {\"n\":3}\n\n"
            "event: update\nid: 42\ndata: <li>1</li>\n\n"
            "retry: 1500\ndata:  spaced\n\n"
            ": just a note\n"
            "event: done\ndata: \n\n");
  ASSERT_EQ(c.events().size(), 6u);
  EXPECT_EQ(c.events()[4].data, " spaced");
  EXPECT_EQ(c.events()[5].type, "done");
}

TEST_F(RelayTest, ConcurrentStreamsGetExactlyTheirOwnEvents) {
  constexpr int kClients = 200;
  constexpr int kEvents = 50;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(port()));
    ASSERT_TRUE(
        c->Get(absl::StrCat("/t/paced?tag=c", i, "&n=", kEvents, "&ms=2")));
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < kClients; ++i) {
    SseClient& c = *clients[i];
    ASSERT_TRUE(c.ReadToEof(absl::Seconds(20))) << "client " << i;
    ASSERT_EQ(c.events().size(), kEvents + 1u) << "client " << i;
    for (int k = 0; k < kEvents; ++k) {
      ASSERT_EQ(c.events()[k].data, absl::StrCat("c", i, "-", k));
      ASSERT_EQ(c.events()[k].last_event_id, absl::StrCat(k));
    }
    EXPECT_EQ(c.events().back().type, "done");
  }
}

TEST_F(RelayTest, ChurnDeliversNoByteToTheWrongClient) {
  constexpr int kThreads = 4;
  constexpr int kCyclesPerThread = 1250;  // 5,000 in all
  std::atomic<int> wrong{0}, completed{0}, connect_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCyclesPerThread; ++i) {
        const std::string tag = absl::StrCat("t", t, "i", i);
        SseClient c;
        if (!c.Connect(port())) {
          connect_failures++;
          continue;
        }
        // Alternate finite and endless streams; read a little, hang up.
        const bool endless = i % 2 == 0;
        c.Get(endless ? absl::StrCat("/t/paced?tag=", tag, "&n=100000&ms=1")
                      : absl::StrCat("/t/tokens?tag=", tag, "&n=3"));
        c.ReadUntil([&] { return c.events().size() >= 2; }, absl::Seconds(5));
        for (const auto& e : c.events()) {
          if (e.type == "message" && !absl::StartsWith(e.data, tag + "-")) {
            wrong++;
          }
        }
        if (c.events().size() >= 2) completed++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(connect_failures.load(), 0);
  EXPECT_EQ(completed.load(), kThreads * kCyclesPerThread);
  EXPECT_TRUE(WaitFor(
      [] {
        return svc().active() == 0 && frontend_->open_sessions() == 0 &&
               frontend_->live_sessions() == 0;
      },
      absl::Seconds(2)))
      << "active calls " << svc().active() << ", open "
      << frontend_->open_sessions() << ", live " << frontend_->live_sessions();
}

TEST_F(RelayTest, DisconnectCancelsTheCallPromptly) {
  constexpr int kClients = 50;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(port()));
    ASSERT_TRUE(c->Get(absl::StrCat("/t/idle?tag=cancel", i)));
    ASSERT_TRUE(c->ReadHead());
    clients.push_back(std::move(c));
  }
  ASSERT_TRUE(
      WaitFor([&] { return svc().active() >= kClients; }, absl::Seconds(5)));
  std::map<std::string, absl::Time> closed_at;
  for (int i = 0; i < kClients; ++i) {
    closed_at[absl::StrCat("cancel", i)] = absl::Now();
    clients[i]->Close();
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto times = svc().cancel_times();
        return std::all_of(
            closed_at.begin(), closed_at.end(),
            [&](const auto& kv) { return times.contains(kv.first); });
      },
      absl::Seconds(5)));
  auto times = svc().cancel_times();
  std::vector<double> delays_ms;
  for (const auto& [tag, t] : closed_at) {
    delays_ms.push_back(absl::ToDoubleMilliseconds(times[tag] - t));
  }
  std::sort(delays_ms.begin(), delays_ms.end());
  const double p50 = delays_ms[delays_ms.size() / 2];
  const double p99 = delays_ms[delays_ms.size() * 99 / 100];
  std::printf(
      "disconnect -> service cancellation: p50 %.2f ms, p99 %.2f ms "
      "(%zu streams)\n",
      p50, p99, delays_ms.size());
  // Typically well under 1 ms; the bounds leave room for sanitizer builds
  // on a loaded 2-core machine.
  EXPECT_LE(p50, 100.0);
  EXPECT_LE(p99, 500.0);
}

TEST_F(RelayTest, SlowClientIsBoundedPushedBackAndCutOff) {
  const uint64_t dropped_before = frontend_->stats().Get(Outcome::kTimeout);
  const int64_t cancelled_before = svc().cancelled();
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/endless?tag=slow"));
  // The service writes until flow control blocks it: the count stops rising.
  ASSERT_TRUE(WaitUntilSteady([] { return svc().endless_written(); }, 0,
                              absl::Milliseconds(100), absl::Seconds(5)))
      << "service never blocked";
  EXPECT_LE(frontend_->stats().peak_buffered_bytes.load(), kHighWater + 1024)
      << "frontend buffered more than high water + one event";
  // Never reading, the client is cut off after write_timeout and the call
  // is cancelled.
  EXPECT_TRUE(WaitFor([&] { return svc().cancelled() > cancelled_before; },
                      absl::Seconds(5)));
  EXPECT_GT(frontend_->stats().Get(Outcome::kTimeout), dropped_before);
  EXPECT_TRUE(WaitFor([] { return frontend_->open_sessions() == 0; },
                      absl::Seconds(2)));
  // What the kernel had buffered still arrives, then the end of the stream.
  EXPECT_TRUE(c.ReadToEof(absl::Seconds(20)))
      << "read " << c.raw_body().size() << " bytes, events "
      << c.events().size();
}

// Events go straight to the socket from gRPC's thread while nothing is
// queued, and through the IoLoop once the socket is full; a client that
// stalls and catches up again and again crosses between the two paths
// many times and must still see every event once, in order.
TEST_F(RelayTest, StallsAndCatchUpsKeepEveryEventInOrder) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/endless?tag=stall"));
  ASSERT_TRUE(c.ReadHead());
  size_t want = 0;
  for (int round = 0; round < 6; ++round) {
    absl::SleepFor(absl::Milliseconds(150));  // socket and buffer fill up
    want += 400;
    ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= want; },
                            absl::Seconds(10)))
        << "round " << round << ": " << c.events().size() << " events";
  }
  for (size_t i = 0; i < c.events().size(); ++i) {
    ASSERT_TRUE(
        absl::StartsWith(c.events()[i].data, absl::StrCat("endless-", i, " ")))
        << "event " << i << ": " << c.events()[i].data.substr(0, 40);
  }
  c.Close();
  EXPECT_TRUE(WaitFor([] { return frontend_->open_sessions() == 0; },
                      absl::Seconds(5)));
}

// Index of a paced event ("<tag>-<i>"), or -1.
int PacedIndex(const std::string& data) {
  int i = -1;
  const size_t dash = data.rfind('-');
  if (dash == std::string::npos ||
      !absl::SimpleAtoi(data.substr(dash + 1), &i)) {
    return -1;
  }
  return i;
}

TEST_F(RelayTest, SharedRouteRunsOneCallForEveryStreamWithTheSameRequest) {
  const int64_t started = svc().started();
  const std::string url = "/s/paced?n=40&ms=25&tag=shared";
  SseClient first;
  ASSERT_TRUE(first.Connect(port()));
  ASSERT_TRUE(first.Get(url));
  ASSERT_TRUE(first.ReadUntil([&] { return first.events().size() >= 4; }));
  std::vector<std::unique_ptr<SseClient>> late;
  for (int i = 0; i < 3; ++i) {
    late.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(late.back()->Connect(port()));
    ASSERT_TRUE(late.back()->Get(url));
    ASSERT_TRUE(late.back()->ReadHead());
    EXPECT_EQ(late.back()->status(), 200);
  }
  // Another request is another call.
  SseClient other;
  ASSERT_TRUE(other.Connect(port()));
  ASSERT_TRUE(other.Get("/s/paced?n=3&ms=1&tag=other"));
  ASSERT_TRUE(other.ReadToEof());
  ASSERT_EQ(other.events().size(), 4u);
  EXPECT_EQ(other.events()[2].data, "other-2");

  ASSERT_TRUE(first.ReadToEof(absl::Seconds(10)));
  ASSERT_EQ(first.events().size(), 41u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(first.events()[i].data, absl::StrCat("shared-", i));
  }
  EXPECT_EQ(first.events().back().type, "done");
  for (auto& c : late) {
    ASSERT_TRUE(c->ReadToEof(absl::Seconds(10)));
    ASSERT_GE(c->events().size(), 2u);
    // Joined late: from some event on, every one, in order, then done.
    const int from = PacedIndex(c->events()[0].data);
    EXPECT_GE(from, 4);
    for (size_t j = 0; j + 1 < c->events().size(); ++j) {
      EXPECT_EQ(c->events()[j].data, absl::StrCat("shared-", from + j));
    }
    EXPECT_EQ(c->events().back().type, "done");
  }
  EXPECT_EQ(svc().started(), started + 2) << "one call per distinct request";
}

TEST_F(RelayTest, SharedCallIsCancelledWhenItsLastStreamLeaves) {
  const int64_t cancelled = svc().cancelled();
  const std::string url = "/s/paced?n=100000&ms=5&tag=leave";
  SseClient a, b;
  for (SseClient* c : {&a, &b}) {
    ASSERT_TRUE(c->Connect(port()));
    ASSERT_TRUE(c->Get(url));
    ASSERT_TRUE(c->ReadUntil([&] { return c->events().size() >= 3; }));
  }
  EXPECT_EQ(frontend_->stats().shared_calls.load(), 1);
  a.Close();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(svc().cancelled(), cancelled) << "b still watches";
  const size_t seen = b.events().size();
  ASSERT_TRUE(b.ReadUntil([&] { return b.events().size() >= seen + 10; }));
  b.Close();
  EXPECT_TRUE(WaitFor([&] { return svc().cancelled() == cancelled + 1; },
                      absl::Seconds(3)));
}

TEST_F(RelayTest, SharedCallDropsASlowStreamAndTheOthersGoOn) {
  const uint64_t dropped = frontend_->stats().shared_slow_dropped.load();
  SseClient fast;
  ASSERT_TRUE(fast.Connect(port()));
  ASSERT_TRUE(fast.Get("/s/endless?tag=fanout"));
  ASSERT_TRUE(fast.ReadHead());
  SseClient slow;  // never reads
  ASSERT_TRUE(slow.Connect(port()));
  ASSERT_TRUE(slow.Get("/s/endless?tag=fanout"));
  ASSERT_TRUE(fast.ReadUntil(
      [&] { return frontend_->stats().shared_slow_dropped.load() > dropped; },
      absl::Seconds(20)))
      << "slow stream never dropped; fast read " << fast.events().size();
  const size_t seen = fast.events().size();
  ASSERT_TRUE(fast.ReadUntil([&] {
    return fast.events().size() >= seen + 1000;
  })) << "the fast stream stopped with the slow one";
  for (size_t i = 0; i < fast.events().size(); ++i) {
    ASSERT_TRUE(absl::StartsWith(fast.events()[i].data,
                                 absl::StrCat("endless-", i, " ")))
        << "event " << i;
  }
  // The slow one is closed (after write_timeout, as it reads nothing).
  EXPECT_EQ(frontend_->stats().shared_slow_dropped.load(), dropped + 1);
  EXPECT_TRUE(slow.ReadToEof(absl::Seconds(20)));
  fast.Close();
}

// Events each larger than high water: every one puts the streams over it,
// so the call pauses until they have drained. Readers that keep reading
// lose nothing and are never dropped.
TEST_F(RelayTest, SharedCallPausesForStreamsOverHighWaterAndLosesNothing) {
  const uint64_t dropped = frontend_->stats().shared_slow_dropped.load();
  std::vector<Event> events;
  for (int i = 0; i < 12; ++i) {
    events.push_back(TextProto(
        "raw", absl::StrCat(i, ":", std::string(100 * 1024, 'a' + i))));
  }
  svc().SetScript("shared_big", events);
  constexpr int kReaders = 3;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kReaders; ++i) {
    clients.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(clients.back()->Connect(port()));
  }
  std::vector<std::thread> readers;
  std::atomic<int> at_eof{0};
  for (auto& c : clients) {
    readers.emplace_back([&c, &at_eof] {
      if (c->Get("/s/script?script=shared_big") &&
          c->ReadToEof(absl::Seconds(20))) {
        at_eof.fetch_add(1);
      }
    });
  }
  for (auto& t : readers) t.join();
  ASSERT_EQ(at_eof.load(), kReaders);
  for (auto& c : clients) {
    ASSERT_EQ(c->events().size(), 13u);
    for (int i = 0; i < 12; ++i) {
      EXPECT_EQ(c->events()[i].data, events[i].raw()) << "event " << i;
    }
    EXPECT_EQ(c->events().back().type, "done");
  }
  EXPECT_EQ(frontend_->stats().shared_slow_dropped.load(), dropped);
}

// A service may pack events into one message (Event.batch) because the
// frontend says it relays them (ActionRequest.accepts_batch). Each event of
// a batch is its own SSE event, in order, with its name and id, on an own
// call and on a shared one alike; one the encoder rejects (a newline in its
// name) is dropped and counted without taking its neighbours along.
TEST_F(RelayTest, BatchedEventsAreRelayedOneByOneInOrder) {
  auto named = [](const char* name, const char* id, const char* text) {
    Event e = TextProto("text", text);
    e.set_event(name);
    e.set_id(id);
    return e;
  };
  std::vector<Event> script(3);
  *script[0].add_batch() = named("a", "1", "one");
  *script[0].add_batch() = named("", "2", "two");
  script[1] = named("b", "3", "three");
  *script[2].add_batch() = named("c", "4", "four");
  *script[2].add_batch() = named("bad\nname", "5", "five");
  *script[2].add_batch() = named("d", "6", "six");
  svc().SetScript("batched", script);
  for (const char* path : {"/t/script", "/s/script"}) {
    SCOPED_TRACE(path);
    const uint64_t invalid = frontend_->stats().invalid_events_dropped.load();
    const uint64_t relayed = frontend_->stats().events_relayed.load();
    SseClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Get(absl::StrCat(path, "?script=batched&tag=batch")));
    ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
    using common::sse::ParsedEvent;
    EXPECT_THAT(
        c.events(),
        ::testing::ElementsAre(
            ParsedEvent{"a", "one", "1"}, ParsedEvent{"message", "two", "2"},
            ParsedEvent{"b", "three", "3"}, ParsedEvent{"c", "four", "4"},
            ParsedEvent{"d", "six", "6"}, ParsedEvent{"done", "", "6"}));
    EXPECT_EQ(frontend_->stats().invalid_events_dropped.load(), invalid + 1);
    EXPECT_EQ(frontend_->stats().events_relayed.load(), relayed + 5)
        << "each event of a batch counts";
    auto request = svc().last_request("batch");
    ASSERT_TRUE(request.has_value());
    EXPECT_TRUE(request->accepts_batch());
  }
}

// A client that reads nothing: what the service gets to write before it is
// pushed back is what the chain holds for that client. With
// limits.socket_unsent_bytes the kernel holds at most that much unsent; the
// rest waits in the session, bounded by high water, and pushes back on the
// service. Without it the kernel's send buffer grows (autotuning) and holds
// stale events no limit of ours counts.
TEST(SocketUnsentBytesTest, BoundsWhatTheKernelHoldsForAClientThatDoesNotRead) {
  TestServer backend;
  auto written_until_pushed_back = [&](uint32_t unsent_bytes) -> int64_t {
    FrontendConfig cfg = integration::LoopbackConfig(backend.target());
    auto* r = cfg.add_routes();
    r->set_path("/t/endless");
    r->set_backend("test");
    r->set_action("endless");
    auto* limits = cfg.mutable_limits();
    limits->set_high_water_bytes(kHighWater);
    limits->set_low_water_bytes(kHighWater / 4);
    limits->set_socket_unsent_bytes(unsent_bytes);
    limits->mutable_write_timeout()->set_seconds(30);
    auto frontend = integration::StartFrontend(cfg);
    if (frontend == nullptr) return -1;
    const int64_t before = backend.service().endless_written();
    SseClient c;
    EXPECT_TRUE(c.Connect(frontend->port()));
    const int rcvbuf = 4096;  // the client's own queue stays small
    setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    EXPECT_TRUE(c.Get("/t/endless?tag=unsent"));
    int64_t last = -1;
    EXPECT_TRUE(WaitUntilSteady(
        [&] { return backend.service().endless_written(); }, before,
        absl::Milliseconds(200), absl::Seconds(10), &last))
        << "the service was never pushed back";
    c.Close();
    frontend->Shutdown(absl::Seconds(2));
    EXPECT_TRUE(WaitFor([&] { return backend.service().active() == 0; },
                        absl::Seconds(5)));
    return last - before;
  };
  const int64_t bounded = written_until_pushed_back(16 * 1024);
  const int64_t unbounded = written_until_pushed_back(0);
  std::printf(
      "events written before the service was pushed back: %lld "
      "with socket_unsent_bytes 16 KiB, %lld without\n",
      static_cast<long long>(bounded), static_cast<long long>(unbounded));
  ASSERT_GT(bounded, 0);
  EXPECT_LT(bounded, unbounded / 4);
}

// routes[].high_water_bytes overrides limits' for that route's streams.
TEST(RouteHighWaterTest, ARouteBuffersAtMostItsOwnHighWater) {
  TestServer backend;
  FrontendConfig cfg = integration::LoopbackConfig(backend.target());
  auto* r = cfg.add_routes();
  r->set_path("/t/endless");
  r->set_backend("test");
  r->set_action("endless");
  r->set_high_water_bytes(16 * 1024);
  r->set_low_water_bytes(4 * 1024);
  auto* limits = cfg.mutable_limits();
  limits->set_high_water_bytes(kHighWater);  // 64 KiB for other routes
  limits->set_low_water_bytes(kHighWater / 4);
  limits->set_socket_unsent_bytes(16 * 1024);
  auto frontend = integration::StartFrontend(cfg);
  ASSERT_NE(frontend, nullptr);
  SseClient c;
  ASSERT_TRUE(c.Connect(frontend->port()));
  const int rcvbuf = 4096;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  ASSERT_TRUE(c.Get("/t/endless?tag=route_hw"));
  ASSERT_TRUE(
      WaitUntilSteady([&] { return backend.service().endless_written(); }, 0,
                      absl::Milliseconds(200), absl::Seconds(10)))
      << "the service was never pushed back";
  const uint64_t peak = frontend->stats().peak_buffered_bytes.load();
  EXPECT_GT(peak, 8u * 1024) << "the session never filled";
  EXPECT_LE(peak, 16u * 1024 + 1024) << "more than the route's high water "
                                        "plus one event";
  c.Close();
  frontend->Shutdown(absl::Seconds(2));
}

TEST_F(RelayTest, SharedRouteWithBackendDownIs503) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/down/shared"));
  ASSERT_TRUE(c.ReadHead(absl::Seconds(5)));
  EXPECT_EQ(c.status(), 503);
}

// gRPC cannot parse a message with invalid UTF-8 in a string field: the
// call's reads end and OnDone never comes until it is cancelled.
TEST_F(RelayTest, SharedCallStuckOnAnUnparsableMessageEndsWithAnError) {
  Event fine = TextProto("text", "still here");
  Event bad = TextProto("raw", std::string("ok \xff\xfe bytes"));
  svc().SetScript("shared_utf8", {fine, bad, fine});
  SseClient a;
  SseClient b;
  ASSERT_TRUE(a.Connect(port()));
  ASSERT_TRUE(b.Connect(port()));
  ASSERT_TRUE(a.Get("/s/script?script=shared_utf8"));
  ASSERT_TRUE(b.Get("/s/script?script=shared_utf8"));
  for (SseClient* c : {&a, &b}) {
    ASSERT_TRUE(c->ReadToEof(absl::Seconds(5))) << c->raw_body();
    ASSERT_FALSE(c->events().empty());
    EXPECT_EQ(c->events().back().type, "error");
    EXPECT_THAT(c->raw_body(), ::testing::Not(HasSubstr("\xff")));
  }
}

// The frontend runs in this process, so the server side of a stream's
// connection is one of our descriptors: the one whose peer is the client.
TEST_F(RelayTest, StreamSocketsHaveNagleOff) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/idle"));
  ASSERT_TRUE(c.ReadHead());
  sockaddr_in client{};
  socklen_t len = sizeof(client);
  ASSERT_EQ(getsockname(c.fd(), reinterpret_cast<sockaddr*>(&client), &len), 0);
  int found = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in peer{};
    socklen_t plen = sizeof(peer);
    if (fd == c.fd() ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0 ||
        peer.sin_family != AF_INET || peer.sin_port != client.sin_port ||
        peer.sin_addr.s_addr != client.sin_addr.s_addr) {
      continue;
    }
    int nodelay = 0;
    socklen_t olen = sizeof(nodelay);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &olen), 0);
    EXPECT_NE(nodelay, 0) << "fd " << fd;
    ++found;
  }
  EXPECT_GE(found, 1) << "no server-side socket found for the stream";
}

TEST_F(RelayTest, BackendDownIs503BeforeHeaders) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/down/tokens"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(5)));
  EXPECT_EQ(c.status(), 503);
  EXPECT_EQ(c.header("retry-after"), "5");
  EXPECT_THAT(c.raw_body(), HasSubstr("UNAVAILABLE"));
  // Other routes still serve.
  SseClient ok;
  ASSERT_TRUE(ok.Connect(port()));
  ASSERT_TRUE(ok.Get("/t/tokens?tag=ok&n=2"));
  ASSERT_TRUE(ok.ReadToEof());
  EXPECT_EQ(ok.status(), 200);
  EXPECT_EQ(ok.events().size(), 3u);
}

TEST_F(RelayTest, BackendFailureMidStreamIsAnErrorEvent) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/fail_after?k=2"));
  ASSERT_TRUE(c.ReadToEof());
  EXPECT_EQ(c.status(), 200);
  ASSERT_EQ(c.events().size(), 3u);
  EXPECT_EQ(c.events()[0].data, "before-fail-0");
  EXPECT_EQ(c.events()[2].type, "error");
  // expose_errors is off: the code only, never the backend's message.
  EXPECT_EQ(c.events()[2].data, "{\"code\":\"UNAVAILABLE\"}");
  EXPECT_THAT(c.raw_body(), HasSubstr("retry: 5000\n"));
}

TEST_F(RelayTest, PlainHttpErrors) {
  struct Case {
    std::string request;
    int status;
  };
  std::vector<Case> cases = {
      {"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"POST /t/get_only HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
       405},
      {"GET /t/tokens?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 5\r\n\r\n[1,2]",
       400},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 4\r\n\r\n{bad",
       400},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
       "Content-Length: 3\r\n\r\na,b",
       415},
      {"GET /t/echo?q=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: \xc3\x28\r\n\r\n",
       400},
      {absl::StrCat("GET /t/echo HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ",
                    std::string(2000, '9'), "\r\n\r\n"),
       400},
  };
  for (const auto& tc : cases) {
    SseClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.SendAll(tc.request));
    ASSERT_TRUE(c.ReadHead()) << tc.request;
    EXPECT_EQ(c.status(), tc.status) << tc.request;
    EXPECT_NE(c.header("content-type"), "text/event-stream; charset=utf-8");
    if (tc.status == 405) {
      EXPECT_EQ(c.header("allow"), "GET");
    }
  }
}

// Pistache 0.0.5 read past its buffer on these (found by the fuzzer); the
// frontend's RequestGuard frames requests first. Chunked bodies still work.
TEST_F(RelayTest, RequestFramingIsCheckedBeforePistacheParses) {
  SseClient chunked;
  ASSERT_TRUE(chunked.Connect(port()));
  ASSERT_TRUE(chunked.SendAll(
      "POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
      "a\r\ntag=chunk1\r\n9;x=y\r\n&msg=hey+\r\n2\r\nyo\r\n0\r\n\r\n"));
  ASSERT_TRUE(chunked.ReadToEof());
  EXPECT_EQ(chunked.status(), 200);
  auto r = svc().last_request("chunk1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params().at("msg"), "hey yo");

  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "Content-Type: application/json\r\n\r\n6\r\n{\"a\":\r\n0\r\n\r\n",
       400},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
       501},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nno-colon\r\n\r\n", 400},
      {"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
       413},
  };
  for (const Case& tc : cases) {
    SseClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.SendAll(tc.request));
    ASSERT_TRUE(c.ReadToEof()) << tc.request << ": no answer and close";
    EXPECT_EQ(c.status(), tc.status) << tc.request;
    EXPECT_EQ(c.header("connection"), "close") << tc.request;
  }
  // A header ending in whitespace at the very end of the request, at every
  // length around a power of two (where the buffer used to end).
  for (size_t pad = 90; pad < 150; ++pad) {
    SseClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.SendAll(absl::StrCat(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ", std::string(pad, 'p'),
        "\r\nCache-Control: max-age=\r\n\r\n")));
    ASSERT_TRUE(c.ReadHead()) << pad;
    EXPECT_EQ(c.status(), 200) << pad;
  }
}

TEST_F(RelayTest, RequestsSentOnAStreamConnectionAreNeverAnsweredIntoIt) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/idle?tag=pipelined"));
  ASSERT_TRUE(c.ReadHead());
  ASSERT_TRUE(c.SendAll("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.ReadUntil(
      [&] {
        return std::count(c.comments().begin(), c.comments().end(), " ping") >=
               2;
      },
      absl::Seconds(3)));
  EXPECT_THAT(c.raw_body(), ::testing::Not(HasSubstr("HTTP/1.1")));
  EXPECT_TRUE(c.events().empty());
}

TEST_F(RelayTest, HeartbeatOnIdleStream) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/idle?tag=hb"));
  ASSERT_TRUE(c.ReadUntil(
      [&] {
        return std::count(c.comments().begin(), c.comments().end(), " ping") >=
               2;
      },
      absl::Seconds(3)));
  EXPECT_TRUE(c.events().empty());
}

TEST_F(RelayTest, LastEventIdAndAllowListedHeadersReachTheService) {
  SseClient h;
  ASSERT_TRUE(h.Connect(port()));
  ASSERT_TRUE(h.Get("/t/echo?tag=lid1&x=a%20b+c",
                    {"Last-Event-ID: 41", "X-Request-Id: req-7", "X-Secret: no",
                     "Cookie: session=abc"}));
  ASSERT_TRUE(h.ReadToEof());
  auto r = svc().last_request("lid1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->last_event_id(), "41");
  EXPECT_EQ(r->params().at("x"), "a b c");
  EXPECT_EQ(r->headers().at("x-request-id"), "req-7");
  EXPECT_EQ(r->headers().at("cookie"), "session=abc");
  EXPECT_FALSE(r->headers().contains("x-secret"));
  EXPECT_EQ(r->method(), "GET");
  EXPECT_EQ(r->path(), "/t/echo");
  EXPECT_EQ(r->remote_addr(), "127.0.0.1");
  ASSERT_FALSE(h.events().empty());
  EXPECT_THAT(h.events()[0].data, HasSubstr("\"x-request-id\":\"req-7\""))
      << "metadata too";

  SseClient q;
  ASSERT_TRUE(q.Connect(port()));
  ASSERT_TRUE(q.Get("/t/echo?tag=lid2&lastEventId=77"));
  ASSERT_TRUE(q.ReadToEof());
  EXPECT_EQ(svc().last_request("lid2")->last_event_id(), "77");

  SseClient p;
  ASSERT_TRUE(p.Connect(port()));
  ASSERT_TRUE(p.Post("/t/echo", "application/x-www-form-urlencoded",
                     "tag=post1&message=hi+there%21"));
  ASSERT_TRUE(p.ReadToEof());
  EXPECT_EQ(svc().last_request("post1")->params().at("message"), "hi there!");
  SseClient j;
  ASSERT_TRUE(j.Connect(port()));
  ASSERT_TRUE(j.Post("/t/echo", "application/json",
                     R"({"tag":"json1","n":3,"nested":{"a":[1,2]}})"));
  ASSERT_TRUE(j.ReadToEof());
  auto jr = svc().last_request("json1");
  ASSERT_TRUE(jr.has_value());
  EXPECT_EQ(jr->params().at("n"), "3");
  EXPECT_EQ(jr->params().at("nested"), "{\"a\":[1,2]}");
}

TEST_F(RelayTest, OneMebibyteEventArrivesIntact) {
  std::string big;
  for (int i = 0; big.size() < (1 << 20); ++i) {
    absl::StrAppend(&big, "<span>", i, "</span>");
  }
  svc().SetScript("big", {TextProto("html", big)});
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/script?script=big"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ASSERT_EQ(c.events().size(), 2u);
  EXPECT_EQ(c.events()[0].data, big);
}

TEST_F(RelayTest, InjectedFieldsNeverReachTheClient) {
  const uint64_t before = frontend_->stats().invalid_events_dropped.load();
  Event evil = TextProto("text", "evil");
  evil.set_event("x\nevent: hijack");
  Event evil_id = TextProto("text", "evil2");
  evil_id.set_id("1\r\ndata: injected");
  svc().SetScript("inject", {evil, evil_id, TextProto("text", "after")});
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/t/script?script=inject"));
  ASSERT_TRUE(c.ReadToEof());
  ASSERT_EQ(c.events().size(), 2u);
  EXPECT_EQ(c.events()[0].data, "after");
  EXPECT_EQ(c.events()[0].last_event_id, "");
  EXPECT_EQ(c.events()[1].type, "done");
  EXPECT_THAT(c.raw_body(), ::testing::Not(HasSubstr("hijack")));
  EXPECT_THAT(c.raw_body(), ::testing::Not(HasSubstr("injected")));
  EXPECT_EQ(frontend_->stats().invalid_events_dropped.load(), before + 2);
}

}  // namespace
}  // namespace ssebridge::frontend
