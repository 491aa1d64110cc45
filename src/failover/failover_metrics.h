#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "failover/engine.h"

namespace failover {

// The failover_group_* families of docs/metrics.md, registered on the registry given (the
// one the manager serves: Manager::metrics_registry()). Thread-safe. Instances on
// different registries share no series.
class FailoverMetrics {
 public:
  // registry: null = a registry of its own, that nothing serves. per_group_histograms: the
  // latency histograms carry the group label (36 series per group that ever switched);
  // otherwise one pair per namespace (docs/metrics.md, "Cardinality").
  explicit FailoverMetrics(std::shared_ptr<prometheus::Registry> registry, bool per_group_histograms = false);
  FailoverMetrics(const FailoverMetrics&) = delete;
  FailoverMetrics& operator=(const FailoverMetrics&) = delete;

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // Records what a plan asks for once all its writes succeeded. now: the reconciler's
  // clock after the last write (for switch durations).
  void Observe(const std::string& ns, const std::string& group,
               const std::vector<MetricObservation>& observations, Time now);
  // Records the phases of a switch booked with `t` (Transition's phase times; the status
  // that books it landed at status_written_at) in failover_group_switch_phase_seconds,
  // labelled by namespace and phase only (bounded: five series sets per namespace). A phase
  // either end of which is unknown is not recorded; the first election is not a switch.
  void ObservePhases(const std::string& ns, const std::string& group, const Transition& t, Time status_written_at);
  // Sets the gauges from a group's status; members = members in the spec.
  void SetState(const std::string& ns, const std::string& group, const Status& status,
                int members);
  // Removes every series of a group that no longer exists: gauges, its failover counters
  // (one per from/to/reason) and its histograms (a namespace's, once its last group is
  // gone), so deleted groups leave nothing behind.
  void Forget(const std::string& ns, const std::string& group);
  // The node storm as NodeLeases last evaluated it (failover_operator_node_storm_*): whether
  // node-lease verdicts are held, and how many of the known nodes missed a renewal.
  void SetNodeStorm(bool held, int silent, int known, int lost_zones = 0);

 private:
  struct GroupSeries {
    std::set<std::string> active;
    std::string phase;  // the one phase series the group has
    std::set<std::array<std::string, 3>> failovers;  // from, to, reason
    bool detection_latency = false;
    bool switch_duration = false;
  };
  // The latency histograms' labels for a group (per_group_histograms_ or not).
  prometheus::Labels HistogramLabels(const std::string& ns, const std::string& group) const;

  std::shared_ptr<prometheus::Registry> registry_;
  bool per_group_histograms_;
  prometheus::Family<prometheus::Counter>* failovers_;
  prometheus::Family<prometheus::Histogram>* detection_latency_;
  prometheus::Family<prometheus::Histogram>* switch_duration_;
  prometheus::Family<prometheus::Gauge>* active_member_;
  prometheus::Family<prometheus::Gauge>* healthy_members_;
  prometheus::Family<prometheus::Gauge>* members_;
  prometheus::Family<prometheus::Gauge>* phase_;
  prometheus::Family<prometheus::Gauge>* standby_available_;
  prometheus::Family<prometheus::Histogram>* switch_phase_;
  prometheus::Gauge* storm_held_;
  prometheus::Gauge* storm_silent_;
  prometheus::Gauge* storm_known_;
  prometheus::Gauge* zones_lost_;
  prometheus::Counter* storm_holds_;
  bool storm_was_held_ = false;
  // Namespaces with switch_phase_ series (removed with the namespace's last group).
  std::set<std::string> phase_namespaces_;
  std::mutex mu_;
  std::map<std::string, GroupSeries> series_;  // "ns/group"
  // Namespaces whose aggregated histograms exist (without per_group_histograms_).
  std::set<std::string> namespace_histograms_;
};

}  // namespace failover
