#include <gtest/gtest.h>

#include "failover/engine.h"
#include "failover/plan_json.h"
#include "failover/validate.h"
#include "world.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::TwoMembers;
using testing::TwoMemberWorld;
using testing::World;

// Drives Decide against a simulated world, applying each plan's writes.
struct Scenario {
  Spec spec = TwoMembers();
  World world = TwoMemberWorld();
  Plan plan;

  Plan& Step(Time now, size_t apply = SIZE_MAX) {
    EXPECT_TRUE(Validate(spec).empty());
    plan = Decide(spec, world.Observe(), world.status, now);
    world.Apply(plan, apply);
    return plan;
  }
  void MemberReady(const std::string& member, bool ready) {
    for (auto& [name, p] : world.pods) {
      if (name.rfind(member + "-", 0) == 0) p.ready = ready;
    }
  }
  std::string ServiceMember(const std::string& svc = "db") const {
    const auto& sel = world.services.at(svc).selector;
    auto it = sel.find(keys::kMember);
    return it == sel.end() ? "" : it->second;
  }
  std::string Role(const std::string& pod) const {
    const auto& l = world.pods.at(pod).labels;
    auto it = l.find(keys::kRole);
    return it == l.end() ? "" : it->second;
  }
};

std::vector<std::string> Describe(const std::vector<Write>& writes) {
  std::vector<std::string> out;
  for (const auto& w : writes) out.push_back(failover::Describe(w));
  return out;
}

// The writes stage by stage.
std::vector<std::vector<std::string>> DescribeStages(const Plan& p) {
  std::vector<std::vector<std::string>> out;
  for (const StageRange& st : Stages(p)) {
    out.emplace_back();
    for (size_t i = st.begin; i < st.end; ++i) out.back().push_back(failover::Describe(p.writes[i]));
  }
  return out;
}

bool HasEvent(const Plan& p, const std::string& reason, const std::string& type = "") {
  for (const auto& e : p.events) {
    if (e.reason == reason && (type.empty() || e.type == type)) return true;
  }
  return false;
}

const Event* FindEvent(const Plan& p, const std::string& reason) {
  for (const auto& e : p.events) {
    if (e.reason == reason) return &e;
  }
  return nullptr;
}

const Condition& Cond(const Status& s, const std::string& type) {
  const Condition* c = s.FindCondition(type);
  EXPECT_NE(c, nullptr) << type;
  static Condition none;
  return c ? *c : none;
}

size_t CountKind(const Plan& p, size_t index) {
  size_t n = 0;
  for (const auto& w : p.writes) n += w.index() == index ? 1 : 0;
  return n;
}

constexpr size_t kPodLabels = 0, kDelete = 1, kService = 2, kAnnotations = 3, kStatus = 5;

// An elected, settled group: a active, b standby, at T(0).
Scenario Settled() {
  Scenario s;
  s.Step(T(0));
  s.Step(T(0));
  return s;
}

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
            (Labels{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kRole, "active"}}));
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

  // Unhealthy, healthy again, unhealthy: the window restarts at the last transition.
  Scenario f = Settled();
  f.MemberReady("a", false);
  f.Step(T(10));
  f.MemberReady("a", true);
  f.Step(T(12));
  f.MemberReady("a", false);
  f.Step(T(13));
  f.Step(T(16));
  EXPECT_EQ(f.ServiceMember(), "a") << "only 3s since the last transition";
  f.Step(T(18));
  EXPECT_EQ(f.ServiceMember(), "b");
}

TEST(Failover, BreakBeforeMakeBreaksInOneStageThenMakes) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"status: phase FailingOver, active a step Demoting",
       "service db: selector {failover.io/group=db,failover.io/member=b,failover.io/role=active} (member b)",
       "pod a-0: set failover.io/role=fenced", "pod a-1: set failover.io/role=fenced"},
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
  EXPECT_EQ(started->after_writes, 1u) << "and only once the intent is recorded";
  const Event* done = FindEvent(p, "FailoverCompleted");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->type, "Warning") << "the one Event of an unplanned failover";
  EXPECT_FALSE(done->if_stopped);
  EXPECT_EQ(done->after_writes, p.writes.size());
  EXPECT_EQ(done->message, "switched a -> b (PrimaryUnhealthy), strategy BreakBeforeMake");
  ASSERT_EQ(p.metrics.size(), 3u);
  EXPECT_EQ(p.metrics[0].kind, MetricObservation::Kind::kFailover);
  EXPECT_EQ(p.metrics[0].from, "a");
  EXPECT_EQ(p.metrics[0].to, "b");
  EXPECT_EQ(p.metrics[0].reason, "PrimaryUnhealthy");
  EXPECT_EQ(p.metrics[2].kind, MetricObservation::Kind::kSwitchDuration);
  EXPECT_EQ(p.metrics[2].started_at, T(10));
}

TEST(Failover, MakeBeforeBreakPromotesThenMovesServicesThenDemotes) {
  Scenario s = Settled();
  s.spec.strategy = SwitchStrategy::kMakeBeforeBreak;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  std::vector<std::vector<std::string>> expected = {
      {"status: phase FailingOver, active a step Promoting", "pod b-0: set failover.io/role=active"},
      {"service db: selector {failover.io/group=db,failover.io/member=b,failover.io/role=active} (member b)"},
      {"pod a-0: set failover.io/role=fenced", "pod a-1: set failover.io/role=fenced"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(DescribeStages(p), expected);
  EXPECT_EQ(FindEvent(p, "FailoverCompleted")->message,
            "switched a -> b (PrimaryUnhealthy), strategy MakeBeforeBreak");
}

// A process that dies after the first stage: the next plan resumes toward the same target
// and reports the switch once, as completed.
TEST(Failover, SwitchCutShortAfterTheFirstStageResumes) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10), Stages(Decide(s.spec, s.world.Observe(), s.world.status, T(10))).front().end);
  ASSERT_TRUE(s.world.status.switch_record);
  EXPECT_EQ(s.world.status.switch_record->to, "b");
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
  EXPECT_FALSE(s.world.status.switch_record);
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
  EXPECT_EQ(*p.requeue_after, 60s);
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

TEST(Switchover, HealthyTargetSwitchesGracefullyAndClearsTheAnnotation) {
  Scenario s = Settled();
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  Plan& p = s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.Role("a-0"), "standby") << "a graceful switchover does not fence";
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo));
  EXPECT_EQ(p.status.last_transition->reason, "Switchover");
  EXPECT_TRUE(p.status.recent_failovers.empty()) << "manual switches do not use the antiFlap budget";
  EXPECT_TRUE(FindEvent(p, "SwitchoverStarted")->if_stopped) << "the switch finished in this plan";
  EXPECT_TRUE(HasEvent(p, "SwitchoverCompleted", "Normal"));
  EXPECT_EQ(p.status.phase, "FailedOver");
  // Manual failback through the same annotation.
  s.world.group.annotations[keys::kSwitchoverTo] = "a";
  s.Step(T(6));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.status.phase, "Healthy");
  ASSERT_EQ(s.world.status.history.size(), 3u) << "two switchovers after the election";
  EXPECT_EQ(s.world.status.history[0].reason, "Switchover");
  EXPECT_EQ(s.world.status.history[2].reason, "Initial");
  EXPECT_EQ(s.world.status.failover_count, 2);
}

struct RefusalCase {
  const char* target;
  bool b_ready;
  const char* reason;
  const char* message;
};

class SwitchoverRefusal : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(SwitchoverRefusal, RefusedWithAnEventAndCleared) {
  Scenario s = Settled();
  s.MemberReady("b", GetParam().b_ready);
  s.Step(T(1));
  s.world.group.annotations[keys::kSwitchoverTo] = GetParam().target;
  Plan& p = s.Step(T(2));
  EXPECT_EQ(s.ServiceMember(), "a");
  const Event* e = FindEvent(p, GetParam().reason);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->message, GetParam().message);
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo));
  EXPECT_EQ(CountKind(p, kService) + CountKind(p, kPodLabels), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SwitchoverRefusal,
    ::testing::Values(RefusalCase{"b", false, "SwitchoverRefused",
                                  "member b is not healthy (0/1 ready pods needed); nothing changed"},
                      RefusalCase{"zz", true, "SwitchoverRefused", "no member named \"zz\"; members: a, b"},
                      RefusalCase{"a", true, "SwitchoverSkipped", "member a is already active"}));

TEST(Failback, AutomaticAfterStabilizationWindow) {
  Scenario s = Settled();
  s.spec.failback.policy = FailbackPolicy::kAutomatic;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.Step(T(10));
  ASSERT_EQ(s.ServiceMember(), "b");
  s.MemberReady("a", true);
  Plan& p = s.Step(T(20));
  EXPECT_EQ(s.ServiceMember(), "b");
  ASSERT_TRUE(p.requeue_after);
  EXPECT_EQ(*p.requeue_after, 60s);
  s.Step(T(79));
  EXPECT_EQ(s.ServiceMember(), "b");
  Plan& q = s.Step(T(80));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(q.status.last_transition->reason, "Failback");
  EXPECT_TRUE(HasEvent(q, "FailbackCompleted"));
  EXPECT_EQ(q.status.phase, "Healthy");
  EXPECT_EQ(s.Role("b-0"), "standby");
}

TEST(Failback, AutomaticDoesNotUndoASwitchover) {
  Scenario s = Settled();
  s.spec.failback.policy = FailbackPolicy::kAutomatic;
  s.spec.failback.stabilization_window = 0s;
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  s.Step(T(5));
  s.Step(T(500));
  EXPECT_EQ(s.ServiceMember(), "b");
  // After b fails over back to a and a fails in turn, failback applies again.
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("b", false);
  s.Step(T(501));
  EXPECT_EQ(s.ServiceMember(), "a");
}

TEST(Failback, ManualStaysUntilAsked) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.Step(T(10));
  s.MemberReady("a", true);
  s.Step(T(20));
  s.Step(T(1000));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.world.status.phase, "FailedOver");
}

TEST(AntiFlap, HoldsAfterTheBudgetAndSaysSo) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.failback.policy = FailbackPolicy::kAutomatic;
  s.spec.failback.stabilization_window = 0s;
  s.spec.anti_flap = AntiFlap{2, 10min};
  // a fails (1), recovers -> failback (2), fails again: held.
  s.MemberReady("a", false);
  s.Step(T(10));
  s.MemberReady("a", true);
  s.Step(T(20));
  ASSERT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.status.recent_failovers.size(), 2u);
  s.MemberReady("a", false);
  Plan& p = s.Step(T(30));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(p.status.phase, "Degraded");
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "FailoverBudgetExhausted");
  EXPECT_TRUE(HasEvent(p, "FailoverBudgetExhausted", "Warning"));
  ASSERT_TRUE(p.requeue_after);
  EXPECT_EQ(*p.requeue_after, 10min - 20s) << "when the oldest failover leaves the window";
  s.Step(T(10) + 10min);
  EXPECT_EQ(s.ServiceMember(), "b");
}

TEST(Paused, ObservesAndReportsButChangesNothing) {
  Scenario s = Settled();
  s.spec.paused = true;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  s.world.services.at("db").selector = {{"app", "db"}};
  Plan& p = s.Step(T(10));
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes[0]));
  EXPECT_EQ(p.status.phase, "Paused");
  EXPECT_FALSE(p.status.FindMember("a")->healthy);
  EXPECT_TRUE(HasEvent(p, "Paused"));
  EXPECT_TRUE(s.world.group.annotations.count(keys::kSwitchoverTo));
  EXPECT_EQ(s.world.services.at("db").selector, (Labels{{"app", "db"}}));
  // Unpaused: everything due happens at once.
  s.spec.paused = false;
  s.Step(T(20));
  EXPECT_EQ(s.ServiceMember(), "b");
}

TEST(DryRun, ReportsThePlanWithoutActing) {
  Scenario s = Settled();
  s.spec.dry_run = true;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan& p = s.Step(T(10));
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes[0]));
  EXPECT_FALSE(p.withheld.empty());
  EXPECT_EQ(p.active_members, std::vector<std::string>{"b"});
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.Role("a-0"), "active");
  EXPECT_NE(std::find(p.status.planned_actions.begin(), p.status.planned_actions.end(),
                      "pod b-0: set failover.io/role=active"),
            p.status.planned_actions.end())
      << ::testing::PrintToString(p.status.planned_actions);
  EXPECT_TRUE(HasEvent(p, "DryRun"));
  EXPECT_EQ(p.status.failover_count, 0);
  EXPECT_TRUE(p.metrics.empty());
  // Same situation: same report, no new event.
  Plan& q = s.Step(T(11));
  EXPECT_FALSE(HasEvent(q, "DryRun"));
}

TEST(InvalidSpec, ConditionAndEventNamingTheFieldAndNoWrites) {
  World w = TwoMemberWorld();
  json group = {{"metadata", {{"name", "db"}, {"namespace", "shop"}, {"generation", 3}}},
                {"spec", {{"members", {{{"name", "a"}, {"selector", {{"matchLabels", {{"site", "a"}}}}}}}}}}};
  Plan p = DecideObject(group, w.Observe(), T(0));
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes[0]));
  EXPECT_EQ(p.status.phase, "Invalid");
  EXPECT_EQ(p.status.observed_generation, 3);
  const Condition& c = Cond(p.status, "InvalidSpec");
  EXPECT_EQ(c.status, "True");
  EXPECT_EQ(c.message, "spec.members: ActivePassive needs at least 2 members (an active one and a standby), got 1");
  const Event* e = FindEvent(p, "InvalidSpec");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, "Warning");
  EXPECT_EQ(e->message, c.message);
  // Next reconcile of the same object: nothing new.
  group["status"] = StatusToJson(p.status);
  Plan q = DecideObject(group, w.Observe(), T(5));
  EXPECT_TRUE(q.writes.empty());
  EXPECT_TRUE(q.events.empty());
}

TEST(InvalidSpec, ATypeErrorIsReportedTheSameWayAndDeletionStillCleansUp) {
  Scenario s = Settled();
  json group = {{"metadata", {{"name", "db"}, {"generation", 2}, {"finalizers", {keys::kFinalizer}}}},
                {"spec", {{"mode", "Primary"}, {"members", "a,b"}}},
                {"status", StatusToJson(s.world.status)}};
  Plan p = DecideObject(group, s.world.Observe(), T(5));
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(Cond(p.status, "InvalidSpec").message,
            "spec.mode: unsupported value \"Primary\": supported values: \"ActivePassive\", \"ActiveActive\"; "
            "spec.members: must be a list, not string");
  EXPECT_EQ(p.status.active_member, "a") << "the last known state is kept";
  group["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  Plan d = DecideObject(group, s.world.Observe(), T(6));
  EXPECT_EQ(CountKind(d, kPodLabels), 3u);
  EXPECT_TRUE(std::holds_alternative<PatchGroupFinalizers>(d.writes.back()));
}

TEST(InvalidSpec, AServiceAnotherGroupSteersIsNotTakenOver) {
  World w = TwoMemberWorld();
  w.AddService("db", {{"failover.io/group", "orders"}, {"failover.io/member", "x"}, {"failover.io/role", "active"}});
  json group = {{"metadata", {{"name", "db"}, {"namespace", "shop"}, {"generation", 1}}},
                {"spec", {{"members", {{{"name", "a"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "a"}}}}}},
                                       {{"name", "b"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "b"}}}}}}}},
                          {"services", {{{"name", "db"}}}}}}};
  Plan p = DecideObject(group, w.Observe(), T(0));
  ASSERT_EQ(p.writes.size(), 1u) << "only the status: no finalizer, no label, no Service write";
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes[0]));
  EXPECT_EQ(p.status.phase, "Invalid");
  const std::string message = Cond(p.status, "InvalidSpec").message;
  EXPECT_EQ(message.rfind("spec.services[0].name: Service db already follows FailoverGroup orders", 0), 0u) << message;
  // The group's own label on the Service (its earlier writes) is no conflict.
  w.AddService("db", {{"failover.io/group", "db"}, {"failover.io/member", "a"}, {"failover.io/role", "active"}});
  Plan q = DecideObject(group, w.Observe(), T(1));
  EXPECT_NE(q.status.phase, "Invalid");
}

// One validity check: what the reconciler probes by and what the engine decides by.
TEST(InvalidSpec, CheckGroupIsTheSpecsOwnErrorsThenTheServiceClaims) {
  World w = TwoMemberWorld();
  w.AddService("db", {{"failover.io/group", "orders"}, {"failover.io/member", "x"}, {"failover.io/role", "active"}});
  json group = {{"metadata", {{"name", "db"}, {"namespace", "shop"}, {"generation", 1}}},
                {"spec", {{"members", {{{"name", "a"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "a"}}}}}},
                                       {{"name", "b"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "b"}}}}}}}},
                          {"services", {{{"name", "db"}}}}}}};
  const GroupInput input = ReadGroup(group);
  EXPECT_TRUE(input.errors.empty()) << "the spec itself is fine";
  EXPECT_EQ(input.meta.name, "db");
  std::vector<FieldError> errors = CheckGroup(input, w.Observe());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "spec.services[0].name");
  EXPECT_EQ(DecideGroup(input, w.Observe(), T(0)).status.phase, "Invalid");

  // The spec's own errors come first (the claims are not looked at for a broken spec).
  group["spec"]["members"].erase(1);
  const GroupInput broken = ReadGroup(group);
  errors = CheckGroup(broken, w.Observe());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "spec.members");
}

TEST(Deletion, FinalizerRemovesEveryRoleLabelThenItself) {
  Scenario s = Settled();
  s.world.pods.at("b-0").labels.erase("site");  // left the group earlier: still ours until cleaned
  s.world.AddPod("other", {{"app", "db"}, {keys::kGroup, "another"}, {keys::kRole, "active"}});
  s.world.group.deleting = true;
  s.world.group.finalizers.push_back("example.com/keep");
  Plan& p = s.Step(T(50));
  ASSERT_EQ(p.writes.size(), 4u) << ::testing::PrintToString(Describe(p.writes));
  for (const char* pod : {"a-0", "a-1", "b-0"}) {
    for (const char* k : {keys::kGroup, keys::kMember, keys::kRole}) {
      EXPECT_FALSE(s.world.pods.at(pod).labels.count(k)) << pod << " " << k;
    }
  }
  EXPECT_EQ(s.world.pods.at("other").labels.at(keys::kRole), "active") << "another group's pod";
  EXPECT_EQ(s.world.group.finalizers, std::vector<std::string>{"example.com/keep"});
  EXPECT_EQ(s.world.services.at("db").annotations.at(keys::kActiveMember), "a") << "Services left as they are";
  EXPECT_TRUE(HasEvent(p, "Finalized"));
  Plan& q = s.Step(T(51));
  EXPECT_TRUE(q.writes.empty()) << "finalizer gone: nothing more to do";
}

TEST(Drift, AnEditedSelectorIsCorrectedAndReported) {
  Scenario s = Settled();
  s.world.services.at("db").selector = {{"app", "db"}};
  Plan& p = s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "a");
  const Event* e = FindEvent(p, "SelectorDriftCorrected");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, "Warning");
  EXPECT_EQ(e->message,
            "Service db selector was {app=db}; set back to "
            "{failover.io/group=db,failover.io/member=a,failover.io/role=active}");
  const auto& patch = std::get<PatchService>(p.writes[0]);
  EXPECT_EQ(patch.remove_selector_keys, std::vector<std::string>{"app"});
  EXPECT_EQ(patch.annotations.at(keys::kActiveSince), FormatTime(T(0))) << "same member: time kept";
  json body = MergePatchBody(p.writes[0]);
  EXPECT_TRUE(body["spec"]["selector"]["app"].is_null());
  EXPECT_EQ(body["spec"]["selector"][keys::kMember], "a");
}

TEST(Drift, ARoleLabelEditedByHandIsPutBack) {
  Scenario s = Settled();
  s.world.pods.at("b-0").labels[keys::kRole] = "active";
  s.Step(T(5));
  EXPECT_EQ(s.Role("b-0"), "standby");
}

TEST(Services, MissingServiceIsReportedNotFatal) {
  Scenario s;
  s.spec.services.push_back({"db-ro"});
  Plan& p = s.Step(T(0));
  EXPECT_EQ(s.ServiceMember(), "a");
  ASSERT_EQ(p.status.services.size(), 2u);
  EXPECT_FALSE(p.status.services[1].exists);
  EXPECT_TRUE(p.status.services[0].in_sync);
  EXPECT_EQ(Cond(p.status, "Degraded").reason, "ServiceMissing");
  EXPECT_EQ(Cond(p.status, "Ready").reason, "ServiceMissing");
  EXPECT_TRUE(HasEvent(p, "ServiceMissing", "Warning"));
  s.world.AddService("db-ro");
  s.Step(T(1));
  EXPECT_EQ(s.ServiceMember("db-ro"), "a");
  EXPECT_EQ(s.world.status.phase, "Healthy");
}

TEST(Pods, APodThatLeavesTheGroupLosesItsLabels) {
  Scenario s = Settled();
  s.world.pods.at("a-1").labels["site"] = "elsewhere";
  Plan& p = s.Step(T(5));
  EXPECT_EQ(Describe(p.writes)[0],
            "pod a-1: remove failover.io/group, remove failover.io/member, remove failover.io/role");
  EXPECT_FALSE(s.world.pods.at("a-1").labels.count(keys::kRole));
}

TEST(Pods, AnotherGroupsPodIsLeftAlone) {
  Scenario s;
  s.world.AddPod("a-9", {{"app", "db"}, {"site", "a"}, {keys::kGroup, "other"}});
  Plan& p = s.Step(T(0));
  for (const auto& d : Describe(p.writes)) EXPECT_EQ(d.find("a-9"), std::string::npos) << d;
  EXPECT_EQ(p.status.FindMember("a")->pods, 2);
}

TEST(Pods, NewPodOfTheActiveMemberIsLabelledActive) {
  Scenario s = Settled();
  s.world.AddPod("a-2", {{"app", "db"}, {"site", "a"}}, false);
  s.Step(T(5));
  EXPECT_EQ(s.Role("a-2"), "active");
}

TEST(Pods, TerminatingPodsDoNotCountAndAreNotPromoted) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.world.pods.at("a-0").terminating = true;
  s.world.pods.at("a-1").terminating = true;
  s.world.AddPod("b-1", {{"app", "db"}, {"site", "b"}});
  s.world.pods.at("b-1").terminating = true;
  Plan& p = s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.Role("b-1"), "") << "a terminating pod is not made active";
  EXPECT_EQ(p.status.FindMember("a")->ready_pods, 0);
}

TEST(Probe, EitherSourceSayingUnhealthyMakesThePodNotCount) {
  Scenario s = Settled();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.detection.probe = Probe{};
  s.spec.detection.probe->tcp = TcpProbe{5432};
  s.world.pods.at("a-0").probe_ok = false;
  s.world.pods.at("a-1").probe_ok = std::nullopt;  // not probed yet: does not veto
  Plan& p = s.Step(T(5));
  EXPECT_EQ(p.status.FindMember("a")->ready_pods, 1);
  EXPECT_EQ(s.ServiceMember(), "a");
  s.world.pods.at("a-1").probe_ok = false;
  s.Step(T(6));
  EXPECT_EQ(s.ServiceMember(), "b");
  // Readiness alone ignores the probe.
  Scenario r = Settled();
  r.spec.detection.unhealthy_for = 0s;
  r.spec.detection.probe = s.spec.detection.probe;
  r.spec.detection.source = HealthSource::kReadiness;
  r.world.pods.at("a-0").probe_ok = false;
  r.world.pods.at("a-1").probe_ok = false;
  r.Step(T(5));
  EXPECT_EQ(r.ServiceMember(), "a");
}

TEST(MinReady, MemberNeedsMinReadyPods) {
  Scenario s = Settled();
  s.spec.members[0].min_ready = 2;
  s.spec.detection.unhealthy_for = 0s;
  s.world.SetReady("a-1", false);
  Plan& p = s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(p.status.FindMember("a")->message, "unhealthy: 1/2 ready pods needed");
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
      {"service db: selector {failover.io/group=db,failover.io/member=b,failover.io/role=active} (member b)",
       "pod a-0: set failover.io/role=fenced", "pod a-1: set failover.io/role=fenced"},
      {"pod b-0: set failover.io/role=active"},
      {"hook postPromote: POST http://hooks/post (a -> b)"},
      {"status: phase Degraded, active b"},
  };
  EXPECT_EQ(DescribeStages(p), expected) << "prePromote after the intent, before anything is demoted";
}

TEST(MemberRemoved, ActiveMemberLeavingTheSpecMovesServices) {
  Scenario s = Settled();
  s.spec.members.erase(s.spec.members.begin());
  s.spec.members.push_back(Member{"c", {{{"app", "db"}, {"site", "c"}}, {}}, 1, std::nullopt});
  Plan& p = s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_FALSE(s.world.pods.at("a-0").labels.count(keys::kRole));
  EXPECT_EQ(p.status.last_transition->reason, "MemberRemoved");
  EXPECT_TRUE(s.world.status.recent_failovers.empty());
}

TEST(History, IsBoundedToTen) {
  Scenario s = Settled();
  for (int i = 0; i < 14; ++i) {
    s.world.group.annotations[keys::kSwitchoverTo] = i % 2 == 0 ? "b" : "a";
    s.Step(T(10 + i));
  }
  EXPECT_EQ(s.world.status.history.size(), 10u);
  EXPECT_EQ(s.world.status.failover_count, 14);
  EXPECT_EQ(s.world.status.history.front().completed_at, T(23));
}

TEST(Adoption, AServiceAlreadyPointingAtAMemberIsKept) {
  Scenario s;
  s.world.services.at("db").annotations[keys::kActiveMember] = "b";
  Plan& p = s.Step(T(0));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_FALSE(p.status.last_transition) << "adopted, not switched";
  EXPECT_EQ(p.status.phase, "FailedOver");
}

TEST(Determinism, SameInputsSamePlan) {
  Scenario s = Settled();
  s.MemberReady("a", false);
  Observed o = s.world.Observe();
  Plan p1 = Decide(s.spec, o, s.world.status, T(30));
  std::reverse(o.pods.begin(), o.pods.end());
  Plan p2 = Decide(s.spec, o, s.world.status, T(30));
  EXPECT_EQ(PlanToJson(p1).dump(), PlanToJson(p2).dump());
}

// ---- ActiveActive -----------------------------------------------------------------------

Scenario ActiveActive() {
  Scenario s;
  s.spec.mode = Mode::kActiveActive;
  s.spec.detection.unhealthy_for = 2s;
  s.spec.failback.stabilization_window = 10s;
  return s;
}

TEST(ActiveActive, EveryHealthyMemberServesThroughTheRoleLabel) {
  Scenario s = ActiveActive();
  Plan& p = s.Step(T(0));
  EXPECT_EQ(p.active_members, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.world.services.at("db").selector, (Labels{{keys::kGroup, "db"}, {keys::kRole, "active"}}));
  EXPECT_EQ(s.world.services.at("db").annotations.at(keys::kActiveMember), "a,b");
  EXPECT_EQ(s.world.ServedMembers(), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(p.status.active_member, "a,b");
  EXPECT_EQ(p.status.phase, "Healthy");
}

TEST(ActiveActive, UnhealthyMemberTakenOutAndBackAfterTheWindow) {
  Scenario s = ActiveActive();
  s.Step(T(0));
  s.MemberReady("b", false);
  Plan& p1 = s.Step(T(10));
  EXPECT_EQ(s.world.ServedMembers(), (std::set<std::string>{"a", "b"})) << "within unhealthyFor";
  EXPECT_EQ(p1.status.phase, "Degraded");
  EXPECT_EQ(Cond(p1.status, "Degraded").reason, "MembersUnhealthy");
  Plan& p2 = s.Step(T(12));
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"a"});
  EXPECT_EQ(s.Role("b-0"), "fenced");
  EXPECT_TRUE(HasEvent(p2, "MemberRemoved", "Warning"));
  EXPECT_EQ(p2.status.failover_count, 1);
  s.MemberReady("b", true);
  s.Step(T(20));
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"a"});
  Plan& p3 = s.Step(T(30));
  EXPECT_EQ(s.world.ServedMembers(), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(HasEvent(p3, "MemberRestored"));
  EXPECT_EQ(p3.status.phase, "Healthy");
}

TEST(ActiveActive, TheLastServingMemberIsNeverTakenOut) {
  Scenario s = ActiveActive();
  s.Step(T(0));
  s.MemberReady("a", false);
  s.MemberReady("b", false);
  s.Step(T(10));
  s.Step(T(20));
  EXPECT_FALSE(s.world.ServedMembers().empty());
  EXPECT_EQ(Cond(s.world.status, "Degraded").status, "True");
}

TEST(ActiveActive, ChangingModeKeepsServingWithoutAFailover) {
  Scenario s = ActiveActive();
  s.Step(T(0));
  s.spec.mode = Mode::kActivePassive;
  Plan& p = s.Step(T(1));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"a"});
  EXPECT_EQ(s.Role("b-0"), "standby");
  EXPECT_EQ(p.status.failover_count, 0);
  s.spec.mode = Mode::kActiveActive;
  s.Step(T(2));
  EXPECT_EQ(s.world.ServedMembers(), std::set<std::string>{"a"}) << "b rejoins after its window";
  s.Step(T(20));
  EXPECT_EQ(s.world.ServedMembers(), (std::set<std::string>{"a", "b"}));
}

TEST(ActiveActive, SwitchoverIsRefused) {
  Scenario s = ActiveActive();
  s.Step(T(0));
  s.world.group.annotations[keys::kSwitchoverTo] = "b";
  Plan& p = s.Step(T(1));
  EXPECT_TRUE(HasEvent(p, "SwitchoverRefused", "Warning"));
  EXPECT_FALSE(s.world.group.annotations.count(keys::kSwitchoverTo));
}

}  // namespace
}  // namespace failover
