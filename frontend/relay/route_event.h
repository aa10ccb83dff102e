// The one place that decides whether a service's event is relayed on a
// route: encoded as SSE, or dropped (and counted and logged) when the
// encoder rejects it (CR/LF in its name or id: SSE injection) or when it is
// over the route's max_event_bytes. Used by a stream's own call and by a
// shared call alike; and the data of the `error` event that ends a stream
// whose call failed. Thread-safe (stats are atomics).
#ifndef SSEBRIDGE_FRONTEND_RELAY_ROUTE_EVENT_H_
#define SSEBRIDGE_FRONTEND_RELAY_ROUTE_EVENT_H_

#include <string>

#include "absl/status/status.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/session_settings.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

// Encodes `event` onto `out` as SSE. An event the encoder rejects or one
// over the route's max_event_bytes is dropped, counted and logged, and `out`
// is left as it was; returns whether it was appended.
bool AppendRouteEvent(const ssebridge::action::v1::Event& event,
                      const SessionSettings& settings, FrontendStats* stats,
                      std::string& out);

// Calls f(event) for each event one message from a service carries: the
// message itself, or, when it is a batch (Event.batch, sent only when the
// request set accepts_batch), each event of the batch in order. A batch
// inside a batch is not looked into.
template <typename F>
void ForEachRouteEvent(const ssebridge::action::v1::Event& message, F&& f) {
  if (message.batch_size() == 0) {
    f(message);
    return;
  }
  for (const ssebridge::action::v1::Event& event : message.batch()) f(event);
}

// The data of the `error` event a stream (or a mux sub-stream) gets when
// its call fails: {"code":"UNAVAILABLE"}, with "message" only when the
// route exposes errors.
std::string UpstreamErrorData(const absl::Status& status, bool expose_errors);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_ROUTE_EVENT_H_
