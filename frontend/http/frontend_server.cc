#include "frontend/http/frontend_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pistache/peer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sse/encoder.h"
#include "frontend/http/http_util.h"
#include "frontend/http/pistache_handler.h"
#include "frontend/http/request_headers.h"
#include "frontend/http/stream_request.h"
#include "frontend/ops/fd_budget.h"
#include "frontend/ops/metrics.h"
#include "frontend/relay/action_call.h"
#include "frontend/relay/event_rpc.h"
#include "frontend/relay/method_rpc.h"
#include "frontend/relay/mux_connection.h"
#include "frontend/relay/mux_cursor.h"
#include "frontend/relay/responses.h"
#include "frontend/upstream/backend_health.h"
#include "frontend/upstream/descriptor_source.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

namespace Http = ::Pistache::Http;
using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::config::v1::FrontendConfig;

absl::Duration ToDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

template <typename T>
T OrDefault(T v, T def) {
  return v == T{} ? def : v;
}

void SendPlain(Http::ResponseWriter& response, int code,
               absl::string_view body) {
  response.send(static_cast<Http::Code>(code), std::string(body),
                MIME(Text, Plain));
}

// A 503 that tells the client when to come back (the route's Retry-After).
void SendRetryLater(Http::ResponseWriter& response,
                    uint32_t retry_after_seconds, absl::string_view body) {
  response.headers().add<RetryAfterHeader>(absl::StrCat(retry_after_seconds));
  SendPlain(response, 503, body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FrontendServer>> FrontendServer::Create(
    const FrontendConfig& config) {
  std::unique_ptr<FrontendServer> server(new FrontendServer(config));
  const FrontendConfig& cfg = server->config_;
  for (int i = 0; i < cfg.auth().providers_size(); ++i) {
    const auto& p = cfg.auth().providers(i);
    auto rt = std::make_unique<ProviderRuntime>();
    rt->config = &p;
    absl::StatusOr<std::unique_ptr<auth::JwksFile>> keys =
        auth::JwksFile::Load(p.jwks_file());
    if (!keys.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth.providers[", i, "].jwks_file: ", keys.status().message()));
    }
    rt->keys = std::shared_ptr<auth::JwksFile>(std::move(*keys));
    auth::ProviderSettings settings;
    settings.name = p.name();
    settings.issuer = p.issuer();
    settings.audiences.assign(p.audiences().begin(), p.audiences().end());
    settings.algorithms.assign(p.algorithms().begin(), p.algorithms().end());
    settings.leeway = ToDuration(p.leeway());
    settings.max_token_bytes = p.max_token_bytes();
    rt->verifier =
        std::make_unique<auth::TokenVerifier>(std::move(settings), rt->keys);
    for (const auto& [claim, key] : p.claims_to_metadata()) {
      rt->claim_keys.insert(key);
    }
    if (!p.cookie().empty()) server->token_cookies_.insert(p.cookie());
    server->providers_.emplace(p.name(), std::move(rt));
  }
  for (const auto& o : cfg.cors_origins()) server->cors_origins_.insert(o);
  if (const auto& dev = cfg.auth().dev_login(); !dev.path().empty()) {
    const ProviderRuntime& p = *server->providers_.at(dev.provider());
    absl::StatusOr<std::unique_ptr<DevLogin>> login = DevLogin::Create(
        dev, *p.config, p.verifier.get(), server->cors_origins_);
    if (!login.ok()) return login.status();
    server->dev_login_ = *std::move(login);
  }
  for (const auto& b : cfg.backends()) {
    auto pool = std::make_unique<BackendPool>(
        b.name(), b.target(),
        static_cast<int>(OrDefault<uint32_t>(b.channels(), 1)),
        static_cast<int>(OrDefault<uint32_t>(b.stream_window_bytes(),
                                             kDefaultStreamWindowBytes)));
    server->health_.emplace(
        b.name(), std::make_unique<BackendHealth>(
                      pool.get(), HealthCheckFromName(b.health_check())));
    server->backends_.emplace(b.name(), std::move(pool));
  }
  const auto& limits = cfg.limits();
  server->socket_unsent_bytes_ = limits.socket_unsent_bytes();
  for (const auto& r : cfg.routes()) {
    RouteRuntime rt;
    rt.config = &r;
    rt.stats = std::make_unique<RouteStats>();
    rt.settings.route_stats = rt.stats.get();
    auto it = server->backends_.find(r.backend());
    if (r.has_mux()) {
      rt.stats->mux = true;
      rt.mux = std::make_unique<MuxPolicy>();
      rt.mux->routes.assign(r.mux().routes().begin(), r.mux().routes().end());
      rt.mux->max_streams = OrDefault<uint32_t>(r.mux().max_streams(), 8);
      rt.backend = nullptr;
    } else if (it == server->backends_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("route ", r.path(), ": unknown backend ", r.backend()));
    }
    if (!r.has_mux()) rt.backend = it->second.get();
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
    s.high_water = OrDefault<uint32_t>(
        r.high_water_bytes(),
        OrDefault<uint32_t>(limits.high_water_bytes(), 256 * 1024));
    s.low_water = OrDefault<uint32_t>(
        r.low_water_bytes(),
        OrDefault<uint32_t>(limits.low_water_bytes(), 64 * 1024));
    if (s.low_water >= s.high_water) s.low_water = s.high_water / 2;
    s.max_event_bytes = OrDefault<uint32_t>(
        r.max_event_bytes(),
        OrDefault<uint32_t>(limits.max_event_bytes(), 4 * 1024 * 1024));
    s.retry_after_seconds =
        OrDefault<uint32_t>(limits.retry_after_seconds(), 5);
    rt.connect_timeout = absl::Seconds(2);
    for (const auto& b : cfg.backends()) {
      if (b.name() == r.backend() && b.has_connect_timeout()) {
        rt.connect_timeout = ToDuration(b.connect_timeout());
      }
    }
    s.header_wait = rt.connect_timeout;
    s.auth_expired_event = cfg.auth().expired_event().empty()
                               ? "auth-expired"
                               : cfg.auth().expired_event();
    if (rt.mux) {
      rt.mux->reserved_aliases = {s.terminal_event, "error",
                                  s.auth_expired_event};
    }
    rt.auth_mode = AuthModeFromName(r.auth());
    if (rt.auth_mode != AuthMode::kOff) {
      auto p = server->providers_.find(r.auth_provider());
      if (p == server->providers_.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "route ", r.path(), ": unknown auth_provider ", r.auth_provider()));
      }
      rt.provider = p->second.get();
    }
    if (r.shared() && r.has_replay()) {
      // Validated at load; the defaults again for configs built in code.
      const auto& replay = r.replay();
      ReplaySettings& rs = s.replay;
      rs.max_events = OrDefault<uint32_t>(replay.events(), 1000);
      rs.max_age = replay.has_max_age() ? ToDuration(replay.max_age())
                                        : absl::Minutes(5);
      rs.max_bytes = OrDefault<uint32_t>(replay.max_bytes(), 1 << 20);
      rs.on_join = std::min<size_t>(replay.on_join(), rs.max_events);
      common::sse::AppendSimpleEvent(
          replay.reset_event().empty() ? "reset" : replay.reset_event(), "", 0,
          rs.reset_bytes);
      rs.linger = std::min(rs.max_age, kMaxReplayLinger);
      rt.stats->replay = true;
    }
    server->routes_.push_back(std::move(rt));
  }
  if (absl::Status s = server->ResolveMethods(); !s.ok()) return s;
  // After the vector is complete: the tables keep the settings' address.
  for (RouteRuntime& rt : server->routes_) {
    if (rt.mux == nullptr) continue;
    for (const std::string& path : rt.mux->routes) {
      const RouteRuntime* target = nullptr;
      for (const RouteRuntime& other : server->routes_) {
        if (other.config->path() == path && other.mux == nullptr) {
          target = &other;
        }
      }
      if (target == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("route ", rt.config->path(), ": mux route ", path,
                         " is not a (non-mux) route"));
      }
      rt.mux_routes[path] = target;
      if (const std::string& q = target->config->token_query_param();
          !q.empty()) {
        rt.mux->top_level_keys.push_back(q);
      }
    }
  }
  for (RouteRuntime& rt : server->routes_) {
    if (rt.config->shared()) {
      rt.shared = std::make_unique<SharedCalls>(&rt.settings, &server->stats_);
    }
  }
  for (const auto& p : cfg.trusted_proxies())
    server->trusted_proxies_.insert(p);
  return server;
}

absl::Status FrontendServer::ResolveMethods() {
  auto service_of = [](absl::string_view method) {
    if (absl::StartsWith(method, "/")) method.remove_prefix(1);
    return std::string(method.substr(0, method.rfind('/')));
  };
  // Routes without a descriptor_set: their services, per backend, asked
  // for in one reflection exchange each.
  std::map<std::string, std::vector<std::string>> symbols;
  std::map<std::string, size_t> first_route;  // per backend, for errors
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto* r = routes_[i].config;
    if (!r->has_grpc() || !r->grpc().descriptor_set().empty()) continue;
    symbols[r->backend()].push_back(service_of(r->grpc().method()));
    first_route.emplace(r->backend(), i);
  }
  std::map<std::string, std::shared_ptr<const DescriptorSource>> reflected;
  for (const auto& [backend, services] : symbols) {
    absl::Duration wait = absl::Seconds(10);
    for (const auto& b : config_.backends()) {
      if (b.name() == backend && b.has_connect_timeout()) {
        wait = std::max(wait, ToDuration(b.connect_timeout()));
      }
    }
    absl::StatusOr<std::shared_ptr<const DescriptorSource>> source =
        DescriptorSource::FromReflection(
            backends_.at(backend)->channel(0), services, absl::Now() + wait,
            absl::StrCat("server reflection of backend ", backend));
    if (!source.ok()) {
      return absl::Status(source.status().code(),
                          absl::StrCat("routes[", first_route.at(backend),
                                       "].grpc: ", source.status().message()));
    }
    reflected[backend] = *std::move(source);
  }
  std::map<std::string, std::shared_ptr<const DescriptorSource>> files;
  for (size_t i = 0; i < routes_.size(); ++i) {
    RouteRuntime& rt = routes_[i];
    if (!rt.config->has_grpc()) continue;
    const auto& grpc = rt.config->grpc();
    const std::string key = absl::StrCat("routes[", i, "].grpc");
    std::shared_ptr<const DescriptorSource> source;
    if (grpc.descriptor_set().empty()) {
      source = reflected.at(rt.config->backend());
    } else if (auto it = files.find(grpc.descriptor_set()); it != files.end()) {
      source = it->second;
    } else {
      absl::StatusOr<std::shared_ptr<const DescriptorSource>> loaded =
          DescriptorSource::FromFile(grpc.descriptor_set());
      if (!loaded.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ".descriptor_set: ", loaded.status().message()));
      }
      source = files[grpc.descriptor_set()] = *std::move(loaded);
    }
    absl::StatusOr<std::unique_ptr<const MethodCodec>> codec =
        MethodCodec::Create(source, grpc);
    if (!codec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ".", codec.status().message()));
    }
    rt.codec = *std::move(codec);
    spdlog::info("route {}: method {} (descriptors from {})", rt.config->path(),
                 rt.codec->path(), source->what());
  }
  return absl::OkStatus();
}

void FrontendServer::ReloadKeys() {
  for (auto& [name, p] : providers_) {
    if (absl::Status s = p->keys->Reload(); !s.ok()) {
      spdlog::error("auth provider {}: keeping the old keys: {}", name,
                    std::string(s.message()));
    }
  }
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
            .maxRequestSize(
                OrDefault<uint32_t>(listen.max_request_bytes(), 1024 * 1024))
            .headerTimeout(absl::ToChronoMilliseconds(header_timeout))
            .bodyTimeout(absl::ToChronoMilliseconds(header_timeout))
            .keepaliveTimeout(absl::ToChronoMilliseconds(idle_timeout));
    endpoint_->init(opts);
    endpoint_->setHandler(MakeGuardedHandler(
        [this](const Http::Request& request, Http::ResponseWriter& response) {
          HandleRequest(request, response);
        }));
    endpoint_->serveThreaded();
    port_ = static_cast<uint16_t>(endpoint_->getPort());
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ",
                                               listen.address(), ":",
                                               listen.port(), ": ", e.what()));
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
  // Every stream is closed now; shared calls that linger for a browser to
  // come back (replay) are cancelled here rather than when their linger ends.
  for (auto& route : routes_) {
    if (route.shared != nullptr) route.shared->Shutdown();
  }
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
  if (dev_login_ != nullptr && dev_login_->Owns(path)) {
    dev_login_->Handle(request, response, ClientUsesTls(request));
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
  // Every backend must pass its check (see backend_health.h). The first
  // line says ready or names what is not; one line per backend follows.
  std::vector<std::string> failing;
  std::string detail;
  for (const auto& b : config_.backends()) {
    BackendHealth& health = *health_.at(b.name());
    BackendHealth::Report r = health.Check(absl::Seconds(1));
    if (!r.ready) failing.push_back(absl::StrCat(b.name(), " (", r.state, ")"));
    absl::StrAppend(&detail, "backend ", b.name(), " (",
                    HealthCheckName(health.check()), " check): ", r.state,
                    "\n");
  }
  if (stopping_.load()) failing.push_back("frontend (shutting down)");
  if (failing.empty()) {
    SendPlain(response, 200, absl::StrCat("ready\n", detail));
  } else {
    SendPlain(response, 503,
              absl::StrCat("not ready: ", absl::StrJoin(failing, ", "), "\n",
                           detail));
  }
}

void FrontendServer::HandleMetrics(Http::ResponseWriter& response) {
  std::vector<std::pair<std::string, const RouteStats*>> routes;
  for (const RouteRuntime& r : routes_) {
    routes.emplace_back(r.settings.route_path, r.stats.get());
  }
  std::vector<std::pair<std::string, int64_t>> backend_calls;
  for (const auto& b : config_.backends()) {
    backend_calls.emplace_back(b.name(),
                               backends_.at(b.name())->calls_in_flight());
  }
  response.send(Http::Code::Ok, RenderMetrics(stats_, routes, backend_calls),
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
    const bool tokens =
        std::all_of(requested.begin(), requested.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == ',' ||
                 c == ' ';
        });
    response.headers().add<AcahHeader>(
        tokens && !requested.empty()
            ? requested
            : "Content-Type, Last-Event-ID, Authorization");
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
  if (auto inm = HeaderValue(request, "if-none-match");
      inm && *inm == f->etag) {
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

absl::Status FrontendServer::PrepareCall(
    const RouteRuntime& route, StreamRequest parsed,
    const std::optional<auth::VerifiedToken>& identity, PreparedCall& out) {
  const bool generic = route.codec != nullptr;
  ActionRequest& req = out.req;
  req = std::move(parsed.request);
  req.set_action(route.action);
  // Every relay path (own call, shared call, mux sub-stream) unpacks
  // Event.batch (ForEachRouteEvent).
  req.set_accepts_batch(true);
  // Identity comes only from a verified token: whatever the client sent
  // under those names never reaches the service, on any route.
  static const absl::flat_hash_set<std::string> kNoClaimKeys;
  const auto& claim_keys =
      route.provider != nullptr ? route.provider->claim_keys : kNoClaimKeys;
  // Nor do the frontend's own credentials (the token cookie, a Bearer).
  CallMetadata& metadata = out.metadata;
  for (auto& [k, v] : parsed.metadata) {
    if (IsReservedIdentityHeader(k, claim_keys)) continue;
    if (auto kept = ForwardableHeader(k, v, token_cookies_)) {
      metadata.emplace_back(std::move(k), *std::move(kept));
    }
  }
  for (auto it = req.mutable_headers()->begin();
       it != req.mutable_headers()->end();) {
    std::optional<std::string> kept;
    if (!IsReservedIdentityHeader(it->first, claim_keys)) {
      kept = ForwardableHeader(it->first, it->second, token_cookies_);
    }
    if (!kept.has_value()) {
      it = req.mutable_headers()->erase(it);
    } else {
      it->second = *std::move(kept);
      ++it;
    }
  }
  if (const std::string& q = route.config->token_query_param(); !q.empty()) {
    req.mutable_params()->erase(q);  // the token is not the service's
  }
  if (identity.has_value()) {
    for (auto& kv : IdentityMetadata(
             *identity, route.provider->config->claims_to_metadata())) {
      metadata.push_back(std::move(kv));
    }
  }
  if (generic) {
    const std::vector<std::pair<std::string, std::string>> params(
        req.params().begin(), req.params().end());
    absl::StatusOr<MethodCodec::Request> built = route.codec->BuildRequest(
        params, parsed.json_body, req.last_event_id());
    if (!built.ok()) return built.status();
    out.method_request = *std::move(built);
  }
  return absl::OkStatus();
}

int FrontendServer::TakeOver(Http::ResponseWriter& response) {
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
  if (fd < 0) return -1;
  peer->setIdle(true);
  StopRequestGuard(*peer);
  // Events are small and go out one by one: without this, Nagle holds an
  // event back until the previous one is acknowledged, and a client that
  // delays its ACKs (40 ms on Linux) delays the stream with it.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // Unsent bytes stay in our buffer (high water, coalesced writes), not in
  // a kernel send buffer that autotunes to megabytes of stale events.
  if (socket_unsent_bytes_ > 0) {
    const int lowat = static_cast<int>(socket_unsent_bytes_);
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
  }
  return fd;
}

void FrontendServer::StartCall(const RouteRuntime& route, PreparedCall& call,
                               const std::shared_ptr<StreamSink>& sink,
                               bool collect, bool head_now) {
  const bool generic = route.codec != nullptr;
  // Called once, before Join/Start return.
  const EventRpcFactory make_rpc =
      [&](const BackendPool::Pick& p) -> std::unique_ptr<EventRpc> {
    if (generic) {
      return MakeMethodRpc(p, route.codec, std::move(call.method_request.bytes),
                           call.metadata);
    }
    return MakeActionRpc(p, std::move(call.req), call.metadata);
  };
  if (route.shared != nullptr && !collect) {
    std::string key =
        SharedCallKey(generic ? std::move(call.method_request.share_key)
                              : ActionRequestKey(call.req),
                      call.metadata);
    const std::string last_id = call.req.last_event_id();
    route.shared->Join(sink, route.backend, std::move(key), last_id, make_rpc);
  } else {
    BackendPool::Pick pick = route.backend->Next();
    const bool ready = head_now || (!collect && pick.channel->GetState(true) ==
                                                    GRPC_CHANNEL_READY);
    ActionCall::Start(sink, pick, make_rpc, &stats_, ready);
  }
}

void FrontendServer::HandleStream(const RouteRuntime& route,
                                  const Http::Request& request,
                                  Http::ResponseWriter& response) {
  if (stopping_.load()) {
    SendPlain(response, 503, "shutting down\n");
    return;
  }
  if (route.mux != nullptr) {
    HandleMux(route, request, response);
    return;
  }
  std::optional<auth::VerifiedToken> identity;
  if (route.auth_mode != AuthMode::kOff &&
      !Authenticate(route, request, response, identity)) {
    return;
  }
  // A `grpc` route calls its method with a request message made from the
  // parameters and JSON body; an action route calls ActionService.Run.
  const bool generic = route.codec != nullptr;
  StreamRequest parsed = ParseStreamRequest(request, route.forward_headers,
                                            /*keep_json_body=*/generic);
  if (parsed.refuse_code != 0) {
    SendPlain(response, parsed.refuse_code, parsed.refuse_body);
    return;
  }
  PreparedCall call;
  if (absl::Status s = PrepareCall(route, std::move(parsed), identity, call);
      !s.ok()) {
    SendPlain(response, 400, absl::StrCat("bad request: ", s.message(), "\n"));
    return;
  }

  const std::string ip = ClientIp(request);
  call.req.set_remote_addr(ip);
  if (!registry_.TryAcquire(ip)) {
    stats_.Count(Outcome::kRejected);
    route.stats->Count(Outcome::kRejected);
    SendRetryLater(response, route.settings.retry_after_seconds,
                   "too many streams, retry later\n");
    return;
  }
  const int fd = TakeOver(response);
  if (fd < 0) {
    registry_.Release(ip);
    stats_.Count(Outcome::kRejected);
    SendRetryLater(response, route.settings.retry_after_seconds,
                   "server busy, retry later\n");
    return;
  }

  // htmx 2's hx-post cannot consume a stream: a POST that does not accept
  // text/event-stream gets every fragment as one text/html response. (Not
  // on `grpc` routes: their events are JSON, never fragments.)
  const bool collect =
      !generic && request.method() == Http::Method::Post &&
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
  auto session = std::make_shared<StreamSession>(
      &route.settings,
      loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]
          .get(),
      &registry_, &stats_, fd, ip, std::move(head),
      collect ? ResponseMode::kCollectHtml : ResponseMode::kSse);
  if (identity.has_value()) session->set_expires(identity->expires);
  spdlog::info("stream open route={} client={}", route.settings.route_path, ip);
  session->loop()->Submit(session);
  StartCall(route, call, session, collect, /*head_now=*/false);
}

void FrontendServer::HandleMux(const RouteRuntime& route,
                               const Http::Request& request,
                               Http::ResponseWriter& response) {
  auto bad = [&](absl::string_view problem) {
    route.stats->Count(Outcome::kRejected);
    SendPlain(response, 400, absl::StrCat("bad mux request: ", problem, "\n"));
  };
  std::shared_ptr<Pistache::Tcp::Peer> peer = response.peer();
  const std::string target =
      peer != nullptr ? CurrentRequestTarget(*peer) : std::string();
  absl::StatusOr<MuxQuery> query =
      ParseMuxQuery(RawQueryOf(target), *route.mux);
  if (!query.ok()) {
    bad(query.status().message());
    return;
  }
  // The cursor: Last-Event-ID, else ?lastEventId=. One that does not parse
  // is no id (counted).
  std::string cursor = HeaderValue(request, "last-event-id").value_or("");
  if (cursor.empty()) {
    for (const auto& [k, v] : query->top_level) {
      if (k == "lastEventId") cursor = v;
    }
  }
  MuxPositions positions;
  if (!cursor.empty()) {
    if (std::optional<MuxPositions> p = DecodeMuxCursor(cursor)) {
      positions = *std::move(p);
    } else {
      route.stats->mux_bad_cursors.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("route {}: Last-Event-ID is not a mux cursor; no id",
                   route.settings.route_path);
    }
  }
  // Each sub-stream exactly as its route alone: auth, request, codec.
  // Anything refused refuses the whole request, before any call starts.
  const size_t n = query->streams.size();
  std::vector<PreparedCall> calls(n);
  std::vector<MuxConnection::SubStream> subs(n);
  std::vector<const RouteRuntime*> sub_routes(n);
  std::vector<absl::Status> refused(n);
  for (size_t i = 0; i < n; ++i) {
    const MuxSubStream& s = query->streams[i];
    const RouteRuntime& sub = *route.mux_routes.at(s.route);
    sub_routes[i] = &sub;
    std::optional<auth::VerifiedToken> identity;
    subs[i].alias = s.alias;
    subs[i].settings = &sub.settings;
    if (sub.auth_mode != AuthMode::kOff) {
      // A sub-stream its route refuses (401/403 alone) is not opened: it
      // gets its ALIAS.error event, the others run.
      AuthOutcome a = AuthorizeRequest(sub, request);
      if (a.status != 0) {
        sub.stats->CountAuthRefusal(a.reason);
        spdlog::info(
            "auth refused route={} (mux {} alias {}) client={} "
            "status={} reason={}: {}",
            sub.settings.route_path, route.settings.route_path, s.alias,
            ClientIp(request), a.status, a.reason, a.detail);
        refused[i] = a.status == 401 ? absl::UnauthenticatedError(a.reason)
                                     : absl::PermissionDeniedError(a.reason);
        continue;
      }
      identity = std::move(a.token);
    }
    std::string last_id;
    for (const auto& [alias, id] : positions) {
      if (alias == s.alias) last_id = id;
    }
    StreamRequest parsed = SubStreamRequest(
        request, sub.config->path(), s.params, last_id, sub.forward_headers);
    if (parsed.refuse_code != 0) {
      SendPlain(response, parsed.refuse_code,
                absl::StrCat("sub-stream ", s.alias, ": ", parsed.refuse_body));
      return;
    }
    if (absl::Status st =
            PrepareCall(sub, std::move(parsed), identity, calls[i]);
        !st.ok()) {
      bad(absl::StrCat("sub-stream ", s.alias, ": ", st.message()));
      return;
    }
    subs[i].last_event_id = last_id;
    subs[i].shared_route = sub.shared != nullptr;
    if (identity.has_value()) subs[i].expires = identity->expires;
  }
  if (std::all_of(refused.begin(), refused.end(),
                  [](const absl::Status& st) { return !st.ok(); })) {
    // Nothing to open: the answer the first would get alone.
    const RouteRuntime& sub = *sub_routes[0];
    std::optional<auth::VerifiedToken> unused;
    Authenticate(sub, request, response, unused);
    return;
  }
  // Each sub-stream counts as a stream (the session holds one slot, the
  // connection the others until the socket closes).
  const std::string ip = ClientIp(request);
  size_t acquired = 0;
  while (acquired < n && registry_.TryAcquire(ip)) ++acquired;
  if (acquired < n) {
    for (size_t i = 0; i < acquired; ++i) registry_.Release(ip);
    stats_.Count(Outcome::kRejected);
    route.stats->Count(Outcome::kRejected);
    SendRetryLater(response, route.settings.retry_after_seconds,
                   "too many streams, retry later\n");
    return;
  }
  const int fd = TakeOver(response);
  if (fd < 0) {
    for (size_t i = 0; i < n; ++i) registry_.Release(ip);
    stats_.Count(Outcome::kRejected);
    SendRetryLater(response, route.settings.retry_after_seconds,
                   "server busy, retry later\n");
    return;
  }
  auto session = std::make_shared<StreamSession>(
      &route.settings,
      loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]
          .get(),
      &registry_, &stats_, fd, ip, SseResponseHead(CorsHeaders(request)));
  std::string aliases;
  for (const auto& s : query->streams) {
    absl::StrAppend(&aliases, aliases.empty() ? "" : ",", s.alias, "=",
                    s.route);
  }
  spdlog::info("stream open route={} client={} streams={}",
               route.settings.route_path, ip, aliases);
  session->loop()->Submit(session);
  StreamRegistry* registry = &registry_;
  auto conn = std::make_shared<MuxConnection>(session, &stats_, std::move(subs),
                                              [registry, ip, n] {
                                                for (size_t i = 1; i < n; ++i)
                                                  registry->Release(ip);
                                              });
  if (!session->SetUpstream(conn)) {
    for (size_t i = 1; i < n; ++i) registry_.Release(ip);
    return;
  }
  session->CommitHead();
  for (size_t i = 0; i < n; ++i) {
    if (!refused[i].ok()) {
      conn->sink(i)->EndUpstream(refused[i]);
      continue;
    }
    calls[i].req.set_remote_addr(ip);
    StartCall(*sub_routes[i], calls[i], conn->sink(i), /*collect=*/false,
              /*head_now=*/true);
  }
}

bool FrontendServer::ClientUsesTls(const Http::Request& request) const {
  if (!trusted_proxies_.contains(request.address().host())) return false;
  return absl::EqualsIgnoreCase(
      HeaderValue(request, "x-forwarded-proto").value_or(""), "https");
}

AuthOutcome FrontendServer::AuthorizeRequest(const RouteRuntime& route,
                                             const Http::Request& request) {
  const ProviderRuntime& provider = *route.provider;
  AuthInputs in;
  in.authorization = HeaderValue(request, "authorization");
  in.cookie_header = HeaderValue(request, "cookie").value_or("");
  if (const std::string& q = route.config->token_query_param(); !q.empty()) {
    if (auto v = request.query().get(q)) {
      absl::StatusOr<std::string> decoded = PercentDecode(*v, true);
      in.query_token = decoded.ok() ? *decoded : std::string("!");
    }
  }
  AuthOutcome a =
      Authorize(route.auth_mode, *provider.verifier, provider.config->cookie(),
                route.config->require_claims(), in, absl::Now());
  // CSRF: a browser sends cookies with cross-site form posts; a cookie-
  // authenticated POST must come from this site or an allowed origin.
  if (a.status == 0 && a.source == TokenSource::kCookie &&
      request.method() == Http::Method::Post &&
      !OriginAllowed(HeaderValue(request, "origin"),
                     HeaderValue(request, "referer"),
                     HeaderValue(request, "host"), cors_origins_)) {
    a.status = 403;
    a.reason = "origin";
    a.detail = "cookie-authenticated POST from a foreign or unknown origin";
    a.token.reset();
  }
  return a;
}

bool FrontendServer::Authenticate(
    const RouteRuntime& route, const Http::Request& request,
    Http::ResponseWriter& response,
    std::optional<auth::VerifiedToken>& identity) {
  AuthOutcome a = AuthorizeRequest(route, request);
  if (a.status == 0) {
    identity = std::move(a.token);
    return true;
  }
  route.stats->CountAuthRefusal(a.reason);
  spdlog::info("auth refused route={} client={} status={} reason={}: {}",
               route.settings.route_path, ClientIp(request), a.status, a.reason,
               a.detail);
  if (a.status == 401 || a.reason == "forbidden") {
    response.headers().add<WwwAuthenticateHeader>(WwwAuthenticate(a));
  }
  for (const std::string& h : CorsHeaders(request)) {
    const size_t colon = h.find(':');
    if (h.compare(0, colon, "Access-Control-Allow-Origin") == 0) {
      response.headers().add<AcaoHeader>(h.substr(colon + 2));
    } else if (h.compare(0, colon, "Access-Control-Allow-Credentials") == 0) {
      response.headers().add<AcacHeader>(h.substr(colon + 2));
    } else {
      response.headers().add<VaryHeader>(h.substr(colon + 2));
    }
  }
  SendPlain(response, a.status,
            a.status == 401 ? absl::StrCat("unauthorized: ", a.reason, "\n")
                            : absl::StrCat("forbidden: ", a.reason, "\n"));
  return false;
}

}  // namespace ssebridge::frontend
