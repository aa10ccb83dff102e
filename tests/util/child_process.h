// Starts a program as a child process for tests (the frontend binary, a
// service), reads its stdout line by line with a timeout, signals it and
// waits for it with a timeout. The destructor kills what is still running,
// so a failing test leaves nothing behind. Not thread-safe.
#ifndef SSEBRIDGE_TESTS_UTIL_CHILD_PROCESS_H_
#define SSEBRIDGE_TESTS_UTIL_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ssebridge::testing {

class ChildProcess {
 public:
  // Starts argv[0] with the given arguments; stdout is captured, stderr is
  // inherited (so its logs show in test output).
  // `max_fds` > 0 sets the child's RLIMIT_NOFILE (fault-injection tests).
  explicit ChildProcess(const std::vector<std::string>& argv, int max_fds = 0);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The next stdout line, or nullopt on EOF/timeout.
  std::optional<std::string> ReadLine(absl::Duration timeout);
  // Reads lines until one contains `needle`; returns that line.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         absl::Duration timeout);
  void Signal(int sig);
  // Waits for exit; the exit status (as from waitpid) or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buf_;
  bool exited_ = false;
};

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_CHILD_PROCESS_H_
