// The query of a multiplexing route (Route.mux): which sub-streams a client
// asks for, each an alias, a route from the allow-list and its own
// parameters. The encoding (README "Multiplexing"):
//
//   /api/live?s=inbox:/api/notifications&s=lobby:/api/chat_stream
//            &lobby.room=lobby&s=dash:/api/dashboard
//
//   s=ALIAS:/route     one sub-stream; ALIAS is 1-32 of [A-Za-z0-9_-] (it
//                      prefixes the sub-stream's event names, "lobby.update"),
//                      /route a path from the mux route's allow-list.
//   ALIAS.NAME=VALUE   parameter NAME=VALUE of that sub-stream only.
//   lastEventId=...    the connection's resume cursor (mux_cursor.h), as on
//                      any route (htmx's SSE extension drops the header).
// Keys and values are percent-decoded ('+' is a space), so an attribute such
// as sse-connect="/api/live?s=lobby:/api/chat_stream&lobby.room=lobby" needs
// no escaping. Everything else is refused with a message naming the problem:
// no sub-stream, a route outside the allow-list, a malformed or repeated
// alias, more than max_streams sub-streams, a parameter naming no declared
// alias, a repeated key, an unknown top-level key, a bad escape or non-UTF-8.
//
// Pistache 0.0.5 keeps a query as an unordered map (a repeated key is lost),
// so this parses the raw query string itself. Thread-safe: pure functions.
#ifndef SSEBRIDGE_FRONTEND_HTTP_MUX_QUERY_H_
#define SSEBRIDGE_FRONTEND_HTTP_MUX_QUERY_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

struct MuxPolicy {
  // The allow-list: route paths a sub-stream may name.
  std::vector<std::string> routes;
  size_t max_streams = 8;
  // Top-level keys taken besides "s" and "lastEventId" (the sub-routes'
  // token_query_param names).
  std::vector<std::string> top_level_keys;
  // The connection's own event names (the route's terminal event, "error",
  // the auth-expired event): an alias equal to one would send its
  // sub-stream's plain events under that name, indistinguishable from the
  // connection's end, so it is refused.
  std::vector<std::string> reserved_aliases;
};

struct MuxSubStream {
  std::string alias;
  std::string route;  // one of MuxPolicy::routes
  // Its parameters (names without the "ALIAS." prefix), in query order.
  std::vector<std::pair<std::string, std::string>> params;
};

struct MuxQuery {
  // In the order of their s= keys.
  std::vector<MuxSubStream> streams;
  // lastEventId and the allowed top-level keys present, decoded.
  std::vector<std::pair<std::string, std::string>> top_level;
};

// Whether `alias` is 1-32 of [A-Za-z0-9_-].
bool IsValidMuxAlias(absl::string_view alias);

// Parses `raw_query` (the request target after '?', undecoded; "" when
// there is none). InvalidArgumentError names the problem (one line, meant
// for the 400 body).
absl::StatusOr<MuxQuery> ParseMuxQuery(absl::string_view raw_query,
                                       const MuxPolicy& policy);

// The query part of a raw request target ("/a?b=c#d" -> "b=c"; "" if none).
absl::string_view RawQueryOf(absl::string_view target);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_MUX_QUERY_H_
