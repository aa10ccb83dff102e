// Helpers for the deployment tests (tests/deploy), on top of
// tests/util/test_util.h (WaitFor, FreeLoopbackPort): finding programs, running
// a command with a timeout, temp dirs, a real redis-server child process, and
// reading the docker/ files. Every wait is bounded; every process started is
// stopped by its owner's destructor. Not thread-safe: use from the test's main
// thread.
#ifndef SSEBRIDGE_TESTS_DEPLOY_DEPLOY_UTIL_H_
#define SSEBRIDGE_TESTS_DEPLOY_DEPLOY_UTIL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/util/child_process.h"
#include "tests/util/test_util.h"

namespace ssebridge::testing::deploy {

// The absolute path of `name` found on $PATH or in /usr/sbin, /sbin,
// /usr/bin; "" if there is none.
std::string FindProgram(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally (killed, timed out)
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
};
// Runs argv[0] (a path) with `env` ("NAME=value") added to the environment;
// kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout,
                         const std::vector<std::string>& env = {});

std::optional<std::string> ReadFile(const std::string& path);
bool WriteFile(const std::string& path, const std::string& content);

// Signals `child`, waits up to `grace`, then kills it. Safe to repeat.
void StopChild(ChildProcess& child, int sig = 15,
               absl::Duration grace = absl::Seconds(5));

// A directory under $TMPDIR (or /tmp) removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A real redis-server on 127.0.0.1, logging to a file in `dir`, no
// persistence unless `appendonly` (then the AOF lives in `dir`, fsync every
// write, and a restart in the same dir has everything acknowledged). With a
// `password` it runs with requirepass and Command authenticates. Stop/Start
// again keeps the port (a restart).
struct RedisServerOptions {
  std::string password;
  bool appendonly = false;
};
class RedisServer {
 public:
  explicit RedisServer(std::string dir, RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Path of redis-server, "" if not installed (`make deps` installs it).
  static std::string Binary();

  // Starts on `port` (0: a free one; retried on a lost race) and waits until
  // it answers PING (10 s at most), or LOADING while it reads its dataset.
  // `extra_args` go after the usual ones (e.g. {"--key-load-delay", "N"}).
  absl::Status Start(int port = 0,
                     const std::vector<std::string>& extra_args = {});
  // SIGTERM, up to 5 s, then SIGKILL. Idempotent.
  void Stop();
  // Freezes / thaws the process (SIGSTOP / SIGCONT): a hung Redis.
  void Pause();
  void Resume();
  bool running() const { return process_ != nullptr; }
  int port() const { return port_; }
  std::string address() const;

  // One command on a fresh connection: a string or status reply as text,
  // an integer as decimal, an array's elements joined by '\n'.
  absl::StatusOr<std::string> Command(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(2)) const;
  // Connections (processes) subscribed to `channel` (PUBSUB NUMSUB); -1 on
  // error.
  int NumSub(const std::string& channel) const;

 private:
  std::string dir_;
  RedisServerOptions options_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// The source tree's docker/ directory and other fixed locations, from the
// build's compile definitions.
std::string SourcePath(const std::string& relative);

// The text of a Dockerfile's instruction lines, with `\` continuations
// joined: {"FROM debian:bookworm AS build", "RUN apt-get ...", ...}.
std::vector<std::string> DockerInstructions(const std::string& dockerfile);
// The command of its HEALTHCHECK instruction (after CMD), "" if none.
std::string DockerHealthcheck(const std::string& dockerfile);
// Words of a JSON-array form ["a", "b"], or nullopt if `text` is not one.
std::optional<std::vector<std::string>> JsonArrayWords(const std::string& text);

}  // namespace ssebridge::testing::deploy

#endif  // SSEBRIDGE_TESTS_DEPLOY_DEPLOY_UTIL_H_
