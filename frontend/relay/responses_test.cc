#include "frontend/relay/responses.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::HasSubstr;

TEST(ResponsesTest, SseHeadHasTheStreamHeaders) {
  const std::string head = SseResponseHead({"Vary: Origin"});
  EXPECT_THAT(head, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Type: text/event-stream; charset=utf-8\r\n"));
  EXPECT_THAT(head, HasSubstr("Cache-Control: no-cache, no-transform\r\n"));
  EXPECT_THAT(head, HasSubstr("X-Accel-Buffering: no\r\n"));
  EXPECT_THAT(head, HasSubstr("Vary: Origin\r\n\r\n"));
  EXPECT_THAT(head, ::testing::Not(HasSubstr("Content-Length")));
}

TEST(ResponsesTest, SimpleResponseIsComplete) {
  EXPECT_EQ(SimpleResponse(503, "busy\n", {"Retry-After: 5"}),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
            "charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n"
            "Retry-After: 5\r\n\r\nbusy\n");
}

TEST(ResponsesTest, UpstreamCodesMapToHttp) {
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusForUpstream(absl::StatusCode::kInternal), 502);
}

}  // namespace
}  // namespace ssebridge::frontend
