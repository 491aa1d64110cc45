#include "base/env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "support/fake_env.h"

namespace base {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

TEST(RealEnv, WaitEndsAtTheDeadlineOrOnNotify) {
  Env& env = RealEnv();
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  const auto start = env.Now();
  EXPECT_FALSE(env.WaitUntil(lock, cv, start + 5ms, [] { return false; }));
  EXPECT_GE(env.Now() - start, 5ms);
  EXPECT_TRUE(env.WaitFor(lock, cv, 1h, [] { return true; }));
  EXPECT_EQ(env.Deadline(std::chrono::milliseconds::max()), Env::SteadyTime::max());
}

TEST(FakeEnv, ClocksMoveOnlyWhenAdvanced) {
  FakeEnv env;
  const auto t0 = env.Now();
  const auto w0 = env.WallNow();
  EXPECT_NE(t0, Env::SteadyTime{});
  EXPECT_EQ(env.Now(), t0);
  env.Advance(90s);
  EXPECT_EQ(env.Now() - t0, 90s);
  EXPECT_EQ(env.WallNow() - w0, 90s);
}

TEST(FakeEnv, SleepEndsWhenTheClockReachesItsDeadline) {
  FakeEnv env;
  auto slept = std::async(std::launch::async, [&] {
    env.SleepFor(10s);
    return env.Now();
  });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  EXPECT_EQ(env.NextDeadline(), env.Now() + 10s);
  env.Advance(9s);
  EXPECT_EQ(env.Waiters(), 1u);
  const auto due = env.Now() + 1s;
  env.Advance(3s);  // past the deadline: the sleep ends, reading the later time
  EXPECT_GE(slept.get(), due);
  EXPECT_EQ(env.Waiters(), 0u);
}

TEST(FakeEnv, NotifyEndsAWaitBeforeItsDeadline) {
  FakeEnv env;
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  auto waited = std::async(std::launch::async, [&] {
    std::unique_lock<std::mutex> lock(mu);
    return env.WaitFor(lock, cv, 1h, [&] { return ready; });
  });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  {
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
  }
  cv.notify_all();
  EXPECT_TRUE(waited.get());
}

TEST(FakeEnv, WaitTimesOutWithItsPredicateFalse) {
  FakeEnv env;
  std::mutex mu;
  std::condition_variable cv;
  auto waited = std::async(std::launch::async, [&] {
    std::unique_lock<std::mutex> lock(mu);
    return env.WaitFor(lock, cv, 5s, [] { return false; });
  });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  EXPECT_TRUE(env.AdvanceToNextDeadline());
  EXPECT_FALSE(waited.get());
  EXPECT_FALSE(env.AdvanceToNextDeadline()) << "no wait left";
}

TEST(FakeEnv, AWaitWithADeadlineAlreadyPastReturnsAtOnce) {
  FakeEnv env;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_EQ(env.WaitUntil(lock, cv, env.Now()), std::cv_status::timeout);
  env.SleepFor(0s);
}

}  // namespace
}  // namespace base
