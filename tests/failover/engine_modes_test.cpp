// When the engine may not act as usual: paused, dry run, invalid specs (the spec's own
// errors, then Services another group claims), and the group's deletion (finalizer).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine_scenario.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::TwoMemberWorld;
using testing::World;
using testing::Scenario;
using testing::Describe;
using testing::DescribeStages;
using testing::HasEvent;
using testing::FindEvent;
using testing::Cond;
using testing::CountKind;
using testing::kPodLabels;
using testing::Settled;

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

TEST(Deletion, FinalizerGivesTheServicesBackThenRemovesEveryRoleLabelThenItself) {
  Scenario s = Settled();
  EXPECT_EQ(s.world.services.at("db").annotations.at(keys::kOriginalSelector), R"({"app":"db"})")
      << "taking the Service over recorded its own selector";
  EXPECT_EQ(s.world.services.at("db").labels.at(keys::kGroup), "db");
  s.world.pods.at("b-0").labels.erase("site");  // left the group earlier: still ours until cleaned
  s.world.AddPod("other", {{"app", "db"}, {keys::kGroup, "another"}, {keys::kRole, "active"}});
  s.world.group.deleting = true;
  s.world.group.finalizers.push_back("example.com/keep");
  Plan& p = s.Step(T(50));
  ASSERT_EQ(p.writes.size(), 5u) << ::testing::PrintToString(Describe(p.writes));
  // The Service selects the pods again without the group's labels before any label goes.
  EXPECT_EQ(DescribeStages(p),
            (std::vector<std::vector<std::string>>{
                {"service db: selector {app=db} (released)"},
                {"pod a-0: remove failover.io/group, remove failover.io/member, remove failover.io/role, remove failover.io/eligible",
                 "pod a-1: remove failover.io/group, remove failover.io/member, remove failover.io/role, remove failover.io/eligible",
                 "pod b-0: remove failover.io/group, remove failover.io/member, remove failover.io/role, remove failover.io/eligible"},
                {"group: finalizers [example.com/keep]"}}));
  const ServiceObservation& db = s.world.services.at("db");
  EXPECT_EQ(db.selector, (Labels{{"app", "db"}}));
  EXPECT_TRUE(db.annotations.empty()) << ::testing::PrintToString(db.annotations);
  EXPECT_TRUE(db.labels.empty());
  EXPECT_TRUE(HasEvent(p, "ServiceReleased", "Normal"));
  for (const char* pod : {"a-0", "a-1", "b-0"}) {
    for (const char* k : {keys::kGroup, keys::kMember, keys::kRole}) {
      EXPECT_FALSE(s.world.pods.at(pod).labels.count(k)) << pod << " " << k;
    }
  }
  EXPECT_EQ(s.world.pods.at("other").labels.at(keys::kRole), "active") << "another group's pod";
  EXPECT_EQ(s.world.group.finalizers, std::vector<std::string>{"example.com/keep"});
  EXPECT_TRUE(HasEvent(p, "Finalized"));
  Plan& q = s.Step(T(51));
  EXPECT_TRUE(q.writes.empty()) << "finalizer gone: nothing more to do";
}

// A Service taken out of spec.services is given back at once, not left on the member it
// pointed at (where a later failover would leave it selecting nothing).
TEST(Release, AServiceLeavingTheSpecGetsItsOwnSelectorBack) {
  Scenario s = Settled();
  s.world.AddService("db-ro", {{"app", "db"}, {"tier", "ro"}});
  s.spec.services.push_back({"db-ro"});
  s.Step(T(1));
  EXPECT_EQ(s.world.services.at("db-ro").selector.at(keys::kMember), "a");
  s.spec.services.pop_back();
  Plan& p = s.Step(T(2));
  ASSERT_FALSE(p.writes.empty());
  EXPECT_EQ(Describe(p.writes)[0], "service db-ro: selector {app=db,tier=ro} (released)");
  for (size_t i = 1; i < p.writes.size(); ++i) {
    EXPECT_TRUE(std::holds_alternative<UpdateStatus>(p.writes[i])) << Describe(p.writes)[i];
  }
  EXPECT_EQ(s.world.services.at("db-ro").selector, (Labels{{"app", "db"}, {"tier", "ro"}}));
  EXPECT_TRUE(s.world.services.at("db-ro").labels.empty());
  EXPECT_EQ(s.world.services.at("db").selector.at(keys::kMember), "a") << "the Service still listed stays";
  EXPECT_TRUE(s.Step(T(3)).writes.empty()) << "given back once";
}

// Taken over before the original selector was recorded: the serving member's selector
// (matchLabels only) selects the pods that serve now; with expressions nothing can, so the
// Service keeps following the group's active pods, and deletion leaves those their labels.
TEST(Release, WithoutARecordedSelectorTheServingMembersOrNone) {
  Scenario s = Settled();
  s.world.services.at("db").annotations.erase(keys::kOriginalSelector);
  s.world.group.deleting = true;
  s.Step(T(5));
  EXPECT_EQ(s.world.services.at("db").selector, (Labels{{"app", "db"}, {"site", "a"}}))
      << "member a's selector";

  Scenario e = Settled();
  e.world.services.at("db").annotations.erase(keys::kOriginalSelector);
  e.spec.members[0].selector.match_labels = {{"app", "db"}};
  e.spec.members[0].selector.match_expressions = {{"site", SelectorOperator::kIn, {"a"}}};
  e.world.group.deleting = true;
  Plan& p = e.Step(T(5));
  EXPECT_TRUE(HasEvent(p, "ServiceNotRestored", "Warning"));
  EXPECT_EQ(e.world.services.at("db").selector, (Labels{{keys::kGroup, "db"}, {keys::kRole, "active"}}));
  EXPECT_EQ(e.world.ServedMembers(), std::set<std::string>{"a"}) << "still serving";
  EXPECT_EQ(e.world.pods.at("b-0").labels.count(keys::kGroup), 0u) << "pods no Service needs are cleaned";
}

}  // namespace
}  // namespace failover
