// PodWrites and ServiceWrites: the writes that bring pods and Services to a decision,
// sorted by kind before Assemble stages them.
#include "failover/engine/writes.h"

#include <gtest/gtest.h>

#include "stage_fixture.h"

namespace failover::engine {
namespace {

using failover::testing::Pod;
using failover::testing::Site;
using failover::testing::T;

std::vector<std::string> Described(const std::vector<Write>& writes) {
  std::vector<std::string> out;
  for (const auto& w : writes) out.push_back(Describe(w));
  return out;
}

// a active, b standby (roles as given), over the pods in `observed` (none until a test adds them).
struct Fixture : failover::testing::StageFixture {
  WriteSets Pods() const { return PodWrites(In(T(0)), Classified(T(0)), decision); }
  ServicePlan Services(bool acting = true) const { return ServiceWrites(In(T(0), acting), decision); }
};

TEST(PodWrites, EachPodGetsItsGroupMemberAndRoleLabelsOnlyWhenTheyDiffer) {
  Fixture f;
  f.observed.pods = {Pod("a-0", Site("a")), Pod("a-1", Site("a", "active")), Pod("b-0", Site("b"))};
  WriteSets w = f.Pods();
  // What the Services select on goes ahead of them, for the member that serves; its role follows.
  EXPECT_EQ(Described(w.prerequisites),
            std::vector<std::string>{"pod a-0: set failover.io/eligible=true, set failover.io/group=db, "
                                     "set failover.io/member=a"});
  EXPECT_EQ(Described(w.promotions), std::vector<std::string>{"pod a-0: set failover.io/role=active"});
  EXPECT_EQ(Described(w.neutral),
            std::vector<std::string>{"pod b-0: set failover.io/eligible=true, set failover.io/group=db, "
                                     "set failover.io/member=b, set failover.io/role=standby"});
  EXPECT_TRUE(w.demotions.empty());
  EXPECT_TRUE(w.deletes.empty());
  EXPECT_TRUE(w.services.empty());
}

TEST(PodWrites, ActivePodsThatMustNotBeAreDemotionsEvenWhenTerminating) {
  Fixture f;
  f.decision.active = {1};
  f.decision.roles = {Role::kFenced, Role::kActive};
  PodObservation going = Pod("a-1", Site("a", "active"));
  going.terminating = true;
  Labels wrong_member = Site("b", "active");
  wrong_member[keys::kMember] = "a";  // role=active, but for the wrong member
  f.observed.pods = {Pod("a-0", Site("a", "active")), going, Pod("b-0", wrong_member)};
  WriteSets w = f.Pods();
  EXPECT_EQ(Described(w.demotions),
            (std::vector<std::string>{"pod a-0: set failover.io/eligible=false, set failover.io/role=fenced",
                                      "pod a-1: set failover.io/eligible=false, set failover.io/role=fenced"}));
  EXPECT_EQ(Described(w.prerequisites), std::vector<std::string>{"pod b-0: set failover.io/member=b"})
      << "b serves: its member label goes ahead of the Service";
  EXPECT_TRUE(w.promotions.empty());
}

TEST(PodWrites, TerminatingPodsAreNotPromotedNorRelabelled) {
  Fixture f;
  PodObservation a = Pod("a-0", Site("a"));
  PodObservation b = Pod("b-0", Site("b"));
  a.terminating = b.terminating = true;
  f.observed.pods = {a, b};
  WriteSets w = f.Pods();
  EXPECT_TRUE(w.promotions.empty());
  EXPECT_TRUE(w.neutral.empty());
}

TEST(PodWrites, StraysLoseTheGroupsLabelsAndOtherPodsAreLeftAlone) {
  Fixture f;
  Labels stray_active{{"app", "old"}, {keys::kGroup, "db"}, {keys::kRole, "active"}};
  Labels stray{{"app", "old"}, {keys::kGroup, "db"}, {keys::kMember, "x"}};
  Labels foreign = Site("a", "active");
  foreign[keys::kGroup] = "other";
  f.observed.pods = {Pod("s-0", stray_active), Pod("s-1", stray), Pod("f-0", foreign), Pod("n-0", {{"app", "web"}})};
  WriteSets w = f.Pods();
  EXPECT_EQ(Described(w.demotions),
            std::vector<std::string>{"pod s-0: remove failover.io/group, remove failover.io/role"});
  EXPECT_EQ(Described(w.neutral),
            std::vector<std::string>{"pod s-1: remove failover.io/group, remove failover.io/member"});
  EXPECT_TRUE(w.promotions.empty());
}

TEST(PodWrites, DeletePodsFencingDeletesExactlyTheNamedRunningPods) {
  Fixture f;
  f.decision.active = {1};
  f.decision.roles = {Role::kFenced, Role::kActive};
  f.decision.delete_uids = {"uid-a-0", "uid-a-2", "uid-gone"};
  PodObservation old = Pod("a-0", Site("a", "fenced"));
  old.created_at = T(10);  // same creation second as a replacement: only the UID tells them apart
  PodObservation young = Pod("a-1", Site("a", "fenced"));
  young.created_at = T(10);
  PodObservation going = Pod("a-2", Site("a", "fenced"));
  going.terminating = true;
  f.observed.pods = {old, young, going, Pod("b-0", Site("b", "active"))};
  EXPECT_EQ(Described(f.Pods().deletes), std::vector<std::string>{"pod a-0: delete (fencing)"});
}

TEST(ServiceWrites, AServiceIsPointedAtTheActiveMemberWithItsSince) {
  Fixture f;
  f.spec.services = {{"db"}, {"gone"}};
  f.observed.services = {{"db", true, {{"app", "db"}, {"site", "b"}}, {}}, {"gone", false, {}, {}}};
  ServicePlan p = f.Services();
  ASSERT_EQ(p.writes.size(), 1u);
  const auto& patch = std::get<PatchService>(p.writes[0]);
  EXPECT_EQ(patch.selector, (Labels{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}}));
  EXPECT_EQ(patch.remove_selector_keys, (std::vector<std::string>{"app", "site"}));
  EXPECT_EQ(patch.annotations, (Labels{{keys::kActiveMember, "a"},
                                       {keys::kActiveSince, FormatTime(T(0))},
                                       {keys::kOriginalSelector, R"({"app":"db","site":"b"})"}}))
      << "taken over: the selector to give back is recorded";
  EXPECT_EQ(patch.labels, (Labels{{keys::kGroup, "db"}})) << "and a label to find it by";
  EXPECT_TRUE(p.notices.empty()) << "a first pointing is no drift";
  ASSERT_EQ(p.statuses.size(), 2u);
  EXPECT_EQ(p.statuses[0], (ServiceStatus{"db", true, "a", true}));
  EXPECT_EQ(p.statuses[1], (ServiceStatus{"gone", false, "", false}));
}

TEST(ServiceWrites, AnEditedSelectorIsPutBackKeepingSinceAndReported) {
  Fixture f;
  Labels want{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}};
  Labels annotations{{keys::kActiveMember, "a"}, {keys::kActiveSince, "2026-01-01T00:00:00Z"}};
  f.observed.services = {{"db", true, want, annotations}};
  ASSERT_EQ(f.Services().writes.size(), 1u) << "taken over before Services were labelled: labelled once";
  const PatchService upgrade = std::get<PatchService>(f.Services().writes[0]);
  EXPECT_EQ(upgrade.labels, (Labels{{keys::kGroup, "db"}}));
  EXPECT_FALSE(upgrade.annotations.count(keys::kOriginalSelector)) << "the group's own selector is nothing to give back";
  f.observed.services[0].labels = {{keys::kGroup, "db"}};
  EXPECT_TRUE(f.Services().writes.empty()) << "in step: nothing to write";

  f.observed.services[0].selector[keys::kMember] = "b";
  ServicePlan p = f.Services();
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(std::get<PatchService>(p.writes[0]).annotations.at(keys::kActiveSince), "2026-01-01T00:00:00Z");
  ASSERT_EQ(p.notices.size(), 1u);
  EXPECT_EQ(p.notices[0].reason, Reason::kSelectorDriftCorrected);
  EXPECT_EQ(p.notices[0].message,
            "Service db selector was {failover.io/eligible=true,failover.io/group=db,failover.io/member=b}; "
            "set back to {failover.io/eligible=true,failover.io/group=db,failover.io/member=a}");

  f.decision.switching = Switch{"b", "a", SwitchReason::kSwitchover, T(0), T(0)};
  EXPECT_TRUE(f.Services().notices.empty()) << "a switch moves Services itself";
}

TEST(ServiceWrites, ObservingOrWithNoTargetOnlyReports) {
  Fixture f;
  Labels want{{keys::kGroup, "db"}, {keys::kMember, "a"}, {keys::kEligible, "true"}};
  f.observed.services = {{"db", true, {{"app", "db"}}, {{keys::kActiveMember, "b"}}}};
  ServicePlan p = f.Services(false);
  EXPECT_TRUE(p.writes.empty());
  EXPECT_EQ(p.statuses[0], (ServiceStatus{"db", true, "b", false}));

  f.observed.services = {{"db", true, want, {{keys::kActiveMember, "a"}}}};
  EXPECT_EQ(f.Services(false).statuses[0], (ServiceStatus{"db", true, "a", true}));

  f.decision.active.clear();
  p = f.Services();
  EXPECT_TRUE(p.writes.empty());
  EXPECT_EQ(p.statuses[0], (ServiceStatus{"db", true, "a", false})) << "no target: never in sync";
}

TEST(ServiceWrites, ActiveActiveSelectsEveryActivePodOfTheGroup) {
  Fixture f;
  f.spec.mode = Mode::kActiveActive;
  f.decision.active = {0, 1};
  f.observed.services = {{"db", true, {{"app", "db"}}, {}}};
  ServicePlan p = f.Services();
  ASSERT_EQ(p.writes.size(), 1u);
  const auto& patch = std::get<PatchService>(p.writes[0]);
  EXPECT_EQ(patch.selector, (Labels{{keys::kGroup, "db"}, {keys::kRole, "active"}}));
  EXPECT_EQ(patch.annotations.at(keys::kActiveMember), "a,b");
}

}  // namespace
}  // namespace failover::engine
