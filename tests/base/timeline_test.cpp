// Timeline: the time the operator decides by, immune to steps of the wall clock.
#include "base/timeline.h"

#include <gtest/gtest.h>

#include "support/fake_env.h"

namespace base {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

TEST(Timeline, FollowsTheWallClockWhileItIsNotStepped) {
  FakeEnv env;
  Timeline t(&env);
  EXPECT_EQ(t.Now(), env.WallNow());
  env.Advance(90s);
  EXPECT_EQ(t.Now(), env.WallNow());
  EXPECT_EQ(t.Offset(), 0ns);
}

TEST(Timeline, AStepForwardNeitherJumpsItNorStretchesADurationBeyondOnePercent) {
  FakeEnv env;
  Timeline t(&env);
  const auto start = t.Now();
  env.StepWall(1h);
  env.Advance(10s);
  const auto after = t.Now();
  EXPECT_GE(after - start, 10s);
  EXPECT_LE(after - start, 10s + 100ms) << "10 s measured as at most 10.1 s, not an hour";
  EXPECT_GT(t.Offset(), 59min);
}

TEST(Timeline, AStepBackNeverSendsItBackAndShrinksADurationByAtMostOnePercent) {
  FakeEnv env;
  Timeline t(&env);
  const auto start = t.Now();
  env.StepWall(-1h);
  env.Advance(10s);
  const auto after = t.Now();
  EXPECT_LE(after - start, 10s);
  EXPECT_GE(after - start, 10s - 100ms) << "10 s measured as at least 9.9 s, never negative";
  EXPECT_LT(t.Offset(), -59min);
}

TEST(Timeline, ConvergesOnTheSteppedWallClockAtOnePercent) {
  FakeEnv env;
  Timeline t(&env);
  env.StepWall(60s);
  for (int i = 0; i < 100; ++i) {
    env.Advance(60s);
    (void)t.Now();
  }
  EXPECT_EQ(t.Offset(), 0ns) << "60 s of step absorbed in 100 minutes";
  env.Advance(5s);
  EXPECT_EQ(t.Now(), env.WallNow());
}

}  // namespace
}  // namespace base
