// Bounded soak of the frontend binary: a steady population of SSE streams
// (continuous, idle and finite ones) with churn, a few slow clients that
// never read, and backend restarts, for --duration. Prints the frontend's
// RSS and fd count over time and fails (exit 1) if, once warm, RSS grows
// beyond a small bound, or if fds do not return to the baseline once the
// clients are gone. Everything on 127.0.0.1; every loop bounded.
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sse/parser.h"
#include "tests/util/child_process.h"
#include "tests/util/test_service.h"
#include "tests/util/test_util.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(60), "How long to soak.");
ABSL_FLAG(int, streams, 2000, "Streams kept open.");
ABSL_FLAG(std::string, frontend, "", "Path of ssebridge-frontend.");
ABSL_FLAG(double, rss_growth_mb, 24, "Allowed RSS growth once warm (MiB).");

namespace {

using ::ssebridge::common::sse::ParsedEvent;
using ::ssebridge::common::sse::Parser;

struct Conn {
  int fd = -1;
  bool slow = false;  // never reads; the frontend must cut it off
  absl::Time opened;
  bool head_done = false;
  std::string head;
  std::unique_ptr<Parser> parser;
};

int64_t RssKb(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/statm"));
  int64_t size = 0, rss = 0;
  f >> size >> rss;
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

int64_t Fds(pid_t pid) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int target = absl::GetFlag(FLAGS_streams);
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  auto backend = std::make_unique<ssebridge::testing::TestServer>();
  const int backend_port = backend->port();
  const std::string cfg_path =
      absl::StrCat(std::filesystem::temp_directory_path().string(),
                   "/soak_", getpid(), ".yaml");
  std::ofstream(cfg_path)
      << "listen:\n  port: 0\n  io_threads: 1\nbackends:\n  - name: b\n"
      << "    target: 127.0.0.1:" << backend_port << "\n    channels: 8\n"
      << "    connect_timeout: 500ms\n"
      << "routes:\n"
      << "  - path: /paced\n    backend: b\n    heartbeat: 1s\n"
      << "  - path: /idle\n    backend: b\n    heartbeat: 1s\n"
      << "  - path: /tokens\n    backend: b\n"
      << "limits:\n  write_timeout: 3s\n  high_water_bytes: 65536\n"
      << "  low_water_bytes: 16384\n"
      << "logging:\n  level: error\n";
  ssebridge::testing::ChildProcess fe(
      {absl::GetFlag(FLAGS_frontend), "--config", cfg_path});
  auto line = fe.WaitForLine("listening on", absl::Seconds(10));
  if (!line) {
    std::fprintf(stderr, "soak: frontend did not start\n");
    return 1;
  }
  const int port = ssebridge::testing::PortFromListeningLine(*line);
  const pid_t pid = fe.pid();
  absl::SleepFor(absl::Milliseconds(300));
  const int64_t base_fds = Fds(pid);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::map<int, Conn> conns;
  std::mt19937 rng(42);
  uint64_t events = 0, opened = 0, failed = 0, statuses_503 = 0, slow_cut = 0;
  auto open_one = [&] {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      if (fd >= 0) close(fd);
      ++failed;
      return;
    }
    const int r = static_cast<int>(rng() % 100);
    std::string path = r < 55   ? absl::StrCat("/paced?n=100000&ms=", 200 + rng() % 800)
                       : r < 85 ? "/idle"
                                : absl::StrCat("/tokens?n=", 1 + rng() % 20);
    Conn c;
    c.fd = fd;
    c.slow = r >= 97 && r < 100 && path.rfind("/paced", 0) == 0;
    if (rng() % 100 < 2) {
      c.slow = true;
      path = "/paced?n=1000000&ms=1";
    }
    c.opened = absl::Now();
    c.parser = std::make_unique<Parser>([&events](ParsedEvent&&) { ++events; });
    const std::string req = absl::StrCat("GET ", path,
                                         " HTTP/1.1\r\nHost: soak\r\n\r\n");
    (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (c.slow) {
      int small = 4096;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    } else {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    conns.emplace(fd, std::move(c));
    ++opened;
  };
  auto close_one = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };

  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  const absl::Time warm = start + duration * 0.3;
  absl::Time next_sample = start;
  absl::Time next_restart = start + duration / 4;
  absl::Time restart_back = absl::InfiniteFuture();
  int64_t warm_rss = -1, max_rss_after_warm = 0;
  std::printf("%8s %8s %10s %10s %8s %8s\n", "t_s", "streams", "events",
              "rss_mb", "fds", "opened");
  std::vector<epoll_event> evs(512);
  char buf[65536];
  while (absl::Now() < end) {
    const absl::Time now = absl::Now();
    // Keep the population, opening at most 100 per 50 ms round.
    for (int i = 0; i < 100 && static_cast<int>(conns.size()) < target; ++i) {
      open_one();
    }
    // Churn ~2% per second; slow clients are dropped after 10 s.
    std::vector<int> drop;
    for (auto& [fd, c] : conns) {
      if (rng() % 1000 < 1) drop.push_back(fd);
      if (c.slow && now - c.opened > absl::Seconds(10)) {
        drop.push_back(fd);
        ++slow_cut;
      }
    }
    for (int fd : drop) {
      if (conns.contains(fd)) close_one(fd);
    }
    if (now >= next_restart) {  // kill the backend; it comes back in 1 s
      backend.reset();
      restart_back = now + absl::Seconds(1);
      next_restart = now + duration / 4;
    }
    if (now >= restart_back) {
      backend = std::make_unique<ssebridge::testing::TestServer>(backend_port);
      restart_back = absl::InfiniteFuture();
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 50);
    for (int i = 0; i < n; ++i) {
      const int fd = evs[i].data.fd;
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      bool gone = false;
      while (true) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r > 0) {
          absl::string_view data(buf, static_cast<size_t>(r));
          if (!c.head_done) {
            c.head.append(data.data(), data.size());
            size_t e = c.head.find("\r\n\r\n");
            if (e == std::string::npos) continue;
            c.head_done = true;
            if (c.head.rfind("HTTP/1.1 503", 0) == 0) ++statuses_503;
            data = absl::string_view(c.head).substr(e + 4);
          }
          c.parser->Feed(data);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) gone = true;
        break;
      }
      if (gone) close_one(fd);
    }
    if (absl::Now() >= next_sample) {
      const int64_t rss = RssKb(pid);
      if (absl::Now() >= warm) {
        if (warm_rss < 0) warm_rss = rss;
        max_rss_after_warm = std::max(max_rss_after_warm, rss);
      }
      std::printf("%8.1f %8zu %10lu %10.1f %8ld %8lu\n",
                  absl::ToDoubleSeconds(absl::Now() - start), conns.size(),
                  static_cast<unsigned long>(events), rss / 1024.0,
                  static_cast<long>(Fds(pid)),
                  static_cast<unsigned long>(opened));
      std::fflush(stdout);
      next_sample = absl::Now() + absl::Seconds(5);
    }
  }
  // Drain: every client goes away; the frontend must give back its fds.
  std::vector<int> all;
  for (auto& [fd, c] : conns) all.push_back(fd);
  for (int fd : all) close_one(fd);
  if (!backend) backend = std::make_unique<ssebridge::testing::TestServer>(backend_port);
  int64_t fds_after = 0;
  for (int i = 0; i < 100; ++i) {  // up to 5 s
    absl::SleepFor(absl::Milliseconds(50));
    fds_after = Fds(pid);
    if (fds_after <= base_fds + 8) break;
  }
  const double growth_mb = (max_rss_after_warm - warm_rss) / 1024.0;
  std::printf(
      "soak: %s, %d streams target, opened %lu, failed connects %lu, 503s "
      "%lu, slow clients cut %lu, events %lu; RSS warm %.1f MiB, max after "
      "warm %.1f MiB (growth %.1f MiB, bound %.1f); fds base %ld, after "
      "drain %ld\n",
      absl::FormatDuration(duration).c_str(), target,
      static_cast<unsigned long>(opened), static_cast<unsigned long>(failed),
      static_cast<unsigned long>(statuses_503),
      static_cast<unsigned long>(slow_cut), static_cast<unsigned long>(events),
      warm_rss / 1024.0, max_rss_after_warm / 1024.0, growth_mb,
      absl::GetFlag(FLAGS_rss_growth_mb), static_cast<long>(base_fds),
      static_cast<long>(fds_after));
  fe.Signal(SIGTERM);
  fe.Wait(absl::Seconds(15));
  std::filesystem::remove(cfg_path);
  bool ok = true;
  if (growth_mb > absl::GetFlag(FLAGS_rss_growth_mb)) {
    std::printf("FAIL: RSS grew %.1f MiB after warm-up\n", growth_mb);
    ok = false;
  }
  if (fds_after > base_fds + 8) {
    std::printf("FAIL: %ld fds after drain vs %ld at start\n",
                static_cast<long>(fds_after), static_cast<long>(base_fds));
    ok = false;
  }
  if (events == 0 || opened < static_cast<uint64_t>(target)) {
    std::printf("FAIL: no traffic\n");
    ok = false;
  }
  std::printf("%s\n", ok ? "soak: PASS" : "soak: FAIL");
  return ok ? 0 : 1;
}
