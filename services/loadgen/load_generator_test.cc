// Tests of the loadgen service: parameter parsing, the payload format, and
// the `load` action end to end through an in-process ActionServer and a real
// gRPC client. Every wait is bounded by a call deadline.
#include "services/loadgen/load_generator.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::loadgen {
namespace {

namespace v1 = ::ssebridge::action::v1;

sdk::Request Req(std::vector<std::pair<std::string, std::string>> params) {
  v1::ActionRequest proto;
  proto.set_action("load");
  for (auto& [k, v] : params) (*proto.mutable_params())[k] = v;
  return sdk::Request(proto);
}

TEST(ParseLoadParamsTest, DefaultsAndValues) {
  auto d = ParseLoadParams(Req({}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rate, 0);
  EXPECT_EQ(d->count, 0);
  EXPECT_EQ(d->bytes, 64u);
  EXPECT_FALSE(d->idle);
  EXPECT_EQ(d->start_ms, 0);
  EXPECT_FALSE(d->ids);
  auto p = ParseLoadParams(Req({{"rate", "10.5"},
                                {"count", "7"},
                                {"bytes", "200"},
                                {"idle", "1"},
                                {"start_ms", "1500"},
                                {"ids", "1"}}));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->ids);
  EXPECT_EQ(p->start_ms, 1500);
  EXPECT_EQ(p->rate, 10.5);
  EXPECT_EQ(p->count, 7);
  EXPECT_EQ(p->bytes, 200u);
  EXPECT_TRUE(p->idle);
}

TEST(ParseLoadParamsTest, RejectsBadValues) {
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"rate", "-1"},
           {"rate", "x"},
           {"rate", "nan"},
           {"count", "-3"},
           {"bytes", "99999999"},
           {"idle", "yes"},
           {"ids", "2"},
           {"start_ms", "-1"},
           {"start_ms", "60001"}}) {
    auto p = ParseLoadParams(Req({{k, v}}));
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument)
        << k << "=" << v;
  }
}

TEST(MakePayloadTest, PrefixThenPadding) {
  EXPECT_EQ(MakePayload(123, 4, 20), "t=123 seq=4 xxxxxxxx");
  EXPECT_EQ(MakePayload(123, 4, 0), "t=123 seq=4 ");
}

class LoadActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sdk::ActionServer server;
    generator_.Register(server);
    auto running = server.Start("127.0.0.1:0");
    ASSERT_TRUE(running.ok()) << running.status();
    running_ = *std::move(running);
    stub_ = v1::ActionService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", running_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (running_) running_->Shutdown();
    generator_.Stop();
  }

  // Runs one call to its end (or the deadline) and returns its payloads.
  std::vector<std::string> Run(
      std::vector<std::pair<std::string, std::string>> params,
      grpc::Status* status,
      std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    v1::ActionRequest request;
    request.set_action("load");
    for (auto& [k, v] : params) (*request.mutable_params())[k] = v;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    auto reader = stub_->Run(&context, request);
    std::vector<std::string> out;
    v1::Event event;
    while (reader->Read(&event)) out.push_back(event.raw());
    *status = reader->Finish();
    return out;
  }

  LoadGenerator generator_{2};
  std::unique_ptr<sdk::RunningServer> running_;
  std::unique_ptr<v1::ActionService::Stub> stub_;
};

// Checks "t=<ns> seq=<want_seq> " + padding, and that t is recent.
void ExpectEvent(const std::string& payload, uint64_t want_seq, size_t bytes) {
  EXPECT_EQ(payload.size(), bytes);
  std::vector<std::string> parts = absl::StrSplit(payload, ' ');
  ASSERT_GE(parts.size(), 3u) << payload;
  int64_t t = 0;
  uint64_t seq = 0;
  ASSERT_TRUE(parts[0].rfind("t=", 0) == 0 &&
              absl::SimpleAtoi(parts[0].substr(2), &t));
  ASSERT_TRUE(parts[1].rfind("seq=", 0) == 0 &&
              absl::SimpleAtoi(parts[1].substr(4), &seq));
  EXPECT_EQ(seq, want_seq);
  const int64_t age = RealtimeNs() - t;
  EXPECT_GE(age, 0);
  EXPECT_LT(age, int64_t{30'000'000'000});
}

TEST_F(LoadActionTest, AsFastAsPossibleSendsCountEventsInOrder) {
  grpc::Status status;
  auto events = Run({{"count", "5000"}, {"bytes", "100"}}, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 5000u);
  for (size_t i = 0; i < events.size(); ++i) {
    ExpectEvent(events[i], i + 1, 100);
  }
  EXPECT_EQ(generator_.active_streams(), 0);
}

TEST_F(LoadActionTest, PacedStreamKeepsItsRate) {
  grpc::Status status;
  const auto start = std::chrono::steady_clock::now();
  auto events = Run({{"rate", "50"}, {"count", "10"}}, &status);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 10u);
  for (size_t i = 0; i < events.size(); ++i) ExpectEvent(events[i], i + 1, 64);
  // 10 events at 50/s: the first at once, the last ~180 ms later.
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(LoadActionTest, StartMsDelaysTheFirstEvent) {
  grpc::Status status;
  const auto start = std::chrono::steady_clock::now();
  auto events = Run({{"count", "3"}, {"start_ms", "300"}}, &status);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) ExpectEvent(events[i], i + 1, 64);
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(LoadActionTest, IdleStreamSendsNothingAndStaysOpen) {
  grpc::Status status;
  auto events = Run({{"idle", "1"}}, &status, std::chrono::milliseconds(300));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(LoadActionTest, BadParameterIsInvalidArgument) {
  grpc::Status status;
  auto events = Run({{"rate", "fast"}}, &status);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LoadActionTest, ClientLeavingEndsAnEndlessStream) {
  grpc::Status status;
  auto events =
      Run({{"rate", "1000"}}, &status, std::chrono::milliseconds(300));
  EXPECT_FALSE(events.empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The generator notices the cancellation within its retry interval.
  for (int i = 0; i < 200 && generator_.active_streams() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(generator_.active_streams(), 0);
}

}  // namespace
}  // namespace ssebridge::loadgen
