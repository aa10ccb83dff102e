// The replay ring of shared routes (issue 18) through a real frontend: a
// FrontendServer on 127.0.0.1 (ephemeral port), the in-process gRPC test
// service's "numbered" action (events with ids e0, e1, ...), and raw TCP
// clients that parse with common/sse. Joiners resume from Last-Event-ID with
// no gap and no duplicate while events keep arriving; an id the ring does
// not hold gets the reset event first; on_join; a call nobody watches
// lingers for max_age, then is cancelled; shutdown ends lingering calls.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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

// /r/live's ring: the linger the tests wait out.
constexpr absl::Duration kLiveMaxAge = absl::Milliseconds(1500);
// Bound on reads; generous for sanitizer builds on a loaded machine.
constexpr absl::Duration kRead = absl::Seconds(10);

class ReplayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    backend_ = new TestServer();
    frontend_ = integration::StartFrontend(Config(kLiveMaxAge)).release();
    ASSERT_NE(frontend_, nullptr);
  }

  // Shared routes over "numbered": /r/live (a big ring, short max_age),
  // /r/edges (on_join 0), /r/onjoin (on_join 5), /r/small (10 events), all
  // lingering `live_max_age` or 2 s.
  static FrontendConfig Config(absl::Duration live_max_age) {
    FrontendConfig cfg = integration::LoopbackConfig(backend_->target());
    auto add = [&](const char* path, uint32_t events, absl::Duration max_age,
                   uint32_t on_join) {
      auto* r = cfg.add_routes();
      r->set_path(path);
      r->add_methods("GET");
      r->set_backend("test");
      r->set_action("numbered");
      r->set_shared(true);
      auto* replay = r->mutable_replay();
      replay->set_events(events);
      replay->mutable_max_age()->set_seconds(absl::ToInt64Seconds(max_age));
      replay->mutable_max_age()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(max_age % absl::Seconds(1))));
      replay->set_max_bytes(16 << 20);
      replay->set_on_join(on_join);
      replay->set_reset_event("reset");
    };
    add("/r/live", 100000, live_max_age, 0);
    add("/r/edges", 100, absl::Seconds(2), 0);
    add("/r/onjoin", 100, absl::Seconds(2), 5);
    add("/r/small", 10, absl::Seconds(2), 0);
    // The scripted action behind a ring: a script may send batches.
    add("/r/script", 100, absl::Seconds(2), 0);
    cfg.mutable_routes(cfg.routes_size() - 1)->set_action("script");
    cfg.mutable_listen()->set_io_threads(2);
    cfg.mutable_listen()->set_threads(2);
    return cfg;
  }

  static void TearDownTestSuite() {
    frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete backend_;
  }

  void TearDown() override {
    // Every test must leave nothing behind once its calls have lingered.
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; },
                        absl::Seconds(5)))
        << frontend_->live_sessions() << " sessions still alive";
    EXPECT_TRUE(
        WaitFor([] { return frontend_->stats().shared_calls.load() == 0; },
                absl::Seconds(10)))
        << frontend_->stats().shared_calls.load() << " shared calls alive";
    EXPECT_TRUE(WaitFor([] { return svc().active() == 0; }, absl::Seconds(5)))
        << svc().active() << " calls still active";
  }

  static int port() { return frontend_->port(); }
  // A stream on this suite's frontend: GET `target` with `headers`.
  static std::unique_ptr<SseClient> Open(
      const std::string& target, const std::vector<std::string>& headers = {}) {
    auto c = std::make_unique<SseClient>();
    EXPECT_TRUE(c->Connect(port()));
    EXPECT_TRUE(c->Get(target, headers));
    return c;
  }
  static ssebridge::testing::TestService& svc() { return backend_->service(); }

  static TestServer* backend_;
  static FrontendServer* frontend_;
};

TestServer* ReplayTest::backend_ = nullptr;
FrontendServer* ReplayTest::frontend_ = nullptr;

// The sequence number of a "numbered" event, from its data "<tag>-<i>"
// (checked against its id "e<i>"), or -1.
int64_t Seq(const common::sse::ParsedEvent& e) {
  const size_t dash = e.data.rfind('-');
  int64_t i = -1;
  if (dash == std::string::npos ||
      !absl::SimpleAtoi(e.data.substr(dash + 1), &i) ||
      e.last_event_id != absl::StrCat("e", i)) {
    return -1;
  }
  return i;
}

// What a stream got, as "e3 e4 reset done" (message events by id).
std::string Summary(const SseClient& c) {
  std::vector<std::string> parts;
  for (const auto& e : c.events()) {
    parts.push_back(e.type == "message" ? e.last_event_id : e.type);
  }
  return absl::StrJoin(parts, " ");
}

// "e<from> ... e<to>" then `tail`.
std::string Ids(int from, int to, const std::string& tail = "") {
  std::vector<std::string> parts;
  for (int i = from; i <= to; ++i) parts.push_back(absl::StrCat("e", i));
  if (!tail.empty()) parts.push_back(tail);
  return absl::StrJoin(parts, " ");
}

// One Prometheus sample from /metrics, e.g.
// ssebridge_replay_resets_total{route="/r/edges"}.
std::optional<double> Metric(int port, const std::string& sample) {
  SseClient c;
  if (!c.Connect(port) ||
      !c.SendAll("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") || !c.ReadHead()) {
    return std::nullopt;
  }
  size_t n = 0;
  if (!absl::SimpleAtoi(c.header("content-length"), &n)) return std::nullopt;
  c.ReadUntil([&] { return c.raw_body().size() >= n; });
  for (absl::string_view line : absl::StrSplit(c.raw_body(), '\n')) {
    if (absl::StartsWith(line, sample + " ")) {
      double v;
      if (absl::SimpleAtod(line.substr(sample.size() + 1), &v)) return v;
    }
  }
  return std::nullopt;
}

// A call held after e0..e11 until its gate opens, then e12 and done: every
// stream attached meanwhile must get exactly its backlog, then e12.
TEST_F(ReplayTest, ResumeEdgesOnAHeldRing) {
  const int64_t started = svc().started();
  const std::string url = "/r/edges?tag=edges&n=12&us=0&gate=1";
  auto source = Open(url);
  ASSERT_TRUE(
      source->ReadUntil([&] { return source->events().size() >= 12; }, kRead));
  ASSERT_EQ(Summary(*source), Ids(0, 11));

  // Each is attached once its head (and backlog) has arrived.
  auto newest = Open(url, {"Last-Event-ID: e11"});
  auto middle = Open(url, {"Last-Event-ID: e5"});
  auto oldest = Open(url, {"Last-Event-ID: e0"});
  auto unknown = Open(url, {"Last-Event-ID: not-an-id"});
  auto no_id = Open(url);
  auto by_query = Open(url + "&lastEventId=e9");
  for (SseClient* c : {newest.get(), no_id.get()}) {
    ASSERT_TRUE(c->ReadHead(kRead));
    ASSERT_TRUE(c->ReadUntil(
        [&] { return absl::StrContains(c->raw_body(), ": ok\n\n"); }, kRead));
  }
  ASSERT_TRUE(
      middle->ReadUntil([&] { return middle->events().size() >= 6; }, kRead));
  ASSERT_TRUE(
      oldest->ReadUntil([&] { return oldest->events().size() >= 11; }, kRead));
  ASSERT_TRUE(
      unknown->ReadUntil([&] { return unknown->events().size() >= 1; }, kRead));
  ASSERT_TRUE(by_query->ReadUntil(
      [&] { return by_query->events().size() >= 2; }, kRead));

  EXPECT_GT(Metric(port(), "ssebridge_replay_ring_bytes{route=\"/r/edges\"}")
                .value_or(0),
            0);
  svc().OpenGate("edges");
  for (SseClient* c : {source.get(), newest.get(), middle.get(), oldest.get(),
                       unknown.get(), no_id.get(), by_query.get()}) {
    ASSERT_TRUE(c->ReadToEof(kRead));
  }
  EXPECT_EQ(Summary(*source), Ids(0, 12, "done"));
  EXPECT_EQ(Summary(*newest), Ids(12, 12, "done")) << "id = newest: nothing";
  EXPECT_EQ(Summary(*middle), Ids(6, 12, "done"));
  EXPECT_EQ(Summary(*oldest), Ids(1, 12, "done")) << "id = oldest held";
  EXPECT_EQ(Summary(*unknown), "reset " + Ids(12, 12, "done"));
  EXPECT_EQ(unknown->events()[0].data, "");
  EXPECT_EQ(Summary(*no_id), Ids(12, 12, "done")) << "on_join 0: live only";
  EXPECT_EQ(Summary(*by_query), Ids(10, 12, "done"));
  // The exact bytes the source got, replayed.
  EXPECT_TRUE(absl::EndsWith(
      source->raw_body(),
      middle->raw_body().substr(middle->raw_body().find("id: e6"))));

  EXPECT_EQ(svc().started(), started + 1) << "one call for all of them";
  EXPECT_EQ(svc().last_request("edges")->last_event_id(), "")
      << "the service sees the first stream's Last-Event-ID";
  EXPECT_EQ(Metric(port(), "ssebridge_replay_resets_total{route=\"/r/edges\"}"),
            1);
  // The call ended: its ring is gone from the gauge.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Metric(port(),
                      "ssebridge_replay_ring_bytes{route=\"/r/edges\"}") == 0;
      },
      absl::Seconds(5)));
}

// The events of a batch (Event.batch) go into the ring one by one: a joiner
// resumes after an id inside a batch, with the same bytes the first stream
// got.
TEST_F(ReplayTest, EventsOfABatchAreHeldOneByOne) {
  std::vector<Event> script(3);
  auto numbered = [](int i) {
    Event e;
    e.set_id(absl::StrCat("e", i));
    e.set_text(absl::StrCat("t", i));
    return e;
  };
  *script[0].add_batch() = numbered(1);
  *script[0].add_batch() = numbered(2);
  script[1] = numbered(3);
  for (int i = 4; i <= 6; ++i) *script[2].add_batch() = numbered(i);
  svc().SetScript("ring_batches", script);
  const std::string url = "/r/script?script=ring_batches&tag=rbatch&gate=1";
  auto source = Open(url);
  ASSERT_TRUE(
      source->ReadUntil([&] { return source->events().size() >= 6; }, kRead));
  auto after_batch = Open(url, {"Last-Event-ID: e2"});
  auto inside_batch = Open(url, {"Last-Event-ID: e5"});
  ASSERT_TRUE(after_batch->ReadUntil(
      [&] { return after_batch->events().size() >= 4; }, kRead));
  ASSERT_TRUE(inside_batch->ReadUntil(
      [&] { return inside_batch->events().size() >= 1; }, kRead));
  svc().OpenGate("rbatch");
  for (SseClient* c : {source.get(), after_batch.get(), inside_batch.get()}) {
    ASSERT_TRUE(c->ReadToEof(kRead));
  }
  EXPECT_EQ(Summary(*source), Ids(1, 6, "done"));
  EXPECT_EQ(Summary(*after_batch), Ids(3, 6, "done"));
  EXPECT_EQ(Summary(*inside_batch), Ids(6, 6, "done"));
  EXPECT_TRUE(absl::EndsWith(
      source->raw_body(),
      after_batch->raw_body().substr(after_batch->raw_body().find("id: e3"))));
}

// The first stream's Last-Event-ID still goes to the service (which decides
// what to replay), and a reconnect with an id from another call is reset.
TEST_F(ReplayTest, FirstStreamsLastEventIdReachesTheService) {
  auto first =
      Open("/r/edges?tag=first&n=3&us=0&gate=1", {"Last-Event-ID: e41"});
  ASSERT_TRUE(
      first->ReadUntil([&] { return first->events().size() >= 3; }, kRead));
  EXPECT_EQ(Summary(*first), Ids(0, 2)) << "no reset for the call's starter";
  EXPECT_EQ(svc().last_request("first")->last_event_id(), "e41");
  svc().OpenGate("first");
  ASSERT_TRUE(first->ReadToEof(kRead));
}

TEST_F(ReplayTest, OnJoinGivesTheLastEventsAndAnIdWinsOverIt) {
  const std::string url = "/r/onjoin?tag=onjoin&n=12&us=0&gate=1";
  auto source = Open(url);
  ASSERT_TRUE(
      source->ReadUntil([&] { return source->events().size() >= 12; }, kRead));
  auto joiner = Open(url);
  ASSERT_TRUE(
      joiner->ReadUntil([&] { return joiner->events().size() >= 5; }, kRead));
  auto resumer = Open(url, {"Last-Event-ID: e10"});
  ASSERT_TRUE(
      resumer->ReadUntil([&] { return resumer->events().size() >= 1; }, kRead));
  svc().OpenGate("onjoin");
  for (SseClient* c : {source.get(), joiner.get(), resumer.get()}) {
    ASSERT_TRUE(c->ReadToEof(kRead));
  }
  EXPECT_EQ(Summary(*joiner), Ids(7, 12, "done"));
  EXPECT_EQ(Summary(*resumer), Ids(11, 12, "done"));
}

TEST_F(ReplayTest, AnEvictedIdGetsTheResetEventThenLive) {
  const double resets_before =
      Metric(port(), "ssebridge_replay_resets_total{route=\"/r/small\"}")
          .value_or(-1);
  const std::string url = "/r/small?tag=small&n=12&us=0&gate=1";
  auto source = Open(url);
  ASSERT_TRUE(
      source->ReadUntil([&] { return source->events().size() >= 12; }, kRead));
  // The ring holds the last 10: e2..e11. e1 was evicted last: whoever holds
  // it missed exactly what is held, so it resumes without a reset; e0 is
  // further back (a gap cannot be ruled out).
  auto evicted = Open(url, {"Last-Event-ID: e0"});
  auto last_evicted = Open(url, {"Last-Event-ID: e1"});
  auto oldest = Open(url, {"Last-Event-ID: e2"});
  ASSERT_TRUE(
      evicted->ReadUntil([&] { return evicted->events().size() >= 1; }, kRead));
  ASSERT_TRUE(last_evicted->ReadUntil(
      [&] { return last_evicted->events().size() >= 10; }, kRead));
  ASSERT_TRUE(
      oldest->ReadUntil([&] { return oldest->events().size() >= 9; }, kRead));
  svc().OpenGate("small");
  for (SseClient* c :
       {source.get(), evicted.get(), last_evicted.get(), oldest.get()}) {
    ASSERT_TRUE(c->ReadToEof(kRead));
  }
  EXPECT_EQ(Summary(*evicted), "reset " + Ids(12, 12, "done"));
  EXPECT_EQ(Summary(*last_evicted), Ids(2, 12, "done"));
  EXPECT_EQ(Summary(*oldest), Ids(3, 12, "done"));
  EXPECT_EQ(Metric(port(), "ssebridge_replay_resets_total{route=\"/r/small\"}"),
            resets_before + 1);
}

// Many streams join a call that streams at a high rate, at random moments,
// from several threads: some without an id, some reconnecting with the id
// of their own earlier stream, some with an id another stream saw. From its
// first event on, each must see every event once, in order.
TEST_F(ReplayTest, ManyJoinersResumeWithNoGapAndNoDuplicate) {
  const int64_t started = svc().started();
  const std::string url = "/r/live?tag=many&us=100";
  auto source = Open(url);
  ASSERT_TRUE(source->ReadHead(kRead));
  // The source's reader publishes how far it got.
  std::atomic<int64_t> progress{-1};
  std::atomic<bool> stop{false};
  std::atomic<int> source_gaps{0};
  std::thread source_reader([&] {
    size_t checked = 0;
    while (!stop.load()) {
      source->ReadUntil([&] { return source->events().size() > checked; },
                        absl::Milliseconds(200));
      for (; checked < source->events().size(); ++checked) {
        if (Seq(source->events()[checked]) != static_cast<int64_t>(checked)) {
          source_gaps++;
        }
      }
      progress.store(static_cast<int64_t>(checked) - 1);
      if (source->eof()) break;
    }
  });

  constexpr int kJoiners = 20;
  constexpr int kThreads = 4;
  constexpr size_t kEventsEach = 300;
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> resumed{0};
  auto fail = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    failures.push_back(std::move(what));
  };
  // Reads kEventsEach events and checks they run on from `expect_first`
  // (-1: from wherever the stream starts).
  auto read_and_check = [&](SseClient& c, int64_t expect_first,
                            const std::string& who) {
    if (!c.ReadUntil([&] { return c.events().size() >= kEventsEach; }, kRead)) {
      fail(absl::StrCat(who, ": only ", c.events().size(), " events"));
      return;
    }
    int64_t next = expect_first >= 0 ? expect_first : Seq(c.events()[0]);
    for (const auto& e : c.events()) {
      if (Seq(e) != next) {
        fail(absl::StrCat(who, ": expected e", next, ", got ", e.type, " ",
                          e.last_event_id, " ", e.data));
        return;
      }
      ++next;
    }
  };
  auto wait_progress = [&](int64_t at_least) {
    return WaitFor([&] { return progress.load() >= at_least; }, kRead);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(0x5eed + t);
      for (int j = t; j < kJoiners; j += kThreads) {
        const std::string who = absl::StrCat("joiner ", j);
        // Join at a random moment of the stream.
        if (!wait_progress(progress.load() + 1 + rng() % 300)) {
          fail(who + ": the source stalled");
          return;
        }
        switch (j % 3) {
          case 0: {  // no id: live from wherever it joins
            SseClient c;
            if (!c.Connect(port()) || !c.Get(url)) return fail(who + ": get");
            read_and_check(c, -1, who);
            break;
          }
          case 1: {  // a browser that reconnects with its own last id
            std::string last_id;
            {
              SseClient c;
              if (!c.Connect(port()) || !c.Get(url)) {
                return fail(who + ": get");
              }
              const size_t n = 1 + rng() % 100;
              if (!c.ReadUntil([&] { return c.events().size() >= n; }, kRead)) {
                return fail(who + ": first stream read nothing");
              }
              last_id = c.last_event_id();
            }  // gone, as a dropped connection
            if (!wait_progress(progress.load() + rng() % 200)) {
              return fail(who + ": the source stalled");
            }
            int64_t seq = -1;
            absl::SimpleAtoi(last_id.substr(1), &seq);
            SseClient c;
            if (!c.Connect(port()) ||
                !c.Get(url, {absl::StrCat("Last-Event-ID: ", last_id)})) {
              return fail(who + ": get");
            }
            read_and_check(c, seq + 1,
                           who + " (resumed after " + last_id + ")");
            resumed++;
            break;
          }
          case 2: {  // an id another stream (the source) saw a moment ago
            const int64_t seq =
                std::max<int64_t>(0, progress.load() - rng() % 200);
            SseClient c;
            if (!c.Connect(port()) ||
                !c.Get(absl::StrCat(url, "&lastEventId=e", seq))) {
              return fail(who + ": get");
            }
            read_and_check(c, seq + 1,
                           absl::StrCat(who, " (after e", seq, ")"));
            resumed++;
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop.store(true);
  source_reader.join();
  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(source_gaps.load(), 0);
  EXPECT_GT(resumed.load(), 0);
  EXPECT_GE(progress.load(), 300) << "the source should have streamed on";
  EXPECT_EQ(svc().started(), started + 1) << "one call for every stream";
  const std::optional<double> ring =
      Metric(port(), "ssebridge_replay_ring_bytes{route=\"/r/live\"}");
  EXPECT_GT(ring.value_or(0), 0);
  EXPECT_LE(ring.value_or(0), 16 << 20) << "bounded by max_bytes";
  std::printf("replay: %lld events streamed, %d joiners resumed by id\n",
              static_cast<long long>(progress.load() + 1), resumed.load());
}

// The last stream leaves; one that comes back within max_age resumes from
// the ring on the same call; once nobody has watched for max_age, the call
// is cancelled.
TEST_F(ReplayTest, ACallNobodyWatchesLingersForMaxAgeThenIsCancelled) {
  const int64_t started = svc().started();
  const int64_t cancelled = svc().cancelled();
  const std::string url = "/r/live?tag=linger&us=2000";
  std::string last_id;
  {
    auto a = Open(url);
    ASSERT_TRUE(a->ReadUntil([&] { return a->events().size() >= 20; }, kRead));
    last_id = a->last_event_id();
  }
  ASSERT_TRUE(WaitFor([] { return frontend_->open_sessions() == 0; }, kRead));
  EXPECT_EQ(frontend_->stats().shared_calls.load(), 1) << "lingering";
  EXPECT_EQ(svc().active(), 1);
  // EventSource comes back (after its ~3 s retry in a browser; at once here).
  auto b = Open(url, {"Last-Event-ID: " + last_id});
  ASSERT_TRUE(b->ReadUntil([&] { return b->events().size() >= 20; }, kRead));
  int64_t seq = -1;
  ASSERT_TRUE(absl::SimpleAtoi(last_id.substr(1), &seq));
  for (const auto& e : b->events()) EXPECT_EQ(Seq(e), ++seq);
  EXPECT_EQ(svc().started(), started + 1) << "resumed on the same call";
  b->Close();
  const absl::Time left = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return svc().cancelled() > cancelled; },
                      kLiveMaxAge + absl::Seconds(5)));
  const absl::Duration lingered = svc().cancel_times().at("linger") - left;
  EXPECT_GE(lingered, kLiveMaxAge - absl::Milliseconds(100));
  EXPECT_LE(lingered, kLiveMaxAge + absl::Seconds(2));
  std::printf("replay: the call lingered %s after its last stream left\n",
              absl::FormatDuration(lingered).c_str());
}

// Shutdown does not wait for a lingering call (here a 60 s linger).
TEST_F(ReplayTest, ShutdownEndsLingeringCallsPromptly) {
  auto fe = integration::StartFrontend(Config(absl::Minutes(10)));
  ASSERT_NE(fe, nullptr);
  const int64_t cancelled = svc().cancelled();
  {
    SseClient c;
    ASSERT_TRUE(c.Connect(fe->port()));
    ASSERT_TRUE(c.Get("/r/live?tag=shutdown&us=2000"));
    ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 3; }, kRead));
  }
  ASSERT_TRUE(WaitFor([&] { return fe->open_sessions() == 0; }, kRead));
  EXPECT_EQ(fe->stats().shared_calls.load(), 1) << "lingering";
  const absl::Time start = absl::Now();
  fe->Shutdown(absl::Seconds(2));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_EQ(fe->stats().shared_calls.load(), 0);
  EXPECT_TRUE(
      WaitFor([&] { return svc().cancelled() > cancelled; }, absl::Seconds(5)));
  fe.reset();
}

}  // namespace
}  // namespace ssebridge::frontend
