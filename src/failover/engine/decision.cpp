#include "failover/engine/decision.h"

#include <algorithm>

#include "failover/status_json.h"

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

std::optional<SwitchRecord> ServiceSwitchRecord(const ServiceObservation& service) {
  auto it = service.annotations.find(keys::kSwitch);
  if (it == service.annotations.end()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  SwitchRecord r = j.is_object() ? SwitchRecordFromJson(j) : SwitchRecord{};
  if (r.seq < 0 || r.to.empty()) r.seq = 0;
  return r;
}

std::optional<SwitchRecord> NewestServiceRecord(const Inputs& in) {
  std::optional<SwitchRecord> newest;
  for (const auto& ref : in.spec.services) {
    for (const auto& s : in.observed.services) {
      if (s.name != ref.name || !s.exists) continue;
      std::optional<SwitchRecord> r = ServiceSwitchRecord(s);
      if (r && r->seq > 0 && (!newest || r->seq > newest->seq)) newest = std::move(r);
    }
  }
  return newest;
}

SwitchRecord ServiceRecordOf(const Switch& sw) {
  return SwitchRecord{sw.from, sw.to, SwitchReasonName(sw.reason), "", sw.detected_at, sw.started_at,
                      sw.fence_pods, sw.seq};
}

}  // namespace failover::engine
