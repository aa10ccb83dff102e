#include "frontend/http/pistache_handler.h"

#include <pistache/peer.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/tsan/annotations.h"
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

  // Whether the connection ends after the request about to be parsed; set
  // by GuardedHandler before each one.
  void set_close(bool close) { close_ = close; }
  // Requests handed to the callback so far.
  uint64_t served() const { return served_; }

  void onRequest(const Http::Request& request,
                 Http::ResponseWriter response) override {
    ++served_;
    // Pistache 0.0.5 echoes the client's Connection header, or says Close,
    // and never closes either way: the guard decides, GuardedHandler closes,
    // and the answer says which.
    response.headers().remove<Http::Header::Connection>();
    if (close_) {
      response.headers().add<Http::Header::Connection>(
          Http::ConnectionControl::Close);
    } else if (request.version() == Http::Version::Http10) {
      response.headers().add<Http::Header::Connection>(
          Http::ConnectionControl::KeepAlive);
    }
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
  bool close_ = false;
  uint64_t served_ = 0;
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

// What the handler keeps per connection, in Pistache's per-peer data.
//
// It is used on the connection's transport thread only, but Pistache frees
// per-peer data on whichever thread drops the peer last, through reference
// counts ThreadSanitizer cannot see (Debian's Pistache is not instrumented).
// Each use therefore ends with a release on the connection (ConnectionUse)
// that the destructor acquires, so TSan sees every use happen before it.
struct Connection {
  explicit Connection(size_t max_request_bytes) : guard(max_request_bytes) {}
  ~Connection() { SSEBRIDGE_TSAN_ACQUIRE(this); }
  RequestGuard guard;
  // An answer is still being written: the next request waits for it.
  bool answering = false;
  // The request target of the request being served, as the guard passed it.
  std::string target;
};

constexpr const char* kConnectionData = "ssebridge.connection";

std::shared_ptr<Connection> ConnectionOf(const Pistache::Tcp::Peer& peer) {
  return std::static_pointer_cast<Connection>(peer.tryGetData(kConnectionData));
}

// Marks the end of one use of a connection (see Connection).
struct ConnectionUse {
  explicit ConnectionUse(const Connection* c) : conn(c) {}
  ~ConnectionUse() {
    if (conn != nullptr) SSEBRIDGE_TSAN_RELEASE(const_cast<Connection*>(conn));
  }
  const Connection* conn;
};

// The handler Pistache drives. Each connection's bytes pass through a
// RequestGuard (see request_guard.h), which releases whole requests, one at a
// time and in order, to a RequestHandler, or refuses the connection with a
// plain error. A request is handed to Pistache only once the answers to the
// ones before it have been written (pipelining): a stream that takes the
// connection over writes to the socket itself, never between them.
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
  using PeerPtr = std::shared_ptr<Pistache::Tcp::Peer>;

  // Room for the NUL, a rewritten Content-Length line and a Host line taken
  // from an absolute-form target (at most a head): the guard enforces the
  // configured limit itself.
  static constexpr size_t kGuardSlack = RequestGuard::kMaxHeadBytes + 64;

  RequestHandler& Inner() {
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

  // The parser: Pistache's onInput and onConnection are public only on the
  // Tcp::Handler base.
  Pistache::Tcp::Handler& Parser() { return Inner(); }

  void onConnection(const PeerPtr& peer) override {
    Parser().onConnection(peer);  // the parser Pistache's idle checks read
    auto conn = std::make_shared<Connection>(getMaxRequestSize());
    ConnectionUse use(conn.get());
    peer->putData(kConnectionData, conn);
  }

  void onDisconnection(const PeerPtr& peer) override {
    Parser().onDisconnection(peer);
  }

  void onInput(const char* buffer, size_t len, const PeerPtr& peer) override {
    std::shared_ptr<Connection> conn = ConnectionOf(*peer);
    if (conn == nullptr) return;
    ConnectionUse use(conn.get());
    RequestGuard::Result r = conn->guard.Buffer(absl::string_view(buffer, len));
    if (r.kind == RequestGuard::Result::kRefuse) {
      Refuse(peer, r.code, r.message);
      return;
    }
    if (!conn->answering) Pump(peer, *conn);
  }

  // Acts on what the guard has buffered, up to the next request served.
  void Pump(const PeerPtr& peer, Connection& conn) {
    for (RequestGuard::Result r = conn.guard.Next();
         r.kind != RequestGuard::Result::kNeedMore; r = conn.guard.Next()) {
      switch (r.kind) {
        case RequestGuard::Result::kNeedMore:
          break;
        case RequestGuard::Result::kContinue:
          Send(peer, "HTTP/1.1 100 Continue\r\n\r\n");
          break;
        case RequestGuard::Result::kRequest:
          Serve(peer, conn, r);
          if (!conn.guard.stopped() && !r.close) WaitForAnswer(peer, conn);
          return;
        case RequestGuard::Result::kRefuse:
          Refuse(peer, r.code, r.message);
          return;
      }
    }
  }

  // Hands one request to Pistache's parser, which calls the RequestHandler.
  void Serve(const PeerPtr& peer, Connection& conn,
             const RequestGuard::Result& r) {
    RequestHandler& inner = Inner();
    const uint64_t served = inner.served();
    inner.set_close(r.close);
    {
      const size_t sp = r.request.find(' ');
      const size_t end = r.request.find_first_of(" \r\n", sp + 1);
      conn.target = sp == std::string::npos || end == std::string::npos
                        ? std::string()
                        : r.request.substr(sp + 1, end - sp - 1);
    }
    peer->setIdle(false);  // any answer, Pistache's own too, sets it again
    Parser().onInput(r.request.data(), r.request.size(), peer);
    if (conn.guard.stopped()) return;  // a stream has the connection now
    if (inner.served() == served) {
      // Pistache did not take the request the guard passed: it answered
      // with its own error (a header it cannot parse), or it is waiting for
      // bytes that will never come. Either way the two parsers disagree on
      // this connection: nothing more is parsed on it.
      conn.guard.Stop();
      if (peer->isIdle()) {
        HalfCloseAfterWrites(peer);
      } else {
        Http::Handler::getParser(peer)->reset();
        Refuse(peer, 400, "malformed request");
      }
      return;
    }
    if (r.close) HalfCloseAfterWrites(peer);
  }

  // Resumes Pump() once everything queued for the connection so far (the
  // answer just given) has been written. The callback runs on this
  // handler's transport thread, from the connection's write queue, which
  // the transport owning this handler drops (callbacks unrun) with the
  // connection.
  void WaitForAnswer(const PeerPtr& peer, Connection& conn) {
    conn.answering = true;
    std::weak_ptr<Pistache::Tcp::Peer> weak = peer;
    Send(peer, "").then(
        [this, weak](ssize_t) {
          PeerPtr p = weak.lock();
          if (p == nullptr) return;
          std::shared_ptr<Connection> c = ConnectionOf(*p);
          if (c == nullptr) return;
          ConnectionUse use(c.get());
          c->answering = false;
          Pump(p, *c);
        },
        Pistache::Async::IgnoreException);
  }

  static void Refuse(const PeerPtr& peer, int code,
                     const std::string& message) {
    spdlog::debug("refused request from {}: {} {}", peer->address().host(),
                  code, message);
    Send(peer, SimpleResponse(code, message + "\n", {}));
    HalfCloseAfterWrites(peer);
  }

  // Writes `bytes` through Pistache's write queue, after anything still
  // queued for this connection.
  static Pistache::Async::Promise<ssize_t> Send(const PeerPtr& peer,
                                                std::string bytes) {
    const size_t size = bytes.size();
    return peer->send(Pistache::RawBuffer(std::move(bytes), size));
  }

  // Half-closes once everything queued so far is written: Pistache closes
  // the socket when the client does, so the last answer is never cut by a
  // reset.
  static void HalfCloseAfterWrites(const PeerPtr& peer) {
    std::weak_ptr<Pistache::Tcp::Peer> weak = peer;
    Send(peer, "").then(
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

std::string CurrentRequestTarget(const Pistache::Tcp::Peer& peer) {
  if (std::shared_ptr<Connection> conn = ConnectionOf(peer)) {
    ConnectionUse use(conn.get());
    return conn->target;
  }
  return "";
}

void StopRequestGuard(const Pistache::Tcp::Peer& peer) {
  if (std::shared_ptr<Connection> conn = ConnectionOf(peer)) {
    ConnectionUse use(conn.get());
    conn->guard.Stop();
  }
}

}  // namespace ssebridge::frontend
