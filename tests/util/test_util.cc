#include "tests/util/test_util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace ssebridge::testing {

bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

bool WaitUntilSteady(const std::function<int64_t()>& count, int64_t above,
                     absl::Duration period, absl::Duration timeout,
                     int64_t* last) {
  int64_t previous = -1;
  const bool steady = WaitFor(
      [&] {
        const int64_t now = count();
        const bool same = now > above && now == previous;
        previous = now;
        absl::SleepFor(period);
        return same;
      },
      timeout);
  if (last != nullptr) *last = previous;
  return steady;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

int PortFromListeningLine(absl::string_view line) {
  const size_t colon = line.rfind(':');
  if (colon == absl::string_view::npos) return 0;
  absl::string_view rest = line.substr(colon + 1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  int port = 0;
  return absl::SimpleAtoi(rest, &port) ? port : 0;
}

int64_t VmRssKb(int pid) {
  std::ifstream status(pid > 0 ? absl::StrCat("/proc/", pid, "/status")
                               : std::string("/proc/self/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kb = -1;
    if (f.size() >= 2 && absl::SimpleAtoi(f[1], &kb)) return kb;
    return -1;
  }
  return -1;
}

}  // namespace ssebridge::testing
