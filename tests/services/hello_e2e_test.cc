// The "Add a service" walkthrough of services/README.md as a test, step by
// step: register the hello handler on an ActionServer, add its route to a
// frontend YAML config, start both, and read the events over HTTP like a
// browser.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/config/config_loader.h"
#include "frontend/http/frontend_server.h"
#include "gtest/gtest.h"
#include "services/hello/hello.h"
#include "spdlog/spdlog.h"
#include "tests/services/service_test_util.h"
#include "tests/util/sse_client.h"

namespace ssebridge::services::hello {
namespace {

using ::ssebridge::testing::kWait;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::WaitFor;

TEST(HelloE2eTest, FollowsTheReadmeSteps) {
  spdlog::set_level(spdlog::level::warn);

  // Steps 1 and 2: the shared contract and the handler, served on a free
  // port (main.cc would call Serve instead).
  sdk::ActionServer server;
  RegisterHello(server, absl::Milliseconds(5));
  auto running = server.Start("127.0.0.1:0");
  ASSERT_TRUE(running.ok()) << running.status();

  // Step 3: the route in the frontend's YAML config.
  const std::string yaml = absl::StrCat(R"(
listen:
  address: 127.0.0.1
  port: 0
backends:
  - name: hello
    target: 127.0.0.1:)",
                                        (*running)->port(), R"(
routes:
  - path: /api/hello       # the action defaults to the last path segment
    backend: hello         # methods default to [GET]
logging:
  level: warn
)");
  auto config = frontend::ParseConfigYaml(yaml, "hello.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->routes(0).action(), "hello");

  // Step 4: run it, and ask like the page's sse-connect does.
  auto frontend = frontend::FrontendServer::Create(*config);
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  ASSERT_TRUE((*frontend)->Start().ok());

  SseClient c;
  ASSERT_TRUE(c.Connect((*frontend)->port()));
  ASSERT_TRUE(c.Get("/api/hello?name=Ann%20%3Cadmin%3E"));
  ASSERT_TRUE(c.ReadToEof(kWait));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.header("content-type"), "text/event-stream; charset=utf-8");
  ASSERT_EQ(c.events().size(), 4u) << c.raw_body();
  EXPECT_EQ(c.events()[0].type, "message");
  EXPECT_EQ(c.events()[0].data, "<p class=\"hello\">Hello,</p>");
  EXPECT_EQ(c.events()[1].data, "<p class=\"hello\">Hello, Ann</p>");
  EXPECT_EQ(c.events()[2].type, "message");
  EXPECT_EQ(c.events()[2].data,
            "<p class=\"hello\">Hello, Ann &lt;admin&gt;!</p>");
  EXPECT_EQ(c.events()[3].type, "done");

  // Without a name: the world.
  SseClient w;
  ASSERT_TRUE(w.Connect((*frontend)->port()));
  ASSERT_TRUE(w.Get("/api/hello"));
  ASSERT_TRUE(w.ReadToEof(kWait));
  ASSERT_EQ(w.events().size(), 3u);
  EXPECT_EQ(w.events()[1].data, "<p class=\"hello\">Hello, world!</p>");

  EXPECT_TRUE(WaitFor([&] { return (*frontend)->live_sessions() == 0; }));
  (*frontend)->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace ssebridge::services::hello
