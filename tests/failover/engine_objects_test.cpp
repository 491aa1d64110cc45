// The objects the engine keeps in line through Decide: Service selectors and role labels
// put back after drift, missing Services, pods joining, leaving and terminating, the probe
// as a health source, minReady, adopting a Service that already points at a member, and
// the same plan for the same inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine_scenario.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::Scenario;
using testing::Describe;
using testing::HasEvent;
using testing::FindEvent;
using testing::Cond;
using testing::Settled;

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
            "{failover.io/eligible=true,failover.io/group=db,failover.io/member=a}");
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
            "pod a-1: remove failover.io/group, remove failover.io/member, remove failover.io/role, remove failover.io/eligible");
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

}  // namespace
}  // namespace failover
