#include "failover/failover_metrics.h"

#include "runtime/metrics.h"

namespace failover {
namespace {

template <typename Builder>
auto& Register(Builder b, const char* name, const char* help) {
  return b.Name(name).Help(help).Register(runtime::Metrics());
}

prometheus::Family<prometheus::Counter>& Failovers() {
  static auto& f = Register(prometheus::BuildCounter(), "failover_group_failovers_total",
                            "Completed switches of the active member");
  return f;
}
prometheus::Family<prometheus::Histogram>& DetectionLatency() {
  static auto& f = Register(prometheus::BuildHistogram(), "failover_group_detection_latency_seconds",
                            "From the active member's first unhealthy observation to the decision to switch");
  return f;
}
prometheus::Family<prometheus::Histogram>& SwitchDuration() {
  static auto& f = Register(prometheus::BuildHistogram(), "failover_group_switch_duration_seconds",
                            "From the decision to switch to the last write of the switch");
  return f;
}
prometheus::Family<prometheus::Gauge>& ActiveMember() {
  static auto& f = Register(prometheus::BuildGauge(), "failover_group_active_member",
                            "1 for the active member(s) of a group");
  return f;
}
prometheus::Family<prometheus::Gauge>& HealthyMembers() {
  static auto& f = Register(prometheus::BuildGauge(), "failover_group_healthy_members",
                            "Members currently healthy");
  return f;
}
prometheus::Family<prometheus::Gauge>& Members() {
  static auto& f = Register(prometheus::BuildGauge(), "failover_group_members", "Members in the spec");
  return f;
}
prometheus::Family<prometheus::Gauge>& Phase() {
  static auto& f = Register(prometheus::BuildGauge(), "failover_group_phase",
                            "1 for the group's current phase, 0 for the others");
  return f;
}
prometheus::Family<prometheus::Gauge>& StandbyAvailable() {
  static auto& f = Register(prometheus::BuildGauge(), "failover_group_standby_available",
                            "1 when a healthy standby exists");
  return f;
}

const prometheus::Histogram::BucketBoundaries& SwitchBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return kBuckets;
}

const char* const kPhases[] = {"Healthy", "FailingOver", "FailedOver", "FailingBack",
                               "Degraded", "Paused", "Invalid"};

}  // namespace

FailoverMetrics::FailoverMetrics() {
  Failovers();
  DetectionLatency();
  SwitchDuration();
  ActiveMember();
  HealthyMembers();
  Members();
  Phase();
  StandbyAvailable();
}

void FailoverMetrics::Observe(const std::string& ns, const std::string& group,
                              const std::vector<MetricObservation>& observations, Time now) {
  const prometheus::Labels base{{"namespace", ns}, {"group", group}};
  for (const auto& m : observations) {
    switch (m.kind) {
      case MetricObservation::Kind::kFailover:
        Failovers()
            .Add({{"namespace", ns}, {"group", group}, {"from", m.from}, {"to", m.to}, {"reason", m.reason}})
            .Increment();
        break;
      case MetricObservation::Kind::kDetectionLatency:
        DetectionLatency().Add(base, SwitchBuckets()).Observe(std::max(0.0, m.seconds));
        break;
      case MetricObservation::Kind::kSwitchDuration:
        SwitchDuration()
            .Add(base, SwitchBuckets())
            .Observe(std::max(0.0, std::chrono::duration<double>(now - m.started_at).count()));
        break;
    }
  }
}

void FailoverMetrics::SetState(const std::string& ns, const std::string& group, const Status& status,
                               int members) {
  const prometheus::Labels base{{"namespace", ns}, {"group", group}};
  std::lock_guard<std::mutex> lock(mu_);
  GroupSeries& s = series_[ns + "/" + group];
  std::set<std::string> active(status.active_members.begin(), status.active_members.end());
  for (const auto& old : s.active) {
    if (!active.count(old)) {
      auto& fam = ActiveMember();
      fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"member", old}}));
    }
  }
  for (const auto& m : active) ActiveMember().Add({{"namespace", ns}, {"group", group}, {"member", m}}).Set(1);
  s.active = active;

  HealthyMembers().Add(base).Set(status.healthy_members);
  Members().Add(base).Set(members);
  bool standby = false;
  for (const auto& m : status.members) {
    if (m.healthy && !active.count(m.name)) standby = true;
  }
  StandbyAvailable().Add(base).Set(standby ? 1 : 0);

  for (const char* p : kPhases) s.phases.insert(p);
  if (!status.phase.empty()) s.phases.insert(status.phase);
  for (const auto& p : s.phases) {
    Phase().Add({{"namespace", ns}, {"group", group}, {"phase", p}}).Set(p == status.phase ? 1 : 0);
  }
}

void FailoverMetrics::Forget(const std::string& ns, const std::string& group) {
  const prometheus::Labels base{{"namespace", ns}, {"group", group}};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(ns + "/" + group);
  if (it == series_.end()) return;
  for (const auto& m : it->second.active) {
    auto& fam = ActiveMember();
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"member", m}}));
  }
  for (const auto& p : it->second.phases) {
    auto& fam = Phase();
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"phase", p}}));
  }
  for (auto* fam : {&HealthyMembers(), &Members(), &StandbyAvailable()}) fam->Remove(&fam->Add(base));
  series_.erase(it);
}

}  // namespace failover
