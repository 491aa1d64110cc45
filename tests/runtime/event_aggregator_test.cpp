#include "runtime/event_recorder.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using runtime::EventAction;
using runtime::EventAggregator;
using runtime::EventKey;

namespace {

// 2026-01-01T00:00:00Z, and a steady time: the aggregator reads no clock of its own.
const base::Env::WallTime kWall{std::chrono::seconds(1767225600)};
const base::Env::SteadyTime kNow = base::Env::SteadyTime{} + 1h;

EventKey Key(const std::string& reason, const std::string& message, const std::string& name = "orders-db") {
  return {"FailoverGroup", "shop", name, "uid-1", "Normal", reason, message};
}

TEST(EventAggregator, RepeatsBumpCountAndLastTimestampOfOneEvent) {
  EventAggregator agg;
  const auto t = kNow;
  auto a1 = agg.Observe(Key("FailoverStarted", "site-a unhealthy"), kWall, t);
  EXPECT_EQ(a1.kind, EventAction::Kind::kCreate);
  EXPECT_EQ(a1.count, 1);
  EXPECT_EQ(a1.event_name.rfind("orders-db.", 0), 0u);
  auto a2 = agg.Observe(Key("FailoverStarted", "site-a unhealthy"), kWall + 5s, t + 5s);
  EXPECT_EQ(a2.kind, EventAction::Kind::kBump);
  EXPECT_EQ(a2.event_name, a1.event_name);
  EXPECT_EQ(a2.count, 2);
  EXPECT_EQ(a2.first_timestamp, "2026-01-01T00:00:00Z");
  EXPECT_EQ(a2.last_timestamp, "2026-01-01T00:00:05Z");
  auto a3 = agg.Observe(Key("FailoverStarted", "site-a unhealthy"), kWall + 9s + 300ms, t + 9s);
  EXPECT_EQ(a3.count, 3);
  EXPECT_EQ(a3.last_timestamp, "2026-01-01T00:00:09Z") << "metav1.Time: whole seconds";
}

TEST(EventAggregator, ANewEventIsNamedAfterTheWallClockInNanoseconds) {
  EventAggregator agg;
  const auto wall = kWall + std::chrono::nanoseconds(123456789);
  auto a = agg.Observe(Key("R", "m"), wall, kNow);
  auto b = agg.Observe(Key("R", "m2"), wall, kNow);
  // client-go's "<name>.<UnixNano in hex>", and a sequence number for events in the same nanosecond.
  EXPECT_EQ(a.event_name, "orders-db.18867251f555cd150000");
  EXPECT_EQ(b.event_name, "orders-db.18867251f555cd150001");
  EXPECT_EQ(a.first_timestamp, "2026-01-01T00:00:00Z");
}

TEST(EventAggregator, DifferentReasonMessageOrObjectIsANewEvent) {
  EventAggregator agg;
  const auto t = kNow;
  auto base = agg.Observe(Key("R", "m"), kWall, t);
  auto other_msg = agg.Observe(Key("R", "m2"), kWall, t);
  auto other_reason = agg.Observe(Key("R2", "m"), kWall, t);
  auto other_obj = agg.Observe(Key("R", "m", "other"), kWall, t);
  for (const auto& a : {other_msg, other_reason, other_obj}) {
    EXPECT_EQ(a.kind, EventAction::Kind::kCreate);
    EXPECT_NE(a.event_name, base.event_name);
  }
}

TEST(EventAggregator, RateLimitPerObjectWithRefill) {
  EventAggregator::Options o;
  o.burst = 3;
  o.refill_interval = 10s;
  EventAggregator agg(o);
  const auto t = kNow;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(agg.Observe(Key("R", "m" + std::to_string(i)), kWall, t).kind, EventAction::Kind::kDrop);
  }
  EXPECT_EQ(agg.Observe(Key("R", "m9"), kWall, t).kind, EventAction::Kind::kDrop);
  EXPECT_NE(agg.Observe(Key("R", "m", "another-object"), kWall, t).kind, EventAction::Kind::kDrop)
      << "the limit is per object";
  EXPECT_NE(agg.Observe(Key("R", "m9"), kWall + 10s, t + 10s).kind, EventAction::Kind::kDrop);
  EXPECT_EQ(agg.Observe(Key("R", "m10"), kWall + 10s, t + 10s).kind, EventAction::Kind::kDrop);
}

TEST(EventAggregator, ForgetStartsANewEventAndMemoryIsBounded) {
  EventAggregator::Options o;
  o.max_entries = 2;
  EventAggregator agg(o);
  const auto t = kNow;
  auto a = agg.Observe(Key("R", "a"), kWall, t);
  agg.Forget(Key("R", "a"));
  auto b = agg.Observe(Key("R", "a"), kWall, t);
  EXPECT_EQ(b.kind, EventAction::Kind::kCreate);
  EXPECT_NE(a.event_name, b.event_name);
  agg.Observe(Key("R", "b"), kWall, t);
  agg.Observe(Key("R", "c"), kWall, t);  // evicts "a", the least recently used
  EXPECT_EQ(agg.Observe(Key("R", "a"), kWall, t).kind, EventAction::Kind::kCreate);
  EXPECT_EQ(agg.Observe(Key("R", "c"), kWall, t).kind, EventAction::Kind::kBump);
}

// Groups created and deleted one after another: each object's rate-limit bucket goes once
// it has refilled (it says nothing then), so churn leaves no state behind, while an object
// still inside its limit keeps its bucket.
TEST(EventAggregator, ChurnOfObjectsLeavesNoBucketsBehind) {
  EventAggregator::Options o;
  o.burst = 2;
  o.refill_interval = 1s;
  EventAggregator agg(o);
  auto t = kNow;
  for (int i = 0; i < 10000; ++i) {
    agg.Observe(Key("Created", "g", "group-" + std::to_string(i)), kWall, t);
    t += 100ms;  // each object's one event refills its bucket in 1s
  }
  EXPECT_LT(agg.buckets(), 200u) << "buckets of objects long gone are dropped";

  // A throttled object keeps its bucket through a sweep: its limit still holds.
  agg.Observe(Key("R", "1", "busy"), kWall, t);
  agg.Observe(Key("R", "2", "busy"), kWall, t);
  EXPECT_EQ(agg.Observe(Key("R", "3", "busy"), kWall, t).kind, EventAction::Kind::kDrop);
  for (int i = 0; i < 300; ++i) agg.Observe(Key("Created", "g", "other-" + std::to_string(i)), kWall, t);
  EXPECT_EQ(agg.Observe(Key("R", "4", "busy"), kWall, t).kind, EventAction::Kind::kDrop)
      << "swept with the others, the busy object would have had a full bucket again";
}

// A deleted object's keys and bucket go with it: objects that come and go (groups created
// and deleted) never fill the max_entries keys, which hold about 1 KB each.
TEST(EventAggregator, AForgottenObjectLeavesNoKeysBehind) {
  EventAggregator agg;
  for (int g = 0; g < 1000; ++g) {
    const std::string name = "group-" + std::to_string(g);
    for (const char* reason : {"ActiveMemberElected", "FailoverStarted", "FailoverCompleted", "ServiceReleased"}) {
      agg.Observe(Key(reason, "a message", name), kWall, kNow);
    }
    if (g % 2 == 0) agg.ForgetObject("FailoverGroup", "shop", name);
  }
  EXPECT_EQ(agg.entries(), 2000u) << "the 500 groups still there keep their 4 keys each";
  agg.ForgetObject("FailoverGroup", "shop", "group-1");
  EXPECT_EQ(agg.entries(), 1996u);
  agg.ForgetObject("FailoverGroup", "other-ns", "group-3");
  agg.ForgetObject("Pod", "shop", "group-3");
  EXPECT_EQ(agg.entries(), 1996u) << "only that kind, namespace and name";
  // The next occurrence for a forgotten object starts a new Event, with a full bucket.
  auto again = agg.Observe(Key("FailoverStarted", "a message", "group-1"), kWall, kNow);
  EXPECT_EQ(again.kind, EventAction::Kind::kCreate);
  EXPECT_EQ(agg.buckets(), 500u) << "the 499 groups left and group-1 anew";
}

}  // namespace
