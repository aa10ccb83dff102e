#include "frontend/ops/fd_budget.h"

#include <dirent.h>
#include <sys/resource.h>

#include <limits>

namespace ssebridge::frontend {

uint64_t RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(rl.rlim_cur);
}

uint64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // not counting the directory's own descriptor
}

bool InFdReserve(int fd, uint64_t fd_limit) {
  if (fd_limit == 0 || fd < 0) return false;
  if (fd_limit <= kFdReserve) return true;
  return static_cast<uint64_t>(fd) >= fd_limit - kFdReserve;
}

uint64_t StreamsForFdLimit(uint64_t fd_limit, uint64_t fds_in_use) {
  if (fd_limit == 0) return std::numeric_limits<uint64_t>::max();
  const uint64_t needed = fds_in_use + kFdReserve;
  if (fd_limit <= needed) return 0;
  return fd_limit - needed;
}

}  // namespace ssebridge::frontend
