#include "frontend/ops/fd_budget.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <limits>

#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

TEST(FdBudgetTest, TheTopDescriptorsAreTheReserve) {
  EXPECT_FALSE(InFdReserve(0, 1024));
  EXPECT_FALSE(InFdReserve(1024 - kFdReserve - 1, 1024));
  EXPECT_TRUE(InFdReserve(1024 - kFdReserve, 1024));
  EXPECT_TRUE(InFdReserve(1023, 1024));
  EXPECT_TRUE(InFdReserve(3, kFdReserve));  // a limit smaller than the reserve
}

TEST(FdBudgetTest, UnknownLimitOrNoDescriptorNeverRefuses) {
  EXPECT_FALSE(InFdReserve(100000, 0));
  EXPECT_FALSE(InFdReserve(-1, 1024));
  EXPECT_FALSE(InFdReserve(1 << 30, std::numeric_limits<uint64_t>::max()));
}

TEST(FdBudgetTest, StreamsThatCanFitCountOneDescriptorEach) {
  EXPECT_EQ(StreamsForFdLimit(1024, 40), 1024 - 40 - kFdReserve);
  EXPECT_EQ(StreamsForFdLimit(50, 30), 0u);
  EXPECT_EQ(StreamsForFdLimit(30 + kFdReserve + 1, 30), 1u);
  EXPECT_EQ(StreamsForFdLimit(0, 10), std::numeric_limits<uint64_t>::max());
}

TEST(FdBudgetTest, CountsThisProcesssDescriptors) {
  const uint64_t before = CountOpenFds();
  ASSERT_GT(before, 2u);  // at least stdin, stdout, stderr
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(CountOpenFds(), before + 2);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(CountOpenFds(), before);
}

TEST(FdBudgetTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max < 64) {
    GTEST_SKIP() << "hard RLIMIT_NOFILE is " << saved.rlim_max
                 << "; need a finite one of at least 64 to lower and raise";
  }
  rlimit lowered = saved;
  lowered.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(RaiseFdLimit(), saved.rlim_max);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, saved.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace ssebridge::frontend
