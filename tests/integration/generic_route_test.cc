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
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "absl/strings/str_cat.h"
#include "tests/util/test_util.h"
#include "gtest/gtest.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/readings_service.h"
#include "tests/util/sse_client.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::ReadingsServer;
using ::ssebridge::testing::ReadingsService;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::WaitFor;

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
  r = cfg.add_routes();
  r->set_path("/readings");
  r->add_methods("GET");
  r->set_backend("test");
  r->set_terminal_event("done");
  r->mutable_grpc()->set_method("ssebridge.test.v1.Readings/Watch");
  r->mutable_grpc()->set_event_field("kind");
  r->mutable_grpc()->set_id_field("seq");
  r->mutable_grpc()->set_resume_field("after_seq");
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

// Each response is one event whose data is its proto3 JSON (nested
// messages, enums, repeated, int64 as a string, bytes as base64, oneof,
// Timestamp, map), named by event_field and with id_field as its SSE id;
// the method ending OK gives the terminal event.
TEST(GenericRouteTest, ResponsesAreProto3JsonEvents) {
  ReadingsServer backend(/*reflection=*/true);
  auto frontend = integration::StartFrontend(HealthConfig(backend.target()));
  ASSERT_NE(frontend, nullptr);
  SseClient c;
  ASSERT_TRUE(c.Connect(frontend->port()));
  ASSERT_TRUE(c.Get("/readings?topic=t&count=3&start_seq=5&labels=a&tag=json"));
  ASSERT_TRUE(c.ReadHead(kRead));
  ASSERT_EQ(c.status(), 200);
  ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 4; }, kRead));
  auto request = backend.service().last_request("json");
  ASSERT_TRUE(request.has_value());
  for (int i = 0; i < 3; ++i) {
    const auto reading = ReadingsService::MakeReading(*request, 5 + i);
    // Equal as messages (map entries may come in any order), and int64 /
    // uint64 as JSON strings, bytes as base64, Timestamp as RFC 3339.
    ssebridge::test::v1::Reading got;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(c.events()[i].data, &got)
            .ok())
        << c.events()[i].data;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, reading))
        << c.events()[i].data;
    EXPECT_TRUE(absl::StrContains(c.events()[i].data,
                                  absl::StrCat("\"seq\":\"", 5 + i, "\"")));
    EXPECT_TRUE(absl::StrContains(c.events()[i].data, "\"blob\":\"AHQ=\""));
    EXPECT_TRUE(absl::StrContains(c.events()[i].data,
                                  absl::StrCat("\"time\":\"1970-01-01T00:00:0",
                                               5 + i, "Z\"")));
    EXPECT_EQ(c.events()[i].type, reading.kind().empty() ? "message" : reading.kind());
    EXPECT_EQ(c.events()[i].last_event_id, std::to_string(5 + i));
  }
  EXPECT_EQ(c.events()[3].type, "done");
  frontend->Shutdown(absl::Seconds(2));
}

// The browser leaving cancels the method's call at once.
TEST(GenericRouteTest, ClientLeavingCancelsTheCall) {
  ReadingsServer backend(/*reflection=*/true);
  auto frontend = integration::StartFrontend(HealthConfig(backend.target()));
  ASSERT_NE(frontend, nullptr);
  {
    SseClient c;
    ASSERT_TRUE(c.Connect(frontend->port()));
    ASSERT_TRUE(c.Get("/readings?topic=t&count=0&interval_ms=10&tag=leave"));
    ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 2; }, kRead));
    c.Close();
  }
  EXPECT_TRUE(WaitFor(
      [&] { return backend.service().cancel_time("leave").has_value(); },
      kRead));
  frontend->Shutdown(absl::Seconds(2));
}

// A method that is not server-streaming is a start-up error naming the key.
TEST(GenericRouteTest, UnaryMethodIsAStartUpErrorNamingTheKey) {
  ReadingsServer backend(/*reflection=*/true);
  FrontendConfig cfg = HealthConfig(backend.target());
  cfg.mutable_routes(1)->mutable_grpc()->set_method(
      "ssebridge.test.v1.Readings/Get");
  auto server = FrontendServer::Create(cfg);
  absl::Status s = server.ok() ? (*server)->Start() : server.status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "routes[1].grpc.method")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "unary")) << s;
  if (server.ok()) (*server)->Shutdown(absl::Seconds(1));
}

// descriptor_set instead of reflection: a server without reflection (each
// test runs in its own process under ctest, and reflection is process-wide
// once on, so this holds only when it is the first server here).
TEST(GenericRouteTest, DescriptorSetNeedsNoReflection) {
  if (ReadingsServer::ReflectionOn()) GTEST_SKIP() << "reflection already on";
  ReadingsServer backend(/*reflection=*/false);
  FrontendConfig cfg = HealthConfig(backend.target());
  cfg.mutable_routes()->DeleteSubrange(0, 1);  // health: not in the set
  cfg.mutable_routes(0)->mutable_grpc()->set_descriptor_set(
      SSEBRIDGE_READINGS_DESCRIPTOR_SET);
  auto frontend = integration::StartFrontend(cfg);
  ASSERT_NE(frontend, nullptr);
  SseClient c;
  ASSERT_TRUE(c.Connect(frontend->port()));
  ASSERT_TRUE(c.Get("/readings?topic=t&count=2&start_seq=3&tag=set"));
  ASSERT_TRUE(c.ReadHead(kRead));
  ASSERT_EQ(c.status(), 200);
  ASSERT_TRUE(c.ReadUntil([&] { return c.events().size() >= 3; }, kRead));
  EXPECT_TRUE(absl::StrContains(c.events()[0].data, "\"seq\":\"3\""))
      << c.events()[0].data;
  EXPECT_EQ(c.events()[2].type, "done");
  frontend->Shutdown(absl::Seconds(2));
}

// A shared route over a generic method: streams with the same request share
// one call; the last to leave cancels it.
TEST(GenericRouteTest, SharedRouteSharesOneCall) {
  ReadingsServer backend(/*reflection=*/true);
  FrontendConfig cfg = HealthConfig(backend.target());
  cfg.mutable_routes(1)->set_shared(true);
  auto frontend = integration::StartFrontend(cfg);
  ASSERT_NE(frontend, nullptr);
  const std::string url = "/readings?topic=t&count=0&interval_ms=10&tag=sh";
  SseClient a, b;
  ASSERT_TRUE(a.Connect(frontend->port()));
  ASSERT_TRUE(a.Get(url));
  ASSERT_TRUE(a.ReadUntil([&] { return a.events().size() >= 1; }, kRead));
  ASSERT_TRUE(b.Connect(frontend->port()));
  ASSERT_TRUE(b.Get(url));
  ASSERT_TRUE(b.ReadUntil([&] { return b.events().size() >= 2; }, kRead));
  EXPECT_EQ(backend.service().started(), 1);
  a.Close();
  b.Close();
  EXPECT_TRUE(WaitFor(
      [&] { return backend.service().cancel_time("sh").has_value(); }, kRead));
  frontend->Shutdown(absl::Seconds(2));
}

// A JSON body that is not JSON, or names a field the request lacks: 400.
TEST(GenericRouteTest, BadJsonBodyIsA400) {
  ReadingsServer backend(/*reflection=*/true);
  FrontendConfig cfg = HealthConfig(backend.target());
  cfg.mutable_routes(1)->add_methods("POST");
  auto frontend = integration::StartFrontend(cfg);
  ASSERT_NE(frontend, nullptr);
  auto post = [&](const std::string& body) {
    return integration::Exchange(
        frontend->port(),
        absl::StrCat("POST /readings HTTP/1.1\r\nHost: x\r\n"
                     "Accept: text/event-stream\r\n"
                     "Content-Type: application/json\r\nContent-Length: ",
                     body.size(), "\r\n\r\n", body));
  };
  auto bad = post("{not json");
  EXPECT_EQ(bad->status(), 400) << bad->raw_body();
  auto unknown = post(R"({"topic":"t","nope":1})");
  EXPECT_EQ(unknown->status(), 400) << unknown->raw_body();
  EXPECT_TRUE(absl::StrContains(unknown->raw_body(), "nope"))
      << unknown->raw_body();
  frontend->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace ssebridge::frontend
