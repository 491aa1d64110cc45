#include "runtime/workqueue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "support/fake_env.h"

using namespace std::chrono_literals;
using runtime::Clock;
using runtime::WorkQueue;
using testsupport::FakeEnv;

namespace {

// Get on another thread; the test moves the fake clock meanwhile.
std::future<std::string> GetAsync(WorkQueue& q) {
  return std::async(std::launch::async, [&q] {
    std::string k;
    return q.Get(&k) ? k : std::string("<shut down>");
  });
}

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
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.Add("k");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  q.Add("k");
  q.Add("k");
  EXPECT_EQ(q.Len(), 0u) << "must not be handed out while it is processing";
  auto waiting = std::async(std::launch::async, [&] {
    std::string other;
    bool timed_out = false;
    const bool got = q.GetUntil(&other, env.Now() + 20ms, &timed_out);
    return !got && timed_out;
  });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  env.Advance(20ms);
  EXPECT_TRUE(waiting.get()) << "GetUntil must time out at its deadline";
  q.Done("k");
  EXPECT_EQ(q.Len(), 1u);
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "k");
  q.Done("k");
  EXPECT_EQ(q.Len(), 0u);
}

// The rest of work begun (a switch whose Services moved, its roles and status to follow)
// waits behind keys with new work: in a storm, every group's traffic moves before any
// group's follow-up, and a follow-up added again meanwhile stays in its lane.
TEST(WorkQueue, FollowUpsWaitBehindNewWork) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.Add("g1");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  ASSERT_EQ(k, "g1");
  q.AddFollowUp("g1");  // asked for by its reconcile, before Done
  q.Done("g1");
  q.Add("g2");
  q.Add("g1");  // the event of its own write: stays a follow-up
  q.Add("g3");
  EXPECT_EQ(q.Len(), 3u);
  for (const char* want : {"g2", "g3", "g1"}) {
    ASSERT_TRUE(q.Get(&k));
    EXPECT_EQ(k, want);
    q.Done(k);
  }
  EXPECT_EQ(q.Len(), 0u);
}

// A key already waiting with new work is not pushed back by a follow-up request.
TEST(WorkQueue, AFollowUpOfAKeyWaitingWithNewWorkKeepsItsPlace) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.Add("g1");
  q.Add("g2");
  q.AddFollowUp("g1");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "g1");
  q.Done(k);
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "g2");
}

// New work never starves a follow-up for longer than the max wait (30 s by default).
TEST(WorkQueue, AFollowUpWaitsBehindNewWorkUpToThirtySecondsByDefault) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.AddFollowUp("late");
  env.Advance(29s);
  q.Add("new1");
  q.Add("new2");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "new1");
  q.Done(k);
  env.Advance(1s);
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "late");
}

// The max wait can be set.
TEST(WorkQueue, AFollowUpWaitsAtMostTheMaxWait) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.SetMaxFollowUpWait(2s);
  q.AddFollowUp("late");
  q.Add("new1");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "new1");
  q.Done(k);
  q.Add("new2");
  env.Advance(2s);
  q.Add("new3");
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "late") << "waited its 2 s";
  q.Done(k);
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "new2");
}

// A lane of overdue follow-ups (a new leader's replayed first list: every group) takes
// every other key, so news still goes at half the pace at worst, and the replay too.
TEST(WorkQueue, OverdueFollowUpsAndNewWorkTakeTurns) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  for (const char* k : {"r1", "r2", "r3"}) q.AddFollowUp(k);
  env.Advance(30s);
  for (const char* k : {"n1", "n2", "n3"}) q.Add(k);
  std::vector<std::string> order;
  std::string k;
  while (q.Len() > 0 && q.Get(&k)) {
    order.push_back(k);
    q.Done(k);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"r1", "n1", "r2", "n2", "r3", "n3"}));
}

// A Get waiting on an empty queue takes a follow-up at once; a drain waits for it.
TEST(WorkQueue, AFollowUpIsHandedOutAtOnceWhenNothingElseWaits) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  auto got = GetAsync(q);
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  q.AddFollowUp("only");
  EXPECT_EQ(got.get(), "only");
  q.Done("only");
  q.AddFollowUp("queued");
  EXPECT_EQ(q.Len(), 1u);
  q.ShutDown();
  std::string k;
  ASSERT_TRUE(q.Get(&k)) << "queued follow-ups are still handed out after ShutDown";
  EXPECT_EQ(k, "queued");
  q.Done(k);
  EXPECT_FALSE(q.Get(&k));
}

TEST(WorkQueue, AddAfterWaitsForTheDelay) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.AddAfter("k", 60ms);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.DelayedLen(), 1u);
  auto got = GetAsync(q);
  // The waiting Get arms its timer for the key's due time.
  ASSERT_TRUE(env.BlockUntilDeadlineBy(env.Now() + 60ms));
  env.Advance(59ms);
  EXPECT_EQ(q.Len(), 0u) << "handed out before its delay";
  EXPECT_EQ(q.DelayedLen(), 1u);
  env.Advance(1ms);
  EXPECT_EQ(got.get(), "k");
  EXPECT_EQ(q.DelayedLen(), 0u);
}

TEST(WorkQueue, AddAfterWakesAWaitingGetForAnEarlierKey) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.AddAfter("late", 1h);
  auto got = GetAsync(q);
  ASSERT_TRUE(env.BlockUntilDeadlineBy(env.Now() + 1h));
  q.AddAfter("soon", 10ms);
  ASSERT_TRUE(env.BlockUntilDeadlineBy(env.Now() + 10ms)) << "Get must re-arm for the earlier key";
  env.Advance(10ms);
  EXPECT_EQ(got.get(), "soon");
  EXPECT_EQ(q.DelayedLen(), 1u);
}

TEST(WorkQueue, AddAfterKeepsTheEarliestDueTime) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.AddAfter("k", 10s);
  q.AddAfter("k", 10ms);
  env.Advance(9ms);
  EXPECT_EQ(q.Len(), 0u);
  env.Advance(1ms);
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.DelayedLen(), 0u);
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  EXPECT_EQ(k, "k");
  q.Done("k");
  env.Advance(10s);
  EXPECT_EQ(q.Len(), 0u) << "the later due time was merged away";
}

TEST(WorkQueue, RateLimitedRetriesBackOffAndForgetResets) {
  FakeEnv env;
  WorkQueue q("", std::make_shared<runtime::ItemExponentialRateLimiter>(20ms, 1s), &env);
  EXPECT_EQ(q.NumRequeues("k"), 0);
  q.AddRateLimited("k");  // 20 ms
  q.AddRateLimited("k");  // 40 ms (the earlier due time wins)
  EXPECT_EQ(q.NumRequeues("k"), 2);
  env.Advance(19ms);
  EXPECT_EQ(q.Len(), 0u);
  env.Advance(1ms);
  ASSERT_EQ(q.Len(), 1u);
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  q.Done(k);
  // The third failure in a row waits 20 ms * 2^2.
  q.AddRateLimited("k");
  env.Advance(79ms);
  EXPECT_EQ(q.Len(), 0u);
  env.Advance(1ms);
  ASSERT_EQ(q.Len(), 1u);
  ASSERT_TRUE(q.Get(&k));
  q.Done(k);
  q.Forget("k");
  EXPECT_EQ(q.NumRequeues("k"), 0);
  q.AddRateLimited("k");
  env.Advance(20ms);
  EXPECT_EQ(q.Len(), 1u) << "Forget starts the backoff over";
}

TEST(WorkQueue, ShutDownWithDrainWaitsForRunningKeysUntilTheDeadline) {
  FakeEnv env;
  WorkQueue q("", FastLimiter(), &env);
  q.Add("k");
  std::string k;
  ASSERT_TRUE(q.Get(&k));
  auto drained = std::async(std::launch::async, [&] { return q.ShutDownWithDrain(env.Now() + 1s); });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  env.Advance(1s);
  EXPECT_FALSE(drained.get()) << "the key was still processing at the deadline";

  WorkQueue q2("", FastLimiter(), &env);
  q2.Add("k");
  ASSERT_TRUE(q2.Get(&k));
  auto drained2 = std::async(std::launch::async, [&] { return q2.ShutDownWithDrain(env.Now() + 1s); });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  q2.Done(k);
  EXPECT_TRUE(drained2.get());
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

TEST(RateLimiter, DefaultControllerBucketRefillsOnTheEnvClock) {
  FakeEnv env;
  auto l = runtime::DefaultControllerRateLimiter(&env);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(l->When("item" + std::to_string(i)), 5ms) << i;
  // The burst of 100 is spent: the next item waits for a token at 10 qps.
  EXPECT_EQ(l->When("one-more"), 100ms);
  env.Advance(1s);
  EXPECT_EQ(l->When("after-a-second"), 5ms);
}

}  // namespace
