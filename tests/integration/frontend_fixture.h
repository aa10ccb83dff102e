// What the integration tests share to stand up a real frontend: a config
// listening on an ephemeral 127.0.0.1 port with one backend named "test",
// creating plus starting the server, and a plain HTTP/1.1 exchange with it.
// Test code only.
#ifndef SSEBRIDGE_TESTS_INTEGRATION_FRONTEND_FIXTURE_H_
#define SSEBRIDGE_TESTS_INTEGRATION_FRONTEND_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "frontend/http/frontend_server.h"
#include "gtest/gtest.h"
#include "ssebridge/config/v1/config.pb.h"
#include "tests/util/sse_client.h"

namespace ssebridge::frontend::integration {

// Listens on 127.0.0.1:0; one backend "test" at `target`; no routes.
inline ssebridge::config::v1::FrontendConfig LoopbackConfig(
    const std::string& target) {
  ssebridge::config::v1::FrontendConfig cfg;
  cfg.mutable_listen()->set_address("127.0.0.1");
  cfg.mutable_listen()->set_port(0);
  auto* b = cfg.add_backends();
  b->set_name("test");
  b->set_target(target);
  return cfg;
}

// Creates and starts a frontend for `cfg`; on failure the test fails with
// the reason and the result is null.
inline std::unique_ptr<FrontendServer> StartFrontend(
    const ssebridge::config::v1::FrontendConfig& cfg) {
  auto server = FrontendServer::Create(cfg);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  const absl::Status started = (*server)->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  return std::move(*server);
}

// Sends `raw` (a whole request) on a new connection; returns the client
// once the response head and its Content-Length body are in.
inline std::unique_ptr<ssebridge::testing::SseClient> Exchange(
    int port, const std::string& raw) {
  auto c = std::make_unique<ssebridge::testing::SseClient>();
  EXPECT_TRUE(c->Connect(port));
  EXPECT_TRUE(c->SendAll(raw));
  c->ReadHead();
  size_t n = 0;
  if (absl::SimpleAtoi(c->header("content-length"), &n)) {
    c->ReadUntil([&] { return c->raw_body().size() >= n; });
  }
  return c;
}

}  // namespace ssebridge::frontend::integration

#endif  // SSEBRIDGE_TESTS_INTEGRATION_FRONTEND_FIXTURE_H_
