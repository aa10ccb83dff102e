// The handler Pistache drives. Each connection's bytes first pass through a
// RequestGuard (request_guard.h: Pistache 0.0.5's parser reads past its
// buffer on some inputs and is lenient where RFC 9112 is not), which releases
// only whole, checked requests to Pistache's parser, one at a time and in
// order, or refuses the connection with a plain error; parsed requests go to
// one callback, and nothing it throws escapes into Pistache. The handler
// also does what Pistache 0.0.5 does not: it sends 100 (Continue), and it
// closes the connection after a request that asks for it (Connection: close,
// HTTP/1.0 without keep-alive), saying so in the answer's Connection header.
//
// Thread-safety: Pistache clones the handler for each of its transport
// threads; each clone is used by its thread only. The callback must be
// thread-safe.
#ifndef SSEBRIDGE_FRONTEND_HTTP_PISTACHE_HANDLER_H_
#define SSEBRIDGE_FRONTEND_HTTP_PISTACHE_HANDLER_H_

#include <pistache/http.h>
#include <pistache/peer.h>

#include <functional>
#include <memory>

namespace ssebridge::frontend {

using RequestCallback = std::function<void(const Pistache::Http::Request&,
                                           Pistache::Http::ResponseWriter&)>;

std::shared_ptr<Pistache::Http::Handler> MakeGuardedHandler(
    RequestCallback serve);

// The raw request target ("/path?query", undecoded, in origin form) of the
// request being served on `peer`: Pistache 0.0.5 keeps only a decoded map of
// the query, which loses repeated keys and their order. Call from the
// request callback only.
std::string CurrentRequestTarget(const Pistache::Tcp::Peer& peer);

// The connection now carries a stream: nothing the client sends on it from
// here on is parsed or answered (it would land in the stream).
void StopRequestGuard(const Pistache::Tcp::Peer& peer);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_PISTACHE_HANDLER_H_
