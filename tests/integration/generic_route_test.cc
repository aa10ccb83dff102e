// `grpc` routes (issue 20) through a real FrontendServer on 127.0.0.1
// (ephemeral port) against ReadingsServer, a gRPC server that knows nothing
// of sse-bridge and offers the standard health service and server
// reflection: grpc.health.v1.Health/Watch as a live SSE stream with its
// descriptors fetched by reflection, and a 400 naming an unknown field.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "frontend/http/frontend_server.h"
#include "gtest/gtest.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/readings_service.h"
#include "tests/util/sse_client.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::ReadingsServer;
using ::ssebridge::testing::SseClient;

constexpr absl::Duration kRead = absl::Seconds(10);

FrontendConfig HealthConfig(const std::string& target) {
  FrontendConfig cfg = integration::LoopbackConfig(target);
  auto* r = cfg.add_routes();
  r->set_path("/health");
  r->add_methods("GET");
  r->set_backend("test");
  r->set_terminal_event("done");
  r->mutable_grpc()->set_method("grpc.health.v1.Health/Watch");
  r->mutable_grpc()->set_event_field("status");
  return cfg;
}

TEST(GenericRouteTest, HealthWatchByReflectionIsALiveStream) {
  ReadingsServer backend(/*reflection=*/true);
  backend.SetServing("readings", true);
  auto frontend = integration::StartFrontend(HealthConfig(backend.target()));
  ASSERT_NE(frontend, nullptr);

  SseClient c;
  ASSERT_TRUE(c.Connect(frontend->port()));
  ASSERT_TRUE(c.Get("/health?service=readings"));
  ASSERT_TRUE(c.ReadHead(kRead));
  ASSERT_EQ(c.status(), 200);
  ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 1; }, kRead));
  EXPECT_EQ(c.events()[0].type, "SERVING");
  EXPECT_EQ(c.events()[0].data, R"({"status":"SERVING"})");

  backend.SetServing("readings", false);
  ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 2; }, kRead));
  EXPECT_EQ(c.events()[1].type, "NOT_SERVING");
  EXPECT_EQ(c.events()[1].data, R"({"status":"NOT_SERVING"})");

  c.Close();
  frontend->Shutdown(absl::Seconds(2));
}

TEST(GenericRouteTest, UnknownFieldIsA400NamingIt) {
  ReadingsServer backend(/*reflection=*/true);
  auto frontend = integration::StartFrontend(HealthConfig(backend.target()));
  ASSERT_NE(frontend, nullptr);
  auto c = integration::Exchange(
      frontend->port(),
      "GET /health?servise=x HTTP/1.1\r\nHost: x\r\n"
      "Accept: text/event-stream\r\n\r\n");
  EXPECT_EQ(c->status(), 400);
  EXPECT_TRUE(absl::StrContains(c->raw_body(), "servise")) << c->raw_body();
  frontend->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace ssebridge::frontend
