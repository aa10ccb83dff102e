// Turns a parsed HTTP request for a stream route into the ActionRequest the
// service gets: query and form/JSON body parameters, Last-Event-ID (header,
// or ?lastEventId= since htmx's SSE extension drops the header after an
// error), the route's allow-listed headers (also as gRPC metadata where
// their values are printable ASCII). What cannot be a valid request (bad
// escapes, bodies, non-UTF-8 values) is refused with a status and a short
// reason. For a `grpc` route a JSON body is kept as it is (the route's
// MethodCodec reads it). Thread-safe: a pure function of its arguments.
#ifndef SSEBRIDGE_FRONTEND_HTTP_STREAM_REQUEST_H_
#define SSEBRIDGE_FRONTEND_HTTP_STREAM_REQUEST_H_

#include <pistache/http.h>

#include <string>
#include <utility>
#include <vector>

#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

struct StreamRequest {
  // path, method, params, last_event_id and headers; the caller adds the
  // action and the client address.
  ssebridge::action::v1::ActionRequest request;
  std::vector<std::pair<std::string, std::string>> metadata;
  // With `keep_json_body`: the application/json body, unparsed (its
  // members are then not in request.params).
  std::string json_body;
  // Non-zero: answer with this status and body instead; nothing starts.
  int refuse_code = 0;
  std::string refuse_body;
};

// `forward_headers`: the route's allow-list, lower case.
StreamRequest ParseStreamRequest(
    const Pistache::Http::Request& request,
    const std::vector<std::string>& forward_headers,
    bool keep_json_body = false);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_STREAM_REQUEST_H_
