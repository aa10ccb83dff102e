#include "frontend/http/router.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

TEST(RouterTest, ExactPathsAndMethods) {
  ssebridge::config::v1::FrontendConfig cfg;
  auto* a = cfg.add_routes();
  a->set_path("/api/chat_stream");
  auto* b = cfg.add_routes();
  b->set_path("/api/chat");
  b->add_methods("POST");
  b->add_methods("GET");
  Router r(cfg);
  auto m = r.Find("/api/chat_stream", "GET");
  EXPECT_EQ(m.outcome, Router::Outcome::kMatched);
  EXPECT_EQ(m.route_index, 0);
  EXPECT_EQ(r.Find("/api/chat", "POST").route_index, 1);
  m = r.Find("/api/chat_stream", "POST");  // methods default to GET only
  EXPECT_EQ(m.outcome, Router::Outcome::kMethodNotAllowed);
  EXPECT_THAT(m.allowed, ::testing::ElementsAre("GET"));
  EXPECT_EQ(r.Find("/api/chat_stream/", "GET").outcome,
            Router::Outcome::kNotFound);
  EXPECT_EQ(r.Find("/API/chat", "GET").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(r.Find("/api", "GET").outcome, Router::Outcome::kNotFound);
}

}  // namespace
}  // namespace ssebridge::frontend
