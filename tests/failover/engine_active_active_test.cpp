// ActiveActive through Decide: every healthy member serves through the role label, an
// unhealthy one is taken out and back after the window, the last one never, mode changes
// and switchover.
#include <gtest/gtest.h>

#include "engine_scenario.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::Scenario;
using testing::HasEvent;
using testing::Cond;

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
