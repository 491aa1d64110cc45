#include "failover/failover_metrics.h"

#include <algorithm>
#include <chrono>

namespace failover {
namespace {

template <typename Builder>
auto* Register(prometheus::Registry& registry, Builder b, const char* name, const char* help) {
  return &b.Name(name).Help(help).Register(registry);
}

const prometheus::Histogram::BucketBoundaries& SwitchBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return kBuckets;
}

// The phase label of failover_group_switch_phase_seconds.
const char* const kSwitchPhases[] = {"detect", "traffic", "roles", "status", "total"};

}  // namespace

FailoverMetrics::FailoverMetrics(std::shared_ptr<prometheus::Registry> registry, bool per_group_histograms)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()),
      per_group_histograms_(per_group_histograms) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  failovers_ = Register(r, BuildCounter(), "failover_group_failovers_total",
                        "Completed switches of the active member");
  detection_latency_ = Register(r, BuildHistogram(), "failover_group_detection_latency_seconds",
                                "From the active member's first unhealthy observation to the decision to switch");
  switch_duration_ = Register(r, BuildHistogram(), "failover_group_switch_duration_seconds",
                              "From the decision to switch to the last write of the switch");
  active_member_ = Register(r, BuildGauge(), "failover_group_active_member",
                            "1 for the active member(s) of a group");
  healthy_members_ = Register(r, BuildGauge(), "failover_group_healthy_members", "Members currently healthy");
  members_ = Register(r, BuildGauge(), "failover_group_members", "Members in the spec");
  phase_ = Register(r, BuildGauge(), "failover_group_phase", "1 for the group's current phase (no series for the others)");
  standby_available_ = Register(r, BuildGauge(), "failover_group_standby_available",
                                "1 when a healthy standby exists");
  switch_phase_ = Register(r, BuildHistogram(), "failover_group_switch_phase_seconds",
                           "Each phase of a switch, per namespace: detect (detected to decided), traffic (to the "
                           "Services moved), roles (to the role labels on), status (to the status booking it "
                           "written), total (detected to status written)");
  storm_held_ = &Register(r, BuildGauge(), "failover_operator_node_storm_held",
                          "1 while a node storm holds node-lease failovers (too many nodes silent at once)")
                     ->Add({});
  storm_holds_ = &Register(r, BuildCounter(), "failover_operator_node_storm_holds_total",
                           "Node storms that held node-lease failovers")
                      ->Add({});
  auto* nodes = Register(r, BuildGauge(), "failover_operator_node_leases",
                         "Nodes whose Lease the operator knows, by state: renewing, or silent (a renewal missed)");
  storm_silent_ = &nodes->Add({{"state", "silent"}});
  storm_known_ = &nodes->Add({{"state", "renewing"}});
  zones_lost_ = &Register(r, BuildGauge(), "failover_operator_zones_lost",
                          "Zones lost now: half or more of their nodes' Leases silent (--zone-label)")
                     ->Add({});
}

void FailoverMetrics::SetNodeStorm(bool held, int silent, int known, int lost_zones) {
  std::lock_guard<std::mutex> lock(mu_);
  zones_lost_->Set(lost_zones);
  storm_held_->Set(held ? 1 : 0);
  storm_silent_->Set(silent);
  storm_known_->Set(known - silent);
  if (held && !storm_was_held_) storm_holds_->Increment();
  storm_was_held_ = held;
}

void FailoverMetrics::ObservePhases(const std::string& ns, const std::string& group, const Transition& t,
                                    Time status_written_at) {
  if (t.reason == "Initial") return;
  std::lock_guard<std::mutex> lock(mu_);
  series_[ns + "/" + group];  // the group's namespace holds series now (Forget)
  phase_namespaces_.insert(ns);
  // Time{} = not known: the phase is not observed.
  auto observe = [&](const char* phase, Time from, Time to) {
    if (from == Time{} || to == Time{}) return;
    switch_phase_->Add({{"namespace", ns}, {"phase", phase}}, SwitchBuckets())
        .Observe(std::max(0.0, std::chrono::duration<double>(to - from).count()));
  };
  const Time decided = t.decided_at.value_or(Time{});
  const Time traffic = t.traffic_moved_at.value_or(Time{});
  const Time roles = t.roles_done_at.value_or(Time{});
  observe("detect", t.detected_at, decided);
  observe("traffic", decided, traffic);
  observe("roles", traffic, roles);
  observe("status", roles, status_written_at);
  observe("total", t.detected_at, status_written_at);
}

prometheus::Labels FailoverMetrics::HistogramLabels(const std::string& ns, const std::string& group) const {
  if (per_group_histograms_) return {{"namespace", ns}, {"group", group}};
  return {{"namespace", ns}};
}

void FailoverMetrics::Observe(const std::string& ns, const std::string& group,
                              const std::vector<MetricObservation>& observations, Time now) {
  const prometheus::Labels hist = HistogramLabels(ns, group);
  std::lock_guard<std::mutex> lock(mu_);
  GroupSeries& s = series_[ns + "/" + group];
  for (const auto& m : observations) {
    switch (m.kind) {
      case MetricObservation::Kind::kFailover:
        s.failovers.insert({m.from, m.to, m.reason});
        failovers_
            ->Add({{"namespace", ns}, {"group", group}, {"from", m.from}, {"to", m.to}, {"reason", m.reason}})
            .Increment();
        break;
      case MetricObservation::Kind::kDetectionLatency:
        s.detection_latency = true;
        if (!per_group_histograms_) namespace_histograms_.insert(ns);
        detection_latency_->Add(hist, SwitchBuckets()).Observe(std::max(0.0, m.seconds));
        break;
      case MetricObservation::Kind::kSwitchDuration:
        s.switch_duration = true;
        if (!per_group_histograms_) namespace_histograms_.insert(ns);
        switch_duration_
            ->Add(hist, SwitchBuckets())
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
      auto& fam = *active_member_;
      fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"member", old}}));
    }
  }
  for (const auto& m : active) active_member_->Add({{"namespace", ns}, {"group", group}, {"member", m}}).Set(1);
  s.active = active;

  healthy_members_->Add(base).Set(status.healthy_members);
  members_->Add(base).Set(members);
  bool standby = false;
  for (const auto& m : status.members) {
    if (m.healthy && !active.count(m.name)) standby = true;
  }
  standby_available_->Add(base).Set(standby ? 1 : 0);

  // One series per group, its current phase (a state set with the others at 0 would be
  // seven series per group): alerts and the dashboard select phase="..." == 1.
  if (s.phase != status.phase && !s.phase.empty()) {
    auto& fam = *phase_;
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"phase", s.phase}}));
  }
  if (!status.phase.empty()) phase_->Add({{"namespace", ns}, {"group", group}, {"phase", status.phase}}).Set(1);
  s.phase = status.phase;
}

void FailoverMetrics::Forget(const std::string& ns, const std::string& group) {
  const prometheus::Labels base{{"namespace", ns}, {"group", group}};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(ns + "/" + group);
  if (it == series_.end()) return;
  for (const auto& m : it->second.active) {
    auto& fam = *active_member_;
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"member", m}}));
  }
  if (!it->second.phase.empty()) {
    auto& fam = *phase_;
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"phase", it->second.phase}}));
  }
  for (auto* fam : {healthy_members_, members_, standby_available_}) fam->Remove(&fam->Add(base));
  for (const auto& [from, to, reason] : it->second.failovers) {
    auto& fam = *failovers_;
    fam.Remove(&fam.Add({{"namespace", ns}, {"group", group}, {"from", from}, {"to", to}, {"reason", reason}}));
  }
  if (per_group_histograms_) {
    if (it->second.detection_latency) detection_latency_->Remove(&detection_latency_->Add(base, SwitchBuckets()));
    if (it->second.switch_duration) switch_duration_->Remove(&switch_duration_->Add(base, SwitchBuckets()));
  }
  series_.erase(it);
  // A namespace's aggregated histograms (latency, switch phases) go with its last group.
  const std::string prefix = ns + "/";
  auto next = series_.lower_bound(prefix);
  const bool last_of_namespace = next == series_.end() || next->first.compare(0, prefix.size(), prefix) != 0;
  if (last_of_namespace && namespace_histograms_.erase(ns) > 0) {
    const prometheus::Labels labels{{"namespace", ns}};
    for (auto* fam : {detection_latency_, switch_duration_}) {
      if (fam->Has(labels)) fam->Remove(&fam->Add(labels, SwitchBuckets()));
    }
  }
  if (last_of_namespace && phase_namespaces_.erase(ns) > 0) {
    for (const char* phase : kSwitchPhases) {
      auto& fam = *switch_phase_;
      fam.Remove(&fam.Add({{"namespace", ns}, {"phase", phase}}, SwitchBuckets()));
    }
  }
}

}  // namespace failover
