// FailoverMetrics: the failover_group_* series docs/metrics.md promises, read back from the
// text /metrics serves: counters and histograms from a landed plan, gauges from the
// status, and no series left behind for a member that stopped serving or a group deleted.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "failover/failover_metrics.h"
#include "runtime/metrics.h"

namespace failover {
namespace {

using namespace std::chrono_literals;

// Each test's FailoverMetrics registers on a registry of its own, read back as /metrics
// would serve it.
class FailoverMetricsTest : public ::testing::Test {
 protected:
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  FailoverMetrics m{registry_};
  std::string Text() const { return runtime::SerializeMetrics(*registry_); }
  bool Has(const std::string& line) const { return Text().find(line) != std::string::npos; }
};

Status TwoMembers(const std::string& active, const std::string& phase) {
  Status s;
  s.phase = phase;
  s.active_members = {active};
  s.healthy_members = 2;
  MemberStatus a;
  a.name = "site-a";
  a.healthy = true;
  MemberStatus b = a;
  b.name = "site-b";
  s.members = {a, b};
  return s;
}

TEST_F(FailoverMetricsTest, ALandedSwitchIsCountedAndTimed) {
  const Time started{1'000'000ms};
  MetricObservation failover{MetricObservation::Kind::kFailover, "site-a", "site-b", "PrimaryUnhealthy", 0, {}};
  MetricObservation detection{MetricObservation::Kind::kDetectionLatency, "", "", "", 0.25, {}};
  MetricObservation duration{MetricObservation::Kind::kSwitchDuration, "", "", "", 0, started};
  m.Observe("m-count", "db", {failover, detection, duration}, started + 1500ms);
  EXPECT_TRUE(Has("failover_group_failovers_total{from=\"site-a\",group=\"db\",namespace=\"m-count\","
                  "reason=\"PrimaryUnhealthy\",to=\"site-b\"} 1"));
  // The latency histograms are the namespace's by default (no group label).
  EXPECT_TRUE(Has("failover_group_switch_duration_seconds_count{namespace=\"m-count\"} 1"));
  EXPECT_TRUE(Has("failover_group_switch_duration_seconds_sum{namespace=\"m-count\"} 1.5"));
  EXPECT_TRUE(Has("failover_group_detection_latency_seconds_sum{namespace=\"m-count\"} 0.25"));
  EXPECT_FALSE(Has("failover_group_switch_duration_seconds_count{group="));
  m.Observe("m-count", "db", {failover}, started);
  EXPECT_TRUE(Has("failover_group_failovers_total{from=\"site-a\",group=\"db\",namespace=\"m-count\","
                  "reason=\"PrimaryUnhealthy\",to=\"site-b\"} 2"));
}

TEST_F(FailoverMetricsTest, OnlyTheServingMemberHasAnActiveSeries) {
  m.SetState("m-active", "db", TwoMembers("site-a", "Healthy"), 2);
  EXPECT_TRUE(Has("failover_group_active_member{group=\"db\",member=\"site-a\",namespace=\"m-active\"} 1"));
  EXPECT_TRUE(Has("failover_group_standby_available{group=\"db\",namespace=\"m-active\"} 1"));
  EXPECT_TRUE(Has("failover_group_members{group=\"db\",namespace=\"m-active\"} 2"));
  m.SetState("m-active", "db", TwoMembers("site-b", "Healthy"), 2);
  EXPECT_TRUE(Has("failover_group_active_member{group=\"db\",member=\"site-b\",namespace=\"m-active\"} 1"));
  // Removed, not set to 0: a dashboard summing the series must not count a stale member.
  EXPECT_FALSE(Has("member=\"site-a\",namespace=\"m-active\""));
}

// One phase series per group, the current one (seven, one per phase, cost a 10,000-group
// operator about 60,000 series for zeros).
TEST_F(FailoverMetricsTest, OnlyTheCurrentPhaseHasASeries) {
  m.SetState("m-phase", "db", TwoMembers("site-a", "Degraded"), 2);
  EXPECT_TRUE(Has("failover_group_phase{group=\"db\",namespace=\"m-phase\",phase=\"Degraded\"} 1"));
  EXPECT_FALSE(Has("phase=\"Healthy\""));
  m.SetState("m-phase", "db", TwoMembers("site-a", "Healthy"), 2);
  EXPECT_TRUE(Has("failover_group_phase{group=\"db\",namespace=\"m-phase\",phase=\"Healthy\"} 1"));
  EXPECT_FALSE(Has("phase=\"Degraded\"")) << Text();
  Status none = TwoMembers("site-a", "");
  m.SetState("m-phase", "db", none, 2);
  EXPECT_FALSE(Has("failover_group_phase{")) << "a group with no phase yet has no phase series";
}

// --metrics-per-group-histograms: the histograms carry the group, and go with it.
TEST(FailoverMetrics, PerGroupHistogramsWhenAskedAndGoneWithTheirGroup) {
  auto registry = std::make_shared<prometheus::Registry>();
  FailoverMetrics m(registry, true);
  const Time now{1'000'000ms};
  MetricObservation duration{MetricObservation::Kind::kSwitchDuration, "", "", "", 0, now - 2s};
  m.Observe("m-per", "db", {duration}, now);
  m.Observe("m-per", "kept", {duration}, now);
  std::string text = runtime::SerializeMetrics(*registry);
  EXPECT_NE(text.find("failover_group_switch_duration_seconds_sum{group=\"db\",namespace=\"m-per\"} 2"),
            std::string::npos) << text;
  m.Forget("m-per", "db");
  text = runtime::SerializeMetrics(*registry);
  EXPECT_EQ(text.find("group=\"db\""), std::string::npos) << text;
  EXPECT_NE(text.find("failover_group_switch_duration_seconds_count{group=\"kept\",namespace=\"m-per\"} 1"),
            std::string::npos) << text;
}

TEST_F(FailoverMetricsTest, AForgottenGroupLeavesNoGauge) {
  m.SetState("m-gone", "db", TwoMembers("site-a", "Healthy"), 2);
  ASSERT_TRUE(Has("namespace=\"m-gone\""));
  m.Forget("m-gone", "db");
  const std::string text = Text();
  for (const char* family : {"failover_group_active_member{", "failover_group_phase{", "failover_group_members{",
                             "failover_group_healthy_members{", "failover_group_standby_available{"}) {
    const size_t at = text.find(family);
    for (size_t pos = at; pos != std::string::npos; pos = text.find(family, pos + 1)) {
      const std::string line = text.substr(pos, text.find('\n', pos) - pos);
      EXPECT_EQ(line.find("namespace=\"m-gone\""), std::string::npos) << line;
    }
  }
}

// A deleted group's failover counters and histograms go too (issue 15 item 12): with churn,
// every group ever deleted would otherwise keep its series.
TEST_F(FailoverMetricsTest, AForgottenGroupLeavesNoCounterOrHistogram) {
  const Time now{1'000'000ms};
  m.Observe("m-churn", "db",
            {MetricObservation{MetricObservation::Kind::kFailover, "site-a", "site-b", "PrimaryUnhealthy", 0, {}},
             MetricObservation{MetricObservation::Kind::kFailover, "site-b", "site-a", "Manual", 0, {}},
             MetricObservation{MetricObservation::Kind::kDetectionLatency, "", "", "", 0.5, {}},
             MetricObservation{MetricObservation::Kind::kSwitchDuration, "", "", "", 0, now - 200ms}},
            now);
  m.SetState("m-churn", "db", TwoMembers("site-a", "Healthy"), 2);
  m.Observe("m-churn", "kept", {MetricObservation{MetricObservation::Kind::kFailover, "site-a", "site-b",
                                                   "PrimaryUnhealthy", 0, {}}}, now);
  ASSERT_TRUE(Has("failover_group_failovers_total{from=\"site-b\",group=\"db\""));
  ASSERT_TRUE(Has("failover_group_switch_duration_seconds_count{namespace=\"m-churn\"}"));
  m.Forget("m-churn", "db");
  std::string text = Text();
  EXPECT_EQ(text.find("group=\"db\""), std::string::npos) << text;
  EXPECT_NE(text.find("failover_group_failovers_total{from=\"site-a\",group=\"kept\""), std::string::npos) << text;
  // The namespace's histograms stay while it has a group, and go with its last.
  EXPECT_NE(text.find("failover_group_switch_duration_seconds_count{namespace=\"m-churn\"} 1"), std::string::npos)
      << text;
  m.Forget("m-churn", "kept");
  text = Text();
  EXPECT_EQ(text.find("namespace=\"m-churn\""), std::string::npos) << text;
}

// Two FailoverMetrics on two registries (two managers in one process) share no series:
// a switch counted on one is not on the other, and each keeps its own gauges.
// The phases of a switch, per namespace and phase (no group label: bounded at any number of
// groups); a phase with an end not seen is left out; the namespace's series go with its last
// group.
TEST_F(FailoverMetricsTest, ASwitchsPhasesArePerNamespaceAndGoWithItsLastGroup) {
  const Time detected{1'000'000ms};
  Transition t{"site-a", "site-b", "PrimaryUnhealthy", detected, detected + 1250ms};
  t.seq = 3;
  t.decided_at = detected + 500ms;
  t.traffic_moved_at = detected + 750ms;
  t.roles_done_at = detected + 1000ms;
  m.ObservePhases("m-phase", "db", t, detected + 1500ms);
  Transition other = t;
  other.traffic_moved_at.reset();  // moved before a restart: not known
  m.ObservePhases("m-phase", "db2", other, detected + 1500ms);
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_sum{namespace=\"m-phase\",phase=\"detect\"} 1\n"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_count{namespace=\"m-phase\",phase=\"detect\"} 2"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_sum{namespace=\"m-phase\",phase=\"traffic\"} 0.25\n"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_count{namespace=\"m-phase\",phase=\"traffic\"} 1"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_count{namespace=\"m-phase\",phase=\"roles\"} 1"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_sum{namespace=\"m-phase\",phase=\"status\"} 1\n"));
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_sum{namespace=\"m-phase\",phase=\"total\"} 3\n"));
  EXPECT_FALSE(Has("group=\"db\",namespace=\"m-phase\",phase=")) << "no group label";
  Transition first{"", "site-a", "Initial", detected, detected};
  m.ObservePhases("m-initial", "db", first, detected);
  EXPECT_FALSE(Has("namespace=\"m-initial\",phase=")) << "the first election is no switch";

  m.Forget("m-phase", "db");
  EXPECT_TRUE(Has("failover_group_switch_phase_seconds_count{namespace=\"m-phase\",phase=\"detect\"} 2"))
      << "db2 is still there";
  m.Forget("m-phase", "db2");
  EXPECT_FALSE(Has("failover_group_switch_phase_seconds_count{namespace=\"m-phase\"")) << Text();
}

TEST(FailoverMetrics, TwoRegistriesShareNoSeries) {
  auto one = std::make_shared<prometheus::Registry>();
  auto two = std::make_shared<prometheus::Registry>();
  FailoverMetrics a(one);
  FailoverMetrics b(two);
  const Time now{1'000'000ms};
  MetricObservation failover{MetricObservation::Kind::kFailover, "site-a", "site-b", "PrimaryUnhealthy", 0, {}};
  a.Observe("shared", "db", {failover}, now);
  a.SetState("shared", "db", TwoMembers("site-b", "FailedOver"), 2);
  b.SetState("shared", "db", TwoMembers("site-a", "Healthy"), 2);
  const std::string text_a = runtime::SerializeMetrics(*one);
  const std::string text_b = runtime::SerializeMetrics(*two);
  EXPECT_NE(text_a.find("failover_group_failovers_total{from=\"site-a\",group=\"db\",namespace=\"shared\""),
            std::string::npos) << text_a;
  EXPECT_EQ(text_b.find("failover_group_failovers_total{"), std::string::npos) << text_b;
  EXPECT_NE(text_a.find("failover_group_active_member{group=\"db\",member=\"site-b\",namespace=\"shared\"} 1"),
            std::string::npos) << text_a;
  EXPECT_EQ(text_a.find("member=\"site-a\""), std::string::npos) << text_a;
  EXPECT_NE(text_b.find("failover_group_active_member{group=\"db\",member=\"site-a\",namespace=\"shared\"} 1"),
            std::string::npos) << text_b;
  EXPECT_EQ(text_b.find("member=\"site-b\""), std::string::npos) << text_b;
  b.Forget("shared", "db");
  EXPECT_EQ(runtime::SerializeMetrics(*two).find("namespace=\"shared\""), std::string::npos);
  EXPECT_NE(runtime::SerializeMetrics(*one).find("failover_group_phase{group=\"db\",namespace=\"shared\",phase=\"FailedOver\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace failover
