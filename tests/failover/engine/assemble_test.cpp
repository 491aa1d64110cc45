// Assemble: a Decision made by hand becomes a staged Plan; the switch's intent, hooks,
// booking, Events and metrics, independent of how the decision was reached.
#include "failover/engine/assemble.h"

#include <gtest/gtest.h>

#include "stage_fixture.h"

namespace failover::engine {
namespace {

using namespace std::chrono_literals;
using failover::testing::T;

// Pods a-0 (active) and b-0 (standby), labelled and settled, the Service on a, the
// finalizer in place; the decision to write is set by each test.
struct Fixture : failover::testing::StageFixture {
  Fixture() {
    observed.group.finalizers = {keys::kFinalizer};
    AddMemberPods(/*settled=*/true);
    observed.services = {{"db",
                          true,
                          {{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}},
                          {{keys::kActiveMember, "a"}, {keys::kActiveSince, "2026-01-01T00:00:00Z"}},
                          {{keys::kGroup, "db"}}}};
  }
  // a goes down; the decision: fail over from a to b, started at `now`.
  void FailOver(Time now) {
    observed.pods[0].ready = false;
    decision.active = {1};
    decision.roles = {Role::kFenced, Role::kActive};
    decision.switching = Switch{"a", "b", SwitchReason::kPrimaryUnhealthy, now - 5s, now};
  }
  Plan Run(Time now, bool acting = true) const { return Assemble(In(now, acting), Classified(now), decision); }
};

std::vector<std::vector<std::string>> StagesOf(const Plan& p) {
  std::vector<std::vector<std::string>> out;
  for (const StageRange& st : Stages(p)) {
    out.emplace_back();
    for (size_t i = st.begin; i < st.end; ++i) out.back().push_back(Describe(p.writes[i]));
  }
  return out;
}

TEST(Assemble, NothingToChangeWritesOnlyANewStatus) {
  Fixture f;
  Plan p = f.Run(T(0));
  EXPECT_EQ(StagesOf(p), (std::vector<std::vector<std::string>>{{"status: phase Healthy, active a"}}));
  f.previous = p.status;
  Plan again = f.Run(T(0));
  EXPECT_TRUE(again.writes.empty());
  EXPECT_FALSE(again.status_changed);
}

TEST(Assemble, AFinalizerGoesFirstAndAlone) {
  Fixture f;
  f.observed.group.finalizers.clear();
  Plan p = f.Run(T(0));
  ASSERT_FALSE(p.writes.empty());
  EXPECT_EQ(Describe(p.writes[0]), "group: finalizers [failover.io/finalizer]");
  EXPECT_EQ(Stages(p)[0].end, 1u);
  EXPECT_EQ(f.Run(T(0), false).writes.size(), 1u) << "observing adds no finalizer, writes only the status";
}

// With a prePromote hook the intent is recorded first (the hook's call belongs to a switch
// the status knows), then the hook, then the one Service write, then the role labels.
TEST(Assemble, AFailoverWithHooksRecordsItsIntentThenRunsThemAroundTheChanges) {
  Fixture f;
  f.spec.pre_promote = Hook{"http://hooks/pre"};
  f.spec.post_promote = Hook{"http://hooks/post"};
  f.FailOver(T(10));
  Plan p = f.Run(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"status: phase FailingOver, active a step Demoting"},
      {"hook prePromote: POST http://hooks/pre (a -> b)"},
      {"service db: selector {failover.io/eligible=true,failover.io/group=db,failover.io/member=b} (member b)"},
      {"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced"},
      {"pod b-0: set failover.io/role=active"},
      {"hook postPromote: POST http://hooks/post (a -> b)"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(StagesOf(p), expected);
  EXPECT_EQ(std::get<CallHook>(p.writes[1]).reason, "PrimaryUnhealthy");

  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].reason, "FailoverStarted");
  EXPECT_EQ(p.events[0].after_writes, 1u) << "once the intent is written";
  EXPECT_TRUE(p.events[0].if_stopped);
  EXPECT_EQ(p.events[1].reason, "FailoverCompleted");
  EXPECT_EQ(p.events[1].type, "Warning");
  EXPECT_EQ(p.events[1].after_writes, p.writes.size());
  EXPECT_NE(p.events[1].message.find("; NoHealthyStandby: "), std::string::npos)
      << "a is down: the Degraded condition's change, said in the switch's one Event";

  ASSERT_EQ(p.metrics.size(), 3u);
  EXPECT_EQ(p.metrics[1].kind, MetricObservation::Kind::kDetectionLatency);
  EXPECT_EQ(p.metrics[1].seconds, 5.0);
  EXPECT_EQ(p.status.failover_count, 1);
  EXPECT_EQ(p.status.recent_failovers, std::vector<Time>{T(10)});
  ASSERT_TRUE(p.status.last_transition);
  EXPECT_EQ(p.status.last_transition->reason, "PrimaryUnhealthy");
  EXPECT_FALSE(p.status.switch_record) << "the plan finishes the switch";
}

TEST(Assemble, MakeBeforeBreakMovesTheServiceThenPromotesBeforeDemoting) {
  Fixture f;
  f.spec.strategy = SwitchStrategy::kMakeBeforeBreak;
  f.FailOver(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"service db: selector {failover.io/eligible=true,failover.io/group=db,failover.io/member=b} (member b)"},
      {"pod b-0: set failover.io/role=active"},
      {"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(StagesOf(f.Run(T(10))), expected);
}

TEST(Assemble, AResumedSwitchWritesNoNewIntentAndReportsOnlyItsCompletion) {
  Fixture f;
  f.FailOver(T(10));
  f.previous.switch_record = SwitchRecord{"a", "b", "PrimaryUnhealthy", "Demoting", T(5), T(10)};
  Plan p = f.Run(T(12));
  EXPECT_EQ(Describe(p.writes[0]).rfind("service db:", 0), 0u) << Describe(p.writes[0]);
  std::vector<std::string> reasons;
  for (const auto& e : p.events) reasons.push_back(e.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"FailoverCompleted"}));
}

TEST(Assemble, TheFirstElectionIsNoFailover) {
  Fixture f;
  f.observed.services[0].selector = {{"app", "db"}};
  f.decision.switching = Switch{"", "a", SwitchReason::kInitial, T(0), T(0)};
  Plan p = f.Run(T(0));
  EXPECT_TRUE(p.metrics.empty());
  EXPECT_EQ(p.status.failover_count, 0);
  ASSERT_TRUE(p.status.last_transition);
  EXPECT_EQ(p.status.last_transition->reason, "Initial");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].reason, "ActiveMemberElected");
  EXPECT_EQ(Describe(p.writes[0]).find("FailingOver"), std::string::npos) << "no intent for an election";
}

TEST(Assemble, TheAntiFlapBudgetKeepsOnlyTheNewestAutomaticSwitches) {
  Fixture f;
  f.spec.anti_flap.max_failovers = 2;
  f.decision.ledger.recent_failovers = {T(1), T(2)};
  f.FailOver(T(10));
  EXPECT_EQ(f.Run(T(10)).status.recent_failovers, (std::vector<Time>{T(2), T(10)}));
  f.decision.switching->reason = SwitchReason::kSwitchover;
  EXPECT_EQ(f.Run(T(10)).status.recent_failovers, (std::vector<Time>{T(1), T(2)})) << "asked for: not counted";
}

TEST(Assemble, AConsumedSwitchoverRequestIsRemovedFromTheGroup) {
  Fixture f;
  f.decision.clear_switchover = true;
  Plan p = f.Run(T(0));
  EXPECT_EQ(Describe(p.writes[0]), "group: annotations remove failover.io/switchover-to");
  for (const auto& w : f.Run(T(0), false).writes) {
    EXPECT_FALSE(std::holds_alternative<PatchGroupAnnotations>(w)) << "observing leaves the request";
  }
}

TEST(Assemble, RequeueAfterIsMeasuredFromNow) {
  Fixture f;
  f.decision.requeue_at = T(25);
  EXPECT_EQ(f.Run(T(10)).requeue_after, Duration(15s));
}

}  // namespace
}  // namespace failover::engine
