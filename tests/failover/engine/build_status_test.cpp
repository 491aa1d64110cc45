// BuildStatus and ConditionNotices: the status a decision leads to, its conditions and
// phase, and the Events they call for.
#include "failover/engine/build_status.h"

#include <gtest/gtest.h>

#include <functional>

#include "failover/engine.h"

#include "failover/status_json.h"
#include "stage_fixture.h"

namespace failover::engine {
namespace {

using namespace std::chrono_literals;
using failover::testing::T;

// Members a and b with one pod each, a active and both healthy unless told otherwise.
struct Fixture : failover::testing::StageFixture {
  Ledger ledger;
  std::vector<ServiceStatus> services{{"db", true, "a", true}};
  bool acting = true;

  Fixture() {
    observed.group.generation = 4;
    AddMemberPods();
  }
  StatusReport Build(Time now = T(0)) const {
    return BuildStatus(In(now, acting), Classified(now), decision, services, ledger);
  }
};

const Condition& Cond(const Status& s, const char* type) {
  const Condition* c = s.FindCondition(type);
  EXPECT_NE(c, nullptr) << type;
  static Condition none;
  return c ? *c : none;
}

TEST(BuildStatus, AllHealthyIsReadyAndNotDegraded) {
  Fixture f;
  StatusReport r = f.Build();
  const Status& s = r.status;
  EXPECT_EQ(s.phase, "Healthy");
  EXPECT_EQ(s.active_member, "a");
  EXPECT_EQ(s.healthy, "2/2");
  EXPECT_EQ(s.observed_generation, 4);
  EXPECT_EQ(Cond(s, "Ready").status, "True");
  EXPECT_EQ(Cond(s, "Ready").message, "Services point at a");
  EXPECT_EQ(Cond(s, "Degraded").reason, "AllHealthy");
  EXPECT_EQ(Cond(s, "Degraded").message, "2/2 members healthy");
  EXPECT_EQ(Cond(s, "StandbyAvailable").message, "member b can take over");
  EXPECT_EQ(Cond(s, "InvalidSpec").reason, "Valid");
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_FALSE(s.members[0].eligible) << "the active member is not a candidate";
  EXPECT_TRUE(s.members[1].eligible);
  EXPECT_FALSE(r.assessment.degraded);
  EXPECT_EQ(r.assessment.phase, Phase::kHealthy);
}

TEST(BuildStatus, TheLessPreferredMemberServingIsFailedOver) {
  Fixture f;
  f.decision.active = {1};
  f.decision.roles = {Role::kStandby, Role::kActive};
  EXPECT_EQ(f.Build().status.phase, "FailedOver");

  // Put there by a failover (recorded before, or booked by this plan): FailedOver.
  f.previous.last_transition = Transition{"a", "b", "PrimaryUnhealthy", T(-9), T(-8)};
  EXPECT_EQ(f.Build().status.phase, "FailedOver");
  f.previous.last_transition.reset();
  f.ledger.transitions.push_back(Switch{"a", "b", SwitchReason::kSwitchover, T(0), T(0)});
  EXPECT_EQ(f.Build().status.phase, "FailedOver");
}

TEST(BuildStatus, ALessPreferredMemberElectedFirstIsNotFailedOver) {
  Fixture f;
  f.decision.active = {1};
  f.decision.roles = {Role::kStandby, Role::kActive};
  f.ledger.transitions.push_back(Switch{"", "b", SwitchReason::kInitial, T(0), T(0)});
  StatusReport r = f.Build();
  EXPECT_EQ(r.status.phase, "Healthy") << "no failover happened";
  EXPECT_EQ(r.status.failover_count, 0);

  f.ledger.transitions.clear();
  f.previous.last_transition = Transition{"", "b", "Initial", T(-9), T(-9)};
  EXPECT_EQ(f.Build().status.phase, "Healthy") << "and stays so on later looks";
}

TEST(BuildStatus, WaitingToElectIsPendingNotDegraded) {
  Fixture f;
  f.decision.active.clear();
  f.decision.roles = {Role::kStandby, Role::kStandby};
  f.decision.electing = "electing no member yet: b is healthy but the more preferred a ...";
  StatusReport r = f.Build();
  EXPECT_EQ(r.status.phase, "Pending");
  EXPECT_EQ(Cond(r.status, "Degraded").status, "False");
  EXPECT_EQ(Cond(r.status, "Degraded").reason, "Electing");
  EXPECT_EQ(Cond(r.status, "Ready").reason, "NoActiveMember");
  EXPECT_EQ(Cond(r.status, "Ready").message, *f.decision.electing);
  EXPECT_TRUE(ConditionNotices(f.previous, r.assessment).empty()) << "no Warning for a group coming up";
}

TEST(BuildStatus, DegradedSaysWhyInOrderOfWhatMattersMost) {
  Fixture f;
  f.Down("a");
  StatusReport r = f.Build();
  EXPECT_EQ(r.assessment.degraded_reason, Reason::kActiveUnhealthy);
  EXPECT_EQ(Cond(r.status, "Degraded").message,
            "active member a unhealthy since " + FormatTime(T(0)) + "; failover after 5s");
  EXPECT_EQ(Cond(r.status, "Ready").reason, "ActiveUnhealthy");
  EXPECT_EQ(r.status.members[0].message, "unhealthy: 0/1 ready pods needed");

  f.decision.hold = "held";
  EXPECT_EQ(Cond(f.Build().status, "Degraded").reason, "FailoverBudgetExhausted") << "a hold comes first";
  f.decision.hold.reset();

  f.Down("b");
  r = f.Build();
  EXPECT_EQ(r.assessment.degraded_reason, Reason::kNoHealthyMember);
  EXPECT_EQ(Cond(r.status, "Degraded").message,
            "every member is unhealthy, the active member a too; Services left on a");

  f.decision.active.clear();
  EXPECT_EQ(Cond(f.Build().status, "Degraded").message,
            "no member has enough ready pods; Services left as they are");
}

TEST(BuildStatus, ALaggingStandbyIsNamed) {
  Fixture f;
  f.spec.max_lag = MaxLag{10.0, std::nullopt};
  f.observed.pods[0].annotations[keys::kLagSeconds] = "0";
  f.observed.pods[1].annotations[keys::kLagSeconds] = "30";
  StatusReport r = f.Build();
  EXPECT_EQ(Cond(r.status, "StandbyAvailable").reason, "StandbyLagging");
  EXPECT_EQ(Cond(r.status, "StandbyAvailable").message,
            "no standby can take over: b: lag 30s over maxLag.seconds 10");
  EXPECT_EQ(Cond(r.status, "Degraded").reason, "StandbyLagging");
  EXPECT_EQ(r.status.phase, "Degraded");
}

TEST(BuildStatus, AGarbledLagIsNamedInTheStatusAndWarnedOnce) {
  for (const char* value : {"nan", "inf", "1e999", "-1", "", "soon"}) {
    Fixture f;
    f.observed.pods[1].annotations[keys::kLagSeconds] = value;
    StatusReport r = f.Build();
    const MemberStatus* b = r.status.FindMember("b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->lag_seconds, std::nullopt) << value << ": never 0";
    EXPECT_NE(b->message.find("pod b-0 has failover.io/lag-seconds="), std::string::npos) << b->message;
    EXPECT_TRUE(b->eligible) << "without maxLag an unknown lag does not stop a failover";
    EXPECT_EQ(ParseStatus(StatusToJson(r.status)), r.status) << value << ": the status must round-trip, or "
                                                                         "every write would call for another";

    std::vector<Notice> n = LagNotices(f.previous, f.Classified(T(0)));
    ASSERT_EQ(n.size(), 1u) << value;
    EXPECT_EQ(n[0].type, EventType::kWarning);
    EXPECT_EQ(n[0].reason, Reason::kLagUnknown);
    EXPECT_NE(n[0].message.find("member b: pod b-0"), std::string::npos) << n[0].message;

    f.previous = r.status;
    EXPECT_TRUE(LagNotices(f.previous, f.Classified(T(1))).empty()) << value << ": said once";
    EXPECT_EQ(f.Build(T(1)).status, r.status) << value << ": nothing changes on the next look";
  }
}

TEST(BuildStatus, AMissingServiceIsReported) {
  Fixture f;
  f.services.push_back({"db-ro", false, "", false});
  const Status s = f.Build().status;
  EXPECT_EQ(Cond(s, "Ready").reason, "ServiceMissing");
  EXPECT_EQ(Cond(s, "Degraded").message, "Services not found: db-ro");
}

TEST(BuildStatus, ASwitchUnderWayIsFailingOverOrBack) {
  Fixture f;
  f.ledger.switch_record = SwitchRecord{"b", "a", "PrimaryUnhealthy", "Demoting", T(0), T(0)};
  Status s = f.Build().status;
  EXPECT_EQ(s.phase, "FailingOver");
  EXPECT_EQ(Cond(s, "Ready").status, "False");
  EXPECT_EQ(Cond(s, "Ready").message, "switching from b to a (PrimaryUnhealthy)");
  EXPECT_EQ(s.switch_record, f.ledger.switch_record);
  f.ledger.switch_record->reason = "Switchover";
  EXPECT_EQ(f.Build().status.phase, "FailingBack");
}

TEST(BuildStatus, ObservingAPausedGroupIsPaused) {
  Fixture f;
  f.spec.paused = true;
  f.acting = false;
  EXPECT_EQ(f.Build().assessment.phase, Phase::kPaused);
}

TEST(BuildStatus, TheLedgerBooksTransitionsNewestFirstAndBounded) {
  Fixture f;
  f.previous.failover_count = 7;
  for (int i = 0; i < 10; ++i) f.previous.history.push_back({"x", "y", "Failback", T(-i - 100), T(-i - 100)});
  f.ledger.transitions = {{"a", "", SwitchReason::kMemberUnhealthy, T(-5), {}},
                          {"", "b", SwitchReason::kMemberRecovered, T(-3), {}}};
  f.ledger.failovers = 1;
  f.ledger.recent_failovers = {T(-1)};
  Status s = f.Build(T(2)).status;
  EXPECT_EQ(s.failover_count, 8);
  ASSERT_EQ(s.history.size(), Status::kHistoryLimit);
  EXPECT_EQ(s.history[0], (Transition{"", "b", "MemberRecovered", T(-3), T(2)}));
  EXPECT_EQ(s.history[1], (Transition{"a", "", "MemberUnhealthy", T(-5), T(2)}));
  EXPECT_EQ(s.last_transition, s.history[0]);
  EXPECT_EQ(s.recent_failovers, std::vector<Time>{T(-1)});
}

TEST(MakeCondition, KeepsTheTransitionTimeWhileTheStatusHolds) {
  Status prev;
  prev.conditions = {Condition{"Ready", "True", "ActiveHealthy", "m", T(-9), 1}};
  EXPECT_EQ(MakeCondition(prev, kConditionReady, true, Reason::kActiveHealthy, "x", T(0), 2).last_transition_time,
            T(-9));
  Condition flipped = MakeCondition(prev, kConditionReady, false, Reason::kSwitching, "x", T(0), 2);
  EXPECT_EQ(flipped.last_transition_time, T(0));
  EXPECT_EQ(flipped.reason, "Switching");
  EXPECT_EQ(flipped.observed_generation, 2);
}

TEST(ConditionNotices, AWarningWhenDegradedOrDegradedAnotherWayAndRecoveredOnce) {
  Assessment degraded;
  degraded.degraded = true;
  degraded.degraded_reason = Reason::kActiveUnhealthy;
  degraded.degraded_message = "a is down";
  degraded.phase = Phase::kDegraded;
  Status prev;
  std::vector<Notice> n = ConditionNotices(prev, degraded);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].type, EventType::kWarning);
  EXPECT_EQ(n[0].reason, Reason::kActiveUnhealthy);
  EXPECT_EQ(n[0].message, "a is down");

  prev.conditions = {Condition{"Degraded", "True", "ActiveUnhealthy", "a is down", T(0), 1}};
  EXPECT_TRUE(ConditionNotices(prev, degraded).empty()) << "said already";
  degraded.degraded_reason = Reason::kNoHealthyMember;
  EXPECT_EQ(ConditionNotices(prev, degraded).size(), 1u) << "degraded another way";

  Assessment fine;
  fine.degraded = false;
  fine.degraded_message = "2/2 members healthy";
  fine.phase = Phase::kHealthy;
  n = ConditionNotices(prev, fine);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, Reason::kRecovered);
  EXPECT_EQ(n[0].type, EventType::kNormal);
}

TEST(ConditionNotices, PausedOnceWhenTheGroupStartsObserving) {
  Assessment paused;
  paused.degraded = false;
  paused.phase = Phase::kPaused;
  Status prev;
  std::vector<Notice> n = ConditionNotices(prev, paused);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, Reason::kPaused);
  prev.phase = "Paused";
  EXPECT_TRUE(ConditionNotices(prev, paused).empty());
}

// ---- FailoverReady: why the group is not failing over right now --------------------------

struct ReadyCase {
  const char* name;
  std::function<void(Fixture&)> arrange;
  Time now;
  const char* status;
  const char* reason;
  const char* message_part;
};

class FailoverReady : public ::testing::TestWithParam<ReadyCase> {};

TEST_P(FailoverReady, SaysWhyInOneCondition) {
  const ReadyCase& k = GetParam();
  Fixture f;
  k.arrange(f);
  const Status s = f.Build(k.now).status;
  const Condition& c = Cond(s, "FailoverReady");
  EXPECT_EQ(c.status, k.status);
  EXPECT_EQ(c.reason, k.reason);
  EXPECT_NE(c.message.find(k.message_part), std::string::npos) << c.message;
  // Deciding again a second later from that status, nothing else having changed, says the
  // same: no status write.
  f.previous = s;
  const Status again = f.Build(k.now + 1s).status;
  EXPECT_EQ(Cond(again, "FailoverReady").message, c.message);
}

NodeObservation SilentLease(const std::string& node, Time heard_at, bool read_live) {
  NodeObservation n;
  n.name = node;
  n.lease_found = true;
  n.heard_at = heard_at;
  n.renew_time = heard_at;
  n.lease_duration_seconds = 40;
  n.read_live = read_live;
  return n;
}

INSTANTIATE_TEST_SUITE_P(
    Table, FailoverReady,
    ::testing::Values(
        ReadyCase{"armed", [](Fixture&) {}, T(0), "True", "Armed", "member b can take over if a is unhealthy for 5s"},
        ReadyCase{"unhealthyForNotElapsed", [](Fixture& f) { f.Down("a"); }, T(0), "False", "UnhealthyForNotElapsed",
                  "active member a unhealthy since"},
        ReadyCase{"noHealthyStandby",
                  [](Fixture& f) {
                    f.Down("a");
                    f.Down("b");
                  },
                  T(0), "False", "NoHealthyStandby", "active member a is unhealthy and no standby can take over"},
        ReadyCase{"noStandbyWhileHealthy", [](Fixture& f) { f.Down("b"); }, T(0), "False", "NoHealthyStandby",
                  "no standby can take over"},
        ReadyCase{"budgetHoldsAFailover",
                  [](Fixture& f) {
                    f.Down("a");
                    f.decision.hold = "active member a is unhealthy but 3 automatic failovers ...";
                  },
                  T(0), "False", "FailoverBudgetExhausted", "3 automatic failovers"},
        ReadyCase{"budgetUsedWhileHealthy",
                  [](Fixture& f) { f.decision.ledger.recent_failovers = {T(-30), T(-20), T(-10)}; }, T(0), "False",
                  "FailoverBudgetExhausted", "no automatic failover until"},
        ReadyCase{"paused",
                  [](Fixture& f) {
                    f.spec.paused = true;
                    f.acting = false;
                  },
                  T(0), "False", "Paused", "spec.paused"},
        ReadyCase{"dryRun",
                  [](Fixture& f) {
                    f.spec.dry_run = true;
                    f.acting = false;
                  },
                  T(0), "False", "DryRun", "status.plannedActions"},
        ReadyCase{"switching",
                  [](Fixture& f) {
                    SwitchRecord r;
                    r.from = "a";
                    r.to = "b";
                    r.reason = "PrimaryUnhealthy";
                    f.ledger.switch_record = r;
                  },
                  T(0), "True", "Switching", "switching from a to b"},
        ReadyCase{"electing",
                  [](Fixture& f) {
                    f.decision.active.clear();
                    f.decision.roles = {Role::kStandby, Role::kStandby};
                    f.decision.electing = "electing no member yet: ...";
                  },
                  T(0), "False", "Electing", "electing no member yet"},
        ReadyCase{"nodeLeaseUnconfirmed",
                  [](Fixture& f) {
                    f.observed.pods[0].node_name = "n1";
                    f.observed.nodes["n1"] = SilentLease("n1", T(-20), false);
                  },
                  T(0), "False", "NodeLeaseUnconfirmed", "node n1: Lease not renewed since"},
        ReadyCase{"nodeLeaseConfirmedIsUnhealthy",
                  [](Fixture& f) {
                    f.observed.pods[0].node_name = "n1";
                    f.observed.nodes["n1"] = SilentLease("n1", T(-20), true);
                  },
                  T(0), "False", "UnhealthyForNotElapsed", "active member a unhealthy since"},
        ReadyCase{"activeActive",
                  [](Fixture& f) {
                    f.spec.mode = Mode::kActiveActive;
                    f.decision.active = {0, 1};
                    f.decision.roles = {Role::kActive, Role::kActive};
                  },
                  T(0), "True", "Armed", "2 members healthy"}),
    [](const ::testing::TestParamInfo<ReadyCase>& p) { return std::string(p.param.name); });

// The invalid spec answers too.
TEST(FailoverReadyInvalid, AnInvalidSpecSaysSo) {
  Observed o;
  o.group.name = "db";
  Plan p = DecideInvalid({FieldError{"spec.members", "at least one member is required"}}, o, Status{}, T(0));
  const Condition* c = p.status.FindCondition("FailoverReady");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "InvalidSpec");
}

}  // namespace
}  // namespace failover::engine
