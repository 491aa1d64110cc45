#pragma once
// Stage 1 of the decision engine: the observed pods and the previous status, read per
// member. Nothing here decides anything; every later stage reads this value.

#include <optional>
#include <string>
#include <vector>

#include "failover/observed.h"
#include "failover/types.h"

namespace failover::engine {

// Whose a pod is, as the engine sees it.
enum class PodOwner {
  kMember,      // a member of this group selects it (the first one in spec order)
  kStray,       // labelled failover.io/group=<this group> but no member selects it
  kOtherGroup,  // labelled failover.io/group=<another group>: never touched
  kNone,        // neither selected nor labelled for this group: left alone
};

struct PodState {
  PodObservation pod;
  PodOwner owner = PodOwner::kNone;
  int member = -1;  // spec index when owner is kMember
};

// One member as observed, before any decision.
struct MemberState {
  std::string name;
  int min_ready = 1;
  int rank = 0;          // 0 = most preferred: higher priority first, then spec order
  int ready = 0;         // pods that count as ready under the health source, not terminating
  int total = 0;         // pods not terminating
  // Ready pods not counted only because this process has not probed them yet while the
  // member was unhealthy in the previous status (a restart or a new leader).
  int awaiting_probe = 0;
  Time newest_pod{};     // the latest creationTimestamp among them (Time{} with none)
  bool healthy = false;  // ready >= min_ready
  Time since{};          // when `healthy` last changed (kept from the previous status)
  // Healthy, but for less than detection.healthyFor after an unhealthy period: when that
  // period began. If it turns unhealthy again, its unhealthy period goes on from there.
  std::optional<Time> unhealthy_since;
  std::optional<double> lag_seconds;  // the largest lag its counted pods publish
  std::optional<int64_t> lag_bytes;
  bool lag_ok = true;        // within spec.maxLag; true without one
  std::string lag_message;   // why not lag_ok
  // A counted pod's lag annotation that is not a finite number >= 0 ("nan", "-1", text):
  // that lag is unknown (never 0), and each such annotation is named here.
  std::vector<std::string> lag_problems;
  bool lag_seconds_garbled = false;
  bool lag_bytes_garbled = false;
  // The role last written; Active reads as Standby, since who is active is decided anew.
  Role previous_role = Role::kStandby;
  bool labelled_active = false;  // some pod of it, not terminating, carries role=active
  // Pods not counted because their node's Lease expired (NodeLeaseExpired), and one line per
  // such node: "node n1: Lease not renewed for 17s (renewTime ...)".
  int lost_to_node = 0;
  std::vector<std::string> node_problems;
  // Nodes of its pods whose Lease looks expired in the cache while the live read that would
  // confirm it failed (NodeLease::kUnconfirmed): the pods still count; one line per node.
  std::vector<std::string> unconfirmed_nodes = {};
  // Pods counted although their node's Lease expired, because a node storm holds node-lease
  // verdicts (NodeLease::kStormHeld); one line per such node. Such a member is not a target
  // of a failover or failback (Ineligibility::kNodeStorm; the first election is not held):
  // traffic is not moved into the failure the storm may be.
  int held_by_storm = 0;
  std::vector<std::string> storm_nodes = {};
  // Pods (not terminating) on a node of a lost zone (NodeObservation::zone_lost), and one
  // line per such zone. A member all of whose pods sit in lost zones is not promoted
  // (Ineligibility::kZoneLost), even while its own nodes still renew.
  int in_lost_zone = 0;
  std::vector<std::string> lost_zones = {};
};

struct Classification {
  std::vector<MemberState> members;  // spec order
  std::vector<int> rank_order;       // member indices, most preferred first
  std::vector<PodState> pods;        // every observed pod once, sorted by name
  // When a node Lease that looks expired in the cache but could not be read live is read
  // again (kNodeLeaseRetry on): the decision is looked at again then. A Lease that would
  // expire sets nothing here: NodeLeases re-queues the groups on a node that goes overdue.
  std::optional<Time> lease_recheck;
};

// The added margin over a node Lease's renew interval (a quarter of its duration, as the
// kubelet renews it) below which no timeout counts it as expired.
inline constexpr Duration kNodeLeaseSlack = std::chrono::seconds(5);
// How soon a Lease that looks expired in the cache but could not be read live is tried again.
inline constexpr Duration kNodeLeaseRetry = std::chrono::seconds(1);

// The silence after which this node's Lease counts as expired: detection.nodeLeaseTimeout,
// but never less than its renew interval (leaseDurationSeconds / 4) plus kNodeLeaseSlack, so
// a cluster whose kubelets renew less often is not failed over between two renewals.
// Duration{0} when detection is off.
Duration NodeLeaseBound(const Detection& detection, const NodeObservation& node);

// How a node's Lease reads at `now` for this spec.
enum class NodeLease {
  kNoVerdict,    // detection off, no Lease, or renewed within the bound
  kExpired,      // silent for the bound, read live: the node's pods do not count
  kUnconfirmed,  // silent for the bound in the cache, the live read failed: no verdict yet
  // silent for the bound, read live, during a node storm (NodeObservation::storm_hold): the
  // pods still count, but their member is no target of a switch the operator starts
  kStormHeld,
};
NodeLease ReadNodeLease(const Detection& detection, const NodeObservation& node, Time now);

// Pure: the same inputs in any order give the same value. A pod listed twice counts once
// (the first listing).
Classification Classify(const Spec& spec, const Observed& observed, const Status& previous, Time now);

// Member indices, most preferred first: higher spec priority first (unset = 0), then spec
// order. The order failover, failback and election follow.
std::vector<int> RankOrder(const Spec& spec);

// Why a member may not be promoted automatically, the most fundamental cause first.
enum class Ineligibility { kNone, kUnhealthy, kLagging, kFenced, kNodeStorm, kZoneLost };
// Whether every pod of the member (one at least) sits in a lost zone.
bool AllInLostZones(const MemberState& member);
Ineligibility WhyIneligible(const MemberState& member, Role role);
inline bool Eligible(const MemberState& member, Role role) {
  return WhyIneligible(member, role) == Ineligibility::kNone;
}
// The status message for WhyIneligible ("" when eligible): "unhealthy: 0/1 ready pods needed".
std::string IneligibilityMessage(const MemberState& member, Role role, const Spec& spec);

}  // namespace failover::engine
