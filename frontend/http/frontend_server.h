// FrontendServer: the HTTP side of sse-bridge. Wires Pistache (request
// parsing on its reactor threads) to routes, admission limits, gRPC backend
// pools and the IoLoops that relay each stream. Pistache only parses
// requests and answers plain ones (404, 405, 400, /healthz, /metrics, static
// files); for a stream the handler takes the connection over and hands it
// to the relay (see frontend/relay/stream_session.h for why).
//
// Thread-safety: Start/Shutdown/Stop from one controlling thread; request
// handling runs on Pistache's threads and only reads immutable state or
// thread-safe members.
#ifndef SSEBRIDGE_FRONTEND_HTTP_FRONTEND_SERVER_H_
#define SSEBRIDGE_FRONTEND_HTTP_FRONTEND_SERVER_H_

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frontend/auth/token_verifier.h"
#include "frontend/http/dev_login.h"
#include "frontend/http/request_auth.h"
#include "frontend/http/mux_query.h"
#include "frontend/http/router.h"
#include "frontend/http/stream_request.h"
#include "frontend/http/static_files.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/event_rpc.h"
#include "frontend/relay/io_loop.h"
#include "frontend/relay/session_settings.h"
#include "frontend/relay/shared_call.h"
#include "frontend/relay/stream_registry.h"
#include "frontend/relay/stream_session.h"
#include "frontend/upstream/backend_health.h"
#include "frontend/upstream/backend_pool.h"
#include "frontend/upstream/method_codec.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

class FrontendServer {
 public:
  // `config` must have passed the config loader's validation.
  static absl::StatusOr<std::unique_ptr<FrontendServer>> Create(
      const ssebridge::config::v1::FrontendConfig& config);
  ~FrontendServer();

  // Binds and starts serving; port() is valid afterwards.
  absl::Status Start();
  uint16_t port() const { return port_; }

  // Graceful stop: stop accepting, send every stream a final "shutdown"
  // event with a retry hint, cancel the calls, and wait up to `grace` for
  // the streams to drain before closing what is left.
  void Shutdown(absl::Duration grace);

  // Re-reads every auth provider's JWKS file now (SIGHUP); a file that does
  // not parse keeps its old keys (logged).
  void ReloadKeys();

  FrontendStats& stats() { return stats_; }
  // Streams whose socket is still open.
  int64_t open_sessions() const;
  // Session objects alive (socket side or gRPC side not yet done).
  int64_t live_sessions() const {
    return stats_.open_streams.load(std::memory_order_relaxed);
  }

  // Called by the Pistache handler (public for the handler class only).
  void HandleRequest(const Pistache::Http::Request& request,
                     Pistache::Http::ResponseWriter& response);

 private:
  struct ProviderRuntime {
    const ssebridge::config::v1::AuthProvider* config;
    std::shared_ptr<auth::JwksFile> keys;
    std::unique_ptr<auth::TokenVerifier> verifier;
    absl::flat_hash_set<std::string> claim_keys;  // metadata keys it sets
  };
  struct RouteRuntime {
    const ssebridge::config::v1::Route* config;
    std::unique_ptr<RouteStats> stats;  // stable address for sessions
    SessionSettings settings;
    BackendPool* backend;
    std::string action;
    std::vector<std::string> forward_headers;  // lower case
    absl::Duration connect_timeout;
    std::unique_ptr<SharedCalls> shared;  // set for shared (fan-out) routes
    // Set for `grpc` routes: the method, called instead of the action.
    std::shared_ptr<const MethodCodec> codec;
    AuthMode auth_mode = AuthMode::kOff;
    const ProviderRuntime* provider = nullptr;  // set unless auth is off
    // Mux routes: the allow-list, max_streams and top-level keys, and the
    // allowed routes by path.
    std::unique_ptr<MuxPolicy> mux;
    absl::flat_hash_map<std::string, const RouteRuntime*> mux_routes;
  };
  // A call made ready for a route (request, metadata, method request).
  struct PreparedCall {
    ssebridge::action::v1::ActionRequest req;
    CallMetadata metadata;
    MethodCodec::Request method_request;
  };

  explicit FrontendServer(const ssebridge::config::v1::FrontendConfig& config);
  // Looks every `grpc` route's method up in its descriptor_set, or in its
  // backend's server reflection (one fetch per backend), and makes its
  // codec. Errors name the route's key.
  absl::Status ResolveMethods();
  void HandleStream(const RouteRuntime& route,
                    const Pistache::Http::Request& request,
                    Pistache::Http::ResponseWriter& response);
  // A mux route: parses the sub-streams, prepares each as its route would
  // be (auth, request, codec), refusing the request before anything starts,
  // then opens one session fed by a MuxConnection.
  void HandleMux(const RouteRuntime& route,
                 const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter& response);
  // What HandleStream does between parsing and admission: the request the
  // service gets, forwarded metadata, identity, method request. An error is
  // a 400 message.
  absl::Status PrepareCall(const RouteRuntime& route, StreamRequest parsed,
                           const std::optional<auth::VerifiedToken>& identity,
                           PreparedCall& out);
  // Starts (or joins, on a shared route) the call for `sink`.
  void StartCall(const RouteRuntime& route, PreparedCall& call,
                 const std::shared_ptr<StreamSink>& sink, bool collect,
                 bool head_now);
  // Takes the connection over from Pistache (see HandleStream); returns our
  // descriptor for it, or -1 (then nothing was changed).
  int TakeOver(Pistache::Http::ResponseWriter& response);
  // Warns at start-up when the descriptor limit is below max_connections.
  void LogFdBudget() const;
  std::string ClientIp(const Pistache::Http::Request& request) const;
  void HandleReadyz(Pistache::Http::ResponseWriter& response);
  void HandleMetrics(Pistache::Http::ResponseWriter& response);
  void HandlePreflight(const Router::Match& match,
                       const Pistache::Http::Request& request,
                       Pistache::Http::ResponseWriter& response);
  void HandleStatic(const Pistache::Http::Request& request,
                    Pistache::Http::ResponseWriter& response);
  // Auth for a route with auth on: fills `identity` and returns true, or
  // answers 401/403 and returns false.
  bool Authenticate(const RouteRuntime& route,
                    const Pistache::Http::Request& request,
                    Pistache::Http::ResponseWriter& response,
                    std::optional<auth::VerifiedToken>& identity);
  // The auth decision for a request on a route with auth on (CSRF checked),
  // without answering.
  AuthOutcome AuthorizeRequest(const RouteRuntime& route,
                               const Pistache::Http::Request& request);
  // Whether the client reached the edge over TLS (a trusted proxy says so).
  bool ClientUsesTls(const Pistache::Http::Request& request) const;
  std::vector<std::string> CorsHeaders(
      const Pistache::Http::Request& request) const;

  const ssebridge::config::v1::FrontendConfig config_;
  Router router_;
  StaticFiles static_files_;
  FrontendStats stats_;
  StreamRegistry registry_;
  absl::flat_hash_map<std::string, std::unique_ptr<BackendPool>> backends_;
  absl::flat_hash_map<std::string, std::unique_ptr<BackendHealth>> health_;
  absl::flat_hash_map<std::string, std::unique_ptr<ProviderRuntime>> providers_;
  absl::flat_hash_set<std::string> token_cookies_;  // never forwarded
  std::unique_ptr<DevLogin> dev_login_;
  std::vector<RouteRuntime> routes_;
  std::vector<std::unique_ptr<IoLoop>> loops_;
  std::atomic<uint32_t> next_loop_{0};
  absl::flat_hash_set<std::string> cors_origins_;
  absl::flat_hash_set<std::string> trusted_proxies_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  uint16_t port_ = 0;
  uint64_t fd_limit_ = 0;  // RLIMIT_NOFILE after raising; set in Start()
  uint32_t socket_unsent_bytes_ = 0;  // limits.socket_unsent_bytes
  std::atomic<bool> stopping_{false};
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_FRONTEND_SERVER_H_
