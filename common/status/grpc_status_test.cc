#include "common/status/grpc_status.h"

#include "gtest/gtest.h"

namespace ssebridge::common {
namespace {

TEST(GrpcStatusTest, RoundTripsEveryCode) {
  for (int c = 0; c <= 16; ++c) {
    grpc::Status g(static_cast<grpc::StatusCode>(c), c == 0 ? "" : "msg");
    absl::Status a = ToAbslStatus(g);
    EXPECT_EQ(static_cast<int>(a.code()), c);
    grpc::Status back = ToGrpcStatus(a);
    EXPECT_EQ(back.error_code(), g.error_code());
    EXPECT_EQ(back.error_message(), g.error_message());
  }
}

TEST(GrpcStatusTest, OutOfRangeIsUnknown) {
  // absl::StatusCode has a fixed underlying type, so any int is a valid
  // value; grpc::StatusCode does not, so only known codes may be formed.
  absl::Status a(static_cast<absl::StatusCode>(99), "weird");
  grpc::Status g = ToGrpcStatus(a);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(g.error_message(), "weird");
}

TEST(GrpcStatusTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kDeadlineExceeded),
            "DEADLINE_EXCEEDED");
}

}  // namespace
}  // namespace ssebridge::common
