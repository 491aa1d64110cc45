// Moving the active member on purpose or back through Decide: manual switchover (and its
// refusals), failback (automatic, manual), the anti-flap budget, a member leaving the spec,
// the bounded history.
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
using testing::CountKind;
using testing::kPodLabels;
using testing::kService;
using testing::Settled;

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
  EXPECT_EQ(*p.requeue_after, 10s) << "first when a has recovered (healthyFor)";
  EXPECT_EQ(*s.Step(T(30)).requeue_after, 50s) << "then when the stabilization window ends";
  s.Step(T(79));
  EXPECT_EQ(s.ServiceMember(), "b");
  Plan& q = s.Step(T(80));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_EQ(q.status.last_transition->reason, "Failback");
  EXPECT_TRUE(HasEvent(q, "FailbackCompleted"));
  EXPECT_EQ(q.status.phase, "Healthy");
  EXPECT_EQ(s.Role("b-0"), "standby");
}

// The operator's probe found the primary dead and failed over; it restarts (every probe
// verdict gone) while the primary's pods still say Ready. No failback to it before its pods
// are probed healthy again.
TEST(Failback, NotToAMemberTheProbeFoundDeadBeforeARestartUntilProbedHealthy) {
  Scenario s = Settled();
  s.spec.failback.policy = FailbackPolicy::kAutomatic;
  s.spec.detection.unhealthy_for = 0s;
  s.spec.detection.probe = Probe{};
  s.spec.detection.probe->tcp = TcpProbe{5432};
  s.spec.detection.source = HealthSource::kReadinessAndProbe;
  s.world.pods.at("a-0").probe_ok = false;
  s.world.pods.at("a-1").probe_ok = false;
  s.Step(T(10));
  ASSERT_EQ(s.ServiceMember(), "b");
  for (auto& [name, pod] : s.world.pods) pod.probe_ok = std::nullopt;  // the restart
  for (int t = 20; t <= 300; t += 10) s.Step(T(t));
  EXPECT_EQ(s.ServiceMember(), "b") << "a is not probed yet";
  EXPECT_FALSE(s.world.status.FindMember("a")->healthy);
  EXPECT_EQ(s.world.status.FindMember("a")->since, T(10)) << "its unhealthy period goes on";
  EXPECT_NE(s.world.status.FindMember("a")->message.find("not probed"), std::string::npos);
  s.world.pods.at("a-0").probe_ok = true;
  s.world.pods.at("a-1").probe_ok = true;
  s.Step(T(310));
  EXPECT_EQ(s.ServiceMember(), "b") << "healthyFor and the stabilization window start now";
  for (int t = 320; t <= 380; t += 10) s.Step(T(t));
  EXPECT_EQ(s.ServiceMember(), "a");
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

}  // namespace
}  // namespace failover
