#include "runtime/backoff.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using runtime::Backoff;
using runtime::BackoffOptions;
using runtime::Clock;

namespace {

TEST(Backoff, DoublesFrom800msUpTo30sWithJitter) {
  Backoff b({}, 42);
  auto t = Clock::now();
  std::chrono::milliseconds base = 800ms;
  for (int i = 0; i < 12; ++i) {
    const auto d = b.Next(t);
    EXPECT_GE(d, std::min(base, std::chrono::milliseconds(30s))) << "step " << i;
    EXPECT_LE(d, std::min(2 * base, std::chrono::milliseconds(30s))) << "step " << i;
    base = std::min<std::chrono::milliseconds>(2 * base, 30s);
    t += d;
  }
  EXPECT_EQ(b.current_base(), 30s);
  EXPECT_LE(b.Next(t), 30s);
}

TEST(Backoff, WithoutJitterTheScheduleIsExact) {
  BackoffOptions o;
  o.jitter = 0;
  Backoff b(o);
  auto t = Clock::now();
  const std::chrono::milliseconds want[] = {800ms, 1600ms, 3200ms, 6400ms, 12800ms,
                                            25600ms, 30s, 30s};
  for (auto w : want) {
    EXPECT_EQ(b.Next(t), w);
    t += 1s;
  }
}

TEST(Backoff, ResetsAfterAHealthyPeriod) {
  BackoffOptions o;
  o.jitter = 0;
  Backoff b(o);
  auto t = Clock::now();
  b.Next(t);
  b.Next(t + 1s);
  EXPECT_EQ(b.Next(t + 2s), 3200ms);
  EXPECT_EQ(b.Next(t + 2s + 121s), 800ms) << "more than reset_after since the last failure";
  b.Next(t + 200s);
  b.Reset();
  EXPECT_EQ(b.Next(t + 201s), 800ms);
}

}  // namespace
