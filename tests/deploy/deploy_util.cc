#include "tests/deploy/deploy_util.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace ssebridge::testing::deploy {

std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = getenv("PATH"); path != nullptr) {
    dirs = absl::StrSplit(path, ':', absl::SkipEmpty());
  }
  for (const char* extra : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    dirs.push_back(extra);
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout,
                         const std::vector<std::string>& env) {
  CommandResult result;
  int fds[2];
  if (argv.empty() || pipe2(fds, O_CLOEXEC) != 0) return result;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // so a timeout kills what the command started, too
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    for (std::string& e : env_copy) putenv(e.data());
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return result;
  }
  const absl::Time deadline = absl::Now() + timeout;
  bool open_pipe = true;
  while (open_pipe) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(ms)) <= 0) continue;
    char buf[8192];
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      open_pipe = false;
    } else {
      result.output.append(buf, static_cast<size_t>(n));
    }
  }
  close(fds[0]);
  if (result.timed_out) kill(-pid, SIGKILL);
  int status = 0;
  const absl::Time wait_deadline =
      absl::Now() + (result.timed_out ? absl::Seconds(5) : timeout);
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return result;
    if (absl::Now() > wait_deadline) {
      kill(-pid, SIGKILL);
      result.timed_out = true;
      waitpid(pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (!result.timed_out && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out);
}

void StopChild(ChildProcess& child, int sig, absl::Duration grace) {
  if (!child.started()) return;
  child.Signal(sig);
  if (!child.Wait(grace).has_value()) {
    child.Signal(SIGKILL);
    child.Wait(absl::Seconds(5));
  }
}

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                   "/ssebridge-deploy.XXXXXX");
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

// ------------------------------------------------------------ RedisServer

RedisServer::RedisServer(std::string dir, RedisServerOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

RedisServer::~RedisServer() { Stop(); }

std::string RedisServer::Binary() { return FindProgram("redis-server"); }

std::string RedisServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

absl::Status RedisServer::Start(int port,
                                const std::vector<std::string>& extra_args) {
  if (process_ != nullptr) return absl::FailedPreconditionError("running");
  const std::string binary = Binary();
  if (binary.empty()) {
    return absl::NotFoundError(
        "redis-server not installed (`make deps` installs redis-server)");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int p = port != 0 ? port : FreeLoopbackPort();
    port_ = p;
    const std::string log = absl::StrCat(dir_, "/redis-", p, ".log");
    std::vector<std::string> argv = {binary,
                                     "--port",
                                     absl::StrCat(p),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     options_.appendonly ? "yes" : "no",
                                     "--dir",
                                     dir_,
                                     "--logfile",
                                     log,
                                     "--daemonize",
                                     "no",
                                     "--protected-mode",
                                     "yes"};
    if (options_.appendonly) {
      argv.insert(argv.end(), {"--appendfsync", "always"});
    }
    if (!options_.password.empty()) {
      argv.insert(argv.end(), {"--requirepass", options_.password});
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ChildProcess>(argv);
    if (!process_->started()) {
      process_.reset();
      return absl::InternalError("cannot start redis-server");
    }
    bool exited = false;
    const bool up = WaitFor(
        [&] {
          if (process_->Wait(absl::ZeroDuration()).has_value()) {
            exited = true;
            return true;
          }
          absl::StatusOr<std::string> pong =
              Command({"PING"}, absl::Milliseconds(500));
          // LOADING: up, reading its dataset (what a client must wait out).
          return (pong.ok() && *pong == "PONG") ||
                 absl::StartsWith(pong.status().message(), "LOADING");
        },
        absl::Seconds(10));
    if (up && !exited) return absl::OkStatus();
    last_error = absl::StrCat("redis-server on port ", p,
                              exited ? " exited at start" : " not answering",
                              "; log: ", ReadFile(log).value_or("(none)"));
    StopChild(*process_, SIGKILL);
    process_.reset();
    if (port != 0) break;  // a fixed port: no other to try
  }
  return absl::UnavailableError(last_error);
}

void RedisServer::Stop() {
  if (process_ == nullptr) return;
  process_->Signal(SIGCONT);
  StopChild(*process_, SIGTERM, absl::Seconds(5));
  process_.reset();
}

void RedisServer::Pause() {
  if (process_ != nullptr) process_->Signal(SIGSTOP);
}

void RedisServer::Resume() {
  if (process_ != nullptr) process_->Signal(SIGCONT);
}

absl::StatusOr<std::string> RedisServer::Command(
    const std::vector<std::string>& args, absl::Duration timeout) const {
  const int64_t us = absl::ToInt64Microseconds(timeout);
  const timeval tv{static_cast<time_t>(us / 1000000),
                   static_cast<suseconds_t>(us % 1000000)};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr) return absl::InternalError("no memory");
  if (c->err != 0) {
    std::string error = c->errstr;
    redisFree(c);
    return absl::UnavailableError(error);
  }
  redisSetTimeout(c, tv);
  if (!options_.password.empty()) {
    auto* auth = static_cast<redisReply*>(
        redisCommand(c, "AUTH %s", options_.password.c_str()));
    const bool ok = auth != nullptr && auth->type != REDIS_REPLY_ERROR;
    if (auth != nullptr) freeReplyObject(auth);
    if (!ok) {
      redisFree(c);
      return absl::PermissionDeniedError("AUTH failed");
    }
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(redisCommandArgv(
      c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    std::string error = c->errstr;
    redisFree(c);
    return absl::UnavailableError(error);
  }
  absl::StatusOr<std::string> out;
  auto text = [](const redisReply* r) -> std::string {
    if (r->type == REDIS_REPLY_INTEGER) return absl::StrCat(r->integer);
    if (r->type == REDIS_REPLY_NIL) return "";
    return std::string(r->str, r->len);
  };
  if (reply->type == REDIS_REPLY_ERROR) {
    out = absl::InternalError(text(reply));
  } else if (reply->type == REDIS_REPLY_ARRAY) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < reply->elements; ++i) {
      parts.push_back(text(reply->element[i]));
    }
    out = absl::StrJoin(parts, "\n");
  } else {
    out = text(reply);
  }
  freeReplyObject(reply);
  redisFree(c);
  return out;
}

int RedisServer::NumSub(const std::string& channel) const {
  absl::StatusOr<std::string> r = Command({"PUBSUB", "NUMSUB", channel});
  if (!r.ok()) return -1;
  const std::vector<std::string> parts = absl::StrSplit(*r, '\n');
  int n = -1;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &n)) return -1;
  return n;
}

// --------------------------------------------------------- docker/ files

std::string SourcePath(const std::string& relative) {
  return absl::StrCat(SSEBRIDGE_SOURCE_DIR, "/", relative);
}

std::vector<std::string> DockerInstructions(const std::string& dockerfile) {
  std::vector<std::string> out;
  const std::optional<std::string> text = ReadFile(dockerfile);
  if (!text) return out;
  std::string current;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(stripped, "#")) continue;  // also inside a RUN
    if (stripped.empty()) {
      if (!current.empty()) {
        out.push_back(current);
        current.clear();
      }
      continue;
    }
    const bool continued = absl::ConsumeSuffix(&stripped, "\\");
    if (!current.empty()) current.push_back(' ');
    const absl::string_view part = absl::StripAsciiWhitespace(stripped);
    current.append(part.data(), part.size());
    if (!continued) {
      out.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(current);
  for (std::string& instruction : out) {
    // Collapse runs of blanks left by indentation.
    std::string collapsed;
    for (char ch : instruction) {
      if (ch == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
      collapsed.push_back(ch);
    }
    instruction = collapsed;
  }
  return out;
}

std::string DockerHealthcheck(const std::string& dockerfile) {
  for (const std::string& i : DockerInstructions(dockerfile)) {
    if (!absl::StartsWith(i, "HEALTHCHECK ")) continue;
    const size_t cmd = i.find(" CMD ");
    if (cmd == std::string::npos) return "";
    return i.substr(cmd + 5);
  }
  return "";
}

std::optional<std::vector<std::string>> JsonArrayWords(
    const std::string& text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  if (!absl::ConsumePrefix(&s, "[") || !absl::ConsumeSuffix(&s, "]")) {
    return std::nullopt;
  }
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '"') {
      ++i;
      continue;
    }
    std::string word;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      word.push_back(s[i++]);
    }
    ++i;
    words.push_back(word);
  }
  return words;
}

}  // namespace ssebridge::testing::deploy
