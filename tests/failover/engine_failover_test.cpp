// ActivePassive failover through Decide: electing the active member, detection
// (unhealthyFor), the switch's stages (BreakBeforeMake, MakeBeforeBreak, hooks), fencing, a
// switch resumed after a restart, no healthy member, maxLag.
#include <gtest/gtest.h>

#include "engine_scenario.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::Scenario;
using testing::Describe;
using testing::DescribeStages;
using testing::HasEvent;
using testing::FindEvent;
using testing::Cond;
using testing::CountKind;
using testing::kDelete;
using testing::kService;
using testing::Settled;

TEST(Election, MostPreferredHealthyMemberAndEveryPodLabelled) {
  Scenario s;
  Plan& p = s.Step(T(0));
  EXPECT_EQ(p.active_members, std::vector<std::string>{"a"});
  ASSERT_FALSE(p.writes.empty());
  EXPECT_TRUE(std::holds_alternative<PatchGroupFinalizers>(p.writes[0])) << "finalizer before any label";
  EXPECT_EQ(s.Role("a-0"), "active");
  EXPECT_EQ(s.Role("a-1"), "active");
  EXPECT_EQ(s.Role("b-0"), "standby");
  EXPECT_EQ(s.world.pods.at("b-0").labels.at(keys::kGroup), "db");
  EXPECT_EQ(s.world.pods.at("b-0").labels.at(keys::kMember), "b");
  EXPECT_EQ(s.world.services.at("db").selector,
            (Labels{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}}));
  EXPECT_EQ(s.world.services.at("db").annotations.at(keys::kActiveMember), "a");
  EXPECT_EQ(s.world.services.at("db").annotations.at(keys::kActiveSince), FormatTime(T(0)));
  EXPECT_TRUE(HasEvent(p, "ActiveMemberElected"));
  EXPECT_EQ(p.status.phase, "Healthy");
  EXPECT_EQ(p.status.active_member, "a");
  EXPECT_EQ(p.status.healthy, "2/2");
  EXPECT_EQ(p.status.failover_count, 0);
  EXPECT_EQ(Cond(p.status, "Ready").status, "True");
  EXPECT_EQ(Cond(p.status, "Degraded").status, "False");
  EXPECT_EQ(Cond(p.status, "StandbyAvailable").status, "True");
  EXPECT_EQ(Cond(p.status, "InvalidSpec").status, "False");
  EXPECT_TRUE(p.metrics.empty()) << "an election is not a failover";
}

TEST(Election, PriorityRanksAboveOrder) {
  Scenario s;
  s.spec.members[1].priority = 10;
  s.Step(T(0));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.world.status.phase, "Healthy") << "b is the preferred member by priority";
}

TEST(Election, NoHealthyMemberLeavesServicesAlone) {
  Scenario s;
  s.MemberReady("a", false);
  s.MemberReady("b", false);
  Plan& p = s.Step(T(0));
  EXPECT_EQ(CountKind(p, kService), 0u);
  EXPECT_EQ(s.world.services.at("db").selector, (Labels{{"app", "db"}}));
  EXPECT_EQ(p.status.phase, "Degraded");
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "NoHealthyMember");
  EXPECT_TRUE(HasEvent(p, "NoHealthyMember", "Warning"));
}

TEST(SteadyState, ConvergedWorldNeedsNoWriteAndNoStatusUpdate) {
  Scenario s = Settled();
  Plan& p = s.Step(T(30));
  EXPECT_TRUE(p.writes.empty()) << ::testing::PrintToString(Describe(p.writes));
  EXPECT_FALSE(p.status_changed);
  EXPECT_TRUE(p.events.empty());
  EXPECT_FALSE(p.requeue_after) << "nothing time-based pending";
}

// FailoverReady through a failover: Armed while all is well, UnhealthyForNotElapsed (naming
// when and to which member) while the active member's unhealthy period runs, then, with the
// old active member still down, NoHealthyStandby; the switch booked with its number and when
// it was decided.
TEST(FailoverReady, SaysWhyTheGroupIsNotFailingOverAtEachStepOfAFailover) {
  Scenario s = Settled();
  s.Step(T(30));
  EXPECT_EQ(Cond(s.world.status, "FailoverReady").reason, "Armed");
  EXPECT_EQ(Cond(s.world.status, "FailoverReady").status, "True");
  s.MemberReady("a", false);
  s.Step(T(31));
  const Condition& waiting = Cond(s.world.status, "FailoverReady");
  EXPECT_EQ(waiting.status, "False");
  EXPECT_EQ(waiting.reason, "UnhealthyForNotElapsed");
  EXPECT_NE(waiting.message.find("member b can take over at " + FormatTime(T(36))), std::string::npos)
      << waiting.message;
  s.Step(T(36));
  s.Step(T(36));  // the hand-off's second plan books the switch
  EXPECT_EQ(s.world.status.active_member, "b");
  const Condition& after = Cond(s.world.status, "FailoverReady");
  EXPECT_EQ(after.status, "False");
  EXPECT_EQ(after.reason, "NoHealthyStandby") << after.message;
  ASSERT_TRUE(s.world.status.last_transition);
  const Transition& t = *s.world.status.last_transition;
  EXPECT_GT(t.seq, 0);
  EXPECT_EQ(t.detected_at, T(31));
  EXPECT_EQ(t.decided_at, T(36));
  EXPECT_EQ(s.world.status.history.front(), t);
}

struct DetectionCase {
  int64_t unhealthy_for_ms;
  int64_t elapsed_ms;
  bool fails_over;
  int64_t requeue_ms;  // expected requeue when not failing over
};

class Detection : public ::testing::TestWithParam<DetectionCase> {};

TEST_P(Detection, FailsOverOnlyAfterUnhealthyFor) {
  const DetectionCase& c = GetParam();
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = Duration(c.unhealthy_for_ms);
  s.MemberReady("a", false);
  s.Step(T(10));  // first unhealthy observation
  Plan& p = s.Step(T(10) + Duration(c.elapsed_ms));
  EXPECT_EQ(s.ServiceMember(), c.fails_over ? "b" : "a");
  if (!c.fails_over) {
    ASSERT_TRUE(p.requeue_after);
    EXPECT_EQ(p.requeue_after->count(), c.requeue_ms);
    EXPECT_EQ(Cond(p.status, "Degraded").reason, "ActiveUnhealthy");
  } else {
    EXPECT_EQ(p.status.last_transition->detected_at, T(10));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, Detection,
                         ::testing::Values(DetectionCase{0, 0, true, 0}, DetectionCase{5000, 0, false, 5000},
                                           DetectionCase{5000, 4999, false, 1}, DetectionCase{5000, 5000, true, 0},
                                           DetectionCase{500, 600, true, 0}, DetectionCase{60000, 30000, false, 30000}));

TEST(Detection, UnhealthySinceSurvivesARestartAndIsNotDoubleCounted) {
  Scenario s = Settled();
  s.MemberReady("a", false);
  s.Step(T(10));
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(10));
  // A new operator process: nothing but the stored status carries over.
  Status stored = ParseStatus(StatusToJson(s.world.status));
  Plan p = Decide(s.spec, s.world.Observe(), stored, T(15));
  s.world.Apply(p);
  EXPECT_EQ(s.ServiceMember(), "b") << "5s after the first observation, not 5s after the restart";

  // Unhealthy, healthy again for longer than healthyFor, unhealthy: a new unhealthy period.
  Scenario f = Settled();
  f.spec.detection.healthy_for = 1s;
  f.MemberReady("a", false);
  f.Step(T(10));
  f.MemberReady("a", true);
  f.Step(T(12));
  f.MemberReady("a", false);
  f.Step(T(13));
  f.Step(T(16));
  EXPECT_EQ(f.ServiceMember(), "a") << "only 3s since it recovered and failed again";
  f.Step(T(18));
  EXPECT_EQ(f.ServiceMember(), "b");
}

// The status was written by a replica whose wall clock is an hour ahead (or before this
// node's clock was stepped back an hour): the primary's unhealthy period is dated in the
// future. It counts from now, not from an hour on; and the anti-flap history dated ahead
// still counts.
TEST(Clocks, TimesRecordedAheadOfTheClockNeitherHoldAFailoverBackNorAgeTheAntiFlapHistoryOut) {
  Scenario s = Settled();  // unhealthyFor 5s
  s.MemberReady("a", false);
  s.Step(T(3600 + 10));  // the replica an hour ahead saw a fail
  ASSERT_EQ(s.world.status.FindMember("a")->since, T(3610));
  ASSERT_EQ(s.ServiceMember(), "a");
  s.Step(T(20));  // this replica, on the right clock
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(20)) << "read as now";
  s.Step(T(24));
  EXPECT_EQ(s.ServiceMember(), "a") << "unhealthyFor not over yet";
  s.Step(T(25));
  EXPECT_EQ(s.ServiceMember(), "b") << "unhealthyFor after this replica first saw it, not an hour later";

  // An anti-flap budget spent at times recorded an hour ahead still holds.
  Scenario h = Settled();
  h.spec.anti_flap.max_failovers = 1;
  h.spec.anti_flap.window = 10min;
  h.world.status.recent_failovers = {T(3600)};
  h.MemberReady("a", false);
  h.Step(T(1000));
  h.Step(T(1010));
  EXPECT_EQ(h.ServiceMember(), "a") << "the budget spent 'in the future' is not forgotten";
}

// A crash-looping primary is Ready for moments between crashes: those spells are shorter
// than healthyFor, so its unhealthy period goes on from the first crash.
TEST(Detection, ACrashLoopingPrimaryFailsOverFromItsFirstCrash) {
  Scenario s = Settled();  // unhealthyFor 5s, healthyFor 10s (the defaults)
  s.MemberReady("a", false);
  s.Step(T(10));
  s.MemberReady("a", true);  // restarted, Ready for 1s
  s.Step(T(13));
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(13));
  EXPECT_EQ(s.world.status.FindMember("a")->unhealthy_since, T(10)) << "not recovered yet";
  EXPECT_EQ(s.plan.requeue_after, 10s) << "looked at again when it would count as recovered";
  s.MemberReady("a", false);  // crashed again
  s.Step(T(14));
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(10)) << "the same unhealthy period";
  s.Step(T(15));
  EXPECT_EQ(s.ServiceMember(), "b") << "5s after the first crash, not after the last";
}

// A primary that fails briefly and then stays up does not fail over (unhealthyFor holds
// against what is now), and once healthy for healthyFor it has recovered for good.
TEST(Detection, ABriefFailureThatStaysRecoveredIsForgotten) {
  Scenario s = Settled();
  s.MemberReady("a", false);
  s.Step(T(10));
  s.MemberReady("a", true);
  s.Step(T(12));
  s.Step(T(15));
  EXPECT_EQ(s.ServiceMember(), "a") << "healthy now: nothing to fail over from";
  s.Step(T(22));
  EXPECT_EQ(s.world.status.FindMember("a")->unhealthy_since, std::nullopt) << "healthy for 10s: recovered";
  s.MemberReady("a", false);
  s.Step(T(23));
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(23)) << "a new unhealthy period";
  s.Step(T(26));
  EXPECT_EQ(s.ServiceMember(), "a");
}

// The Service moves first (one write: b's pods are eligible already), then the roles:
// BreakBeforeMake demotes a before it promotes b.
TEST(Failover, BreakBeforeMakeMovesTheServiceThenDemotesThenPromotes) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"service db: selector {failover.io/eligible=true,failover.io/group=db,failover.io/member=b} (member b)"},
      {"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced",
       "pod a-1: set failover.io/eligible=false, set failover.io/role=fenced"},
      {"pod b-0: set failover.io/role=active"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(DescribeStages(p), expected);
  EXPECT_EQ(p.status.failover_count, 1);
  EXPECT_EQ(p.status.last_transition->reason, "PrimaryUnhealthy");
  EXPECT_EQ(p.status.FindMember("a")->role, Role::kFenced);
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "NoHealthyStandby") << "a is down: no standby left";
  const Event* started = FindEvent(p, "FailoverStarted");
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->type, "Warning");
  EXPECT_TRUE(started->if_stopped) << "only when the switch does not finish in this plan";
  EXPECT_EQ(started->after_writes, 1u) << "and only once the Service moved";
  const Event* done = FindEvent(p, "FailoverCompleted");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->type, "Warning") << "the one Event of an unplanned failover";
  EXPECT_FALSE(done->if_stopped);
  EXPECT_EQ(done->after_writes, p.writes.size());
  EXPECT_EQ(done->message,
            "switched a -> b (PrimaryUnhealthy), strategy BreakBeforeMake; NoHealthyStandby: no standby can take "
            "over: a: unhealthy: 0/1 ready pods needed")
      << "what the switch leaves behind, in its one Event";
  EXPECT_FALSE(HasEvent(p, "NoHealthyStandby")) << "not an Event of its own";
  ASSERT_EQ(p.metrics.size(), 3u);
  EXPECT_EQ(p.metrics[0].kind, MetricObservation::Kind::kFailover);
  EXPECT_EQ(p.metrics[0].from, "a");
  EXPECT_EQ(p.metrics[0].to, "b");
  EXPECT_EQ(p.metrics[0].reason, "PrimaryUnhealthy");
  EXPECT_EQ(p.metrics[2].kind, MetricObservation::Kind::kSwitchDuration);
  EXPECT_EQ(p.metrics[2].started_at, T(10));
}

TEST(Failover, MakeBeforeBreakMovesTheServiceThenPromotesThenDemotes) {
  Scenario s = Settled();
  s.spec.strategy = SwitchStrategy::kMakeBeforeBreak;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"service db: selector {failover.io/eligible=true,failover.io/group=db,failover.io/member=b} (member b)"},
      {"pod b-0: set failover.io/role=active"},
      {"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced",
       "pod a-1: set failover.io/eligible=false, set failover.io/role=fenced"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(DescribeStages(p), expected);
  EXPECT_EQ(FindEvent(p, "FailoverCompleted")->message.rfind(
                "switched a -> b (PrimaryUnhealthy), strategy MakeBeforeBreak", 0),
            0u);
}

// A process that dies after the second stage: the next plan resumes toward the same target
// (recorded on the Service) and reports the switch once, as completed.
TEST(Failover, SwitchCutShortAfterTheFirstStagesResumes) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10), Stages(Decide(s.spec, s.world.Observe(), s.world.status, T(10)))[1].end);
  EXPECT_FALSE(s.world.status.switch_record) << "no intent in the status without a prePromote hook";
  EXPECT_EQ(s.world.status.active_member, "a");
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.Role("a-0"), "fenced");
  EXPECT_EQ(s.Role("b-0"), "standby");
  EXPECT_TRUE(FindEvent(p, "FailoverStarted")->if_stopped);
  // a looks healthy again by the restart: the recorded switch still finishes.
  s.MemberReady("a", true);
  Status stored = ParseStatus(StatusToJson(s.world.status));
  Plan q = Decide(s.spec, s.world.Observe(), stored, T(11));
  s.world.Apply(q);
  EXPECT_EQ(DescribeStages(q).size(), 2u) << "promotions, then the final status\n" << PlanToJson(q).dump(1);
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.Role("b-0"), "active");
  EXPECT_FALSE(HasEvent(q, "FailoverStarted")) << "reported when the first plan stopped";
  EXPECT_TRUE(HasEvent(q, "FailoverCompleted", "Warning"));
  EXPECT_EQ(s.world.status.active_member, "b");
}

TEST(Fencing, NoneLabelsTheOldMemberStandby) {
  Scenario s = Settled();
  s.spec.fencing = FencingPolicy::kNone;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.Step(T(10));
  EXPECT_EQ(s.Role("a-0"), "standby");
  EXPECT_EQ(s.world.status.FindMember("a")->role, Role::kStandby);
}

TEST(Fencing, DeletePodsDeletesOnlyPodsOlderThanTheSwitch) {
  Scenario s = Settled();
  s.spec.fencing = FencingPolicy::kDeletePods;
  s.spec.detection.unhealthy_for = 0s;
  s.world.pods.at("a-0").created_at = T(-100);
  s.world.pods.at("a-1").created_at = T(-100);
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  EXPECT_EQ(CountKind(p, kDelete), 2u);
  EXPECT_TRUE(s.world.pods.at("a-0").terminating);
  EXPECT_EQ(s.Role("a-0"), "fenced") << "labelled before deleted";
  // The controller recreates a pod: it is fenced by label, not deleted again.
  s.world.pods.erase("a-0");
  s.world.pods.erase("a-1");
  s.world.AddPod("a-0", {{"app", "db"}, {"site", "a"}}, false, T(11));
  Plan& q = s.Step(T(12));
  EXPECT_EQ(CountKind(q, kDelete), 0u);
  EXPECT_EQ(s.Role("a-0"), "fenced");
}

TEST(Fencing, FencedMemberBecomesStandbyAfterStabilizationWindow) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.Step(T(10));
  s.MemberReady("a", true);
  Plan& p = s.Step(T(20));
  EXPECT_EQ(s.Role("a-0"), "fenced");
  EXPECT_EQ(p.status.FindMember("a")->message, "fenced until healthy for 1m");
  ASSERT_TRUE(p.requeue_after);
  EXPECT_EQ(*p.requeue_after, 10s) << "first when a has recovered (healthyFor)";
  Plan& r = s.Step(T(30));
  EXPECT_EQ(r.status.FindMember("a")->unhealthy_since, std::nullopt);
  ASSERT_TRUE(r.requeue_after);
  EXPECT_EQ(*r.requeue_after, 50s) << "then when the stabilization window ends";
  Plan& q = s.Step(T(80));
  EXPECT_EQ(s.Role("a-0"), "standby");
  EXPECT_TRUE(HasEvent(q, "MemberUnfenced"));
  EXPECT_EQ(q.status.phase, "FailedOver") << "Manual failback: stays on b";
  EXPECT_EQ(s.ServiceMember(), "b");
}

TEST(Restart, ASwitchKilledAfterAnyWriteFinishesTowardTheSameTarget) {
  Scenario base = Settled();
  base.spec.detection.unhealthy_for = 0s;
  base.MemberReady("a", false);
  Plan full = Decide(base.spec, base.world.Observe(), base.world.status, T(10));
  for (size_t k = 1; k < full.writes.size(); ++k) {
    Scenario s = base;
    s.world.Apply(full, k);
    // a recovers while the operator is down: the recorded switch still completes.
    s.MemberReady("a", true);
    s.Step(T(11));
    EXPECT_EQ(s.ServiceMember(), "b") << "killed after " << k << " writes";
    EXPECT_EQ(s.world.LabelledActive(), std::set<std::string>{"b"}) << k;
    EXPECT_FALSE(s.world.status.switch_record) << k;
    EXPECT_EQ(s.world.status.failover_count, 1) << k;
    EXPECT_EQ(s.world.status.last_transition->detected_at, T(10)) << k;
  }
}

TEST(NoHealthyMember, EveryMemberDownNothingDestructiveAndSaySo) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.MemberReady("b", false);
  Plan& p = s.Step(T(10));
  EXPECT_EQ(Describe(p.writes), std::vector<std::string>{"status: phase Degraded, active a"});
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.Role("a-0"), "active");
  EXPECT_EQ(Cond(p.status, "StandbyAvailable").status, "False");
  EXPECT_EQ(Cond(p.status, "StandbyAvailable").reason, "NoHealthyStandby");
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "NoHealthyMember");
  EXPECT_EQ(Cond(p.status, "Ready").status, "False");
  const Event* e = FindEvent(p, "NoHealthyMember");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, "Warning");
  EXPECT_NE(e->message.find("Services left on a"), std::string::npos) << e->message;
  // The same situation again: no repeated event, no status write.
  Plan& q = s.Step(T(20));
  EXPECT_TRUE(q.events.empty());
  EXPECT_TRUE(q.writes.empty());
  // b recovers: fail over now.
  s.MemberReady("b", true);
  s.Step(T(21));
  EXPECT_EQ(s.ServiceMember(), "b");
}

TEST(MaxLag, LaggingStandbyIsNotPromotedAutomatically) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.max_lag = MaxLag{10.0, std::nullopt};
  s.world.pods.at("b-0").annotations[keys::kLagSeconds] = "30";
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "StandbyLagging");
  EXPECT_EQ(p.status.FindMember("b")->message, "lag 30s over maxLag.seconds 10");
  EXPECT_FALSE(p.status.FindMember("b")->eligible);
  EXPECT_EQ(*p.status.FindMember("b")->lag_seconds, 30.0);
  EXPECT_TRUE(HasEvent(p, "StandbyLagging", "Warning"));
  // The standby catches up.
  s.world.pods.at("b-0").annotations[keys::kLagSeconds] = "2";
  s.Step(T(11));
  EXPECT_EQ(s.ServiceMember(), "b");
}

TEST(MaxLag, UnknownLagIsNotPromotedButAManualSwitchoverForcesIt) {
  Scenario s = Settled();
  s.spec.max_lag = MaxLag{std::nullopt, 1024};
  Plan& p = s.Step(T(5));
  EXPECT_EQ(p.status.FindMember("b")->message, "lag unknown: no ready pod publishes failover.io/lag-bytes");
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  Plan& q = s.Step(T(6));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_TRUE(HasEvent(q, "SwitchoverForced", "Warning"));
  EXPECT_TRUE(HasEvent(q, "SwitchoverCompleted"));
}

TEST(Hooks, PreAndPostPromoteAroundTheSwitch) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  s.spec.post_promote = Hook{"http://hooks/post", 5s, 3, HookFailurePolicy::kIgnore};
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"status: phase FailingOver, active a step Demoting"},
      {"hook prePromote: POST http://hooks/pre (a -> b)"},
      {"service db: selector {failover.io/eligible=true,failover.io/group=db,failover.io/member=b} (member b)"},
      {"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced",
       "pod a-1: set failover.io/eligible=false, set failover.io/role=fenced"},
      {"pod b-0: set failover.io/role=active"},
      {"hook postPromote: POST http://hooks/post (a -> b)"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(DescribeStages(p), expected) << "prePromote after the intent, before anything is demoted";
}

// ---- node loss: the node Lease (detection.nodeLeaseTimeout) ------------------------------

// Settled(), with a's pods on node n1 and b's on n2, both Leases heard at `heard`.
Scenario OnTwoNodes(Time heard) {
  Scenario s = Settled();
  for (auto& [name, p] : s.world.pods) p.node_name = name.rfind("a-", 0) == 0 ? "n1" : "n2";
  for (const char* n : {"n1", "n2"}) {
    NodeObservation lease;
    lease.name = n;
    lease.lease_found = true;
    lease.heard_at = heard;
    lease.renew_time = heard;
    lease.lease_duration_seconds = 40;
    s.world.nodes[n] = lease;
  }
  return s;
}

void Renew(Scenario& s, const std::string& node, Time at) {
  s.world.nodes[node].heard_at = at;
  s.world.nodes[node].renew_time = at;
  s.world.nodes[node].read_live = false;
}

// The pods stay Ready throughout (no NotReady yet): the silent Lease alone, confirmed live,
// fails the member over unhealthyFor (5 s) after it expired (15 s after the last renewal).
TEST(NodeLoss, ASilentNodeLeaseFailsOverUnhealthyForAfterItExpiresWithoutWaitingForNotReady) {
  Scenario s = OnTwoNodes(T(0));
  Plan& p = s.Step(T(5));
  EXPECT_FALSE(p.requeue_after) << "no look at Lease expiry times: NodeLeases re-queues a node that goes overdue";

  Renew(s, "n2", T(10));
  // T(15): n1 silent for 15 s in the cache, but the live read failed: nothing yet.
  s.Step(T(15));
  EXPECT_TRUE(s.world.status.FindMember("a")->healthy) << "a silence the cache alone shows is not acted on";
  EXPECT_EQ(*s.plan.requeue_after, 1s) << "the live read is tried again a second later";

  s.world.nodes["n1"].read_live = true;  // the reconciler's live read confirms it
  s.Step(T(16));
  const MemberStatus* a = s.world.status.FindMember("a");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->healthy);
  EXPECT_NE(a->message.find("NodeLeaseExpired: 2 pod(s) on node n1: Lease not renewed since"), std::string::npos)
      << a->message;
  const Condition& degraded = Cond(s.world.status, "Degraded");
  EXPECT_EQ(degraded.reason, "ActiveUnhealthy");
  EXPECT_NE(degraded.message.find("NodeLeaseExpired: node n1"), std::string::npos) << degraded.message;
  EXPECT_EQ(s.ServiceMember(), "a") << "unhealthyFor has not passed";

  Renew(s, "n2", T(20));
  s.Step(T(21));
  EXPECT_EQ(s.ServiceMember(), "b") << "failed over with every pod of a still Ready";
  s.Step(T(21));  // the hand-off's second plan books the switch
  EXPECT_EQ(s.world.status.active_member, "b");
  ASSERT_TRUE(s.world.status.last_transition);
  EXPECT_EQ(s.world.status.last_transition->reason, "PrimaryUnhealthy");
}

// A node cut off from the apiserver whose pods still answer the operator's probe is not
// failed over; once a probe attempt fails, it is.
TEST(NodeLoss, APodThatStillAnswersTheProbeKeepsItsMemberHealthy) {
  Scenario s = OnTwoNodes(T(0));
  s.spec.detection.probe = Probe{};
  s.spec.detection.probe->http = HttpProbe{"/ready", 8080, "HTTP"};
  for (auto& [name, p] : s.world.pods) {
    p.probe_ok = true;
    p.probe_last_ok = true;
  }
  s.world.nodes["n1"].read_live = true;
  for (int t = 15; t <= 40; t += 5) {
    Renew(s, "n2", T(t));
    s.Step(T(t));
  }
  EXPECT_TRUE(s.world.status.FindMember("a")->healthy);
  EXPECT_EQ(s.ServiceMember(), "a");

  for (auto& [name, p] : s.world.pods) {
    if (name.rfind("a-", 0) == 0) p.probe_last_ok = false;  // below failureThreshold: verdict still true
  }
  s.Step(T(41));
  EXPECT_FALSE(s.world.status.FindMember("a")->healthy);
  Renew(s, "n2", T(46));
  s.Step(T(46));
  EXPECT_EQ(s.ServiceMember(), "b");
}

// ---- node storms: too many nodes silent at once (NodeLeases holds node-lease verdicts) ----

constexpr const char* kStorm = "a node storm holds node-lease failovers (test)";

// The active member's node falls silent during a node storm: the silence, confirmed live,
// is held (the pods count), so nothing fails over; FailoverReady says why, with one Warning
// Event when the hold begins. When the storm ends with n1 still silent, it fails over.
TEST(NodeStorm, AHeldSilenceFailsNothingOverAndSaysSoOnce) {
  Scenario s = OnTwoNodes(T(0));
  s.world.nodes["n1"].read_live = true;
  s.world.nodes["n1"].storm_hold = kStorm;
  Renew(s, "n2", T(10));
  Plan& p = s.Step(T(16));
  EXPECT_TRUE(s.world.status.FindMember("a")->healthy) << "held: a's pods count";
  const Condition& ready = Cond(s.world.status, "FailoverReady");
  EXPECT_EQ(ready.status, "False");
  EXPECT_EQ(ready.reason, "NodeStormHold");
  EXPECT_NE(ready.message.find("node n1: Lease not renewed since"), std::string::npos) << ready.message;
  EXPECT_NE(ready.message.find(kStorm), std::string::npos) << ready.message;
  ASSERT_TRUE(HasEvent(p, "NodeStormHold", "Warning"));
  for (int t = 20; t <= 60; t += 10) {
    Renew(s, "n2", T(t));
    Plan& q = s.Step(T(t));
    EXPECT_FALSE(HasEvent(q, "NodeStormHold")) << "said once, at " << t;
  }
  EXPECT_EQ(s.ServiceMember(), "a") << "nothing failed over in 60 s of a held silence";

  s.world.nodes["n1"].storm_hold.clear();  // the storm is over, n1 still silent
  s.Step(T(61));
  EXPECT_FALSE(s.world.status.FindMember("a")->healthy);
  s.Step(T(66));
  EXPECT_EQ(s.ServiceMember(), "b") << "unhealthyFor after the hold ended";
}

// The active member fails by readiness during a storm that holds the standby's silent node:
// the standby's pods count (no verdict on a node the storm may only hide), but traffic is
// not moved to it: no automatic failover, and StandbyAvailable says why. A manual switchover
// to it goes through.
TEST(NodeStorm, NoAutomaticSwitchMovesTrafficOntoAHeldNodeButASwitchoverDoes) {
  Scenario s = OnTwoNodes(T(0));
  s.world.nodes["n2"].read_live = true;
  s.world.nodes["n2"].storm_hold = kStorm;
  Renew(s, "n1", T(10));
  s.Step(T(16));
  EXPECT_TRUE(s.world.status.FindMember("b")->healthy);
  const MemberStatus* b = s.world.status.FindMember("b");
  EXPECT_FALSE(b->eligible);
  EXPECT_NE(b->message.find("NodeStormHold: not a switch target"), std::string::npos) << b->message;
  EXPECT_EQ(Cond(s.world.status, "StandbyAvailable").reason, "NodeStormHold");

  s.MemberReady("a", false);
  for (int t = 17; t <= 40; t += 3) {
    Renew(s, "n1", T(t));
    s.Step(T(t));
  }
  EXPECT_EQ(s.ServiceMember(), "a") << "no failover onto a member on a held node";
  EXPECT_EQ(Cond(s.world.status, "FailoverReady").reason, "NodeStormHold");

  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  s.Step(T(41));
  s.Step(T(41));
  EXPECT_EQ(s.ServiceMember(), "b") << "a switchover is the operator's to ask";
}

// ---- zones: a member all in a lost zone is not promoted ----------------------------------

// a on n1 and b on n2, both in zone z1; c on n3 in zone z2; order a, b, c. Zone z1 is lost
// (n1 silent, half of z1): a's Lease expired, b's node still renews. Without zones b would
// take over; with them c does, and b says why it is passed over.
TEST(ZoneLoss, TheStandbyChosenIsOutsideALostZone) {
  Scenario s = OnTwoNodes(T(0));
  s.spec.members.push_back(Member{"c", {{{"app", "db"}, {"site", "c"}}, {}}, 1, std::nullopt});
  s.world.AddPod("c-0", {{"app", "db"}, {"site", "c"}});
  s.world.pods["c-0"].node_name = "n3";
  s.world.nodes["n3"] = s.world.nodes["n2"];
  s.world.nodes["n3"].name = "n3";
  s.Step(T(1));
  const std::string lost = "zone z1 is lost (test)";
  for (const char* n : {"n1", "n2"}) {
    s.world.nodes[n].zone = "z1";
    s.world.nodes[n].zone_lost = lost;
  }
  s.world.nodes["n3"].zone = "z2";
  s.world.nodes["n1"].read_live = true;
  for (int t = 10; t <= 20; t += 10) {
    Renew(s, "n2", T(t));
    Renew(s, "n3", T(t));
  }
  s.Step(T(16));
  const MemberStatus* b = s.world.status.FindMember("b");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->healthy) << "b's own node renews";
  EXPECT_FALSE(b->eligible);
  EXPECT_NE(b->message.find("ZoneLost: not a switch target while all its pods sit in a lost zone: " + lost),
            std::string::npos)
      << b->message;
  s.Step(T(21));
  EXPECT_EQ(s.ServiceMember(), "c") << "not b, whose zone is lost";

  // The zone comes back: b is a target again (failback Manual: nothing moves).
  for (const char* n : {"n1", "n2"}) s.world.nodes[n].zone_lost.clear();
  s.Step(T(22));
  s.Step(T(22));
  EXPECT_TRUE(s.world.status.FindMember("b")->eligible);
  EXPECT_EQ(s.ServiceMember(), "c");
}

// The only standby sits in the lost zone: no automatic failover onto it (StandbyAvailable
// says ZoneLost); a switchover to it goes through.
TEST(ZoneLoss, NoFailoverIntoALostZoneButASwitchoverGoes) {
  Scenario s = OnTwoNodes(T(0));
  s.world.nodes["n2"].zone = "z1";
  s.world.nodes["n2"].zone_lost = "zone z1 is lost (test)";
  s.MemberReady("a", false);
  for (int t = 5; t <= 30; t += 5) {
    Renew(s, "n1", T(t));
    Renew(s, "n2", T(t));
    s.Step(T(t));
  }
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(Cond(s.world.status, "StandbyAvailable").reason, "ZoneLost");
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  s.Step(T(31));
  s.Step(T(31));
  EXPECT_EQ(s.ServiceMember(), "b");
}

}  // namespace
}  // namespace failover
