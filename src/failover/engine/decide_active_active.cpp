// ActiveActive: every healthy member serves. A serving member unhealthy for
// detection.unhealthyFor is taken out (and fenced, unless fencing is None), never the last
// one; a healthy member joins at once while no serving member is healthy, otherwise once
// healthy for the stabilization window. A switchover request is refused.
#include "failover/engine/decision.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

// The members serving before this plan: the status's, else (a group met for the first
// time) those whose pods carry role=active.
std::set<int> PreviousServing(const Inputs& in, const Classification& c) {
  std::set<int> was;
  for (const auto& name : in.previous.active_members) {
    int idx = in.spec.MemberIndex(name);
    if (idx >= 0) was.insert(idx);
  }
  if (!in.previous.active_members.empty()) return was;
  for (size_t i = 0; i < c.members.size(); ++i) {
    if (c.members[i].labelled_active) was.insert(static_cast<int>(i));
  }
  return was;
}

void TakeOut(const Inputs& in, const Classification& c, int i, Decision& d) {
  const MemberState& m = c.members[static_cast<size_t>(i)];
  d.roles[static_cast<size_t>(i)] = in.spec.fencing == FencingPolicy::kNone ? Role::kStandby : Role::kFenced;
  if (in.spec.fencing == FencingPolicy::kDeletePods) {
    for (const std::string& uid : PodUids(c, i)) d.delete_uids.insert(uid);
  }
  d.ledger.transitions.push_back({m.name, "", SwitchReason::kMemberUnhealthy, m.since, {}});
  ++d.ledger.failovers;
  d.notices.push_back(Warning(Reason::kMemberRemoved,
                              "member " + m.name + " unhealthy since " + FormatTime(m.since) + " (" +
                                  std::to_string(m.ready) + "/" + std::to_string(m.min_ready) +
                                  " ready pods needed): taken out of service"));
  d.measurements.push_back({MetricObservation::Kind::kFailover, m.name, "", SwitchReason::kMemberUnhealthy, 0, {}});
  d.measurements.push_back({MetricObservation::Kind::kDetectionLatency, m.name, "", SwitchReason::kMemberUnhealthy,
                            std::chrono::duration<double>(in.now - m.since).count(), {}});
}

}  // namespace

Decision DecideActiveActive(const Inputs& in, const Classification& c) {
  Decision d;
  d.roles = PreviousRoles(c);
  d.ledger.recent_failovers = RecentFailovers(in.spec, in.previous, in.now);
  const std::set<int> was = PreviousServing(in, c);
  std::set<int> next = was;

  if (in.acting) {
    if (in.observed.group.annotations.count(keys::kSwitchoverTo)) {
      d.clear_switchover = true;
      d.notices.push_back(Warning(
          Reason::kSwitchoverRefused,
          "switchover applies to ActivePassive groups; in ActiveActive every healthy member serves"));
    }
    bool any_healthy_active = false;
    for (int i : was) any_healthy_active |= c.members[static_cast<size_t>(i)].healthy;
    std::vector<int> joins, removals;
    for (size_t i = 0; i < c.members.size(); ++i) {
      const MemberState& m = c.members[i];
      const int idx = static_cast<int>(i);
      if (was.count(idx)) {
        if (m.healthy) continue;
        Time due = m.since + in.spec.detection.unhealthy_for;
        if (in.now >= due) {
          removals.push_back(idx);
        } else {
          RequeueAt(d, due, in.now);
        }
      } else if (m.healthy) {
        Time stable = m.since + in.spec.failback.stabilization_window;
        if (was.empty() || !any_healthy_active || in.now >= stable) {
          joins.push_back(idx);
        } else {
          RequeueAt(d, stable, in.now);
        }
      }
    }
    next.insert(joins.begin(), joins.end());
    std::set<int> after = next;
    for (int i : removals) after.erase(i);
    if (!after.empty()) {
      next = after;
      for (int i : removals) TakeOut(in, c, i, d);
    }
    for (int i : joins) {
      const MemberState& m = c.members[static_cast<size_t>(i)];
      if (was.empty()) continue;  // the first members to serve: nothing was restored
      d.ledger.transitions.push_back({"", m.name, SwitchReason::kMemberRecovered, m.since, {}});
      d.notices.push_back(Normal(Reason::kMemberRestored,
                                 "member " + m.name + " healthy since " + FormatTime(m.since) + ": serving again"));
    }
  }
  for (int i : next) d.roles[static_cast<size_t>(i)] = Role::kActive;
  d.active.assign(next.begin(), next.end());
  return d;
}

}  // namespace failover::engine
