#include "failover/engine/decision.h"

#include <algorithm>

namespace failover::engine {

std::vector<Time> RecentFailovers(const Spec& spec, const Status& previous, Time now) {
  std::vector<Time> out;
  // A time recorded ahead of now (another replica's clock, a clock stepped back since) reads
  // as now: the budget it spent is kept, never dropped.
  for (Time t : previous.recent_failovers) {
    if (t > now - spec.anti_flap.window) out.push_back(std::min(t, now));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void RequeueAt(Decision& d, Time at, Time now) {
  if (at > now && (!d.requeue_at || at < *d.requeue_at)) d.requeue_at = at;
}

std::vector<Role> PreviousRoles(const Classification& c) {
  std::vector<Role> roles;
  for (const auto& m : c.members) roles.push_back(m.previous_role);
  return roles;
}

std::vector<std::string> PodUids(const Classification& c, int member) {
  std::vector<std::string> uids;
  for (const PodState& ps : c.pods) {
    if (ps.owner == PodOwner::kMember && ps.member == member && !ps.pod.terminating) uids.push_back(ps.pod.uid);
  }
  std::sort(uids.begin(), uids.end());
  return uids;
}

}  // namespace failover::engine
