// A switch that cannot finish, through Decide on the engine's fake time: a prePromote hook
// failing forever with failurePolicy Abort, a target whose promotion never lands, a Service
// write refused every time, a postPromote hook failing forever. Each ends at promotion.switchTimeout (default 5m); a
// switchover takes over during the stuck switch and after it.
#include <functional>

#include <gtest/gtest.h>

#include "engine_scenario.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::Scenario;
using testing::HasEvent;
using testing::FindEvent;
using testing::Cond;
using testing::Settled;

using Fails = std::function<bool(const Write&)>;

// Decides at `now` and applies the plan as the reconciler does when every write `fails`
// matches fails (for good): stage by stage, the failing writes not applied, the plan
// stopped after their stage.
Plan StepFailing(Scenario& s, Time now, const Fails& fails) {
  EXPECT_TRUE(Validate(s.spec).empty());
  s.plan = Decide(s.spec, s.world.Observe(), s.world.status, now);
  for (const StageRange& st : Stages(s.plan)) {
    bool failed = false;
    for (size_t i = st.begin; i < st.end; ++i) {
      if (fails(s.plan.writes[i])) {
        failed = true;
      } else {
        s.world.Apply(s.plan.writes[i]);
      }
    }
    if (failed) break;
  }
  return s.plan;
}

bool IsHook(const Write& w, HookPhase phase) {
  const auto* h = std::get_if<CallHook>(&w);
  return h && h->phase == phase;
}
bool PrePromote(const Write& w) { return IsHook(w, HookPhase::kPrePromote); }
bool PostPromote(const Write& w) { return IsHook(w, HookPhase::kPostPromote); }

// Sets role=active on a pod of member b.
bool PromotesB(const Write& w) {
  const auto* p = std::get_if<PatchPodLabels>(&w);
  if (!p || p->name.rfind("b-", 0) != 0) return false;
  auto it = p->set.find(keys::kRole);
  return it != p->set.end() && it->second == "active";
}

size_t Hooks(const Plan& p) {
  size_t n = 0;
  for (const auto& w : p.writes) n += std::holds_alternative<CallHook>(w) ? 1 : 0;
  return n;
}

// a fails at T(10); b's prePromote hook fails every time (failurePolicy Abort) until the
// switch times out at T(310) (switchTimeout 5m).
Scenario TimedOutPrePromote() {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  s.MemberReady("a", false);
  StepFailing(s, T(10), PrePromote);
  for (int t = 40; t < 310; t += 30) StepFailing(s, T(t), PrePromote);
  StepFailing(s, T(310), PrePromote);
  return s;
}

TEST(StuckSwitch, APrePromoteHookFailingForeverEndsAtSwitchTimeoutAndTheOldMemberStays) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  s.MemberReady("a", false);
  StepFailing(s, T(10), PrePromote);
  ASSERT_TRUE(s.world.status.switch_record) << "the intent, before the hook";
  // Until switchTimeout every plan calls the hook again and stops there; each asks for a
  // look at the deadline at the latest.
  for (int t = 40; t < 310; t += 30) {
    Plan p = StepFailing(s, T(t), PrePromote);
    EXPECT_EQ(Hooks(p), 1u) << t;
    EXPECT_EQ(s.world.status.phase, "FailingOver") << t;
    ASSERT_TRUE(p.requeue_after) << t;
    EXPECT_LE(*p.requeue_after, T(310) - T(t)) << t;
  }
  Plan e = StepFailing(s, T(310), PrePromote);
  EXPECT_EQ(Hooks(e), 0u) << "ended: the hook is not called again";
  ASSERT_FALSE(e.writes.empty());
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(e.writes.front())) << "the end is written first";
  EXPECT_FALSE(s.world.status.switch_record);
  ASSERT_TRUE(s.world.status.timed_out_switch);
  EXPECT_EQ(s.world.status.timed_out_switch->stuck_at, "the prePromote hook (http://hooks/pre)");
  EXPECT_EQ(s.world.status.timed_out_switch->to, "b");
  EXPECT_EQ(s.world.status.timed_out_switch->started_at, T(10));
  EXPECT_EQ(s.world.status.timed_out_switch->timed_out_at, T(310));
  EXPECT_EQ(s.world.status.phase, "Degraded");
  const Condition& degraded = Cond(s.world.status, "Degraded");
  EXPECT_EQ(degraded.status, "True");
  EXPECT_EQ(degraded.reason, "SwitchTimedOut");
  EXPECT_NE(degraded.message.find("stuck at the prePromote hook (http://hooks/pre)"), std::string::npos)
      << degraded.message;
  ASSERT_TRUE(HasEvent(e, "SwitchTimedOut", "Warning"));
  EXPECT_EQ(FindEvent(e, "SwitchTimedOut")->message, degraded.message);
  // The hook vetoed b: nothing moved to it, a (the old member) still has the Services.
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.LabelledActive(), std::set<std::string>{"a"});
  EXPECT_EQ(s.Role("b-0"), "standby");
  EXPECT_EQ(s.world.status.active_member, "a");
  EXPECT_EQ(s.world.status.failover_count, 0);

  // Held: a is still down and b healthy, but no automatic switch for switchTimeout more.
  Plan h = StepFailing(s, T(400), PrePromote);
  EXPECT_EQ(Hooks(h), 0u);
  EXPECT_FALSE(s.world.status.switch_record);
  EXPECT_EQ(Cond(s.world.status, "Degraded").reason, "SwitchTimedOut");
  EXPECT_FALSE(HasEvent(h, "SwitchTimedOut")) << "said once";
  ASSERT_TRUE(h.requeue_after);
  EXPECT_EQ(*h.requeue_after, T(610) - T(400)) << "look again when the hold ends";
  // Then an automatic failover is tried again (and works: the hook answers by now).
  Plan r = s.Step(T(610));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_TRUE(HasEvent(r, "FailoverCompleted"));
  EXPECT_FALSE(s.world.status.timed_out_switch);
  EXPECT_NE(Cond(s.world.status, "Degraded").reason, "SwitchTimedOut");
}

// The Services move to b in their first write (traffic flows to b, whose pods are
// eligible), then b's promotion (role=active) never lands: at switchTimeout the switch is
// finished on b, where traffic is; rolling back would flip it a second time.
TEST(StuckSwitch, ATargetWhosePromotionNeverLandsIsFinishedWhereTrafficIs) {
  Scenario s = Settled();
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  StepFailing(s, T(10), PromotesB);
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"b"}) << "b's pods are eligible: traffic moved";
  EXPECT_EQ(s.world.status.active_member, "a") << "not booked: the plan stopped before its status";
  StepFailing(s, T(200), PromotesB);
  EXPECT_EQ(s.world.status.active_member, "a");
  Plan e = StepFailing(s, T(310), PromotesB);
  EXPECT_FALSE(s.world.status.timed_out_switch) << "finished, not given up";
  EXPECT_EQ(s.world.status.active_member, "b");
  EXPECT_EQ(s.ServiceMember(), "b");
  ASSERT_TRUE(HasEvent(e, "SwitchTimedOut", "Warning"));
  EXPECT_NE(FindEvent(e, "SwitchTimedOut")->message.find("promoting b (role=active on its pods)"), std::string::npos)
      << FindEvent(e, "SwitchTimedOut")->message;
  EXPECT_EQ(s.world.status.failover_count, 1);
}

// The Service write is refused every time (an admission webhook, say): nothing of the
// switch lands. At switchTimeout it is given up; the healthy old member stays.
TEST(StuckSwitch, ASwitchWhoseServiceWriteNeverLandsIsGivenUpForTheHealthyOldMember) {
  Scenario s = Settled();
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  auto service = [](const Write& w) { return std::holds_alternative<PatchService>(w); };
  StepFailing(s, T(10), service);
  EXPECT_EQ(s.ServiceMember(), "a");
  // Nothing landed, so nothing records the switch: each plan decides afresh. A request is
  // consumed only by a plan that gets through, so it stands and is tried again.
  ASSERT_EQ(s.world.group.annotations.count(keys::kSwitchoverTo), 1u);
  StepFailing(s, T(200), service);
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.LabelledActive(), std::set<std::string>{"a"});
  EXPECT_EQ(s.world.status.active_member, "a");
  EXPECT_EQ(s.world.status.failover_count, 0) << "nothing was switched";
}

// Everything moved but the postPromote hook never answers: the switch is finished on b
// (rolling back would flip traffic again), without the hook.
TEST(StuckSwitch, APostPromoteHookFailingForeverIsFinishedOnTheTarget) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.post_promote = Hook{"http://hooks/post", 5s, 3, HookFailurePolicy::kAbort};
  s.MemberReady("a", false);
  StepFailing(s, T(10), PostPromote);
  EXPECT_EQ(s.world.status.active_member, "a") << "not booked: the plan stopped at the hook";
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"b"});
  Plan e = StepFailing(s, T(310), PostPromote);
  EXPECT_EQ(Hooks(e), 0u);
  EXPECT_FALSE(s.world.status.switch_record);
  EXPECT_FALSE(s.world.status.timed_out_switch) << "finished, not given up: nothing held";
  EXPECT_EQ(s.world.status.active_member, "b");
  ASSERT_TRUE(s.world.status.last_transition);
  EXPECT_EQ(s.world.status.last_transition->to, "b");
  EXPECT_EQ(s.world.status.last_transition->reason, "PrimaryUnhealthy");
  EXPECT_EQ(s.world.status.failover_count, 1);
  ASSERT_TRUE(HasEvent(e, "SwitchTimedOut", "Warning"));
  EXPECT_NE(FindEvent(e, "SwitchTimedOut")->message.find("the postPromote hook (http://hooks/post)"),
            std::string::npos)
      << FindEvent(e, "SwitchTimedOut")->message;
  EXPECT_TRUE(HasEvent(e, "FailoverCompleted"));
  EXPECT_EQ(s.world.LabelledActive(), std::set<std::string>{"b"});
  EXPECT_EQ(s.Role("a-0"), "fenced");
  EXPECT_EQ(Cond(s.world.status, "Ready").status, "True");
}

// A request for the member switched from, during a stuck switch: the switch is cancelled at
// once, not after switchTimeout.
TEST(StuckSwitch, ASwitchoverDuringTheStuckSwitchCancelsIt) {
  Scenario s = Settled();
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  StepFailing(s, T(10), PrePromote);
  StepFailing(s, T(40), PrePromote);
  ASSERT_TRUE(s.world.status.switch_record);
  s.world.group.annotations[keys::kSwitchoverTo] = "a";
  Plan p = StepFailing(s, T(70), PrePromote);
  EXPECT_EQ(Hooks(p), 0u);
  EXPECT_FALSE(s.world.status.switch_record);
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo));
  EXPECT_TRUE(HasEvent(p, "SwitchCancelled", "Warning"));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.status.phase, "Healthy");
}

// A request for a third member replaces the stuck switch (whose hook fails only for b).
TEST(StuckSwitch, ASwitchoverDuringTheStuckSwitchToAnotherMemberReplacesIt) {
  Scenario s = Settled();
  Member c;
  c.name = "c";
  c.selector.match_labels = {{"app", "db"}, {"site", "c"}};
  s.spec.members.push_back(c);
  s.world.AddPod("c-0", {{"app", "db"}, {"site", "c"}});
  s.Step(T(1));
  s.spec.detection.unhealthy_for = 0s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  const Fails for_b = [](const Write& w) {
    const auto* h = std::get_if<CallHook>(&w);
    return h && h->to == "b";
  };
  s.MemberReady("a", false);
  StepFailing(s, T(10), for_b);
  ASSERT_TRUE(s.world.status.switch_record);
  EXPECT_EQ(s.world.status.switch_record->to, "b");
  s.world.group.annotations[keys::kSwitchoverTo] = "c";
  Plan p = StepFailing(s, T(40), for_b);
  EXPECT_TRUE(HasEvent(p, "SwitchRedirected", "Warning"));
  EXPECT_TRUE(HasEvent(p, "SwitchoverCompleted"));
  EXPECT_EQ(s.ServiceMember(), "c");
  EXPECT_EQ(s.world.LabelledActive(), std::set<std::string>{"c"});
  EXPECT_FALSE(s.world.status.switch_record);
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo));
  EXPECT_EQ(s.world.status.last_transition->reason, "Switchover");
}

// A request for the stuck switch's own target does not restart its clock.
TEST(StuckSwitch, ARequestForTheStuckTargetDoesNotPostponeTheTimeout) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 3, HookFailurePolicy::kAbort};
  s.MemberReady("a", false);
  StepFailing(s, T(10), PrePromote);
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  Plan p = StepFailing(s, T(100), PrePromote);
  EXPECT_TRUE(HasEvent(p, "SwitchoverSkipped"));
  ASSERT_TRUE(s.world.status.switch_record);
  EXPECT_EQ(s.world.status.switch_record->started_at, T(10));
  StepFailing(s, T(310), PrePromote);
  EXPECT_FALSE(s.world.status.switch_record);
  ASSERT_TRUE(s.world.status.timed_out_switch);
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo)) << "consumed";
}

// After the switch was given up, a switchover is not held: it starts at once (its own
// hooks run; here the hook answers again) and ends the hold.
TEST(StuckSwitch, ASwitchoverAfterTheTimedOutSwitchIsNotHeld) {
  Scenario s = TimedOutPrePromote();
  ASSERT_TRUE(s.world.status.timed_out_switch);
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  Plan p = s.Step(T(320));
  EXPECT_EQ(Hooks(p), 1u) << "the switchover's own prePromote";
  EXPECT_TRUE(HasEvent(p, "SwitchoverCompleted"));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_FALSE(s.world.status.timed_out_switch);
  EXPECT_NE(Cond(s.world.status, "Degraded").reason, "SwitchTimedOut");
}

// Editing the spec (say, fixing the hook's URL) ends the hold too.
TEST(StuckSwitch, ASpecChangeEndsTheHold) {
  Scenario s = TimedOutPrePromote();
  ASSERT_TRUE(s.world.status.timed_out_switch);
  StepFailing(s, T(320), PrePromote);
  EXPECT_FALSE(s.world.status.switch_record) << "held";
  s.spec.pre_promote->url = "http://hooks/pre-v2";
  s.world.group.generation += 1;
  Plan p = s.Step(T(330));
  EXPECT_TRUE(HasEvent(p, "FailoverCompleted"));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_FALSE(s.world.status.timed_out_switch);
}

// The bound is the spec's: a shorter switchTimeout ends the switch sooner.
TEST(StuckSwitch, TheBoundIsPromotionSwitchTimeout) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.switch_timeout = 30s;
  s.spec.pre_promote = Hook{"http://hooks/pre", 5s, 1, HookFailurePolicy::kAbort};
  s.MemberReady("a", false);
  StepFailing(s, T(10), PrePromote);
  StepFailing(s, T(39), PrePromote);
  EXPECT_TRUE(s.world.status.switch_record) << "29s in";
  StepFailing(s, T(40), PrePromote);
  EXPECT_FALSE(s.world.status.switch_record);
  ASSERT_TRUE(s.world.status.timed_out_switch);
  EXPECT_EQ(s.world.status.timed_out_switch->timed_out_at, T(40));
}

}  // namespace
}  // namespace failover
