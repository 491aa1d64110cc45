#include "runtime/workqueue.h"

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;
using runtime::Clock;
using runtime::WorkQueue;

namespace {

std::shared_ptr<runtime::RateLimiter> FastLimiter() {
  return std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 1s);
}

TEST(WorkQueue, DuplicateAddsAreHandedOutOnce) {
  WorkQueue q("", FastLimiter());
  q.Add("ns/a");
  q.Add("ns/b");
  q.Add("ns/a");
  EXPECT_EQ(q.Len(), 2u);
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "ns/a");
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "ns/b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueue, KeyAddedWhileProcessingRunsOnceMoreAfterDone) {
  WorkQueue q("", FastLimiter());
  q.Add("k");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  q.Add("k");
  q.Add("k");
  EXPECT_EQ(q.Len(), 0u) << "must not be handed out while it is processing";
  bool timed_out = false;
  EXPECT_FALSE(q.GetUntil(&k, Clock::now() + 20ms, &timed_out));
  EXPECT_TRUE(timed_out);
  q.Done("k");
  EXPECT_EQ(q.Len(), 1u);
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "k");
  q.Done("k");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueue, AddAfterWaitsForTheDelay) {
  WorkQueue q("", FastLimiter());
  const auto start = Clock::now();
  q.AddAfter("k", 60ms);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.DelayedLen(), 1u);
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "k");
  EXPECT_GE(Clock::now() - start, 60ms);
}

TEST(WorkQueue, AddAfterKeepsTheEarliestDueTime) {
  WorkQueue q("", FastLimiter());
  q.AddAfter("k", 10s);
  q.AddAfter("k", 10ms);
  std::string k;
  bool timed_out = false;
  ASSERT_TRUE(q.GetUntil(&k, Clock::now() + 5s, &timed_out));
  EXPECT_EQ(k, "k");
  q.Done("k");
  EXPECT_EQ(q.DelayedLen(), 0u);
}

TEST(WorkQueue, RateLimitedRetriesBackOffAndForgetResets) {
  WorkQueue q("", std::make_shared<runtime::ItemExponentialRateLimiter>(20ms, 1s));
  EXPECT_EQ(q.NumRequeues("k"), 0);
  const auto start = Clock::now();
  q.AddRateLimited("k");  // 20 ms
  q.AddRateLimited("k");  // 40 ms (the earlier due time wins)
  EXPECT_EQ(q.NumRequeues("k"), 2);
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_GE(Clock::now() - start, 20ms);
  q.Done(k);
  q.Forget("k");
  EXPECT_EQ(q.NumRequeues("k"), 0);
}

TEST(WorkQueue, ShutDownDrainsQueuedKeysThenStops) {
  WorkQueue q("", FastLimiter());
  q.Add("a");
  q.Add("b");
  q.AddAfter("later", 1h);
  q.ShutDown();
  q.Add("c");
  EXPECT_TRUE(q.ShuttingDown());
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "a");
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "b");
  EXPECT_FALSE(q.Get(&k));
  EXPECT_EQ(q.DelayedLen(), 0u);
}

TEST(RateLimiter, ItemExponentialDoublesUpToTheCap) {
  runtime::ItemExponentialRateLimiter l;  // 5 ms .. 1000 s
  EXPECT_EQ(l.When("a"), 5ms);
  EXPECT_EQ(l.When("a"), 10ms);
  EXPECT_EQ(l.When("a"), 20ms);
  EXPECT_EQ(l.When("b"), 5ms);
  for (int i = 0; i < 40; ++i) l.When("a");
  EXPECT_EQ(l.When("a"), 1000s);
  EXPECT_EQ(l.NumRequeues("a"), 44);
  l.Forget("a");
  EXPECT_EQ(l.NumRequeues("a"), 0);
  EXPECT_EQ(l.When("a"), 5ms);
}

TEST(RateLimiter, BucketAllowsBurstThenSpacesByQps) {
  runtime::BucketRateLimiter l(10, 3);
  const auto t0 = Clock::now();
  EXPECT_EQ(l.ReserveAt(t0), 0ns);
  EXPECT_EQ(l.ReserveAt(t0), 0ns);
  EXPECT_EQ(l.ReserveAt(t0), 0ns);
  EXPECT_EQ(l.ReserveAt(t0), 100ms);
  EXPECT_EQ(l.ReserveAt(t0), 200ms);
  // One second later 10 tokens came back, capped at the burst of 3, minus the 2 owed.
  EXPECT_EQ(l.ReserveAt(t0 + 1s), 0ns);
}

TEST(RateLimiter, DefaultControllerIsTheMaxOfBoth) {
  auto l = runtime::DefaultControllerRateLimiter();
  EXPECT_EQ(l->When("x"), 5ms);
  EXPECT_EQ(l->When("x"), 10ms);
  EXPECT_EQ(l->NumRequeues("x"), 2);
  l->Forget("x");
  EXPECT_EQ(l->NumRequeues("x"), 0);
}

}  // namespace
