#include "frontend/fd_budget.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <limits>

#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

TEST(FdBudgetTest, TwoDescriptorsPerStreamAfterTheReserve) {
  EXPECT_EQ(StreamsForFdLimit(1024, 40), (1024 - 40 - kFdReserve) / 2);
  EXPECT_EQ(StreamsForFdLimit(1048576, 100),
            (1048576 - 100 - kFdReserve) / 2);
}

TEST(FdBudgetTest, NothingFitsWhenTheReserveIsNotThere) {
  EXPECT_EQ(StreamsForFdLimit(50, 30), 0u);
  EXPECT_EQ(StreamsForFdLimit(30 + kFdReserve, 30), 0u);
  EXPECT_EQ(StreamsForFdLimit(30 + kFdReserve + 2, 30), 1u);
}

TEST(FdBudgetTest, UnknownLimitMeansNoCap) {
  EXPECT_EQ(StreamsForFdLimit(0, 10), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(StreamsForFdLimit(std::numeric_limits<uint64_t>::max(), 10),
            std::numeric_limits<uint32_t>::max());
}

TEST(FdBudgetTest, EffectiveLimitIsTheSmallerAndNeverUnlimited) {
  EXPECT_EQ(EffectiveStreamLimit(10000, 476), 476u);
  EXPECT_EQ(EffectiveStreamLimit(100, 476), 100u);
  EXPECT_EQ(EffectiveStreamLimit(0, 476), 476u);
  EXPECT_EQ(EffectiveStreamLimit(100, 0), 1u);
  EXPECT_EQ(EffectiveStreamLimit(0, 0), 1u);
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
