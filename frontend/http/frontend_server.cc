#include "frontend/http/frontend_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pistache/peer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/grpc_status.h"
#include "frontend/ops/fd_budget.h"
#include "frontend/http/http_util.h"
#include "frontend/relay/responses.h"
#include "frontend/ops/metrics.h"
#include "frontend/http/request_guard.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

namespace Http = ::Pistache::Http;
using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::config::v1::FrontendConfig;

constexpr size_t kMaxLastEventIdBytes = 1024;

// Pistache writes only typed headers into its responses; these carry the
// few plain string headers the frontend adds.
#define SSEBRIDGE_STRING_HEADER(Class, header_name)                  \
  class Class : public Http::Header::Header {                        \
   public:                                                           \
    NAME(header_name)                                                \
    Class() = default;                                               \
    explicit Class(std::string v) : value_(std::move(v)) {}          \
    void parse(const std::string& d) override { value_ = d; }        \
    void write(std::ostream& os) const override { os << value_; }    \
                                                                     \
   private:                                                          \
    std::string value_;                                              \
  };
SSEBRIDGE_STRING_HEADER(RetryAfterHeader, "Retry-After")
SSEBRIDGE_STRING_HEADER(ETagHeader, "ETag")
SSEBRIDGE_STRING_HEADER(LastModifiedHeader, "Last-Modified")
SSEBRIDGE_STRING_HEADER(NoCacheHeader, "Cache-Control")
SSEBRIDGE_STRING_HEADER(AcaoHeader, "Access-Control-Allow-Origin")
SSEBRIDGE_STRING_HEADER(AcacHeader, "Access-Control-Allow-Credentials")
SSEBRIDGE_STRING_HEADER(AcamHeader, "Access-Control-Allow-Methods")
SSEBRIDGE_STRING_HEADER(AcahHeader, "Access-Control-Allow-Headers")
SSEBRIDGE_STRING_HEADER(AcmaHeader, "Access-Control-Max-Age")
SSEBRIDGE_STRING_HEADER(VaryHeader, "Vary")
#undef SSEBRIDGE_STRING_HEADER

absl::Duration ToDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

template <typename T>
T OrDefault(T v, T def) {
  return v == T{} ? def : v;
}

// Serves the requests Pistache parsed: the one way requests enter the server.
class RequestHandler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(RequestHandler)
  explicit RequestHandler(FrontendServer* server) : server_(server) {}

  void onRequest(const Http::Request& request,
                 Http::ResponseWriter response) override {
    // Nothing may escape into Pistache: it would answer with its own 500
    // carrying the exception text.
    try {
      server_->HandleRequest(request, response);
    } catch (const std::exception& e) {
      spdlog::error("request {} failed: {}", request.resource(), e.what());
      try {
        response.send(Http::Code::Internal_Server_Error, "internal error\n");
      } catch (...) {
      }
    }
  }

 private:
  FrontendServer* server_;
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
  explicit GuardedHandler(FrontendServer* server) : server_(server) {}
  // Pistache clones the handler for each transport thread; every clone
  // makes its own RequestHandler, bound to that thread's transport.
  GuardedHandler(const GuardedHandler& other)
      : Http::Handler(other), server_(other.server_) {}

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
      inner_ = std::make_shared<RequestHandler>(server_);
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

  FrontendServer* server_;
  std::shared_ptr<RequestHandler> inner_;
};

void SendPlain(Http::ResponseWriter& response, int code,
               absl::string_view body) {
  response.send(static_cast<Http::Code>(code), std::string(body),
                MIME(Text, Plain));
}

// A request header's value, whether Pistache kept it raw or parsed it.
std::optional<std::string> HeaderValue(const Http::Request& request,
                                       const std::string& name) {
  const auto& headers = request.headers();
  if (auto raw = headers.tryGetRaw(name)) return raw->value();
  if (name == "cookie") {
    std::vector<std::string> parts;
    for (const auto& c : request.cookies()) {
      parts.push_back(absl::StrCat(c.name, "=", c.value));
    }
    if (parts.empty()) return std::nullopt;
    return absl::StrJoin(parts, "; ");
  }
  try {
    if (auto h = headers.tryGet(name)) {
      std::ostringstream os;
      h->write(os);
      return os.str();
    }
  } catch (...) {
  }
  return std::nullopt;
}

// gRPC metadata values must be printable ASCII.
bool IsMetadataSafe(absl::string_view v) {
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

absl::StatusOr<std::unique_ptr<FrontendServer>> FrontendServer::Create(
    const FrontendConfig& config) {
  std::unique_ptr<FrontendServer> server(new FrontendServer(config));
  const FrontendConfig& cfg = server->config_;
  for (const auto& b : cfg.backends()) {
    server->backends_.emplace(
        b.name(), std::make_unique<BackendPool>(
                      b.name(), b.target(),
                      static_cast<int>(OrDefault<uint32_t>(b.channels(), 1))));
  }
  const auto& limits = cfg.limits();
  for (const auto& r : cfg.routes()) {
    RouteRuntime rt;
    rt.config = &r;
    rt.stats = std::make_unique<RouteStats>();
    rt.settings.route_stats = rt.stats.get();
    auto it = server->backends_.find(r.backend());
    if (it == server->backends_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("route ", r.path(), ": unknown backend ", r.backend()));
    }
    rt.backend = it->second.get();
    rt.action = r.action().empty()
                    ? std::string(r.path().substr(r.path().rfind('/') + 1))
                    : r.action();
    for (const auto& h : r.forward_headers()) {
      rt.forward_headers.push_back(absl::AsciiStrToLower(h));
    }
    SessionSettings& s = rt.settings;
    s.route_path = r.path();
    s.terminal_event = r.terminal_event().empty() ? "done" : r.terminal_event();
    if (r.has_heartbeat()) s.heartbeat = ToDuration(r.heartbeat());
    if (r.has_max_duration()) s.max_duration = ToDuration(r.max_duration());
    if (limits.has_write_timeout()) {
      s.write_timeout = ToDuration(limits.write_timeout());
    }
    s.expose_errors = r.expose_errors();
    s.retry_ms = r.retry_ms();
    s.high_water = OrDefault<uint32_t>(limits.high_water_bytes(), 256 * 1024);
    s.low_water = OrDefault<uint32_t>(limits.low_water_bytes(), 64 * 1024);
    if (s.low_water >= s.high_water) s.low_water = s.high_water / 2;
    s.max_event_bytes = OrDefault<uint32_t>(
        r.max_event_bytes(),
        OrDefault<uint32_t>(limits.max_event_bytes(), 4 * 1024 * 1024));
    s.retry_after_seconds = OrDefault<uint32_t>(limits.retry_after_seconds(), 5);
    rt.connect_timeout = absl::Seconds(2);
    for (const auto& b : cfg.backends()) {
      if (b.name() == r.backend() && b.has_connect_timeout()) {
        rt.connect_timeout = ToDuration(b.connect_timeout());
      }
    }
    s.header_wait = rt.connect_timeout;
    server->routes_.push_back(std::move(rt));
  }
  // After the vector is complete: the tables keep the settings' address.
  for (RouteRuntime& rt : server->routes_) {
    if (rt.config->shared()) {
      rt.shared = std::make_unique<SharedCalls>(&rt.settings, &server->stats_);
    }
  }
  for (const auto& o : cfg.cors_origins()) server->cors_origins_.insert(o);
  for (const auto& p : cfg.trusted_proxies()) server->trusted_proxies_.insert(p);
  return server;
}

FrontendServer::FrontendServer(const FrontendConfig& config)
    : config_(config),
      router_(config_),
      static_files_(config.static_root()),
      registry_(OrDefault<uint32_t>(config.limits().max_connections(), 10000),
                config.limits().max_connections_per_ip()) {}

FrontendServer::~FrontendServer() { Shutdown(absl::ZeroDuration()); }

absl::Status FrontendServer::Start() {
  const auto& listen = config_.listen();
  fd_limit_ = RaiseFdLimit();
  const int io_threads =
      static_cast<int>(OrDefault<uint32_t>(listen.io_threads(), 1));
  for (int i = 0; i < io_threads; ++i) {
    auto loop = std::make_unique<IoLoop>(&stats_);
    if (absl::Status s = loop->Start(); !s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  try {
    Pistache::Address addr(
        listen.address().empty() ? "127.0.0.1" : listen.address(),
        Pistache::Port(static_cast<uint16_t>(listen.port())));
    endpoint_ = std::make_unique<Http::Endpoint>(addr);
    auto header_timeout = listen.has_header_timeout()
                              ? ToDuration(listen.header_timeout())
                              : absl::Seconds(10);
    auto idle_timeout = listen.has_idle_timeout()
                            ? ToDuration(listen.idle_timeout())
                            : absl::Seconds(60);
    auto opts =
        Http::Endpoint::options()
            .threads(static_cast<int>(OrDefault<uint32_t>(listen.threads(), 1)))
            .flags(Pistache::Tcp::Options::ReuseAddr)
            .maxRequestSize(OrDefault<uint32_t>(listen.max_request_bytes(),
                                                1024 * 1024))
            .headerTimeout(absl::ToChronoMilliseconds(header_timeout))
            .bodyTimeout(absl::ToChronoMilliseconds(header_timeout))
            .keepaliveTimeout(absl::ToChronoMilliseconds(idle_timeout));
    endpoint_->init(opts);
    endpoint_->setHandler(Http::make_handler<GuardedHandler>(this));
    endpoint_->serveThreaded();
    port_ = static_cast<uint16_t>(endpoint_->getPort());
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen.address(), ":", listen.port(),
                     ": ", e.what()));
  }
  spdlog::info("frontend listening on {}:{}", listen.address(), port_);
  LogFdBudget();
  return absl::OkStatus();
}

void FrontendServer::LogFdBudget() const {
  // Counted once everything long-lived (listener, epoll and event
  // descriptors, gRPC channels) is open, so the rest is what streams get.
  const uint64_t in_use = CountOpenFds();
  const uint64_t fit = StreamsForFdLimit(fd_limit_, in_use);
  const uint32_t configured =
      OrDefault<uint32_t>(config_.limits().max_connections(), 10000);
  if (fit < configured) {
    spdlog::warn(
        "file descriptor limit {} ({} in use) holds at most {} streams, "
        "fewer than limits.max_connections {}: streams past it get 503; "
        "raise it with ulimit -n or LimitNOFILE=",
        fd_limit_, in_use, fit, configured);
  }
}

void FrontendServer::Shutdown(absl::Duration grace) {
  if (stopping_.exchange(true)) return;
  if (endpoint_) {
    // Stops accepting and parsing; taken-over streams live on in their own
    // descriptors and are ended below.
    try {
      endpoint_->shutdown();
    } catch (...) {
    }
  }
  const absl::Time deadline = absl::Now() + grace;
  for (auto& loop : loops_) loop->ShutdownSessions(5000);
  while (open_sessions() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  for (auto& loop : loops_) loop->Stop();
  // Wait for the gRPC side of every session (cancelled above) to finish,
  // since sessions point into this object.
  const absl::Time done_deadline = absl::Now() + absl::Seconds(10);
  while ((live_sessions() > 0 ||
          stats_.shared_calls.load(std::memory_order_acquire) > 0) &&
         absl::Now() < done_deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  endpoint_.reset();
}

int64_t FrontendServer::open_sessions() const {
  int64_t n = 0;
  for (const auto& loop : loops_) n += loop->open_sessions();
  return n;
}

std::string FrontendServer::ClientIp(const Http::Request& request) const {
  std::string ip = request.address().host();
  if (trusted_proxies_.contains(ip)) {
    if (auto xff = HeaderValue(request, "x-forwarded-for")) {
      // The right-most address was added by our trusted edge.
      std::vector<absl::string_view> parts = absl::StrSplit(*xff, ',');
      absl::string_view last = absl::StripAsciiWhitespace(parts.back());
      if (!last.empty()) ip = std::string(last);
    }
  }
  return ip;
}

std::vector<std::string> FrontendServer::CorsHeaders(
    const Http::Request& request) const {
  std::vector<std::string> out;
  if (cors_origins_.empty()) return out;
  auto origin = HeaderValue(request, "origin");
  if (!origin || !cors_origins_.contains(*origin)) return out;
  out.push_back(absl::StrCat("Access-Control-Allow-Origin: ", *origin));
  out.push_back("Access-Control-Allow-Credentials: true");
  out.push_back("Vary: Origin");
  return out;
}

void FrontendServer::HandleRequest(const Http::Request& request,
                                   Http::ResponseWriter& response) {
  const std::string& path = request.resource();
  const std::string method = Http::methodString(request.method());
  if (path == "/healthz") {
    SendPlain(response, 200, "ok\n");
    return;
  }
  if (path == "/readyz") {
    HandleReadyz(response);
    return;
  }
  if (path == "/metrics") {
    HandleMetrics(response);
    return;
  }
  Router::Match m = router_.Find(path, method);
  switch (m.outcome) {
    case Router::Outcome::kNotFound:
      if (static_files_.enabled() && (request.method() == Http::Method::Get ||
                                      request.method() == Http::Method::Head)) {
        HandleStatic(request, response);
        return;
      }
      SendPlain(response, 404, "not found\n");
      return;
    case Router::Outcome::kMethodNotAllowed:
      if (request.method() == Http::Method::Options) {
        HandlePreflight(m, request, response);
        return;
      }
      {
        std::vector<Http::Method> allowed;
        for (const std::string& a : m.allowed) {
          allowed.push_back(a == "POST" ? Http::Method::Post
                                        : Http::Method::Get);
        }
        response.headers().add<Http::Header::Allow>(allowed);
        SendPlain(response, 405, "method not allowed\n");
      }
      return;
    case Router::Outcome::kMatched:
      break;
  }
  HandleStream(routes_[m.route_index], request, response);
}

void FrontendServer::HandleReadyz(Http::ResponseWriter& response) {
  // Asks every backend's standard health service; all must say SERVING.
  std::vector<std::string> failing;
  for (const auto& b : config_.backends()) {
    BackendPool& pool = *backends_.at(b.name());
    auto stub = grpc::health::v1::Health::NewStub(pool.channel(0));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(1000));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = stub->Check(&ctx, req, &resp);
    if (!st.ok()) {
      failing.push_back(absl::StrCat(b.name(), " (",
                                     common::StatusCodeName(static_cast<absl::StatusCode>(st.error_code())),
                                     ")"));
    } else if (resp.status() !=
               grpc::health::v1::HealthCheckResponse::SERVING) {
      failing.push_back(absl::StrCat(b.name(), " (not serving)"));
    }
  }
  if (stopping_.load()) failing.push_back("frontend (shutting down)");
  if (failing.empty()) {
    SendPlain(response, 200, "ready\n");
  } else {
    SendPlain(response, 503,
              absl::StrCat("not ready: ", absl::StrJoin(failing, ", "), "\n"));
  }
}

void FrontendServer::HandleMetrics(Http::ResponseWriter& response) {
  std::vector<std::pair<std::string, const RouteStats*>> routes;
  for (const RouteRuntime& r : routes_) {
    routes.emplace_back(r.settings.route_path, r.stats.get());
  }
  response.send(Http::Code::Ok, RenderMetrics(stats_, routes),
                Http::Mime::MediaType::fromString(
                    "text/plain; version=0.0.4; charset=utf-8"));
}

void FrontendServer::HandlePreflight(const Router::Match& match,
                                     const Http::Request& request,
                                     Http::ResponseWriter& response) {
  auto origin = HeaderValue(request, "origin");
  if (origin && cors_origins_.contains(*origin)) {
    response.headers().add<AcaoHeader>(*origin);
    response.headers().add<AcacHeader>("true");
    response.headers().add<AcamHeader>(absl::StrJoin(match.allowed, ", "));
    // Echo the requested headers when they are plain header-name tokens.
    std::string requested =
        HeaderValue(request, "access-control-request-headers").value_or("");
    const bool tokens = std::all_of(requested.begin(), requested.end(), [](char c) {
      return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == ',' ||
             c == ' ';
    });
    response.headers().add<AcahHeader>(
        tokens && !requested.empty() ? requested
                                     : "Content-Type, Last-Event-ID");
    response.headers().add<AcmaHeader>("600");
    response.headers().add<VaryHeader>("Origin");
  }
  response.send(Http::Code::No_Content);
}

void FrontendServer::HandleStatic(const Http::Request& request,
                                  Http::ResponseWriter& response) {
  absl::StatusOr<StaticFile> f = static_files_.Load(request.resource());
  if (!f.ok()) {
    const bool bad = f.status().code() == absl::StatusCode::kInvalidArgument;
    SendPlain(response, bad ? 400 : 404, bad ? "bad path\n" : "not found\n");
    return;
  }
  response.headers().add<ETagHeader>(f->etag);
  response.headers().add<LastModifiedHeader>(f->last_modified);
  response.headers().add<NoCacheHeader>("no-cache");
  if (auto inm = HeaderValue(request, "if-none-match"); inm && *inm == f->etag) {
    response.send(Http::Code::Not_Modified);
    return;
  }
  const auto mime = Http::Mime::MediaType::fromString(f->mime);
  if (request.method() == Http::Method::Head) {
    response.headers().add<Http::Header::ContentType>(mime);
    response.send(Http::Code::Ok);
    return;
  }
  response.send(Http::Code::Ok, f->body, mime);
}

void FrontendServer::HandleStream(const RouteRuntime& route,
                                  const Http::Request& request,
                                  Http::ResponseWriter& response) {
  if (stopping_.load()) {
    SendPlain(response, 503, "shutting down\n");
    return;
  }
  ActionRequest req;
  req.set_action(route.action);
  req.set_path(request.resource());
  req.set_method(Http::methodString(request.method()));
  ParamMap params;
  for (auto it = request.query().parameters_begin();
       it != request.query().parameters_end(); ++it) {
    auto k = PercentDecode(it->first, true);
    auto v = PercentDecode(it->second, true);
    if (!k.ok() || !v.ok()) {
      SendPlain(response, 400, "bad query string: invalid percent-escape\n");
      return;
    }
    params[*k] = *v;
  }
  if (request.method() == Http::Method::Post && !request.body().empty()) {
    std::string type;
    if (auto ct = request.headers().tryGet<Http::Header::ContentType>()) {
      type = absl::AsciiStrToLower(ct->mime().toString());
    }
    absl::Status s;
    if (absl::StartsWith(type, "application/x-www-form-urlencoded")) {
      s = ParseUrlEncoded(request.body(), params);
    } else if (absl::StartsWith(type, "application/json")) {
      s = ParseJsonObject(request.body(), params);
    } else {
      SendPlain(response, 415,
                "body must be application/x-www-form-urlencoded or "
                "application/json\n");
      return;
    }
    if (!s.ok()) {
      SendPlain(response, 400, absl::StrCat("bad body: ", s.message(), "\n"));
      return;
    }
  }
  std::string last_id;
  if (auto h = HeaderValue(request, "last-event-id")) {
    last_id = *h;
  } else if (auto it = params.find("lastEventId"); it != params.end()) {
    last_id = it->second;
  }
  if (last_id.size() > kMaxLastEventIdBytes) {
    SendPlain(response, 400, "Last-Event-ID too long\n");
    return;
  }
  // Everything that goes into the ActionRequest must be valid UTF-8
  // (protobuf string fields); say so plainly rather than fail upstream.
  bool utf8 = IsValidUtf8(last_id);
  for (const auto& [k, v] : params) utf8 = utf8 && IsValidUtf8(k) && IsValidUtf8(v);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& name : route.forward_headers) {
    if (auto v = HeaderValue(request, name)) {
      utf8 = utf8 && IsValidUtf8(*v);
      headers.emplace_back(name, std::move(*v));
    }
  }
  if (!utf8) {
    SendPlain(response, 400, "request parameters and headers must be UTF-8\n");
    return;
  }
  req.set_last_event_id(last_id);
  for (auto& [k, v] : params) (*req.mutable_params())[k] = std::move(v);
  std::vector<std::pair<std::string, std::string>> metadata;
  for (auto& [name, v] : headers) {
    if (IsMetadataSafe(v)) metadata.emplace_back(name, v);
    (*req.mutable_headers())[name] = std::move(v);
  }

  const std::string ip = ClientIp(request);
  req.set_remote_addr(ip);
  if (!registry_.TryAcquire(ip)) {
    stats_.Count(Outcome::kRejected);
    route.stats->Count(Outcome::kRejected);
    response.headers().add<RetryAfterHeader>(
        absl::StrCat(route.settings.retry_after_seconds));
    SendPlain(response, 503, "too many streams, retry later\n");
    return;
  }

  // Take the connection over: our own descriptor for it, Pistache told the
  // connection is idle so that its request timers never answer 408 into the
  // stream (an idle connection is only dropped from its table, which closes
  // Pistache's descriptor, not ours), and its guard stopped so that nothing
  // the client sends later is answered into the stream either.
  std::shared_ptr<Pistache::Tcp::Peer> peer = response.peer();
  int fd = peer ? fcntl(peer->fd(), F_DUPFD_CLOEXEC, 0) : -1;
  if (InFdReserve(fd, fd_limit_)) {
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    registry_.Release(ip);
    stats_.Count(Outcome::kRejected);
    response.headers().add<RetryAfterHeader>(
        absl::StrCat(route.settings.retry_after_seconds));
    SendPlain(response, 503, "server busy, retry later\n");
    return;
  }
  peer->setIdle(true);
  if (std::shared_ptr<RequestGuard> guard = GuardOf(*peer)) guard->Stop();
  // Events are small and go out one by one: without this, Nagle holds an
  // event back until the previous one is acknowledged, and a client that
  // delays its ACKs (40 ms on Linux) delays the stream with it.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  // htmx 2's hx-post cannot consume a stream: a POST that does not accept
  // text/event-stream gets every fragment as one text/html response.
  const bool collect =
      request.method() == Http::Method::Post &&
      !absl::StrContains(HeaderValue(request, "accept").value_or(""),
                         "text/event-stream");
  std::string head;
  if (collect) {
    for (const std::string& h : CorsHeaders(request)) {
      absl::StrAppend(&head, h, "\r\n");
    }
  } else {
    head = SseResponseHead(CorsHeaders(request));
  }
  const bool shared = route.shared != nullptr && !collect;
  BackendPool::Pick pick{};
  bool ready = false;
  if (!shared) {
    pick = route.backend->Next();
    ready = !collect && pick.channel->GetState(true) == GRPC_CHANNEL_READY;
  }
  auto session = std::make_shared<StreamSession>(
      &route.settings,
      loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) %
             loops_.size()]
          .get(),
      &registry_, &stats_, fd, ip, std::move(head),
      collect ? ResponseMode::kCollectHtml : ResponseMode::kSse);
  spdlog::info("stream open route={} client={}", route.settings.route_path,
                ip);
  session->loop()->Submit(session);
  if (shared) {
    route.shared->Join(session, route.backend, std::move(req), metadata);
  } else {
    session->Start(pick.stub, std::move(req), metadata, ready);
  }
}

}  // namespace ssebridge::frontend
