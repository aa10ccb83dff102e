// ActionServer::Serve runs until SIGTERM, then shuts down. Its own binary:
// the signal must be blocked in every thread of the process, so Serve has to
// start before any other thread exists (as in a service's main()).
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/sdk/sdk.h"
#include "gtest/gtest.h"

namespace ssebridge::sdk {
namespace {

TEST(ServeTest, ReturnsOkOnSigterm) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &signals, nullptr), 0);

  ActionServer server;
  server.Action("noop", [](Request, Stream) {});
  std::mutex mu;
  std::condition_variable cv;
  bool returned = false;
  absl::Status status = absl::UnknownError("not returned");
  std::thread serving([&] {
    absl::Status s = server.Serve("127.0.0.1:0", absl::ZeroDuration());
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    returned = true;
    cv.notify_all();
  });
  // Stays pending (blocked everywhere) until Serve's sigwait takes it.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(20), [&] { return returned; }));
    EXPECT_TRUE(status.ok()) << status;
  }
  serving.join();
}

TEST(ServeTest, ReportsAddressInUse) {
  ActionServer server;
  auto first = server.Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  absl::Status status =
      server.Serve("127.0.0.1:" + std::to_string((*first)->port()));
  EXPECT_FALSE(status.ok());
}

}  // namespace
}  // namespace ssebridge::sdk
