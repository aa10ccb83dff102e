// Connecting to Redis with hiredis, shared by the services that use it
// (chat_bot's room bus, notifications' stream store): parsing "host:port",
// reading a password file, and opening a connection that is authenticated
// (AUTH password, or AUTH user password for an ACL user) before it is used.
//
// Thread-safety: the functions are thread-safe; a returned redisContext
// belongs to the caller and must be used by one thread at a time.
#ifndef SSEBRIDGE_COMMON_REDIS_REDIS_CONNECT_H_
#define SSEBRIDGE_COMMON_REDIS_REDIS_CONNECT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct redisContext;
struct redisReply;

namespace ssebridge::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH: with an empty user, `AUTH password` (requirepass or the default
  // user); else `AUTH user password` (an ACL user). No AUTH if both empty.
  std::string user;
  std::string password;

  std::string ToString() const;  // "host:port", for messages
};

// "host:port", "host" (port 6379) or "[v6]:port" into `base` (keeping its
// credentials); INVALID_ARGUMENT for anything else.
absl::StatusOr<RedisEndpoint> ParseRedisEndpoint(absl::string_view address,
                                                 RedisEndpoint base = {});

// Reads the credentials from a password file into `endpoint`: the first line,
// trailing blanks removed, is "password" or "user password". An unreadable or
// empty file is an error (naming the path, never the content).
absl::Status ReadRedisPasswordFile(const std::string& path,
                                   RedisEndpoint& endpoint);

// A connected, authenticated context with `io_timeout` on each read and
// write and TCP keepalive on; UNAVAILABLE when Redis cannot be reached or is
// still loading its dataset (it would answer LOADING to every data command),
// PERMISSION_DENIED when AUTH is refused (or required but not configured).
absl::StatusOr<redisContext*> ConnectRedis(const RedisEndpoint& endpoint,
                                           absl::Duration connect_timeout,
                                           absl::Duration io_timeout);

// Whether a connection with no command outstanding is still open: Redis
// sends nothing unasked on a plain connection, so anything readable (EOF,
// an error) means it is gone (Redis restarted, its idle `timeout`, a proxy's
// cutoff, CLIENT KILL). Does not block.
bool IdleConnectionAlive(redisContext* ctx);

// A reply's string / status / error text, "" for other types or null.
absl::string_view ReplyText(const redisReply* reply);

// hiredis writes with write(2): a peer that went away would raise SIGPIPE
// and kill the process. Ignores SIGPIPE once, unless the program installed a
// handler.
void IgnoreSigpipeOnce();

}  // namespace ssebridge::redis

#endif  // SSEBRIDGE_COMMON_REDIS_REDIS_CONNECT_H_
