#include "failover/engine/classify.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "failover/engine/text.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

// A lag annotation as the application wrote it: absent, a finite number >= 0, or garbled
// (anything else: "nan", "inf", "1e999", "-1", "", text). Garbled is never read as 0.
struct LagValue {
  bool present = false;
  std::optional<double> value;  // set when present and well-formed
};

LagValue ParseLag(const Labels& annotations, const char* key) {
  auto it = annotations.find(key);
  if (it == annotations.end()) return {};
  const std::string& text = it->second;
  LagValue out{true, std::nullopt};
  // Decimal only: strtod alone would take " 5", "0x10" and "infinity".
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string::npos) return out;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) || v < 0) return out;
  out.value = v == 0 ? 0.0 : v;  // "-0" reads as 0
  return out;
}

// The text a status message and an Event quote for a garbled annotation.
std::string GarbledLag(const PodObservation& p, const char* key) {
  std::string value = p.annotations.at(key);
  if (value.size() > 64) value = value.substr(0, 64) + "...";
  return "pod " + p.name + " has " + key + "=\"" + value + "\", not a finite number >= 0: lag unknown";
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Whether a pod counts as ready. A pod the operator has not probed yet (since it started or
// took the lead) does not veto a member that was healthy; it counts as not ready for a member
// that was unhealthy (`was_unhealthy`), which recovers only once probed healthy.
bool Counts(const PodObservation& p, HealthSource source, bool was_unhealthy) {
  switch (source) {
    case HealthSource::kReadiness: return p.ready;
    case HealthSource::kProbe: return p.probe_ok.value_or(p.ready && !was_unhealthy);
    case HealthSource::kReadinessAndProbe: return p.ready && p.probe_ok.value_or(!was_unhealthy);
  }
  return false;
}

// Unhealthy in the previous status, or healthy there but not yet recovered (healthyFor).
bool WasUnhealthy(const Status& previous, const std::string& member) {
  const MemberStatus* before = previous.FindMember(member);
  return before && (!before->healthy || before->unhealthy_since.has_value());
}

PodState Place(const PodObservation& pod, const Spec& spec, const std::string& group) {
  PodState out{pod, PodOwner::kNone, -1};
  auto g = pod.labels.find(keys::kGroup);
  if (g != pod.labels.end() && g->second != group) {
    out.owner = PodOwner::kOtherGroup;
    return out;
  }
  for (size_t i = 0; i < spec.members.size(); ++i) {
    if (spec.members[i].selector.Matches(pod.labels)) {
      out.owner = PodOwner::kMember;
      out.member = static_cast<int>(i);
      return out;
    }
  }
  if (g != pod.labels.end()) out.owner = PodOwner::kStray;
  return out;
}

// "node n1: Lease not renewed since 2026-12-01T10:00:00.5Z (over 15s; holder n1)", what a
// member's message says. Stable while the silence lasts, so the status is not rewritten each
// time it is decided again; the time is when this process last saw the Lease renewed.
std::string LeaseSilence(const Detection& detection, const NodeObservation& node) {
  return "node " + node.name + ": Lease not renewed since " + FormatTime(node.heard_at) + " (over " +
         FormatDuration(NodeLeaseBound(detection, node)) + ")";
}

// Whether a pod is on a node whose Lease expired, and still counted because the operator's
// own latest probe of it succeeded (a node cut from the apiserver whose pods serve on).
struct NodeVerdict {
  bool lost = false;
  bool held = false;  // expired, but held by a node storm: the pod counts
  const NodeObservation* node = nullptr;
};

NodeVerdict JudgeNode(const PodObservation& p, const Spec& spec, const Observed& observed, Time now) {
  if (p.node_name.empty()) return {};
  auto it = observed.nodes.find(p.node_name);
  if (it == observed.nodes.end()) return {};
  const NodeLease lease = ReadNodeLease(spec.detection, it->second, now);
  if (lease != NodeLease::kExpired && lease != NodeLease::kStormHeld) return {};
  if (spec.detection.probe && p.probe_last_ok.value_or(false)) return {};
  if (lease == NodeLease::kStormHeld) return {false, true, &it->second};
  return {true, false, &it->second};
}

// Why the pod's node's zone counts as lost, or null (no zone, not lost, detection off).
const std::string* ZoneLost(const PodObservation& p, const Spec& spec, const Observed& observed) {
  if (p.node_name.empty() || spec.detection.node_lease_timeout <= Duration{0}) return nullptr;
  auto it = observed.nodes.find(p.node_name);
  if (it == observed.nodes.end() || it->second.zone_lost.empty()) return nullptr;
  return &it->second.zone_lost;
}

void Count(MemberState& m, const PodObservation& p, HealthSource source, bool was_unhealthy,
           const NodeVerdict& node, const Detection& detection, const std::string* zone_lost) {
  if (p.terminating) return;
  auto role = p.labels.find(keys::kRole);
  if (role != p.labels.end() && role->second == "active") m.labelled_active = true;
  ++m.total;
  m.newest_pod = std::max(m.newest_pod, p.created_at);
  if (zone_lost != nullptr) {
    ++m.in_lost_zone;
    if (std::find(m.lost_zones.begin(), m.lost_zones.end(), *zone_lost) == m.lost_zones.end()) {
      m.lost_zones.push_back(*zone_lost);
    }
  }
  if (node.lost) {
    ++m.lost_to_node;
    std::string line = LeaseSilence(detection, *node.node);
    if (std::find(m.node_problems.begin(), m.node_problems.end(), line) == m.node_problems.end()) {
      m.node_problems.push_back(std::move(line));
    }
    return;
  }
  if (node.held) {
    ++m.held_by_storm;
    std::string line = LeaseSilence(detection, *node.node) + "; held: " + node.node->storm_hold;
    if (std::find(m.storm_nodes.begin(), m.storm_nodes.end(), line) == m.storm_nodes.end()) {
      m.storm_nodes.push_back(std::move(line));
    }
  }
  if (!Counts(p, source, was_unhealthy)) {
    if (source != HealthSource::kReadiness && !p.probe_ok && p.ready) ++m.awaiting_probe;
    return;
  }
  ++m.ready;
  // The worst lag a counted pod publishes; one garbled annotation makes the member's lag
  // unknown (that pod may be the one furthest behind).
  LagValue s = ParseLag(p.annotations, keys::kLagSeconds);
  if (s.present && !s.value) {
    m.lag_problems.push_back(GarbledLag(p, keys::kLagSeconds));
    m.lag_seconds_garbled = true;
  } else if (s.value) {
    m.lag_seconds = std::max(m.lag_seconds.value_or(0), *s.value);
  }
  LagValue b = ParseLag(p.annotations, keys::kLagBytes);
  if (b.present && (!b.value || *b.value > 9.0e18)) {
    if (b.value) {
      m.lag_problems.push_back("pod " + p.name + " has " + keys::kLagBytes + " beyond 9e18: lag unknown");
    } else {
      m.lag_problems.push_back(GarbledLag(p, keys::kLagBytes));
    }
    m.lag_bytes_garbled = true;
  } else if (b.value) {
    m.lag_bytes = std::max(m.lag_bytes.value_or(0), static_cast<int64_t>(*b.value));
  }
}

// A garbled annotation on any counted pod leaves the member's lag unknown.
void DropGarbledLag(MemberState& m) {
  if (m.lag_seconds_garbled) m.lag_seconds.reset();
  if (m.lag_bytes_garbled) m.lag_bytes.reset();
}

// lag_ok and lag_message against spec.maxLag: an unknown lag is not within the bound.
void CheckLag(MemberState& m, const MaxLag& max) {
  std::vector<std::string> why;
  if (max.seconds) {
    if (m.lag_seconds_garbled) {
      // said in lag_problems
    } else if (!m.lag_seconds) {
      why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagSeconds);
    } else if (*m.lag_seconds > *max.seconds) {
      why.push_back("lag " + FormatNumber(*m.lag_seconds) + "s over maxLag.seconds " + FormatNumber(*max.seconds));
    }
  }
  if (max.bytes) {
    if (m.lag_bytes_garbled) {
      // said in lag_problems
    } else if (!m.lag_bytes) {
      why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagBytes);
    } else if (*m.lag_bytes > *max.bytes) {
      why.push_back("lag " + std::to_string(*m.lag_bytes) + " bytes over maxLag.bytes " +
                    std::to_string(*max.bytes));
    }
  }
  if ((max.seconds && m.lag_seconds_garbled) || (max.bytes && m.lag_bytes_garbled)) {
    why.insert(why.begin(), m.lag_problems.begin(), m.lag_problems.end());
  }
  m.lag_ok = why.empty();
  m.lag_message = Join(why, "; ");
}

}  // namespace

Duration NodeLeaseBound(const Detection& detection, const NodeObservation& node) {
  if (detection.node_lease_timeout <= Duration{0}) return Duration{0};
  Duration bound = detection.node_lease_timeout;
  if (node.lease_duration_seconds > 0) {
    bound = std::max(bound, Duration{node.lease_duration_seconds * 1000 / 4} + kNodeLeaseSlack);
  }
  return bound;
}

NodeLease ReadNodeLease(const Detection& detection, const NodeObservation& node, Time now) {
  const Duration bound = NodeLeaseBound(detection, node);
  if (bound <= Duration{0} || !node.lease_found || now - node.heard_at < bound) return NodeLease::kNoVerdict;
  if (!node.read_live) return NodeLease::kUnconfirmed;
  return node.storm_hold.empty() ? NodeLease::kExpired : NodeLease::kStormHeld;
}

std::vector<int> RankOrder(const Spec& spec) {
  std::vector<int> order;
  for (size_t i = 0; i < spec.members.size(); ++i) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&spec](int a, int b) {
    return spec.members[static_cast<size_t>(a)].priority.value_or(0) >
           spec.members[static_cast<size_t>(b)].priority.value_or(0);
  });
  return order;
}

namespace {

// A member pod's node Lease silent in the cache but not confirmed by a live read is looked
// at again kNodeLeaseRetry from now. Nothing else: a Lease that would expire, or one that
// expired and comes back, re-queues the group through the node-lease tracker
// (NodeLeases), so renewals of a healthy node cost no decision.
void NoteLeaseRecheck(Classification& c, const Detection& detection, const Observed& observed,
                      const std::string& node_name, Time now) {
  if (node_name.empty()) return;
  auto it = observed.nodes.find(node_name);
  if (it == observed.nodes.end() || !it->second.lease_found) return;
  if (ReadNodeLease(detection, it->second, now) != NodeLease::kUnconfirmed) return;
  const Time at = now + kNodeLeaseRetry;
  if (!c.lease_recheck || at < *c.lease_recheck) c.lease_recheck = at;
}

// A member pod's node whose Lease looks expired in the cache but could not be read live: one
// line per node (stable while it lasts, so the status is not rewritten on each retry).
void NoteUnconfirmed(MemberState& m, const Detection& detection, const Observed& observed,
                     const std::string& node_name, Time now) {
  if (node_name.empty()) return;
  auto it = observed.nodes.find(node_name);
  if (it == observed.nodes.end() || ReadNodeLease(detection, it->second, now) != NodeLease::kUnconfirmed) return;
  std::string line = LeaseSilence(detection, it->second) + " in this process's view; the live read of it failed";
  if (std::find(m.unconfirmed_nodes.begin(), m.unconfirmed_nodes.end(), line) == m.unconfirmed_nodes.end()) {
    m.unconfirmed_nodes.push_back(std::move(line));
  }
}

}  // namespace

Classification Classify(const Spec& spec, const Observed& observed, const Status& previous, Time now) {
  Classification c;
  const size_t n = spec.members.size();
  c.members.resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.members[i].name = spec.members[i].name;
    c.members[i].min_ready = spec.members[i].min_ready;
  }
  c.rank_order = RankOrder(spec);
  for (size_t r = 0; r < n; ++r) c.members[static_cast<size_t>(c.rank_order[r])].rank = static_cast<int>(r);

  std::vector<const PodObservation*> pods;
  std::set<std::string> seen;
  for (const auto& p : observed.pods) {
    if (seen.insert(p.name).second) pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });

  const HealthSource source = spec.detection.EffectiveSource();
  std::vector<char> was_unhealthy(n);
  for (size_t i = 0; i < n; ++i) was_unhealthy[i] = WasUnhealthy(previous, spec.members[i].name);
  for (const PodObservation* p : pods) {
    PodState placed = Place(*p, spec, observed.group.name);
    if (placed.owner == PodOwner::kMember) {
      const auto i = static_cast<size_t>(placed.member);
      Count(c.members[i], *p, source, was_unhealthy[i] != 0, JudgeNode(*p, spec, observed, now), spec.detection,
            ZoneLost(*p, spec, observed));
      if (!p->terminating) {
        NoteLeaseRecheck(c, spec.detection, observed, p->node_name, now);
        NoteUnconfirmed(c.members[i], spec.detection, observed, p->node_name, now);
      }
    }
    c.pods.push_back(std::move(placed));
  }

  for (auto& m : c.members) {
    m.healthy = m.ready >= m.min_ready;
    // Times recorded by a replica whose clock is ahead, or before the wall clock was stepped
    // back, read as now: an unhealthy period is never dated after this decision (which would
    // hold a failover back until the clock caught up).
    std::optional<MemberStatus> recorded;
    if (const MemberStatus* found = previous.FindMember(m.name)) {
      recorded = *found;
      recorded->since = std::min(recorded->since, now);
      if (recorded->unhealthy_since) recorded->unhealthy_since = std::min(*recorded->unhealthy_since, now);
    }
    const MemberStatus* before = recorded ? &*recorded : nullptr;
    const Duration healthy_for = spec.detection.healthy_for;
    if (before && before->healthy == m.healthy && before->since != Time{}) {
      m.since = before->since;
      if (m.healthy) m.unhealthy_since = before->unhealthy_since;
    } else if (before && m.healthy && before->since != Time{}) {
      // Turned healthy: not recovered until healthy for healthyFor.
      m.since = now;
      m.unhealthy_since = before->since;
    } else if (before && !m.healthy && before->unhealthy_since && now - before->since < healthy_for) {
      // Unhealthy again after a healthy spell too short to count: the same unhealthy period.
      m.since = *before->unhealthy_since;
    } else {
      m.since = now;
    }
    if (m.unhealthy_since && (healthy_for <= Duration{0} || now - m.since >= healthy_for)) m.unhealthy_since.reset();
    if (before) m.previous_role = before->role == Role::kActive ? Role::kStandby : before->role;
    DropGarbledLag(m);
    if (spec.max_lag) CheckLag(m, *spec.max_lag);
  }
  return c;
}

Ineligibility WhyIneligible(const MemberState& member, Role role) {
  if (!member.healthy) return Ineligibility::kUnhealthy;
  if (!member.lag_ok) return Ineligibility::kLagging;
  if (role == Role::kFenced) return Ineligibility::kFenced;
  if (member.held_by_storm > 0) return Ineligibility::kNodeStorm;
  if (AllInLostZones(member)) return Ineligibility::kZoneLost;
  return Ineligibility::kNone;
}

bool AllInLostZones(const MemberState& member) {
  return member.total > 0 && member.in_lost_zone == member.total;
}

std::string IneligibilityMessage(const MemberState& member, Role role, const Spec& spec) {
  switch (WhyIneligible(member, role)) {
    case Ineligibility::kUnhealthy:
      return "unhealthy: " + std::to_string(member.ready) + "/" + std::to_string(member.min_ready) +
             " ready pods needed" +
             (member.node_problems.empty()
                  ? std::string()
                  : "; NodeLeaseExpired: " + std::to_string(member.lost_to_node) + " pod(s) on " +
                        Join(member.node_problems, ", ")) +
             (member.awaiting_probe > 0
                  ? "; " + std::to_string(member.awaiting_probe) +
                        " Ready pod(s) not probed since the operator started or took the lead: an unhealthy "
                        "member counts as healthy only once probed healthy"
                  : std::string());
    case Ineligibility::kLagging: return member.lag_message;
    case Ineligibility::kFenced:
      return "fenced until healthy for " + FormatDuration(spec.failback.stabilization_window);
    case Ineligibility::kZoneLost:
      return "ZoneLost: not a switch target while all its pods sit in a lost zone: " + Join(member.lost_zones, ", ");
    case Ineligibility::kNodeStorm:
      return "NodeStormHold: not a switch target while " + std::to_string(member.held_by_storm) +
             " pod(s) count only because a node storm holds node-lease verdicts: " + Join(member.storm_nodes, ", ");
    case Ineligibility::kNone: break;
  }
  return "";
}

}  // namespace failover::engine
