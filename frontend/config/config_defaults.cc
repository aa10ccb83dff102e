#include "frontend/config/config_defaults.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;

void SetDuration(google::protobuf::Duration* d, int64_t millis) {
  d->set_seconds(millis / 1000);
  d->set_nanos(static_cast<int32_t>(millis % 1000 * 1'000'000));
}

// Returns the last non-empty path segment ("/api/chat_stream" ->
// "chat_stream"), the documented default action.
std::string LastPathSegment(absl::string_view path) {
  std::string last;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    last = std::string(part);
  }
  return last;
}

}  // namespace

void ApplyDefaults(const GivenKeys& given, FrontendConfig& config) {
  auto absent = [&given](const std::string& path) {
    return given.count(path) == 0;
  };

  auto* listen = config.mutable_listen();
  if (absent("listen.address")) listen->set_address("127.0.0.1");
  if (absent("listen.port")) listen->set_port(8080);
  if (absent("listen.threads")) listen->set_threads(1);
  if (absent("listen.io_threads")) listen->set_io_threads(1);
  if (absent("listen.header_timeout")) {
    SetDuration(listen->mutable_header_timeout(), 10'000);
  }
  if (absent("listen.idle_timeout")) {
    SetDuration(listen->mutable_idle_timeout(), 60'000);
  }
  if (absent("listen.max_request_bytes")) {
    listen->set_max_request_bytes(1 << 20);
  }

  for (int i = 0; i < config.backends_size(); ++i) {
    auto* backend = config.mutable_backends(i);
    const std::string p = IndexPath("backends", static_cast<size_t>(i));
    if (absent(p + ".channels")) backend->set_channels(1);
    if (absent(p + ".connect_timeout")) {
      SetDuration(backend->mutable_connect_timeout(), 2'000);
    }
    if (absent(p + ".health_check")) backend->set_health_check("grpc");
  }

  for (int i = 0; i < config.routes_size(); ++i) {
    auto* route = config.mutable_routes(i);
    const std::string p = IndexPath("routes", static_cast<size_t>(i));
    if (absent(p + ".methods")) route->add_methods("GET");
    if (route->has_mux()) {
      if (absent(p + ".mux.max_streams")) {
        route->mutable_mux()->set_max_streams(8);
      }
    } else if (absent(p + ".action") && !route->has_grpc()) {
      route->set_action(LastPathSegment(route->path()));
    }
    if (absent(p + ".terminal_event")) route->set_terminal_event("done");
    if (absent(p + ".heartbeat")) {
      SetDuration(route->mutable_heartbeat(), 15'000);
    }
    if (absent(p + ".auth")) route->set_auth("off");
    if (route->has_replay()) {
      auto* replay = route->mutable_replay();
      if (absent(p + ".replay.events")) replay->set_events(1000);
      if (absent(p + ".replay.max_age")) {
        SetDuration(replay->mutable_max_age(), 300'000);
      }
      if (absent(p + ".replay.max_bytes")) replay->set_max_bytes(1 << 20);
      if (absent(p + ".replay.reset_event")) replay->set_reset_event("reset");
    }
    // The single provider, when there is one and the route names none.
    if (absent(p + ".auth_provider") && config.auth().providers_size() == 1) {
      route->set_auth_provider(config.auth().providers(0).name());
    }
  }

  auto* auth = config.mutable_auth();
  if (absent("auth.expired_event")) auth->set_expired_event("auth-expired");
  for (int i = 0; i < auth->providers_size(); ++i) {
    auto* provider = auth->mutable_providers(i);
    const std::string p = IndexPath("auth.providers", static_cast<size_t>(i));
    if (absent(p + ".algorithms")) {
      provider->add_algorithms("RS256");
      provider->add_algorithms("ES256");
    }
    if (absent(p + ".leeway")) SetDuration(provider->mutable_leeway(), 60'000);
    if (absent(p + ".cookie")) provider->set_cookie("ssebridge_token");
    if (absent(p + ".max_token_bytes")) provider->set_max_token_bytes(8192);
  }
  if (config.auth().has_dev_login()) {
    auto* dev = auth->mutable_dev_login();
    if (absent("auth.dev_login.ttl")) SetDuration(dev->mutable_ttl(), 900'000);
    if (absent("auth.dev_login.provider") && auth->providers_size() == 1) {
      dev->set_provider(auth->providers(0).name());
    }
  }

  auto* limits = config.mutable_limits();
  if (absent("limits.max_connections")) limits->set_max_connections(10'000);
  if (absent("limits.high_water_bytes")) {
    limits->set_high_water_bytes(256 * 1024);
  }
  if (absent("limits.low_water_bytes")) limits->set_low_water_bytes(64 * 1024);
  if (absent("limits.write_timeout")) {
    SetDuration(limits->mutable_write_timeout(), 30'000);
  }
  if (absent("limits.max_event_bytes")) {
    limits->set_max_event_bytes(4 << 20);
  }
  if (absent("limits.retry_after_seconds")) limits->set_retry_after_seconds(5);
  if (absent("limits.socket_unsent_bytes")) {
    limits->set_socket_unsent_bytes(16 * 1024);
  }

  if (absent("shutdown_grace")) {
    SetDuration(config.mutable_shutdown_grace(), 10'000);
  }
  if (absent("logging.level")) config.mutable_logging()->set_level("info");
}

}  // namespace ssebridge::frontend
