#include "frontend/http/pistache_handler.h"

#include <pistache/peer.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "frontend/http/request_guard.h"
#include "frontend/relay/responses.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

namespace Http = ::Pistache::Http;

// Serves the requests Pistache parsed: the one way requests enter the server.
class RequestHandler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(RequestHandler)
  explicit RequestHandler(RequestCallback serve) : serve_(std::move(serve)) {}

  void onRequest(const Http::Request& request,
                 Http::ResponseWriter response) override {
    // Nothing may escape into Pistache: it would answer with its own 500
    // carrying the exception text.
    try {
      serve_(request, response);
    } catch (const std::exception& e) {
      spdlog::error("request {} failed: {}", request.resource(), e.what());
      try {
        response.send(Http::Code::Internal_Server_Error, "internal error\n");
      } catch (...) {
      }
    }
  }

 private:
  RequestCallback serve_;
};

// Pistache 0.0.5 keeps a handler's transport pointer private to its
// Transport, and Http::Handler::onInput private too, so the handler Pistache
// drives (below) cannot call the parser itself; it hands whole requests to a
// RequestHandler that must write through the same transport. An explicit
// instantiation may name a private member ([temp.spec.general]/6): this one
// yields a pointer to that one field, used once, in GuardedHandler::Inner().
using TransportField = Pistache::Tcp::Transport* Pistache::Tcp::Handler::*;
TransportField TransportFieldOfHandler();
template <TransportField kField>
struct TransportFieldAccess {
  friend TransportField TransportFieldOfHandler() { return kField; }
};
template struct TransportFieldAccess<&Pistache::Tcp::Handler::transport_>;

// Where a connection's RequestGuard lives in Pistache's per-peer data.
constexpr const char* kGuardData = "ssebridge.request_guard";

std::shared_ptr<RequestGuard> GuardOf(const Pistache::Tcp::Peer& peer) {
  return std::static_pointer_cast<RequestGuard>(peer.tryGetData(kGuardData));
}

// The handler Pistache drives. Each connection's bytes pass through a
// RequestGuard (see request_guard.h: Pistache's parser reads past its buffer
// on some inputs), which releases whole requests to a RequestHandler or
// refuses the connection with a plain error.
class GuardedHandler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardedHandler)
  explicit GuardedHandler(RequestCallback serve) : serve_(std::move(serve)) {}
  // Pistache clones the handler for each transport thread; every clone
  // makes its own RequestHandler, bound to that thread's transport.
  GuardedHandler(const GuardedHandler& other)
      : Http::Handler(other), serve_(other.serve_) {}

  void onRequest(const Http::Request& /*request*/,
                 Http::ResponseWriter response) override {
    // Not reached: requests are parsed and served by inner_.
    response.send(Http::Code::Internal_Server_Error, "internal error\n");
  }

 private:
  // Room for the NUL and a rewritten Content-Length line: the guard enforces
  // the configured limit itself.
  static constexpr size_t kGuardSlack = 64;

  Pistache::Tcp::Handler& Inner() {
    if (!inner_) {
      inner_ = std::make_shared<RequestHandler>(serve_);
      inner_->setMaxRequestSize(getMaxRequestSize() + kGuardSlack);
      inner_->setMaxResponseSize(getMaxResponseSize());
      inner_->setHeaderTimeout(getHeaderTimeout());
      inner_->setBodyTimeout(getBodyTimeout());
      Pistache::Tcp::Handler& base = *inner_;
      base.*TransportFieldOfHandler() = transport();
    }
    return *inner_;
  }

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    Inner().onConnection(peer);  // the parser Pistache's idle checks read
    peer->putData(kGuardData,
                  std::make_shared<RequestGuard>(getMaxRequestSize()));
  }

  void onDisconnection(
      const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    Inner().onDisconnection(peer);
  }

  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    std::shared_ptr<RequestGuard> guard = GuardOf(*peer);
    if (guard == nullptr) return;
    RequestGuard::Result r = guard->Feed(absl::string_view(buffer, len));
    switch (r.kind) {
      case RequestGuard::Result::kNeedMore:
        return;
      case RequestGuard::Result::kRequest:
        Inner().onInput(r.request.data(), r.request.size(), peer);
        return;
      case RequestGuard::Result::kRefuse:
        Refuse(peer, r.code, r.message);
        return;
    }
  }

  // Answers through Pistache's write queue (after anything still queued for
  // this connection), then half-closes; Pistache closes the socket when the
  // client does, so the answer is never cut by a reset.
  static void Refuse(const std::shared_ptr<Pistache::Tcp::Peer>& peer, int code,
                     const std::string& message) {
    spdlog::debug("refused request from {}: {} {}", peer->address().host(),
                  code, message);
    std::string response = SimpleResponse(code, message + "\n", {});
    const size_t size = response.size();
    std::weak_ptr<Pistache::Tcp::Peer> weak = peer;
    peer->send(Pistache::RawBuffer(std::move(response), size))
        .then(
            [weak](ssize_t) {
              if (auto p = weak.lock()) ::shutdown(p->fd(), SHUT_WR);
            },
            Pistache::Async::IgnoreException);
  }

  RequestCallback serve_;
  std::shared_ptr<RequestHandler> inner_;
};

}  // namespace

std::shared_ptr<Pistache::Http::Handler> MakeGuardedHandler(
    RequestCallback serve) {
  return Http::make_handler<GuardedHandler>(std::move(serve));
}

void StopRequestGuard(const Pistache::Tcp::Peer& peer) {
  if (std::shared_ptr<RequestGuard> guard = GuardOf(peer)) guard->Stop();
}

}  // namespace ssebridge::frontend
