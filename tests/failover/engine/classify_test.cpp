// Classify: what the engine reads from the pods and the previous status, per member,
// before deciding anything.
#include "failover/engine/classify.h"

#include <gtest/gtest.h>

#include "stage_fixture.h"

namespace failover::engine {
namespace {

using failover::testing::Group;
using failover::testing::Pod;
using failover::testing::Recorded;
using failover::testing::Site;
using failover::testing::T;
using failover::testing::TwoMembers;

TEST(Classify, PodsAreOwnedByTheFirstMatchingMemberOrMarkedStrayOrForeign) {
  Spec spec = TwoMembers();
  spec.members[1].selector.match_labels = {{"app", "db"}};  // b selects a's pods too
  Labels stray{{"app", "other"}, {keys::kGroup, "db"}};
  Labels foreign = Site("a");
  foreign[keys::kGroup] = "other-group";
  Observed o = Group({Pod("z-0", stray), Pod("b-0", Site("b")), Pod("a-0", Site("a")), Pod("f-0", foreign),
                      Pod("n-0", {{"app", "web"}})});
  Classification c = Classify(spec, o, Status{}, T(0));
  ASSERT_EQ(c.pods.size(), 5u);
  std::vector<std::string> names;
  for (const auto& p : c.pods) names.push_back(p.pod.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a-0", "b-0", "f-0", "n-0", "z-0"})) << "sorted by name";
  EXPECT_EQ(c.pods[0].owner, PodOwner::kMember);
  EXPECT_EQ(c.pods[0].member, 0) << "a comes first in the spec";
  EXPECT_EQ(c.pods[1].member, 1);
  EXPECT_EQ(c.pods[2].owner, PodOwner::kOtherGroup) << "another group's label wins over our selector";
  EXPECT_EQ(c.pods[3].owner, PodOwner::kNone);
  EXPECT_EQ(c.pods[4].owner, PodOwner::kStray);
  EXPECT_EQ(c.members[0].total, 1);
  EXPECT_EQ(c.members[1].total, 1);
}

TEST(Classify, APodListedTwiceCountsOnceAsFirstListed) {
  Observed o = Group({Pod("a-0", Site("a"), false), Pod("a-0", Site("a"), true)});
  Classification c = Classify(TwoMembers(), o, Status{}, T(0));
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_EQ(c.members[0].total, 1);
  EXPECT_EQ(c.members[0].ready, 0);
}

struct SourceCase {
  std::optional<HealthSource> source;
  bool ready;
  std::optional<bool> probe_ok;
  bool counts;
};

class HealthSources : public ::testing::TestWithParam<SourceCase> {};

TEST_P(HealthSources, DecideWhichPodsCountAsReady) {
  const SourceCase& k = GetParam();
  Spec spec = TwoMembers();
  spec.detection.source = k.source;
  PodObservation p = Pod("a-0", Site("a"), k.ready);
  p.probe_ok = k.probe_ok;
  Classification c = Classify(spec, Group({p}), Status{}, T(0));
  EXPECT_EQ(c.members[0].ready, k.counts ? 1 : 0);
  EXPECT_EQ(c.members[0].healthy, k.counts);
  EXPECT_EQ(c.members[0].total, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HealthSources,
    ::testing::Values(SourceCase{HealthSource::kReadiness, true, false, true},
                      SourceCase{HealthSource::kReadiness, false, true, false},
                      SourceCase{HealthSource::kProbe, false, true, true},
                      SourceCase{HealthSource::kProbe, true, false, false},
                      SourceCase{HealthSource::kProbe, true, std::nullopt, true},  // not probed yet: readiness
                      SourceCase{HealthSource::kReadinessAndProbe, true, false, false},
                      SourceCase{HealthSource::kReadinessAndProbe, false, true, false},
                      SourceCase{HealthSource::kReadinessAndProbe, true, std::nullopt, true},
                      SourceCase{std::nullopt, true, false, true}));  // no probe in the spec: readiness

TEST(Classify, TerminatingPodsNeitherCountNorMarkTheMemberActive) {
  Labels active = Site("a");
  active[keys::kRole] = "active";
  PodObservation going = Pod("a-0", active);
  going.terminating = true;
  Classification c = Classify(TwoMembers(), Group({going, Pod("a-1", Site("a"))}), Status{}, T(0));
  EXPECT_EQ(c.members[0].total, 1);
  EXPECT_EQ(c.members[0].ready, 1);
  EXPECT_FALSE(c.members[0].labelled_active);

  Classification d = Classify(TwoMembers(), Group({Pod("a-0", active)}), Status{}, T(0));
  EXPECT_TRUE(d.members[0].labelled_active);
  EXPECT_FALSE(d.members[1].labelled_active);
}

TEST(Classify, HealthyNeedsMinReadyPods) {
  Spec spec = TwoMembers();
  spec.members[0].min_ready = 2;
  Classification c = Classify(spec, Group({Pod("a-0", Site("a")), Pod("a-1", Site("a"), false)}), Status{}, T(0));
  EXPECT_FALSE(c.members[0].healthy);
  EXPECT_EQ(c.members[0].ready, 1);
  EXPECT_EQ(c.members[0].min_ready, 2);
  EXPECT_EQ(IneligibilityMessage(c.members[0], Role::kStandby, spec), "unhealthy: 1/2 ready pods needed");
}

TEST(Classify, SinceAndRoleCarryOverFromThePreviousStatus) {
  Status prev;
  prev.members = {Recorded("a", Role::kActive, T(-50)), Recorded("b", Role::kFenced, T(-40), /*healthy=*/false)};
  Observed o = Group({Pod("a-0", Site("a")), Pod("b-0", Site("b"))});
  Classification c = Classify(TwoMembers(), o, prev, T(0));
  EXPECT_EQ(c.members[0].since, T(-50)) << "still healthy: since is kept";
  EXPECT_EQ(c.members[1].since, T(0)) << "healthy now: since restarts";
  EXPECT_EQ(c.members[0].previous_role, Role::kStandby) << "who is active is decided anew";
  EXPECT_EQ(c.members[1].previous_role, Role::kFenced);

  prev.members[0].since = Time{};
  EXPECT_EQ(Classify(TwoMembers(), o, prev, T(0)).members[0].since, T(0)) << "no time recorded";
  EXPECT_EQ(Classify(TwoMembers(), o, Status{}, T(7)).members[0].since, T(7)) << "first sight";
}

// After a restart or a leader change the operator's probe verdicts are gone (nullopt). A
// member the previous status holds unhealthy stays unhealthy, its unhealthy period going on,
// until its pods are probed healthy; a member that was healthy is not vetoed meanwhile.
TEST(Classify, AMemberFoundUnhealthyCountsAsHealthyOnlyOnceProbedHealthyAfterARestart) {
  for (HealthSource source : {HealthSource::kProbe, HealthSource::kReadinessAndProbe}) {
    SCOPED_TRACE(static_cast<int>(source));
    Spec spec = TwoMembers();
    spec.detection.probe = Probe{};
    spec.detection.probe->tcp = TcpProbe{5432};
    spec.detection.source = source;
    Status prev;
    prev.members = {Recorded("a", Role::kStandby, T(-50), /*healthy=*/false), Recorded("b", Role::kActive, T(-40))};
    Observed o = Group({Pod("a-0", Site("a")), Pod("b-0", Site("b"))});  // Ready, not probed yet
    Classification c = Classify(spec, o, prev, T(0));
    EXPECT_FALSE(c.members[0].healthy) << "found unhealthy before the restart: not healthy until probed";
    EXPECT_EQ(c.members[0].since, T(-50)) << "its unhealthy period goes on across the restart";
    EXPECT_EQ(c.members[0].awaiting_probe, 1);
    EXPECT_NE(IneligibilityMessage(c.members[0], Role::kStandby, spec).find("not probed since the operator started"),
              std::string::npos);
    EXPECT_TRUE(c.members[1].healthy) << "a healthy member is not vetoed by a probe not run yet";
    EXPECT_EQ(c.members[1].awaiting_probe, 0);

    // Healthy but not yet recovered (healthyFor) counts as unhealthy too.
    Status recovering = prev;
    recovering.members[0].healthy = true;
    recovering.members[0].since = T(-2);
    recovering.members[0].unhealthy_since = T(-60);
    EXPECT_FALSE(Classify(spec, o, recovering, T(0)).members[0].healthy);

    o.pods[0].probe_ok = true;
    Classification d = Classify(spec, o, prev, T(1));
    EXPECT_TRUE(d.members[0].healthy) << "probed healthy";
    EXPECT_EQ(d.members[0].since, T(1));
    EXPECT_EQ(d.members[0].awaiting_probe, 0);
  }
}

TEST(Classify, RankIsPriorityFirstThenSpecOrder) {
  Spec spec = TwoMembers();
  Member c3 = spec.members[1];
  c3.name = "c";
  c3.priority = 5;
  spec.members.push_back(c3);
  spec.members[1].priority = 5;
  Classification c = Classify(spec, Group({}), Status{}, T(0));
  EXPECT_EQ(c.rank_order, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(RankOrder(spec), c.rank_order);
  EXPECT_EQ(c.members[0].rank, 2);
  EXPECT_EQ(c.members[1].rank, 0);
  EXPECT_EQ(c.members[2].rank, 1);
}

TEST(Classify, LagIsTheWorstACountedPodPublishes) {
  Spec spec = TwoMembers();
  spec.max_lag = MaxLag{10.0, 1000};
  auto lagging = [](const std::string& name, const std::string& seconds, const std::string& bytes, bool ready) {
    PodObservation p = Pod(name, Site("b"), ready);
    p.annotations[keys::kLagSeconds] = seconds;
    p.annotations[keys::kLagBytes] = bytes;
    return p;
  };
  Observed o = Group({lagging("b-0", "2.5", "10", true), lagging("b-1", "4", "1500", true),
                      lagging("b-2", "99", "99999", false), lagging("b-3", "-1", "x", false)});
  Classification c = Classify(spec, o, Status{}, T(0));
  const MemberState& b = c.members[1];
  EXPECT_EQ(b.lag_seconds, 4.0) << "unready pods do not count, nonsense on them neither";
  EXPECT_TRUE(b.lag_problems.empty());
  EXPECT_EQ(b.lag_bytes, 1500);
  EXPECT_FALSE(b.lag_ok);
  EXPECT_EQ(b.lag_message, "lag 1500 bytes over maxLag.bytes 1000");
  EXPECT_EQ(WhyIneligible(b, Role::kStandby), Ineligibility::kLagging);

  const MemberState& a = c.members[0];
  EXPECT_FALSE(a.lag_ok) << "a member that publishes no lag is not known to be within the bound";
  EXPECT_EQ(a.lag_message, "lag unknown: no ready pod publishes failover.io/lag-seconds; "
                           "lag unknown: no ready pod publishes failover.io/lag-bytes");

  spec.max_lag.reset();
  EXPECT_TRUE(Classify(spec, o, Status{}, T(0)).members[1].lag_ok) << "no bound, no lag check";
}

// What an application may write that is not a lag: never read as 0, always "unknown",
// and each one named.
class GarbledLag : public ::testing::TestWithParam<std::string> {};

TEST_P(GarbledLag, MakesTheMemberLagUnknownAndIsNamed) {
  Spec spec = TwoMembers();
  PodObservation bad = Pod("b-0", Site("b"));
  bad.annotations[keys::kLagSeconds] = GetParam();
  bad.annotations[keys::kLagBytes] = GetParam();
  PodObservation good = Pod("b-1", Site("b"));
  good.annotations[keys::kLagSeconds] = "1";
  good.annotations[keys::kLagBytes] = "10";
  Observed o = Group({bad, good});

  Classification c = Classify(spec, o, Status{}, T(0));
  const MemberState& b = c.members[1];
  EXPECT_EQ(b.lag_seconds, std::nullopt) << "one garbled pod hides how far the member is behind";
  EXPECT_EQ(b.lag_bytes, std::nullopt);
  ASSERT_EQ(b.lag_problems.size(), 2u);
  EXPECT_NE(b.lag_problems[0].find("pod b-0 has failover.io/lag-seconds="), std::string::npos) << b.lag_problems[0];
  EXPECT_NE(b.lag_problems[0].find("lag unknown"), std::string::npos);
  EXPECT_TRUE(b.lag_ok) << "without maxLag the lag does not decide anything";

  spec.max_lag = MaxLag{1000.0, std::nullopt};
  const MemberState bounded = Classify(spec, o, Status{}, T(0)).members[1];
  EXPECT_FALSE(bounded.lag_ok) << "an unknown lag is not within maxLag";
  EXPECT_NE(bounded.lag_message.find("pod b-0 has failover.io/lag-seconds="), std::string::npos)
      << bounded.lag_message;
  EXPECT_EQ(WhyIneligible(bounded, Role::kStandby), Ineligibility::kLagging);
}

INSTANTIATE_TEST_SUITE_P(Values, GarbledLag,
                         ::testing::Values("nan", "NaN", "inf", "-inf", "1e999", "-1", "", " 5", "5s", "0x10",
                                           "text", "1e"),
                         [](const auto& param) { return "Case" + std::to_string(param.index); });

TEST(Classify, WellFormedLagValuesAreRead) {
  Spec spec = TwoMembers();
  for (auto [text, want] : std::vector<std::pair<std::string, double>>{{"0", 0}, {"-0", 0}, {"2.5", 2.5},
                                                                          {"1e3", 1000}, {"7", 7}}) {
    PodObservation p = Pod("b-0", Site("b"));
    p.annotations[keys::kLagSeconds] = text;
    const MemberState b = Classify(spec, Group({p}), Status{}, T(0)).members[1];
    EXPECT_EQ(b.lag_seconds, want) << text;
    EXPECT_TRUE(b.lag_problems.empty()) << text;
  }
  PodObservation huge = Pod("b-0", Site("b"));
  huge.annotations[keys::kLagBytes] = "1e19";
  const MemberState b = Classify(spec, Group({huge}), Status{}, T(0)).members[1];
  EXPECT_EQ(b.lag_bytes, std::nullopt) << "more bytes than an int64 holds is not a lag in bytes";
  EXPECT_EQ(b.lag_problems.size(), 1u);
}

TEST(Ineligibility, UnhealthyBeforeLaggingBeforeFenced) {
  Spec spec = TwoMembers();
  MemberState m;
  m.name = "b";
  m.healthy = true;
  EXPECT_TRUE(Eligible(m, Role::kStandby));
  EXPECT_EQ(IneligibilityMessage(m, Role::kStandby, spec), "");
  EXPECT_EQ(WhyIneligible(m, Role::kFenced), Ineligibility::kFenced);
  EXPECT_EQ(IneligibilityMessage(m, Role::kFenced, spec), "fenced until healthy for 1m");
  m.lag_ok = false;
  m.lag_message = "lag 30s over maxLag.seconds 10";
  EXPECT_EQ(WhyIneligible(m, Role::kFenced), Ineligibility::kLagging);
  EXPECT_EQ(IneligibilityMessage(m, Role::kFenced, spec), "lag 30s over maxLag.seconds 10");
  m.healthy = false;
  EXPECT_EQ(WhyIneligible(m, Role::kFenced), Ineligibility::kUnhealthy);
}


// ---- node Leases (detection.nodeLeaseTimeout) ---------------------------------------------

// A pod of member `site` on node `node`.
PodObservation OnNode(const std::string& name, const std::string& site, const std::string& node) {
  PodObservation p = Pod(name, Site(site));
  p.node_name = node;
  return p;
}

// Node `name`'s Lease, last seen renewed at `heard_at`, read live unless told otherwise.
NodeObservation Lease(const std::string& name, Time heard_at, bool read_live = true, int duration_s = 40) {
  NodeObservation n;
  n.name = name;
  n.lease_found = true;
  n.heard_at = heard_at;
  n.renew_time = heard_at;
  n.lease_duration_seconds = duration_s;
  n.holder = name;
  n.read_live = read_live;
  return n;
}

struct LeaseCase {
  const char* name;
  int silent_ms;          // now - heard_at
  bool read_live;
  int timeout_ms;         // detection.nodeLeaseTimeout (0 = off)
  int duration_s;         // leaseDurationSeconds
  bool probe;             // a probe is configured
  std::optional<bool> last_probe;
  bool counts;            // the pod counts as ready
};

class NodeLeases : public ::testing::TestWithParam<LeaseCase> {};

TEST_P(NodeLeases, DecideWhetherAPodOnTheNodeCounts) {
  const LeaseCase& k = GetParam();
  Spec spec = TwoMembers();
  spec.detection.node_lease_timeout = Duration{k.timeout_ms};
  if (k.probe) {
    spec.detection.probe = Probe{};
    spec.detection.probe->tcp = TcpProbe{5432};
  }
  PodObservation p = OnNode("a-0", "a", "n1");
  p.probe_ok = true;  // the thresholded verdict has not caught up: it never vetoes here
  p.probe_last_ok = k.last_probe;
  Observed o = Group({p});
  const Time now = T(100);
  o.nodes["n1"] = Lease("n1", now - Duration{k.silent_ms}, k.read_live, k.duration_s);
  Classification c = Classify(spec, o, Status{}, now);
  EXPECT_EQ(c.members[0].ready, k.counts ? 1 : 0);
  EXPECT_EQ(c.members[0].healthy, k.counts);
  EXPECT_EQ(c.members[0].total, 1) << "a pod on a lost node is still the member's pod";
  EXPECT_EQ(c.members[0].lost_to_node, k.counts ? 0 : 1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NodeLeases,
    ::testing::Values(
        LeaseCase{"renewedWithinTheBound", 14999, true, 15000, 40, false, std::nullopt, true},
        LeaseCase{"silentForTheBound", 15000, true, 15000, 40, false, std::nullopt, false},
        // The cache alone never fails a pod: the silence must be read live.
        LeaseCase{"silentInTheCacheOnly", 60000, false, 15000, 40, false, std::nullopt, true},
        LeaseCase{"detectionOff", 600000, true, 0, 40, false, std::nullopt, true},
        // Kubelets renewing every 30 s (leaseDurationSeconds 120): never before 30 s + 5 s.
        LeaseCase{"slowRenewerBeforeItsInterval", 34999, true, 15000, 120, false, std::nullopt, true},
        LeaseCase{"slowRenewerAfterItsInterval", 35000, true, 15000, 120, false, std::nullopt, false},
        LeaseCase{"noDurationPublished", 15000, true, 15000, 0, false, std::nullopt, false},
        // A pod that still answers the operator's own probe keeps counting.
        LeaseCase{"probeStillAnswers", 60000, true, 15000, 40, true, true, true},
        LeaseCase{"probeLastFailed", 60000, true, 15000, 40, true, false, false},
        LeaseCase{"probeNotRunYet", 60000, true, 15000, 40, true, std::nullopt, false}),
    [](const ::testing::TestParamInfo<LeaseCase>& p) { return std::string(p.param.name); });

TEST(Classify, APodWithoutANodeOrALeaseHasNoNodeVerdict) {
  Spec spec = TwoMembers();
  PodObservation unscheduled = Pod("a-0", Site("a"));
  PodObservation unknown_node = OnNode("a-1", "a", "n9");
  Observed o = Group({unscheduled, unknown_node});
  NodeObservation gone;  // the Lease was not found on the live read
  gone.name = "n9";
  gone.read_live = true;
  o.nodes["n9"] = gone;
  Classification c = Classify(spec, o, Status{}, T(100));
  EXPECT_EQ(c.members[0].ready, 2);
  EXPECT_FALSE(c.lease_recheck);
}

TEST(Classify, TheMessageNamesTheNodeAndWhenItsLeaseWasLastRenewed) {
  Spec spec = TwoMembers();
  Observed o = Group({OnNode("a-0", "a", "n1"), OnNode("a-1", "a", "n1")});
  o.nodes["n1"] = Lease("n1", T(1));
  Classification c = Classify(spec, o, Status{}, T(20));
  const MemberState& a = c.members[0];
  ASSERT_FALSE(a.healthy);
  EXPECT_EQ(a.lost_to_node, 2);
  ASSERT_EQ(a.node_problems.size(), 1u) << "one line per node";
  const std::string msg = IneligibilityMessage(a, Role::kStandby, spec);
  EXPECT_NE(msg.find("NodeLeaseExpired: 2 pod(s) on node n1: Lease not renewed since"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(over 15s)"), std::string::npos) << msg;
  // Stable while the silence lasts: deciding again later says the same.
  Classification later = Classify(spec, o, Status{}, T(50));
  EXPECT_EQ(IneligibilityMessage(later.members[0], Role::kStandby, spec), msg);
}

// A Lease that would expire asks for no second look: NodeLeases re-queues the group when
// the node goes overdue, so the renewals of healthy nodes cost no decision at all.
TEST(Classify, OnlyAnUnconfirmedSilenceAsksForASecondLook) {
  Spec spec = TwoMembers();
  Observed o = Group({OnNode("a-0", "a", "n1"), OnNode("b-0", "b", "n2")});
  o.nodes["n1"] = Lease("n1", T(10));
  o.nodes["n2"] = Lease("n2", T(4));
  Classification c = Classify(spec, o, Status{}, T(12));
  EXPECT_FALSE(c.lease_recheck) << "renewed Leases: nothing to look at until one goes overdue";

  // Expired and confirmed live: nothing either (the renewal, if any, re-queues it).
  o.nodes["n2"] = Lease("n2", T(4), true);
  EXPECT_FALSE(Classify(spec, o, Status{}, T(20)).lease_recheck);

  // Silent in the cache and not confirmed live: tried again a second later.
  o.nodes["n2"] = Lease("n2", T(4), false);
  c = Classify(spec, o, Status{}, T(20));
  ASSERT_TRUE(c.lease_recheck);
  EXPECT_EQ(*c.lease_recheck, T(21));
  EXPECT_TRUE(c.members[1].healthy);

  // Off: no requeue for Leases at all.
  spec.detection.node_lease_timeout = Duration{0};
  EXPECT_FALSE(Classify(spec, o, Status{}, T(20)).lease_recheck);
}

}  // namespace
}  // namespace failover::engine
