// PlanExecutor: stage order, stopping after a failed stage, conflicts, 404s that count as
// done, the leader guard, the group's resourceVersion chain, the fence on the group the
// plan was decided from, and Events tied to writes.
// The client is a recording fake (tests/support/recording_client.h): these are the
// failures a real apiserver cannot be made to produce on cue; the operator integration
// tests run the same executor against the real one.
#include <gtest/gtest.h>

#include <algorithm>

#include "failover/plan_executor.h"
#include "failover/time_text.h"
#include "support/recording_client.h"

namespace failover {
namespace {

using json = nlohmann::json;
using testsupport::RecordingClient;

json GroupObject() {
  return {{"metadata", {{"name", "db"}, {"namespace", "ns"}, {"uid", "g-uid"}, {"resourceVersion", "7"}}}};
}

PatchPodLabels Label(const std::string& pod, const std::string& role) {
  return PatchPodLabels{pod, pod + "-uid", {{"failover.io/role", role}}, {}};
}

class PlanExecutorTest : public ::testing::Test {
 protected:
  PlanExecutor::Result Apply(const Plan& plan, bool leader = true) {
    PlanExecutor::Deps deps;
    deps.client = &client_;
    deps.recent = &recent_;
    deps.may_write = [leader] { return leader; };
    deps.emit = [this](const json&, const Event& e) { events_.push_back(e.reason); };
    return PlanExecutor(deps).Apply(GroupObject(), plan);
  }
  // resource/name[/subresource] of each call; a read is prefixed "GET ".
  std::vector<std::string> Names() {
    std::vector<std::string> out;
    for (const auto& c : client_.calls()) {
      out.push_back((c.verb == "GET" ? "GET " : "") + c.resource + "/" + c.name +
                    (c.subresource.empty() ? "" : "/" + c.subresource));
    }
    return out;
  }
  void SetUp() override { client_.ServeGroup("db", "7"); }  // the group as decided from

  RecordingClient client_;
  RecentWrites recent_;
  std::vector<std::string> events_;
};

// fence a-0 and b-1 (one stage), point the Service (next stage), write the status.
Plan SwitchPlan() {
  Plan plan;
  plan.writes = {Label("a-0", "fenced"), Label("b-1", "fenced"),
                 PatchService{"db", {{"failover.io/member", "site-b"}}, {}, {}}, UpdateStatus{}};
  plan.stage_ends = {2, 3, 4};
  return plan;
}

TEST_F(PlanExecutorTest, AppliesStagesInOrderAndRemembersWhatItWrote) {
  auto r = Apply(SwitchPlan());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.conflict);
  EXPECT_FALSE(r.waiting_hook);
  auto names = Names();
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names[0], "GET failovergroups/db") << "the fence: no group write comes before the pods";
  // Stage 0 runs its two writes at once: either order, but both before the Service.
  std::vector<std::string> first(names.begin() + 1, names.begin() + 3);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<std::string>{"pods/a-0", "pods/b-1"}));
  EXPECT_EQ(names[3], "services/db");
  EXPECT_EQ(names[4], "failovergroups/db/status");
  // Pod patches carry the uid precondition; the status patch the group's resourceVersion.
  for (const auto& c : client_.calls()) {
    if (c.resource == "pods") {
      EXPECT_EQ(c.body["metadata"]["uid"], c.name + "-uid");
    }
  }
  EXPECT_EQ(client_.calls()[4].body["metadata"]["resourceVersion"], "7");
  // Read-your-writes: both pods, the Service and the group are remembered.
  EXPECT_EQ(recent_.size(), 4u);
}

TEST_F(PlanExecutorTest, StopsAfterTheStageInWhichAWriteFailed) {
  client_.FailNext("pods", "b-1", kube::Status(kube::Reason::kInternalError, "etcd timeout", 500));
  auto r = Apply(SwitchPlan());
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.conflict);
  EXPECT_NE(r.status.message().find("b-1"), std::string::npos) << r.status.ToString();
  // The other write of the stage was issued; nothing after the stage was.
  auto names = Names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"GET failovergroups/db", "pods/a-0", "pods/b-1"}));
}

TEST_F(PlanExecutorTest, AllConflictsMeanDecideAgainAnyOtherFailureDoesNot) {
  Plan plan;
  plan.writes = {UpdateStatus{}};
  client_.FailNext("failovergroups", "db", kube::Status(kube::Reason::kConflict, "modified", 409));
  auto r = Apply(plan);
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.conflict);

  Plan two;
  two.writes = {Label("a-0", "fenced"), Label("b-1", "fenced")};
  two.stage_ends = {2};
  client_.FailNext("pods", "a-0", kube::Status(kube::Reason::kForbidden, "denied", 403));
  client_.FailNext("pods", "b-1", kube::Status(kube::Reason::kConflict, "modified", 409));
  r = Apply(two);
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.conflict) << "a 403 in the same stage is not cured by a re-read";
}

TEST_F(PlanExecutorTest, APodThatIsGoneCountsAsDone) {
  client_.FailNext("pods", "a-0", kube::Status(kube::Reason::kNotFound, "not found", 404));
  auto r = Apply(SwitchPlan());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Names().size(), 5u);
}

TEST_F(PlanExecutorTest, ADeleteWithAStaleUidCountsAsDone) {
  Plan plan;
  plan.writes = {DeletePod{"a-0", "old-uid"}, UpdateStatus{}};
  client_.FailNext("pods", "a-0", kube::Status(kube::Reason::kConflict, "uid precondition failed", 409));
  auto r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(client_.calls().size(), 3u);
  EXPECT_EQ(client_.calls()[1].verb, "DELETE");
  EXPECT_EQ(client_.calls()[1].body["uid"], "old-uid");
}

TEST_F(PlanExecutorTest, NotTheLeaderSendsNothing) {
  auto r = Apply(SwitchPlan(), /*leader=*/false);
  EXPECT_EQ(r.status.reason(), kube::Reason::kCancelled);
  EXPECT_NE(r.status.message().find("not the leader"), std::string::npos);
  for (const auto& c : client_.calls()) ADD_FAILURE() << "sent " << c.verb << " " << c.resource << "/" << c.name;
  EXPECT_EQ(recent_.size(), 0u);
}

TEST_F(PlanExecutorTest, GroupWritesChainTheResourceVersionTheLastOneReturned) {
  Plan plan;
  plan.writes = {PatchGroupFinalizers{{"failover.io/finalizer"}, ""}, UpdateStatus{}};
  auto r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  auto calls = client_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].body["metadata"]["resourceVersion"], "7");
  // The fake hands out 101 for the first write: the status write must be fenced on it.
  EXPECT_EQ(calls[1].body["metadata"]["resourceVersion"], "101");
}

TEST_F(PlanExecutorTest, EventsFollowTheWritesTheyReportOn) {
  Plan plan = SwitchPlan();
  plan.events = {{"Normal", "Fenced", "", 2, false},
                 {"Normal", "FailoverCompleted", "", 4, false},
                 {"Warning", "SwitchInterrupted", "", 0, true}};
  client_.FailNext("services", "db", kube::Status(kube::Reason::kServiceUnavailable, "down", 503));
  Apply(plan);
  EXPECT_EQ(events_, (std::vector<std::string>{"Fenced", "SwitchInterrupted"}));

  events_.clear();
  Apply(plan);
  EXPECT_EQ(events_, (std::vector<std::string>{"Fenced", "FailoverCompleted"}));
}

TEST_F(PlanExecutorTest, AHookWithoutARunnerFailsTheStageInsteadOfPassing) {
  Plan plan;
  CallHook hook;
  hook.hook.url = "http://hook.invalid/pre";
  plan.writes = {hook, UpdateStatus{}};
  auto r = Apply(plan);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(Names(), (std::vector<std::string>{"GET failovergroups/db"})) << "the fence's read, no write";
}

// The group changed on the server since the plan was decided (a lagging groups watch,
// another leader's switch): nothing that moves traffic or roles goes out.
TEST_F(PlanExecutorTest, AGroupChangedSinceTheDecisionMovesNothing) {
  client_.ServeGroup("db", "8");
  auto r = Apply(SwitchPlan());
  EXPECT_TRUE(r.conflict) << "decide again from a fresh read";
  EXPECT_NE(r.status.message().find("changed since the decision"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(Names(), (std::vector<std::string>{"GET failovergroups/db"}));
  EXPECT_EQ(recent_.size(), 0u);

  // A group deleted since: nothing either.
  client_.FailNext("GET failovergroups", "db", kube::Status(kube::Reason::kNotFound, "gone", 404));
  r = Apply(SwitchPlan());
  EXPECT_TRUE(r.conflict);
  EXPECT_EQ(Names().size(), 2u);
}

// A switch records its intent in the same stage as its first traffic writes: the status
// write (fenced by the resourceVersion) goes alone first, the rest only once it landed.
TEST_F(PlanExecutorTest, TheGroupWriteOfAStageThatMovesTrafficGoesFirstAndAlone) {
  Plan plan;
  plan.writes = {Label("a-0", "fenced"), UpdateStatus{}, PatchService{"db", {{"failover.io/member", "site-b"}}, {}, {}}};
  plan.stage_ends = {3};
  client_.FailNext("failovergroups", "db", kube::Status(kube::Reason::kConflict, "modified", 409));
  auto r = Apply(plan);
  EXPECT_TRUE(r.conflict);
  EXPECT_EQ(Names(), (std::vector<std::string>{"failovergroups/db/status"})) << "nothing moved on a stale status";

  client_.ClearCalls();
  r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  auto names = Names();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "failovergroups/db/status");
  std::sort(names.begin() + 1, names.end());
  EXPECT_EQ(names[1], "pods/a-0");
  EXPECT_EQ(names[2], "services/db");
}

// The fast path: a switch's first stage is its Service writes, each conditional on the
// Service's resourceVersion. They are their own fence: no read of the group before them,
// and the role labels after them need none either.
TEST_F(PlanExecutorTest, AStageOfConditionalServiceWritesGoesOutWithoutAReadFirst) {
  PatchService svc{"db", {{"failover.io/member", "site-b"}}, {}, {}};
  svc.resource_version = "5";
  Plan plan;
  plan.writes = {svc, Label("b-0", "active"), UpdateStatus{}};
  plan.stage_ends = {1, 2, 3};
  auto r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Names(), (std::vector<std::string>{"services/db", "pods/b-0", "failovergroups/db/status"}));
  EXPECT_EQ(client_.calls().front().body["metadata"]["resourceVersion"], "5");

  // Without the precondition the same stage is read-fenced as before.
  client_.ClearCalls();
  client_.ServeGroup("db", "7");
  plan.writes[0] = PatchService{"db", {{"failover.io/member", "site-b"}}, {}, {}};
  r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Names().front(), "GET failovergroups/db");
}

// A switch's plan stops once its Services moved: the role labels and the status are left to
// the next reconcile (which finishes the switch recorded on the Service), so in a storm every
// group's traffic moves before any group's roles. No "Started" Event for that stop.
TEST_F(PlanExecutorTest, ASwitchsPlanHandsOffRightAfterItsServicesMoved) {
  PatchService svc{"db", {{"failover.io/member", "site-b"}}, {}, {{"failover.io/switch", R"({"seq":1,"to":"site-b"})"}}};
  svc.resource_version = "5";
  Plan plan;
  plan.writes = {svc, Label("b-0", "active"), UpdateStatus{}};
  plan.stage_ends = {1, 2, 3};
  plan.events = {Event{"Warning", "FailoverStarted", "switching", 1, true},
                 Event{"Warning", "FailoverCompleted", "switched", 3, false}};
  auto r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.handed_off);
  EXPECT_EQ(Names(), (std::vector<std::string>{"services/db"}));
  EXPECT_TRUE(events_.empty()) << ::testing::PrintToString(events_);

  // A Service write that carries no switch (a selector put back) runs through.
  client_.ClearCalls();
  std::get<PatchService>(plan.writes[0]).annotations.clear();
  client_.ServeGroup("db", "7");
  r = Apply(plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.handed_off);
  EXPECT_EQ(Names().size(), 3u);
}

// The phases of a switch: the time its Services moved (the hand-off plan) and the time its
// role labels landed (the plan that books it) are stamped into the status that books it, and
// reported (Result::booked) with when that status landed.
TEST_F(PlanExecutorTest, TheSwitchsPhasesAreStampedIntoTheStatusThatBooksIt) {
  const Time t0 = Time{} + std::chrono::seconds(1'800'000'000);
  Time now = t0;
  PlanExecutor::Deps deps;
  deps.client = &client_;
  deps.recent = &recent_;
  deps.now = [&now] { return now; };
  PlanExecutor executor(deps);

  PatchService svc{"db", {{"failover.io/member", "site-b"}}, {}, {{"failover.io/switch", R"({"seq":4,"to":"site-b"})"}}};
  svc.resource_version = "5";
  Plan moves;
  moves.writes = {svc, Label("b-0", "active"), UpdateStatus{}};
  moves.stage_ends = {1, 2, 3};
  now = t0 + std::chrono::seconds(1);
  auto r = executor.Apply(GroupObject(), moves);
  ASSERT_TRUE(r.handed_off);
  EXPECT_FALSE(r.booked);

  Status booking;
  Transition t{"site-a", "site-b", "PrimaryUnhealthy", t0 - std::chrono::seconds(5), t0 + std::chrono::seconds(2)};
  t.seq = 4;
  t.decided_at = t0;
  booking.last_transition = t;
  booking.history = {t};
  Plan books;
  books.writes = {Label("b-0", "active"), UpdateStatus{booking}};
  books.stage_ends = {1, 2};
  books.roles_done_after = 1;
  now = t0 + std::chrono::seconds(2);
  client_.ClearCalls();
  client_.ServeGroup("db", "7");
  r = executor.Apply(GroupObject(), books);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(r.booked);
  EXPECT_EQ(r.booked->traffic_moved_at, t0 + std::chrono::seconds(1)) << "when the hand-off's Service write landed";
  EXPECT_EQ(r.booked->roles_done_at, t0 + std::chrono::seconds(2));
  EXPECT_EQ(r.status_written_at, t0 + std::chrono::seconds(2));
  const auto calls = client_.calls();
  ASSERT_FALSE(calls.empty());
  const json& body = calls.back().body;
  const json& st = body.contains("status") ? body["status"] : body;
  EXPECT_EQ(st["lastTransition"]["trafficMovedAt"], FormatTime(t0 + std::chrono::seconds(1))) << body.dump();
  EXPECT_EQ(st["lastTransition"]["rolesDoneAt"], FormatTime(t0 + std::chrono::seconds(2))) << body.dump();
  EXPECT_EQ(st["history"][0]["trafficMovedAt"], FormatTime(t0 + std::chrono::seconds(1))) << body.dump();

  // Another switch's booking (seq 5) is not given switch 4's traffic time.
  booking.last_transition->seq = 5;
  booking.history = {*booking.last_transition};
  books.writes[1] = UpdateStatus{booking};
  client_.ClearCalls();
  client_.ServeGroup("db", "7");
  r = executor.Apply(GroupObject(), books);
  ASSERT_TRUE(r.booked);
  EXPECT_FALSE(r.booked->traffic_moved_at);
}

// A Service changed since the decision: a conflict, nothing after it, and the Service read
// again so that the next decision sees it even before the watch delivers it.
TEST_F(PlanExecutorTest, AServiceChangedSinceTheDecisionIsAConflictAndIsReadAgain) {
  PatchService svc{"db", {{"failover.io/member", "site-b"}}, {}, {}};
  svc.resource_version = "5";
  Plan plan;
  plan.writes = {svc, Label("b-0", "active")};
  plan.stage_ends = {1, 2};
  client_.ServeService("db", "9");
  client_.FailNext("services", "db", kube::Status(kube::Reason::kConflict, "modified", 409));
  auto r = Apply(plan);
  EXPECT_TRUE(r.conflict);
  EXPECT_EQ(Names(), (std::vector<std::string>{"services/db", "GET services/db"}));
  auto cached = std::make_shared<const json>(json{{"metadata", {{"name", "db"}, {"resourceVersion", "5"}}}});
  auto fresh = recent_.Resolve(RecentServiceKey("ns", "db"), cached);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ((*fresh)["metadata"]["resourceVersion"], "9");
}

}  // namespace
}  // namespace failover
