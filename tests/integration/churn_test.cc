// Disconnect churn (issue 16 §1): thousands of clients leave a stream at
// every point of its life, with FIN or with RST, from several threads at
// once, while the action streams on. Afterwards the frontend must hold
// nothing: no call active at the service, no session, no shared call, and
// no descriptor beyond the baseline.
//
// A real FrontendServer on 127.0.0.1 (ephemeral port) relays a real
// in-process gRPC test service on a per-stream and on shared routes (one
// with a replay ring, whose calls linger after their last client). Each
// cycle picks a leave point and a way to leave at random from a seeded
// generator; the seed is printed and SSEBRIDGE_CHURN_SEED=<n> repeats the
// choices (the thread interleaving, of course, differs from run to run).
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

constexpr int kThreads = 8;
// A case that has not finished by then stops starting cycles (and fails).
constexpr absl::Duration kCaseBudget = absl::Seconds(90);
// Bound on every read a cycle makes.
constexpr absl::Duration kReadTimeout = absl::Seconds(5);
// After the last client has left, everything must be released within this.
constexpr absl::Duration kReleaseDeadline = absl::Seconds(1);
// Shared routes: requests are spread over this many distinct calls.
constexpr int kSharedGroups = 6;
// Low, so that the backpressure case pauses reads (the others never get
// near it: their events are small and 50 ms apart).
constexpr size_t kHighWater = 32 * 1024;
// The replay route's max_age: how long its calls linger with nobody left.
constexpr absl::Duration kReplayLinger = absl::Milliseconds(300);

// Where in a stream's life the client leaves.
enum class LeavePoint {
  kMidRequest,       // part of the request head sent
  kAfterRequest,     // the whole request sent, nothing read
  kAfterHead,        // the response head read
  kAfterFirstEvent,  // the first event read
  kAfterEvents,      // 2 to 4 events read
};
constexpr int kLeavePoints = 5;
constexpr std::array<const char*, kLeavePoints> kLeavePointNames = {
    "mid_request", "after_request", "after_head", "after_first_event",
    "after_events"};

// How the client leaves: shutdown(SHUT_WR) then close (a FIN; the kernel
// follows with a RST if bytes it never read were still queued), or an abort
// (SO_LINGER 0: a RST only).
enum class Exit { kFin, kRst };

struct ChurnCase {
  std::string path;   // route
  std::string query;  // action parameters
  bool shared = false;
  int cycles_per_thread = 625;  // 5,000 in all
  // When set, half of the cycles stop reading for 100 ms up to this long
  // before they leave, while the frontend's buffer for them passes high
  // water and it stops reading from the service.
  absl::Duration max_stall = absl::ZeroDuration();
  // Shared routes with replay: half of the cycles send a Last-Event-ID
  // ("0" to "59": held, not yet seen, or evicted), and a call nobody
  // watches lingers this long before it is released.
  bool resume = false;
  absl::Duration linger = absl::ZeroDuration();
  // The query key of the per-client tag (a mux route's: "ALIAS.tag").
  std::string tag_param = "tag";
};

struct CaseStats {
  std::atomic<int> cycles{0};
  std::atomic<int> connect_failures{0};
  std::atomic<int> read_timeouts{0};  // a wait ran out (not EOF)
  std::atomic<int> early_eof{0};      // the stream ended before the point
  std::atomic<int> non_200{0};
  std::array<std::array<std::atomic<int>, 2>, kLeavePoints> by_mode{};
};

uint64_t SeedFromEnvOrRandom() {
  if (const char* env = std::getenv("SSEBRIDGE_CHURN_SEED")) {
    uint64_t seed;
    if (absl::SimpleAtoi(env, &seed)) return seed;
  }
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// This process's descriptors and what they are ("socket:[123]", ...).
// Pipes are left out: sanitizer runtimes open pipes to their symbolizer at
// their first report, and nothing the frontend or gRPC does per stream
// opens one.
std::map<int, std::string> OpenFds() {
  std::map<int, std::string> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd == own) continue;
    char target[256];
    const ssize_t n = readlinkat(own, e->d_name, target, sizeof(target) - 1);
    std::string what(target, n > 0 ? static_cast<size_t>(n) : 0);
    if (absl::StartsWith(what, "pipe:")) continue;
    fds.emplace(fd, std::move(what));
  }
  closedir(dir);
  return fds;
}

// The descriptors in `now` that are not in `baseline` (same number and kind).
std::string NewFds(const std::map<int, std::string>& baseline,
                   const std::map<int, std::string>& now) {
  std::vector<std::string> out;
  for (const auto& [fd, what] : now) {
    auto it = baseline.find(fd);
    if (it == baseline.end() || it->second != what) {
      out.push_back(absl::StrCat(fd, "=", what));
    }
  }
  return absl::StrJoin(out, " ");
}

// What this process's descriptors connected to `addr` are ("socket:[N]"):
// the frontend's side of a client's connection (the frontend runs here).
std::set<std::string> SocketsPeeredWith(const sockaddr_in& addr) {
  std::set<std::string> out;
  for (const auto& [fd, what] : OpenFds()) {
    if (!absl::StartsWith(what, "socket:")) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
        peer.sin_family == AF_INET && peer.sin_port == addr.sin_port &&
        peer.sin_addr.s_addr == addr.sin_addr.s_addr) {
      out.insert(what);
    }
  }
  return out;
}

void Leave(SseClient& c, Exit exit) {
  if (c.fd() < 0) return;
  if (exit == Exit::kRst) {
    linger l{};
    l.l_onoff = 1;
    l.l_linger = 0;
    setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  } else {
    ::shutdown(c.fd(), SHUT_WR);
  }
  c.Close();
}

// One client: connect, go as far as `point`, leave with `exit`.
void RunCycle(int port, const std::string& target, LeavePoint point, Exit exit,
              absl::Duration max_stall, bool resume, std::mt19937_64& rng,
              CaseStats& stats) {
  SseClient c;
  if (!c.Connect(port)) {
    stats.connect_failures++;
    return;
  }
  const bool stall = max_stall > absl::ZeroDuration() && rng() % 2 == 0;
  const std::string last_event_id =
      resume && rng() % 2 == 0
          ? absl::StrCat("Last-Event-ID: ", rng() % 60, "\r\n")
          : std::string();
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                   "\r\nAccept: text/event-stream\r\n", last_event_id, "\r\n");
  // Half of the early leaves wait a moment first, so that they land both
  // before and after the frontend has parsed the request, taken the
  // connection over and started the call.
  auto maybe_pause = [&] {
    if (rng() % 2 == 0) absl::SleepFor(absl::Microseconds(rng() % 3000));
  };
  switch (point) {
    case LeavePoint::kMidRequest:
      c.SendAll(absl::string_view(request).substr(
          0, 1 + rng() % (request.size() - 1)));
      maybe_pause();
      break;
    case LeavePoint::kAfterRequest:
      c.SendAll(request);
      maybe_pause();
      break;
    case LeavePoint::kAfterHead:
      if (c.SendAll(request) && !c.ReadHead(kReadTimeout) && !c.eof()) {
        stats.read_timeouts++;
      }
      break;
    case LeavePoint::kAfterFirstEvent:
    case LeavePoint::kAfterEvents: {
      const size_t want =
          point == LeavePoint::kAfterFirstEvent ? 1 : 2 + rng() % 3;
      if (c.SendAll(request) &&
          !c.ReadUntil([&] { return c.events().size() >= want; },
                       kReadTimeout)) {
        if (c.eof()) {
          stats.early_eof++;
        } else {
          stats.read_timeouts++;
        }
      }
      break;
    }
  }
  if (c.status() != 0 && c.status() != 200) stats.non_200++;
  if (stall) {
    const int64_t extra_ms =
        absl::ToInt64Milliseconds(max_stall - absl::Milliseconds(100));
    absl::SleepFor(absl::Milliseconds(
        100 + (extra_ms > 0 ? static_cast<int64_t>(rng() % extra_ms) : 0)));
  }
  Leave(c, exit);
  stats.cycles++;
  stats.by_mode[static_cast<int>(point)][static_cast<int>(exit)]++;
}

// "<point>-<fin|rst>" of a per-stream tag "<point>-<exit>-t<i>-c<j>"; shared
// routes' tags name the group (the call), not a client.
std::string ModeOfTag(const std::string& tag) {
  const size_t t = tag.find("-t");
  return t == std::string::npos ? tag : tag.substr(0, t);
}

class ChurnTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    backend_ = new TestServer();
    FrontendConfig cfg = integration::LoopbackConfig(backend_->target());
    cfg.mutable_listen()->set_io_threads(2);
    cfg.mutable_listen()->set_threads(2);
    auto add_route = [&](const char* path, const char* action, bool shared) {
      auto* r = cfg.add_routes();
      r->set_path(path);
      r->add_methods("GET");
      r->set_backend("test");
      r->set_action(action);
      r->set_shared(shared);
    };
    add_route("/c/paced", "paced", false);
    add_route("/c/script", "script", false);
    add_route("/cs/paced", "paced", true);
    add_route("/cr/paced", "paced", true);
    auto* replay = cfg.mutable_routes(cfg.routes_size() - 1)->mutable_replay();
    auto* mux = cfg.add_routes();
    mux->set_path("/cm");
    mux->add_methods("GET");
    mux->mutable_mux()->add_routes("/c/paced");
    mux->mutable_mux()->add_routes("/cs/paced");
    replay->set_events(20);  // ids 0..59 are held, evicted or still to come
    replay->mutable_max_age()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(kReplayLinger)));
    replay->set_on_join(2);
    cfg.mutable_limits()->set_high_water_bytes(kHighWater);
    cfg.mutable_limits()->set_low_water_bytes(kHighWater / 4);
    // Events twice as large as high water: one that the socket does not take
    // at once pauses the session's reads.
    std::vector<ssebridge::action::v1::Event> big(40);
    for (size_t i = 0; i < big.size(); ++i) {
      big[i].set_id(absl::StrCat(i));
      big[i].set_raw(std::string(2 * kHighWater, 'a' + i % 26));
    }
    backend_->service().SetScript("big", std::move(big));
    frontend_ = integration::StartFrontend(cfg).release();
    ASSERT_NE(frontend_, nullptr);
  }

  static void TearDownTestSuite() {
    frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete backend_;
  }

  static ssebridge::testing::TestService& svc() { return backend_->service(); }

  static bool StreamsReleased() {
    return svc().active() == 0 && frontend_->open_sessions() == 0 &&
           frontend_->live_sessions() == 0 &&
           frontend_->stats().shared_calls.load() == 0;
  }

  static std::string Snapshot(const std::map<int, std::string>& fd_baseline) {
    std::map<std::string, int> modes;
    for (const std::string& tag : svc().active_tags()) modes[ModeOfTag(tag)]++;
    const std::map<int, std::string> fds = OpenFds();
    return absl::StrCat(
        "calls active at the service ", svc().active(), " {",
        absl::StrJoin(modes, ", ", absl::PairFormatter("=")), "}",
        ", open sessions ", frontend_->open_sessions(), ", live sessions ",
        frontend_->live_sessions(), ", shared calls ",
        frontend_->stats().shared_calls.load(), ", descriptors ", fds.size(),
        " (baseline ", fd_baseline.size(), "; new: ", NewFds(fd_baseline, fds),
        ")");
  }

  // Runs the churn for `c`, then checks that everything is released.
  void RunChurn(const ChurnCase& c) {
    const uint64_t seed = SeedFromEnvOrRandom();
    std::printf(
        "churn %s?%s: seed %llu (SSEBRIDGE_CHURN_SEED=%llu repeats it)\n",
        c.path.c_str(), c.query.c_str(), static_cast<unsigned long long>(seed),
        static_cast<unsigned long long>(seed));
    const int port = frontend_->port();

    // Warm-up: one stream, so that what the first one creates for good
    // (gRPC connections, Pistache's per-thread state) is in the baseline.
    std::set<std::string> warmup_sockets;
    {
      SseClient w;
      ASSERT_TRUE(w.Connect(port));
      ASSERT_TRUE(w.Get(absl::StrCat(c.path, "?", c.query, "&", c.tag_param,
                                    "=warmup")));
      ASSERT_TRUE(
          w.ReadUntil([&] { return !w.events().empty(); }, kReadTimeout));
      sockaddr_in addr{};
      socklen_t len = sizeof(addr);
      ASSERT_EQ(getsockname(w.fd(), reinterpret_cast<sockaddr*>(&addr), &len),
                0);
      warmup_sockets = SocketsPeeredWith(addr);
      ASSERT_FALSE(warmup_sockets.empty());
      Leave(w, Exit::kRst);
    }
    // The baseline is taken once the warm-up stream is gone from the
    // frontend and its socket from every descriptor (Pistache closes its
    // own copy of the connection when it reads the reset).
    auto warmup_gone = [&] {
      if (!StreamsReleased()) return false;
      for (const auto& [fd, what] : OpenFds()) {
        if (warmup_sockets.contains(what)) return false;
      }
      return true;
    };
    ASSERT_TRUE(WaitFor(warmup_gone, absl::Seconds(5)))
        << "before the churn: " << Snapshot({});
    const std::map<int, std::string> fd_baseline = OpenFds();
    const int64_t started_before = svc().started();
    const uint64_t stalls_before = frontend_->stats().write_stalls.load();

    CaseStats stats;
    const absl::Time start = absl::Now();
    const absl::Time stop_at = start + kCaseBudget;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(seed + 0x9e3779b97f4a7c15ull * (t + 1));
        for (int i = 0; i < c.cycles_per_thread && absl::Now() < stop_at; ++i) {
          const auto point = static_cast<LeavePoint>(rng() % kLeavePoints);
          const auto exit = static_cast<Exit>(rng() % 2);
          const std::string tag =
              c.shared ? absl::StrCat("g", rng() % kSharedGroups)
                       : absl::StrCat(kLeavePointNames[static_cast<int>(point)],
                                      exit == Exit::kFin ? "-fin" : "-rst",
                                      "-t", t, "-c", i);
          RunCycle(port,
                   absl::StrCat(c.path, "?", c.query, "&", c.tag_param, "=",
                                tag),
                   point, exit, c.max_stall, c.resume, rng, stats);
        }
      });
    }
    for (auto& th : threads) th.join();
    const absl::Time last_leave = absl::Now();

    std::string modes;
    for (int p = 0; p < kLeavePoints; ++p) {
      absl::StrAppend(&modes, " ", kLeavePointNames[p], " ",
                      stats.by_mode[p][0].load(), "/",
                      stats.by_mode[p][1].load());
    }
    std::printf(
        "churn %s: %d cycles in %.1f s, %lld calls started; fin/rst by leave "
        "point:%s; connect failures %d, read timeouts %d, early EOF %d, "
        "non-200 %d; write stalls %llu, peak buffered %llu\n",
        c.path.c_str(), stats.cycles.load(),
        absl::ToDoubleSeconds(last_leave - start),
        static_cast<long long>(svc().started() - started_before), modes.c_str(),
        stats.connect_failures.load(), stats.read_timeouts.load(),
        stats.early_eof.load(), stats.non_200.load(),
        static_cast<unsigned long long>(frontend_->stats().write_stalls.load() -
                                        stalls_before),
        static_cast<unsigned long long>(
            frontend_->stats().peak_buffered_bytes.load()));

    auto released = [&] {
      return StreamsReleased() && OpenFds().size() <= fd_baseline.size();
    };
    const absl::Duration deadline = kReleaseDeadline + c.linger;
    const bool released_in_time = WaitFor(released, deadline);
    const std::string at_deadline = Snapshot(fd_baseline);
    std::printf("churn %s: %s %s after the last client left: %s\n",
                c.path.c_str(), released_in_time ? "released" : "NOT RELEASED",
                absl::FormatDuration(absl::Now() - last_leave).c_str(),
                at_deadline.c_str());
    if (!released_in_time) {
      // Tell "slow" from "held for good": look again much later.
      WaitFor(released, absl::Seconds(10));
      std::printf("churn %s: %s after the last client left: %s\n",
                  c.path.c_str(),
                  absl::FormatDuration(absl::Now() - last_leave).c_str(),
                  Snapshot(fd_baseline).c_str());
    }
    EXPECT_TRUE(released_in_time)
        << "within " << deadline << " of the last disconnect: " << at_deadline;
    EXPECT_EQ(stats.cycles.load(), kThreads * c.cycles_per_thread)
        << "the case ran out of its time budget";
    EXPECT_EQ(stats.connect_failures.load(), 0);
    EXPECT_EQ(stats.read_timeouts.load(), 0);
    EXPECT_EQ(stats.non_200.load(), 0);
  }

  static TestServer* backend_;
  static FrontendServer* frontend_;
};

TestServer* ChurnTest::backend_ = nullptr;
FrontendServer* ChurnTest::frontend_ = nullptr;

// An action that would stream for minutes: one event every 50 ms.
TEST_F(ChurnTest, PerStreamRouteEndlessAction) {
  RunChurn({.path = "/c/paced", .query = "n=1000000&ms=50"});
}

// An action that ends by itself after 1.5 s.
TEST_F(ChurnTest, PerStreamRouteActionThatEnds) {
  RunChurn({.path = "/c/paced", .query = "n=30&ms=50"});
}

TEST_F(ChurnTest, SharedRouteEndlessAction) {
  RunChurn({.path = "/cs/paced", .query = "n=1000000&ms=50", .shared = true});
}

TEST_F(ChurnTest, SharedRouteActionThatEnds) {
  RunChurn({.path = "/cs/paced", .query = "n=30&ms=50", .shared = true});
}

// Replay: calls linger after their last client leaves (then must go), and
// half of the clients ask to resume (backlog, reset) as they join.
TEST_F(ChurnTest, SharedReplayRouteEndlessAction) {
  RunChurn({.path = "/cr/paced",
            .query = "n=1000000&ms=50",
            .shared = true,
            .resume = true,
            .linger = kReplayLinger + SharedCalls::kLingerCheckInterval});
}

// A mux route (issue 22): each client's connection carries three
// sub-streams, two calls of its own and one shared; leaving at any point
// must cancel (or leave) all of them. Fewer cycles: three calls each.
TEST_F(ChurnTest, MuxRouteWithThreeSubStreams) {
  RunChurn({.path = "/cm",
            .query = "s=a:/c/paced&a.n=1000000&a.ms=50"
                     "&s=b:/cs/paced&b.n=1000000&b.ms=50&b.tag=g1"
                     "&s=c:/c/paced&c.n=30&c.ms=50&c.tag=fixed",
            .cycles_per_thread = 250,
            .tag_param = "a.tag"});
}

// Events larger than high water, and clients that stop reading before they
// leave: sessions go with their reads paused (the hold that keeps OnDone
// away must go with them). Fewer cycles: half of them stall.
TEST_F(ChurnTest, PerStreamRouteWithBackpressure) {
  RunChurn({.path = "/c/script",
            .query = "script=big",
            .cycles_per_thread = 50,
            .max_stall = absl::Milliseconds(300)});
  EXPECT_GT(frontend_->stats().peak_buffered_bytes.load(), kHighWater)
      << "no session ever paused its reads: the case tests nothing";
}

}  // namespace
}  // namespace ssebridge::frontend
