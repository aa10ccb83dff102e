// StreamSession and IoLoop through the StreamSink / Upstream contract, with
// a fake upstream and a socketpair instead of gRPC and a TCP client: what
// the session writes, when it asks its upstream to pause, resume and leave,
// and that it refuses an upstream once its socket is gone.
#include "frontend/relay/stream_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/sse/parser.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/io_loop.h"
#include "frontend/relay/responses.h"
#include "frontend/relay/stream_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::Event;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;
using Verdict = StreamSink::Verdict;

constexpr absl::Duration kDeadline = absl::Seconds(5);

class FakeUpstream : public Upstream {
 public:
  void Leave(const StreamSink*) override { leaves.fetch_add(1); }
  void Resume() override { resumes.fetch_add(1); }
  bool CancelIfStuck(absl::Time, absl::Duration) override { return false; }
  bool shared() const override { return false; }
  std::atomic<int> leaves{0};
  std::atomic<int> resumes{0};
};

class StreamSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    // A small send buffer, so that a client that does not read fills it.
    const int size = 4096;
    setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    settings_.route_path = "/test";
    settings_.high_water = 16 * 1024;
    settings_.low_water = 4 * 1024;
    ASSERT_TRUE(loop_.Start().ok());
    session_ = std::make_shared<StreamSession>(&settings_, &loop_, &registry_,
                                               &stats_, fds_[0], "127.0.0.1",
                                               SseResponseHead({}));
    ASSERT_TRUE(registry_.TryAcquire("127.0.0.1"));
    loop_.Submit(session_);
    ASSERT_TRUE(session_->SetUpstream(upstream_));
  }

  void TearDown() override {
    loop_.Stop();
    if (fds_[1] >= 0) close(fds_[1]);
  }

  // Reads what the client has received so far (non-blocking).
  std::string ReadClient() {
    char buf[65536];
    ssize_t n = recv(fds_[1], buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) received_.append(buf, static_cast<size_t>(n));
    if (n == 0) eof_ = true;
    return received_;
  }

  static Event Text(const std::string& s) {
    Event e;
    e.set_text(s);
    return e;
  }

  int fds_[2] = {-1, -1};
  SessionSettings settings_;
  FrontendStats stats_;
  StreamRegistry registry_{100, 0};
  IoLoop loop_{&stats_, absl::Milliseconds(20)};
  std::shared_ptr<FakeUpstream> upstream_ = std::make_shared<FakeUpstream>();
  std::shared_ptr<StreamSession> session_;
  std::string received_;
  bool eof_ = false;
};

TEST_F(StreamSessionTest, WritesHeadThenEventsThenTerminalEventAndCloses) {
  session_->CommitHead();
  EXPECT_EQ(session_->OnMessage(Text("hello")), Verdict::kKeep);
  session_->EndUpstream(absl::OkStatus());
  ASSERT_TRUE(WaitFor(
      [&] {
        ReadClient();
        return eof_;
      },
      kDeadline));
  // Once the client sees the end, the books already show it: the stream is
  // counted and its admission slot is free (a client that reconnects at once
  // must not find its per-IP slot still taken).
  EXPECT_EQ(stats_.Get(Outcome::kDone), 1u);
  EXPECT_EQ(loop_.open_sessions(), 0);
  EXPECT_EQ(registry_.total(), 0);
  EXPECT_THAT(received_, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(received_, HasSubstr(": ok\n\ndata: hello\n\n"));
  EXPECT_THAT(received_, HasSubstr("event: done\ndata: \n\n"));
  // Closing a finished stream tells its upstream once (a no-op for a call
  // that has ended), and no later upstream is accepted.
  EXPECT_EQ(upstream_->leaves.load(), 1);
  EXPECT_FALSE(session_->SetUpstream(std::make_shared<FakeUpstream>()));
  EXPECT_EQ(session_->OnMessage(Text("late")), Verdict::kDrop);
}

TEST_F(StreamSessionTest, PausesAboveHighWaterAndResumesBelowLowWater) {
  session_->CommitHead();
  const std::string chunk(1024, 'x');
  Verdict v = Verdict::kKeep;
  int sent = 0;
  // The client reads nothing: the socket fills, then the session's buffer.
  while (v == Verdict::kKeep && sent < 1000) {
    v = session_->OnMessage(Text(chunk));
    ++sent;
  }
  ASSERT_EQ(v, Verdict::kPause) << "after " << sent << " events";
  // Not before more than high_water was appended. The buffer's size now is
  // not compared with high_water: the loop may not have written anything
  // yet when the pause came (a slow loop thread, e.g. under ASan: CI saw
  // 8,607 bytes left), and then moves what the socket takes meanwhile.
  const size_t encoded = chunk.size() + std::string("data: \n\n").size();
  EXPECT_GT(static_cast<size_t>(sent) * encoded, settings_.high_water);
  EXPECT_GT(session_->buffered_bytes(), 0u);
  EXPECT_EQ(upstream_->resumes.load(), 0);
  // The client drains everything: the loop writes the rest and resumes the
  // upstream exactly once.
  ASSERT_TRUE(WaitFor(
      [&] {
        ReadClient();
        return upstream_->resumes.load() == 1 &&
               session_->buffered_bytes() == 0;
      },
      kDeadline));
  // What the session wrote may still sit in the socket: read it all.
  auto events_received = [&] {
    size_t events = 0;
    common::sse::Parser parser([&](common::sse::ParsedEvent&& e) {
      if (e.data == chunk) ++events;
    });
    const std::string all = ReadClient();
    parser.Feed(all.substr(all.find("\r\n\r\n") + 4));
    return events;
  };
  EXPECT_TRUE(
      WaitFor([&] { return events_received() == static_cast<size_t>(sent); },
              kDeadline))
      << events_received() << " of " << sent;
  EXPECT_EQ(upstream_->resumes.load(), 1);
}

TEST_F(StreamSessionTest, ClientGoneLeavesUpstreamAndRefusesANewOne) {
  session_->CommitHead();
  ASSERT_EQ(shutdown(fds_[1], SHUT_RDWR), 0);
  ASSERT_TRUE(
      WaitFor([&] { return upstream_->leaves.load() == 1; }, kDeadline));
  EXPECT_TRUE(session_->closed());
  EXPECT_EQ(loop_.open_sessions(), 0);
  // An upstream that arrives after the socket closed must not be started:
  // nothing would ever end it.
  EXPECT_FALSE(session_->SetUpstream(std::make_shared<FakeUpstream>()));
  EXPECT_EQ(session_->OnEncoded("data: x\n\n", 1), Verdict::kDrop);
}

TEST_F(StreamSessionTest, UpstreamErrorBeforeHeadIsAPlainHttpStatus) {
  session_->EndUpstream(absl::UnavailableError("backend down"));
  ASSERT_TRUE(WaitFor([&] { return session_->closed(); }, kDeadline));
  ASSERT_TRUE(WaitFor(
      [&] { return ReadClient().find("\r\n\r\n") != std::string::npos; },
      kDeadline));
  EXPECT_THAT(received_, HasSubstr("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(received_, HasSubstr("Retry-After: 5\r\n"));
  EXPECT_THAT(received_, ::testing::Not(HasSubstr("text/event-stream")));
}

TEST_F(StreamSessionTest, EndEarlySendsTheEventAndLeavesTheUpstream) {
  session_->CommitHead();
  session_->EndEarly("shutdown", 5000, Outcome::kShutdown);
  ASSERT_TRUE(WaitFor([&] { return session_->closed(); }, kDeadline));
  ASSERT_TRUE(WaitFor(
      [&] { return ReadClient().find("event: shutdown") != std::string::npos; },
      kDeadline));
  EXPECT_THAT(received_, HasSubstr("event: shutdown\n"));
  EXPECT_THAT(received_, HasSubstr("retry: 5000\n"));
  EXPECT_GE(upstream_->leaves.load(), 1);
  EXPECT_EQ(stats_.Get(Outcome::kShutdown), 1u);
}

}  // namespace
}  // namespace ssebridge::frontend
