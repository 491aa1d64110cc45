// DecideActivePassive and DecideActiveActive on their own: (classification, previous
// status, spec, time) -> the target as a Decision, before any write is planned.
#include <gtest/gtest.h>

#include "stage_fixture.h"

namespace failover::engine {
namespace {

using namespace std::chrono_literals;
using failover::testing::Recorded;
using failover::testing::T;

// A group whose pods are a-0 and b-0 (c-0 with a third member), all ready; the previous
// status has `active` serving and every member healthy since T(-100).
struct Fixture : failover::testing::StageFixture {
  explicit Fixture(const std::string& active = "a", int members = 2) {
    if (members == 3) {
      Member c = spec.members[1];
      c.name = "c";
      c.selector.match_labels = {{"app", "db"}, {"site", "c"}};
      spec.members.push_back(c);
    }
    AddMemberPods();
    for (const auto& m : spec.members) {
      previous.members.push_back(Recorded(m.name, m.name == active ? Role::kActive : Role::kStandby, T(-100)));
    }
    if (!active.empty()) {
      previous.active_member = active;
      previous.active_members = {active};
    }
  }
  // The pods of `member` turn unready, and the previous status has it unhealthy since `since`.
  void Down(const std::string& member, Time since) {
    StageFixture::Down(member);
    for (auto& m : previous.members) {
      if (m.name == member) {
        m.healthy = false;
        m.since = since;
      }
    }
  }
  MemberStatus& Previous(const std::string& name) {
    for (auto& m : previous.members) {
      if (m.name == name) return m;
    }
    throw std::logic_error("no member " + name);
  }
  Decision Run(Time now, bool acting = true) const {
    const Inputs in = In(now, acting);
    const Classification c = Classified(now);
    return spec.mode == Mode::kActivePassive ? DecideActivePassive(in, c) : DecideActiveActive(in, c);
  }
};

std::vector<Reason> Reasons(const Decision& d) {
  std::vector<Reason> out;
  for (const auto& n : d.notices) out.push_back(n.reason);
  return out;
}

// ---- ActivePassive ---------------------------------------------------------------------

TEST(DecideActivePassive, ElectsTheMostPreferredHealthyMember) {
  Fixture f("");
  f.spec.members[1].priority = 1;
  Decision d = f.Run(T(0));
  EXPECT_EQ(d.active, std::vector<int>{1});
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->from, "");
  EXPECT_EQ(d.switching->to, "b");
  EXPECT_EQ(d.switching->reason, SwitchReason::kInitial);
  EXPECT_EQ(d.roles, (std::vector<Role>{Role::kStandby, Role::kActive}));

  f.Down("a", T(0));
  f.Down("b", T(0));
  Decision none = f.Run(T(0));
  EXPECT_TRUE(none.active.empty());
  EXPECT_FALSE(none.switching);
}

// A group created with its pods: b became Ready first, a (preferred) is still starting.
TEST(DecideActivePassive, TheFirstElectionWaitsForAPreferredMemberThatIsStarting) {
  Fixture f("");
  f.observed.group.created_at = T(0);
  for (auto& p : f.observed.pods) p.created_at = T(-1);
  f.Down("a", T(0));
  f.previous.members.clear();  // a new group: no status yet

  Decision wait = f.Run(T(2));
  EXPECT_TRUE(wait.active.empty()) << "b is healthy but a may still come up";
  EXPECT_FALSE(wait.switching);
  ASSERT_TRUE(wait.electing);
  EXPECT_NE(wait.electing->find("b is healthy but the more preferred a (0/1 ready pods"), std::string::npos)
      << *wait.electing;
  EXPECT_EQ(wait.requeue_at, T(30)) << "initialWait (30s) after the group's creation";

  // a comes up inside the wait: a is elected, not b.
  f.observed.pods[0].ready = true;
  Decision a = f.Run(T(5));
  EXPECT_EQ(a.active, std::vector<int>{0});
  ASSERT_TRUE(a.switching);
  EXPECT_EQ(a.switching->reason, SwitchReason::kInitial);

  // a never comes up: b is elected once the wait is over.
  f.observed.pods[0].ready = false;
  EXPECT_TRUE(f.Run(T(29)).active.empty());
  Decision b = f.Run(T(30));
  EXPECT_EQ(b.active, std::vector<int>{1});
  EXPECT_FALSE(b.electing);

  // A pod of a created later (a restart of a's pod) is waited for from its own creation.
  f.observed.pods[0].created_at = T(20);
  EXPECT_TRUE(f.Run(T(30)).active.empty());
  EXPECT_EQ(f.Run(T(30)).requeue_at, T(50));
  EXPECT_EQ(f.Run(T(50)).active, std::vector<int>{1});
}

TEST(DecideActivePassive, TheElectionDoesNotWaitForWhatIsNotStarting) {
  // initialWait 0: elect at once.
  Fixture zero("");
  zero.spec.detection.initial_wait = Duration{0};
  zero.observed.group.created_at = T(0);
  zero.Down("a", T(0));
  EXPECT_EQ(zero.Run(T(0)).active, std::vector<int>{1});

  // A preferred member without pods in a new group: its controller may not have created
  // them yet, so it is waited for from the group's creation; in an old group it is not.
  Fixture empty("");
  empty.observed.group.created_at = T(0);
  empty.observed.pods.erase(empty.observed.pods.begin());  // a-0
  EXPECT_TRUE(empty.Run(T(1)).active.empty());
  EXPECT_EQ(empty.Run(T(30)).active, std::vector<int>{1});
  empty.observed.group.created_at = T(-3600);
  EXPECT_EQ(empty.Run(T(1)).active, std::vector<int>{1});

  // Pods (and group) long there, a not ready: an operator restarted with no member
  // recorded active does not wait for a member that is down, only for one starting.
  Fixture old("");
  old.observed.group.created_at = T(-3600);
  for (auto& p : old.observed.pods) p.created_at = T(-3600);
  old.Down("a", T(-3600));
  EXPECT_EQ(old.Run(T(0)).active, std::vector<int>{1});

  // A less preferred member starting is not waited for.
  Fixture lower("");
  lower.observed.group.created_at = T(0);
  lower.Down("b", T(0));
  EXPECT_EQ(lower.Run(T(1)).active, std::vector<int>{0});

  // An active member recorded: nothing to elect, nothing waited for.
  Fixture running("b");
  running.observed.group.created_at = T(0);
  running.Down("a", T(0));
  Decision d = running.Run(T(1));
  EXPECT_EQ(d.active, std::vector<int>{1});
  EXPECT_FALSE(d.electing);
}

TEST(DecideActivePassive, SteadyStateKeepsTheActiveMemberAndAsksForNothing) {
  Fixture f;
  Decision d = f.Run(T(0));
  EXPECT_EQ(d.active, std::vector<int>{0});
  EXPECT_FALSE(d.switching);
  EXPECT_FALSE(d.requeue_at);
  EXPECT_TRUE(d.notices.empty());
  EXPECT_FALSE(d.hold);
}

TEST(DecideActivePassive, FailsOverOnceUnhealthyForTheDetectionWindow) {
  Fixture f;
  f.Down("a", T(0));
  Decision early = f.Run(T(3));
  EXPECT_EQ(early.active, std::vector<int>{0}) << "5s have not passed";
  EXPECT_FALSE(early.switching);
  EXPECT_EQ(early.requeue_at, T(5));

  Decision d = f.Run(T(5));
  EXPECT_EQ(d.active, std::vector<int>{1});
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->from, "a");
  EXPECT_EQ(d.switching->to, "b");
  EXPECT_EQ(d.switching->reason, SwitchReason::kPrimaryUnhealthy);
  EXPECT_EQ(d.switching->detected_at, T(0)) << "detected when it turned unhealthy";
  EXPECT_EQ(d.switching->started_at, T(5));
  EXPECT_EQ(d.roles, (std::vector<Role>{Role::kFenced, Role::kActive}));
  EXPECT_TRUE(d.delete_uids.empty()) << "fencing Label deletes nothing";
}

TEST(DecideActivePassive, FencingPolicyDecidesTheOldMembersRole) {
  Fixture f;
  f.Down("a", T(0));
  f.spec.fencing = FencingPolicy::kNone;
  EXPECT_EQ(f.Run(T(5)).roles[0], Role::kStandby);
  f.spec.fencing = FencingPolicy::kDeletePods;
  Decision d = f.Run(T(5));
  EXPECT_EQ(d.roles[0], Role::kFenced);
  EXPECT_EQ(d.delete_uids, std::set<std::string>{"uid-a-0"}) << "the pods a has when the switch starts";
  EXPECT_EQ(d.switching->fence_pods, std::vector<std::string>{"uid-a-0"}) << "recorded with the switch";
}

// The switch started with a-0 (uid-a-0) and stopped before its deletes; a-0 was replaced
// meanwhile by a pod with the same name (a StatefulSet does that) created in the same
// second: the resumed switch deletes nothing of it.
TEST(DecideActivePassive, DeletePodsDeletesExactlyThePodsRecordedWhenTheSwitchStarted) {
  Fixture f;
  f.spec.fencing = FencingPolicy::kDeletePods;
  f.Down("a", T(0));
  f.previous.switch_record =
      SwitchRecord{"a", "b", "PrimaryUnhealthy", "Demoting", T(0), T(5), {"uid-a-0", "uid-a-9"}};
  f.observed.pods[0].uid = "uid-a-0-replacement";
  f.observed.pods[0].created_at = T(5);
  Decision d = f.Run(T(5));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->fence_pods, (std::vector<std::string>{"uid-a-0", "uid-a-9"})) << "the recorded list";
  EXPECT_EQ(d.delete_uids, (std::set<std::string>{"uid-a-0", "uid-a-9"}));

  // The old pod is still there: it (and only it) is deleted.
  f.observed.pods[0].uid = "uid-a-0";
  EXPECT_EQ(f.Run(T(5)).delete_uids, (std::set<std::string>{"uid-a-0", "uid-a-9"}));
}

TEST(DecideActivePassive, TheAntiFlapBudgetHoldsAnAutomaticFailover) {
  Fixture f;
  f.spec.anti_flap.max_failovers = 2;
  f.previous.recent_failovers = {T(-700), T(-30), T(-20)};  // the first is outside the 10m window
  f.Down("a", T(0));
  Decision d = f.Run(T(5));
  EXPECT_FALSE(d.switching);
  EXPECT_EQ(d.active, std::vector<int>{0});
  ASSERT_TRUE(d.hold);
  EXPECT_EQ(*d.hold,
            "active member a is unhealthy but 2 automatic failovers within 10m used the antiFlap budget "
            "(maxFailovers 2); holding until " + FormatTime(T(-30) + 10min));
  EXPECT_EQ(d.requeue_at, T(-30) + 10min);
  EXPECT_EQ(d.ledger.recent_failovers, (std::vector<Time>{T(-30), T(-20)}));
}

TEST(DecideActivePassive, FailsBackAfterTheStabilizationWindowUnlessASwitchoverChose) {
  Fixture f("b");
  f.spec.failback.policy = FailbackPolicy::kAutomatic;
  f.Previous("a").since = T(-30);
  Decision early = f.Run(T(0));
  EXPECT_FALSE(early.switching);
  EXPECT_EQ(early.requeue_at, T(30)) << "a has been healthy for 30s of 60s";

  Decision d = f.Run(T(30));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->reason, SwitchReason::kFailback);
  EXPECT_EQ(d.switching->to, "a");
  EXPECT_EQ(d.switching->detected_at, T(30));
  EXPECT_EQ(d.roles, (std::vector<Role>{Role::kActive, Role::kStandby})) << "a failback fences nobody";

  f.previous.last_transition = Transition{"a", "b", "Switchover", T(-40), T(-40)};
  EXPECT_FALSE(f.Run(T(30)).switching);
  f.spec.failback.policy = FailbackPolicy::kManual;
  f.previous.last_transition.reset();
  EXPECT_FALSE(f.Run(T(30)).switching);
}

TEST(DecideActivePassive, ASwitchoverRequestIsDoneOrRefusedAndAlwaysConsumed) {
  Fixture f;
  f.observed.group.annotations[keys::kSwitchoverTo] = "b";
  Decision d = f.Run(T(0));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->reason, SwitchReason::kSwitchover);
  EXPECT_TRUE(d.clear_switchover);
  EXPECT_TRUE(d.notices.empty());

  f.observed.group.annotations[keys::kSwitchoverTo] = "nope";
  d = f.Run(T(0));
  EXPECT_FALSE(d.switching);
  EXPECT_TRUE(d.clear_switchover);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kSwitchoverRefused});
  EXPECT_EQ(d.notices[0].message, "no member named \"nope\"; members: a, b");

  f.observed.group.annotations[keys::kSwitchoverTo] = "a";
  EXPECT_EQ(Reasons(f.Run(T(0))), std::vector<Reason>{Reason::kSwitchoverSkipped});

  f.observed.group.annotations[keys::kSwitchoverTo] = "b";
  f.Down("b", T(0));
  d = f.Run(T(0));
  EXPECT_FALSE(d.switching);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kSwitchoverRefused});
  EXPECT_EQ(d.notices[0].type, EventType::kWarning);
}

TEST(DecideActivePassive, ASwitchoverToALaggingMemberIsForcedWithAWarning) {
  Fixture f;
  f.spec.max_lag = MaxLag{10.0, std::nullopt};
  f.observed.group.annotations[keys::kSwitchoverTo] = "b";
  Decision d = f.Run(T(0));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kSwitchoverForced});
}

TEST(DecideActivePassive, ARecordedSwitchFinishesEvenIfTheOldMemberLooksFineAgain) {
  Fixture f;
  f.previous.switch_record = SwitchRecord{"a", "b", "PrimaryUnhealthy", "Demoting", T(-3), T(-2)};
  Decision d = f.Run(T(0));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->to, "b");
  EXPECT_EQ(d.switching->started_at, T(-2)) << "the same switch, not a new one";
  EXPECT_EQ(d.active, std::vector<int>{1});
}

TEST(DecideActivePassive, ARecordedSwitchWhoseTargetFailedIsRedirectedOrCancelled) {
  Fixture f("a", 3);
  f.previous.switch_record = SwitchRecord{"a", "b", "Switchover", "Promoting", T(-3), T(-2)};
  f.Down("b", T(-1));
  f.Down("a", T(-1));
  Decision d = f.Run(T(0));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->to, "c");
  EXPECT_EQ(d.switching->from, "a");
  EXPECT_EQ(d.switching->reason, SwitchReason::kSwitchover) << "a redirect keeps the reason";
  EXPECT_EQ(d.switching->started_at, T(0));
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kSwitchRedirected});

  Fixture g;
  g.previous.switch_record = SwitchRecord{"a", "b", "Switchover", "Promoting", T(-3), T(-2)};
  g.Down("b", T(-1));
  Decision e = g.Run(T(0));
  EXPECT_FALSE(e.switching);
  EXPECT_EQ(e.active, std::vector<int>{0}) << "a is healthy: stay";
  EXPECT_EQ(Reasons(e), std::vector<Reason>{Reason::kSwitchCancelled});
}

// promotion.switchTimeout after it started, a recorded switch ends: given up when no
// Service moved to its target (the old member stays, the hold recorded), finished on the
// target (with no hook) when a Service points at it already (traffic flows there).
TEST(DecideActivePassive, ARecordedSwitchEndsAtSwitchTimeout) {
  Fixture f;
  f.spec.switch_timeout = 60s;
  f.previous.switch_record = SwitchRecord{"a", "b", "Switchover", "Demoting", T(-60), T(-60)};
  Decision before = f.Run(T(-1));
  ASSERT_TRUE(before.switching);
  EXPECT_FALSE(before.switch_timed_out);
  ASSERT_TRUE(before.requeue_at);
  EXPECT_EQ(*before.requeue_at, T(0)) << "looked at again at the deadline";

  Decision d = f.Run(T(0));
  EXPECT_TRUE(d.switch_timed_out);
  EXPECT_FALSE(d.switching);
  EXPECT_EQ(d.active, std::vector<int>{0});
  ASSERT_TRUE(d.ledger.timed_out);
  EXPECT_EQ(d.ledger.timed_out->to, "b");
  EXPECT_EQ(d.ledger.timed_out->stuck_at, "its first writes (none landed)");
  EXPECT_EQ(d.ledger.timed_out->timed_out_at, T(0));

  f.observed.services = {{"db", true, {{keys::kGroup, "db"}, {keys::kMember, "b"}, {keys::kEligible, "true"}}, {}}};
  Decision e = f.Run(T(0));
  EXPECT_TRUE(e.switch_timed_out);
  ASSERT_TRUE(e.switching);
  EXPECT_EQ(e.switching->to, "b");
  EXPECT_EQ(e.switching->started_at, T(-60)) << "the same switch, finished";
  EXPECT_EQ(e.active, std::vector<int>{1});
  EXPECT_FALSE(e.ledger.timed_out);
  EXPECT_EQ(Reasons(e), std::vector<Reason>{Reason::kSwitchTimedOut});
}

// While a timed-out switch holds, no automatic failover; the hold ends switchTimeout after
// the timeout, or with a new spec generation.
TEST(DecideActivePassive, ATimedOutSwitchHoldsAutomaticSwitches) {
  Fixture f;
  f.spec.switch_timeout = 60s;
  f.spec.detection.unhealthy_for = 0s;
  f.Down("a", T(-50));
  f.observed.group.generation = 4;
  f.previous.timed_out_switch = TimedOutSwitch{"a", "b", "PrimaryUnhealthy", "x", T(-100), T(-40), 4};
  Decision held = f.Run(T(0));
  EXPECT_FALSE(held.switching);
  EXPECT_EQ(held.active, std::vector<int>{0});
  ASSERT_TRUE(held.ledger.timed_out);
  ASSERT_TRUE(held.requeue_at);
  EXPECT_EQ(*held.requeue_at, T(20));
  Decision after = f.Run(T(20));
  ASSERT_TRUE(after.switching);
  EXPECT_EQ(after.switching->to, "b");
  EXPECT_FALSE(after.ledger.timed_out);
  f.observed.group.generation = 5;
  Decision edited = f.Run(T(0));
  ASSERT_TRUE(edited.switching) << "a spec change ends the hold";
  EXPECT_FALSE(edited.ledger.timed_out);
}

// A record this engine never writes (an unknown reason) is no record: decide afresh.
TEST(DecideActivePassive, ASwitchRecordWithAnUnknownReasonIsIgnored) {
  Fixture f;
  f.previous.switch_record = SwitchRecord{"a", "b", "SomethingElse", "Demoting", T(-3), T(-2)};
  Decision d = f.Run(T(0));
  EXPECT_FALSE(d.switching);
  EXPECT_EQ(d.active, std::vector<int>{0});
}

TEST(DecideActivePassive, ObservingKeepsWhatIsAndReportsTheRecordedSwitch) {
  Fixture f;
  f.Down("a", T(0));
  f.previous.switch_record = SwitchRecord{"a", "b", "PrimaryUnhealthy", "Demoting", T(-3), T(-2)};
  f.observed.group.annotations[keys::kSwitchoverTo] = "b";
  Decision d = f.Run(T(2), false);
  EXPECT_FALSE(d.switching);
  EXPECT_EQ(d.active, std::vector<int>{0});
  EXPECT_EQ(d.ledger.switch_record, f.previous.switch_record);
  EXPECT_TRUE(d.notices.empty());
  EXPECT_FALSE(d.clear_switchover);
  EXPECT_EQ(d.requeue_at, T(5)) << "when a failover would become due";
}

TEST(DecideActivePassive, TheActiveMemberLeavingTheSpecHandsOverToTheBestStandby) {
  Fixture f("x");
  Decision d = f.Run(T(0));
  ASSERT_TRUE(d.switching);
  EXPECT_EQ(d.switching->reason, SwitchReason::kMemberRemoved);
  EXPECT_EQ(d.switching->from, "x");
  EXPECT_EQ(d.switching->to, "a");
}

TEST(DecideActivePassive, AFencedMemberIsUnfencedOnceHealthyForTheWindow) {
  Fixture f("b");
  f.Previous("a").role = Role::kFenced;
  f.Previous("a").since = T(-30);
  Decision early = f.Run(T(0));
  EXPECT_EQ(early.roles[0], Role::kFenced);
  EXPECT_EQ(early.requeue_at, T(30));
  Decision d = f.Run(T(30));
  EXPECT_EQ(d.roles[0], Role::kStandby);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kMemberUnfenced});
  EXPECT_EQ(f.Run(T(30), false).roles[0], Role::kFenced) << "observing changes no role";
}

TEST(DecideActivePassive, AGroupThatWasActiveActiveKeepsItsBestHealthyServingMember) {
  Fixture f("", 3);
  f.previous.active_members = {"a", "b", "c"};
  f.previous.active_member = "a,b,c";
  f.Down("a", T(-1));
  Decision d = f.Run(T(0));
  EXPECT_EQ(d.active, std::vector<int>{1});
  EXPECT_FALSE(d.switching) << "b served already";
}

// ---- ActiveActive ----------------------------------------------------------------------

TEST(DecideActiveActive, AtFirstEveryHealthyMemberServesAtOnce) {
  Fixture f("");
  f.spec.mode = Mode::kActiveActive;
  f.previous.members.clear();
  Decision d = f.Run(T(0));
  EXPECT_EQ(d.active, (std::vector<int>{0, 1}));
  EXPECT_EQ(d.roles, (std::vector<Role>{Role::kActive, Role::kActive}));
  EXPECT_TRUE(d.ledger.transitions.empty()) << "nothing was restored";
  EXPECT_FALSE(d.switching) << "ActiveActive has no switch";
}

TEST(DecideActiveActive, AnUnhealthyMemberIsTakenOutButNeverTheLast) {
  Fixture f("");
  f.spec.mode = Mode::kActiveActive;
  f.previous.active_members = {"a", "b"};
  f.Down("a", T(0));
  Decision early = f.Run(T(3));
  EXPECT_EQ(early.active, (std::vector<int>{0, 1}));
  EXPECT_EQ(early.requeue_at, T(5));

  Decision d = f.Run(T(5));
  EXPECT_EQ(d.active, std::vector<int>{1});
  EXPECT_EQ(d.roles[0], Role::kFenced);
  ASSERT_EQ(d.ledger.transitions.size(), 1u);
  EXPECT_EQ(d.ledger.transitions[0].reason, SwitchReason::kMemberUnhealthy);
  EXPECT_EQ(d.ledger.failovers, 1);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kMemberRemoved});
  ASSERT_EQ(d.measurements.size(), 2u);
  EXPECT_EQ(d.measurements[1].kind, MetricObservation::Kind::kDetectionLatency);
  EXPECT_EQ(d.measurements[1].seconds, 5.0);

  f.Down("b", T(0));
  Decision last = f.Run(T(5));
  EXPECT_EQ(last.active, (std::vector<int>{0, 1})) << "no member would be left";
  EXPECT_TRUE(last.ledger.transitions.empty());
}

TEST(DecideActiveActive, ARecoveredMemberJoinsAfterTheStabilizationWindow) {
  Fixture f("");
  f.spec.mode = Mode::kActiveActive;
  f.previous.active_members = {"a"};
  f.Previous("b").since = T(-30);
  Decision early = f.Run(T(0));
  EXPECT_EQ(early.active, std::vector<int>{0});
  EXPECT_EQ(early.requeue_at, T(30));
  Decision d = f.Run(T(30));
  EXPECT_EQ(d.active, (std::vector<int>{0, 1}));
  ASSERT_EQ(d.ledger.transitions.size(), 1u);
  EXPECT_EQ(d.ledger.transitions[0].reason, SwitchReason::kMemberRecovered);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kMemberRestored});

  f.Down("a", T(-10));
  EXPECT_EQ(f.Run(T(0)).active, std::vector<int>{1}) << "no healthy member served: b joins at once, a goes";
}

TEST(DecideActiveActive, ASwitchoverRequestIsRefused) {
  Fixture f("");
  f.spec.mode = Mode::kActiveActive;
  f.previous.active_members = {"a", "b"};
  f.observed.group.annotations[keys::kSwitchoverTo] = "b";
  Decision d = f.Run(T(0));
  EXPECT_TRUE(d.clear_switchover);
  EXPECT_EQ(Reasons(d), std::vector<Reason>{Reason::kSwitchoverRefused});
  EXPECT_EQ(d.active, (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace failover::engine
