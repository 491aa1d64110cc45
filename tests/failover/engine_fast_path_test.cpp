// The fast path of an ActivePassive switch: one write per Service moves traffic, nothing
// before it; the switch record it carries lets a restart (or a plan cut short) finish the
// switch, and keeps a status older than the Services from deciding anything new.
#include <gtest/gtest.h>

#include "engine_scenario.h"
#include "failover/status_json.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::CountKind;
using testing::DescribeStages;
using testing::HasEvent;
using testing::kPodLabels;
using testing::kService;
using testing::kStatus;
using testing::Scenario;
using testing::Settled;
using testing::T;

// A settled group whose primary fails with unhealthyFor 0.
Scenario PrimaryDown(SwitchStrategy strategy) {
  Scenario s = Settled();
  s.spec.strategy = strategy;
  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  return s;
}

SwitchRecord ServiceRecord(const Scenario& s, const std::string& svc = "db") {
  return SwitchRecordFromJson(nlohmann::json::parse(s.world.services.at(svc).annotations.at(keys::kSwitch)));
}

// How many writes of p land up to and including its Service stage (a plan handed off there).
size_t ThroughServices(const Plan& p) {
  size_t end = 0;
  for (const StageRange& st : Stages(p)) {
    end = st.end;
    if (std::holds_alternative<PatchService>(p.writes[st.begin])) break;
  }
  return end;
}

TEST(FastPath, StandbyPodsCarryWhatTheSelectorNeedsBeforeAnySwitch) {
  Scenario s = Settled();
  EXPECT_EQ(s.world.pods.at("b-0").labels.at(keys::kEligible), "true");
  EXPECT_EQ(s.world.pods.at("b-0").labels.at(keys::kMember), "b");
  EXPECT_EQ(s.world.services.at("db").selector,
            (Labels{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}}));
}

class FastPathStrategy : public ::testing::TestWithParam<SwitchStrategy> {};

TEST_P(FastPathStrategy, TheFirstWriteOfAFailoverIsTheServiceAndItMovesTraffic) {
  Scenario s;
  s.spec.strategy = GetParam();
  s.spec.detection.unhealthy_for = 0s;
  s.spec.services = {{"db"}, {"db-ro"}};
  s.world.AddService("db-ro");
  s.Step(T(0));
  s.Step(T(0));
  ASSERT_EQ(s.ServiceMember("db-ro"), "a");
  s.MemberReady("a", false);
  Plan p = Decide(s.spec, s.world.Observe(), s.world.status, T(2));
  const auto stages = DescribeStages(p);
  ASSERT_GE(stages.size(), 3u);
  // Stage 1: the two Services, nothing else, each conditional on the version decided from.
  ASSERT_EQ(stages[0].size(), 2u) << ::testing::PrintToString(stages);
  for (size_t i = 0; i < 2; ++i) {
    const auto* svc = std::get_if<PatchService>(&p.writes[i]);
    ASSERT_NE(svc, nullptr) << ::testing::PrintToString(stages);
    EXPECT_FALSE(svc->resource_version.empty());
    EXPECT_EQ(svc->selector.at(keys::kMember), "b");
  }
  // Traffic moved after stage 1 alone: both Services select b's pods, eligible already,
  // while the role labels have not changed yet.
  testing::World first = s.world;
  first.Apply(p, 2);
  EXPECT_EQ(first.ServedMembers(), std::set<std::string>{"b"});
  EXPECT_EQ(first.LabelledActive(), std::set<std::string>{"a"});
  s.world.Apply(p);
  // Besides role labels: one status write, and one Service write per Service.
  EXPECT_EQ(CountKind(p, kStatus), 1u);
  EXPECT_EQ(CountKind(p, kService), 2u);
  EXPECT_EQ(p.writes.size(), 2u + 1u + CountKind(p, kPodLabels)) << ::testing::PrintToString(stages);
  EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes.back()));
  EXPECT_EQ(p.status.active_member, "b");
  EXPECT_EQ(s.Role("b-0"), "active");
  EXPECT_EQ(s.Role("a-0"), "fenced");
  EXPECT_EQ(s.world.pods.at("a-0").labels.at(keys::kEligible), "false");
  // One Event for the switch.
  size_t switch_events = 0;
  for (const auto& e : p.events) switch_events += !e.if_stopped && e.reason.find("Failover") == 0 ? 1 : 0;
  EXPECT_EQ(switch_events, 1u);
  EXPECT_TRUE(HasEvent(p, "FailoverCompleted"));
}

TEST_P(FastPathStrategy, RoleLabelsFollowTheStrategyAfterTheServices) {
  Scenario s = PrimaryDown(GetParam());
  Plan& p = s.Step(T(2));
  const auto stages = DescribeStages(p);
  ASSERT_EQ(stages.size(), 4u) << ::testing::PrintToString(stages);  // Service, roles, roles, status
  auto has = [&](size_t k, const std::string& text) {
    for (const auto& w : stages[k]) {
      if (w.find(text) != std::string::npos) return true;
    }
    return false;
  };
  const bool bbm = GetParam() == SwitchStrategy::kBreakBeforeMake;
  EXPECT_TRUE(has(bbm ? 1 : 2, "pod a-0")) << ::testing::PrintToString(stages);
  EXPECT_TRUE(has(bbm ? 2 : 1, "pod b-0")) << ::testing::PrintToString(stages);
}

INSTANTIATE_TEST_SUITE_P(Strategies, FastPathStrategy,
                         ::testing::Values(SwitchStrategy::kBreakBeforeMake, SwitchStrategy::kMakeBeforeBreak));

TEST(FastPath, NoStatusWriteForAnUnhealthyPrimaryWithUnhealthyForZero) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  Plan& p = s.Step(T(2));
  EXPECT_EQ(CountKind(p, kStatus), 1u) << "the final status only";
  Plan& again = s.Step(T(3));
  EXPECT_TRUE(again.writes.empty()) << ::testing::PrintToString(DescribeStages(again));
}

TEST(FastPath, TheServiceCarriesTheSwitchRecordAndTheStatusBooksItsNumber) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  const int64_t before = s.world.status.switch_seq;
  s.Step(T(2));
  const SwitchRecord r = ServiceRecord(s);
  EXPECT_EQ(r.from, "a");
  EXPECT_EQ(r.to, "b");
  EXPECT_EQ(r.reason, "PrimaryUnhealthy");
  EXPECT_EQ(r.seq, before + 1);
  EXPECT_EQ(s.world.status.switch_seq, r.seq);
  EXPECT_FALSE(s.world.status.switch_record) << "no intent written for a switch without a prePromote hook";
}

// Killed after the Service write: the restart finds the switch on the Service and finishes
// it toward b, even though a looks healthy again.
TEST(FastPath, AProcessStoppedAfterTheServiceWriteFinishesTheSwitch) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  s.Step(T(2), 1);  // only the Service write landed
  ASSERT_EQ(s.ServiceMember(), "b");
  ASSERT_EQ(s.world.status.active_member, "a");
  s.MemberReady("a", true);
  Plan& p = s.Step(T(3));
  EXPECT_EQ(CountKind(p, kService), 0u) << "traffic stays on b";
  EXPECT_EQ(s.world.status.active_member, "b");
  EXPECT_EQ(s.world.status.switch_seq, ServiceRecord(s).seq);
  EXPECT_EQ(s.Role("b-0"), "active");
  EXPECT_EQ(s.Role("a-0"), "fenced");
  EXPECT_TRUE(HasEvent(p, "FailoverCompleted"));
  EXPECT_FALSE(HasEvent(p, "FailoverStarted"));
}

// Stopped after the Service write with a postPromote hook: the plan that finishes the
// switch from the Service's record calls the hook as that switch (its record's start), so
// the receiver sees the same switchId as a plan that had run through.
TEST(FastPath, AResumedSwitchsHookCallCarriesTheStartOfTheRecordOnTheService) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  s.spec.post_promote = Hook{"http://hooks/post", 5s, 3, HookFailurePolicy::kIgnore};
  Plan whole = Decide(s.spec, s.world.Observe(), s.world.status, T(2));
  s.Step(T(2), 1);  // only the Service write landed
  const SwitchRecord rec = ServiceRecord(s);
  ASSERT_FALSE(s.world.status.switch_record) << "no intent in the status: the record is on the Service only";
  Plan p = Decide(s.spec, s.world.Observe(), s.world.status, T(4));
  auto hook_of = [](const Plan& plan) -> std::optional<CallHook> {
    for (const Write& w : plan.writes) {
      if (const auto* h = std::get_if<CallHook>(&w)) return *h;
    }
    return std::nullopt;
  };
  auto call = hook_of(p);
  auto first = hook_of(whole);
  ASSERT_TRUE(call && first) << ::testing::PrintToString(DescribeStages(p));
  EXPECT_EQ(call->started_at, rec.started_at);
  EXPECT_EQ(call->started_at, first->started_at);
  EXPECT_EQ(call->started_at, T(2));
  EXPECT_EQ(call->to, "b");
}

// The groups cache is older than the Services (a lagging watch): its status still says a is
// active and a is healthy in it. The plan does not flip traffic back; it finishes the switch
// on the Services, and its status write carries the stale resourceVersion (a conflict).
TEST(FastPath, AStatusOlderThanTheServicesNeverFlipsTrafficBack) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  const Status old_status = s.world.status;
  s.Step(T(2));
  ASSERT_EQ(s.ServiceMember(), "b");
  s.MemberReady("a", true);
  Plan p = Decide(s.spec, s.world.Observe(), old_status, T(3));
  EXPECT_EQ(CountKind(p, kService), 0u) << ::testing::PrintToString(DescribeStages(p));
  EXPECT_EQ(p.status.active_member, "b");
}

// A switchover request read beside a status older than the Services' switch may be one
// served already: it waits until the switch is booked.
TEST(FastPath, ARequestWaitsUntilTheSwitchOnTheServicesIsBooked) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  s.Step(T(2), 1);
  s.world.group.annotations[keys::kSwitchoverTo] = "a";
  s.MemberReady("a", true);
  Plan& p = s.Step(T(3));
  EXPECT_EQ(s.ServiceMember(), "b");
  EXPECT_EQ(s.world.status.active_member, "b");
  EXPECT_EQ(CountKind(p, testing::kAnnotations), 0u) << "the request stays for the next plan";
  s.Step(T(4));
  EXPECT_EQ(s.ServiceMember(), "a") << "then it is served";
}

// A promoted member whose pods are fenced (the only healthy one) gets eligible=true before
// the Service moves to it: the Service never selects nothing.
TEST(FastPath, AFencedMemberIsMadeEligibleBeforeTheServiceMovesToIt) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  s.spec.failback.stabilization_window = 1h;
  s.MemberReady("b", true);
  s.Step(T(2));  // a fenced
  ASSERT_EQ(s.world.pods.at("a-0").labels.at(keys::kEligible), "false");
  s.MemberReady("a", true);
  s.MemberReady("b", false);
  Plan& p = s.Step(T(10));
  const auto stages = DescribeStages(p);
  ASSERT_GE(stages.size(), 2u);
  EXPECT_EQ(s.ServiceMember(), "a");
  ASSERT_EQ(CountKind(p, kService), 1u);
  size_t service_at = 0;
  for (size_t i = 0; i < p.writes.size(); ++i) {
    if (std::holds_alternative<PatchService>(p.writes[i])) service_at = i;
  }
  ASSERT_GT(service_at, 0u) << ::testing::PrintToString(stages);
  const auto* first = std::get_if<PatchPodLabels>(&p.writes[0]);
  ASSERT_NE(first, nullptr) << ::testing::PrintToString(stages);
  EXPECT_EQ(first->set.at(keys::kEligible), "true");
  EXPECT_FALSE(first->set.count(keys::kRole)) << "the role follows the Service";
}

// Someone changed the Service since the decision: the write is conditional on the version
// decided from, so it does not land.
TEST(FastPath, AServiceChangedSinceTheDecisionIsNotOverwritten) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  Plan p = Decide(s.spec, s.world.Observe(), s.world.status, T(2));
  s.world.services.at("db").annotations["someone"] = "else";
  s.world.services.at("db").resource_version = "99";
  s.world.Apply(p.writes.front());
  EXPECT_EQ(s.ServiceMember(), "a");
}

// The reconciler hands a switch's plan off right after its Services moved; the next plan
// finishes it from the record. For the first election too: it is booked (Initial, the
// ActiveMemberElected Event), not taken for a member that was already active.
TEST(FastPath, APlanStoppedRightAfterItsServicesMovedIsFinishedAndBookedByTheNext) {
  Scenario s;
  Plan first = Decide(s.spec, s.world.Observe(), s.world.status, T(0));
  s.world.Apply(first, ThroughServices(first));
  ASSERT_EQ(s.ServiceMember(), "a");
  ASSERT_TRUE(s.world.status.active_member.empty());
  Plan& p = s.Step(T(0));
  EXPECT_TRUE(HasEvent(p, "ActiveMemberElected"));
  ASSERT_TRUE(s.world.status.last_transition);
  EXPECT_EQ(s.world.status.last_transition->reason, "Initial");
  EXPECT_EQ(s.world.status.active_member, "a");
  EXPECT_EQ(s.Role("a-0"), "active");

  s.spec.detection.unhealthy_for = 0s;
  s.MemberReady("a", false);
  Plan failover = Decide(s.spec, s.world.Observe(), s.world.status, T(10));
  s.world.Apply(failover, ThroughServices(failover));
  Plan& q = s.Step(T(10));
  EXPECT_TRUE(HasEvent(q, "FailoverCompleted"));
  EXPECT_EQ(s.world.status.active_member, "b");
  EXPECT_EQ(s.world.status.failover_count, 1);
  EXPECT_EQ(s.Role("b-0"), "active");
  EXPECT_EQ(q.metrics.size(), 3u) << "the switch's metrics, recorded by the plan that books it";
  Plan& r = s.Step(T(13));
  EXPECT_TRUE(r.writes.empty()) << "one status write per failover:\n" << PlanToJson(r).dump(1);
}

// A switch booked after its antiFlap window has passed (its follow-up queued behind a
// storm's traffic writes) spends no budget that is already over: booked as it is, the next
// reconcile pruned it and wrote the status a second time (2 status writes per failover in
// the 1,000-group storm with the bench's 1 s window).
TEST(FastPath, ASwitchBookedAfterItsAntiFlapWindowLeavesNothingToPrune) {
  Scenario s = PrimaryDown(SwitchStrategy::kBreakBeforeMake);
  s.spec.anti_flap.window = 1s;
  Plan traffic = Decide(s.spec, s.world.Observe(), s.world.status, T(2));
  s.world.Apply(traffic, ThroughServices(traffic));
  ASSERT_EQ(s.ServiceMember(), "b");
  Plan& booking = s.Step(T(20));  // the follow-up, 18 s later
  EXPECT_EQ(CountKind(booking, kStatus), 1u);
  EXPECT_EQ(s.world.status.switch_seq, ServiceRecord(s).seq);
  EXPECT_EQ(s.world.status.failover_count, 1);
  EXPECT_TRUE(s.world.status.recent_failovers.empty()) << "started 18 s ago, outside the 1 s window";
  Plan& next = s.Step(T(20) + 50ms);  // the events of its own writes
  EXPECT_TRUE(next.writes.empty()) << "one status write per failover:\n" << PlanToJson(next).dump(1);
}

// A nonsense failover.io/switch (edited by hand, truncated): no switch is read from it, a
// Warning names the Service and the value, and the Service loses it.
TEST(FastPath, AnUnreadableSwitchRecordIsIgnoredReportedAndRemoved) {
  for (const std::string garbage : {"{not json", R"({"seq":"x","to":"b"})", R"({"seq":7})", "\xff"}) {
    Scenario s = Settled();
    s.world.services.at("db").annotations[keys::kSwitch] = garbage;
    Plan& p = s.Step(T(5));
    EXPECT_EQ(s.ServiceMember(), "a") << garbage;
    EXPECT_EQ(s.world.status.active_member, "a") << garbage;
    EXPECT_FALSE(s.world.services.at("db").annotations.count(keys::kSwitch)) << garbage;
    const Event* e = testing::FindEvent(p, "SwitchRecordUnreadable");
    ASSERT_NE(e, nullptr) << garbage;
    EXPECT_EQ(e->type, "Warning");
    EXPECT_NE(e->message.find("Service db has failover.io/switch="), std::string::npos) << e->message;
  }
}

// A record naming a member that is not in the spec is not resumed; the Service loses it.
TEST(FastPath, ARecordForAMemberNotInTheSpecIsNotResumed) {
  Scenario s = Settled();
  s.world.services.at("db").annotations[keys::kSwitch] = R"({"seq":99,"from":"a","to":"zzz","reason":"Switchover"})";
  s.Step(T(5));
  EXPECT_EQ(s.ServiceMember(), "a");
  EXPECT_FALSE(s.world.services.at("db").annotations.count(keys::kSwitch));
  EXPECT_EQ(s.world.status.switch_seq, 99) << "booked as seen, so the next switch is numbered above it";
  s.MemberReady("a", false);
  s.Step(T(6));
  s.Step(T(12));
  EXPECT_EQ(ServiceRecord(s).seq, 100);
}

}  // namespace
}  // namespace failover
