#include "common/redis/redis_connect.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::redis {
namespace {

timeval TimevalOf(absl::Duration d) {
  const int64_t us = std::max<int64_t>(1, absl::ToInt64Microseconds(d));
  return timeval{static_cast<time_t>(us / 1000000),
                 static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

std::string RedisEndpoint::ToString() const {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                      : absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisEndpoint(absl::string_view address,
                                                 RedisEndpoint base) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " redis address \"", address, "\""));
  };
  absl::string_view host = address;
  absl::string_view port_text;
  if (absl::StartsWith(address, "[")) {  // [::1]:6379
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return bad("bad");
    host = address.substr(1, close - 1);
    absl::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("bad");
      port_text = rest.substr(1);
    }
  } else if (const size_t colon = address.rfind(':');
             colon != absl::string_view::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 6379;
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535)) {
    return bad("bad port in");
  }
  if (host.empty()) return bad("no host in");
  base.host = std::string(host);
  base.port = port;
  return base;
}

absl::Status ReadRedisPasswordFile(const std::string& path,
                                   RedisEndpoint& endpoint) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read redis password file ", path));
  }
  const absl::string_view text = absl::StripAsciiWhitespace(line);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis password file ", path, " is empty"));
  }
  const std::vector<absl::string_view> words =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.size() == 1) {
    endpoint.user.clear();
    endpoint.password = std::string(words[0]);
  } else if (words.size() == 2) {
    endpoint.user = std::string(words[0]);
    endpoint.password = std::string(words[1]);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "redis password file ", path,
        ": expected \"password\" or \"user password\" on its first line"));
  }
  return absl::OkStatus();
}

namespace {

// A Redis that (re)starts reads its dataset first: it accepts connections and
// AUTH but answers LOADING to data commands until done. Such a connection is
// not usable yet; calling it connected would make callers flap (found by CI).
// INFO answers while loading, in every version; a user whose ACL forbids INFO
// cannot tell, and is let through.
absl::Status CheckNotLoading(redisContext* c, const RedisEndpoint& e) {
  auto* reply =
      static_cast<redisReply*>(redisCommand(c, "INFO persistence"));
  if (reply == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("redis ", e.ToString(), ": ", c->errstr));
  }
  const absl::string_view text = ReplyText(reply);
  const bool loading = reply->type != REDIS_REPLY_ERROR &&
                       (absl::StrContains(text, "\nloading:1") ||
                        absl::StartsWith(text, "loading:1"));
  const bool loading_error =
      reply->type == REDIS_REPLY_ERROR && absl::StartsWith(text, "LOADING");
  freeReplyObject(reply);
  if (loading || loading_error) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", e.ToString(), " is still loading its dataset"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<redisContext*> ConnectRedis(const RedisEndpoint& e,
                                           absl::Duration connect_timeout,
                                           absl::Duration io_timeout) {
  IgnoreSigpipeOnce();
  redisContext* c = redisConnectWithTimeout(e.host.c_str(), e.port,
                                            TimevalOf(connect_timeout));
  if (c == nullptr) return absl::ResourceExhaustedError("redis: no memory");
  if (c->err != 0) {
    std::string error = c->errstr;
    redisFree(c);
    return absl::UnavailableError(
        absl::StrCat("redis ", e.ToString(), ": ", error));
  }
  redisSetTimeout(c, TimevalOf(io_timeout));
  redisEnableKeepAlive(c);
  // AUTH, or a PING that tells whether the server wants one.
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  auto arg = [&](const std::string& s) {
    argv.push_back(s.data());
    lengths.push_back(s.size());
  };
  static const std::string kAuth = "AUTH", kPing = "PING";
  if (!e.password.empty()) {
    arg(kAuth);
    if (!e.user.empty()) arg(e.user);
    arg(e.password);
  } else {
    arg(kPing);
  }
  auto* reply = static_cast<redisReply*>(redisCommandArgv(
      c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    std::string error = c->errstr;
    redisFree(c);
    return absl::UnavailableError(
        absl::StrCat("redis ", e.ToString(), ": ", error));
  }
  absl::Status status;
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string text(ReplyText(reply));
    // WRONGPASS, NOAUTH, ERR AUTH <password> called without any password...
    const bool auth = absl::StartsWith(text, "WRONGPASS") ||
                      absl::StartsWith(text, "NOAUTH") ||
                      absl::StrContains(text, "AUTH") ||
                      absl::StrContains(text, "password");
    status = auth ? absl::PermissionDeniedError(absl::StrCat(
                        "redis ", e.ToString(), " refused authentication (",
                        e.password.empty() ? "no password configured"
                                           : "check the password file",
                        "): ", text))
                  : absl::UnavailableError(
                        absl::StrCat("redis ", e.ToString(), ": ", text));
  }
  freeReplyObject(reply);
  if (status.ok()) status = CheckNotLoading(c, e);
  if (!status.ok()) {
    redisFree(c);
    return status;
  }
  return c;
}

bool IdleConnectionAlive(redisContext* ctx) {
  pollfd p{ctx->fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

absl::string_view ReplyText(const redisReply* r) {
  if (r == nullptr ||
      (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
       r->type != REDIS_REPLY_ERROR)) {
    return {};
  }
  return absl::string_view(r->str, r->len);
}

void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 &&
        current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

}  // namespace ssebridge::redis
