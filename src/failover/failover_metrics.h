#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "failover/engine.h"

namespace failover {

// The failover_group_* families of docs/metrics.md, in the process registry.
// Thread-safe; one instance per process (the families are process-wide).
class FailoverMetrics {
 public:
  FailoverMetrics();

  // Records what a plan asks for once all its writes succeeded. now: the reconciler's
  // clock after the last write (for switch durations).
  void Observe(const std::string& ns, const std::string& group,
               const std::vector<MetricObservation>& observations, Time now);
  // Sets the gauges from a group's status; members = members in the spec.
  void SetState(const std::string& ns, const std::string& group, const Status& status,
                int members);
  // Removes every gauge series of a group that no longer exists.
  void Forget(const std::string& ns, const std::string& group);

 private:
  struct GroupSeries {
    std::set<std::string> active;
    std::set<std::string> phases;
  };
  std::mutex mu_;
  std::map<std::string, GroupSeries> series_;  // "ns/group"
};

}  // namespace failover
