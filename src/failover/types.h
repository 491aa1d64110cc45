#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace failover {

// Wall-clock instants and spans as the API carries them (millisecond precision).
using Duration = std::chrono::milliseconds;
using Time = std::chrono::sys_time<std::chrono::milliseconds>;

using Labels = std::map<std::string, std::string>;

// Labels and annotations the operator reads and writes.
namespace keys {
inline constexpr const char* kRole = "failover.io/role";              // active|standby|fenced
inline constexpr const char* kGroup = "failover.io/group";            // the owning group's name
inline constexpr const char* kMember = "failover.io/member";          // the member's name
inline constexpr const char* kSwitchoverTo = "failover.io/switchover-to";  // on the group
inline constexpr const char* kLagSeconds = "failover.io/lag-seconds";  // on standby pods
inline constexpr const char* kLagBytes = "failover.io/lag-bytes";      // on standby pods
inline constexpr const char* kActiveMember = "failover.io/active-member";  // on Services
inline constexpr const char* kActiveSince = "failover.io/active-since";    // on Services
// On pods: "true" on every pod of a member that may serve (not fenced), ahead of any switch,
// so that an ActivePassive Service moves to a member with its one write.
inline constexpr const char* kEligible = "failover.io/eligible";
// On Services (ActivePassive): the switch that pointed the Service at its member, a JSON
// object {seq, from, to, reason, detectedAt, startedAt[, fencePods]}. A seq above the
// group's status.switchSeq is a switch the status has not booked yet.
inline constexpr const char* kSwitch = "failover.io/switch";
// On Services: the selector a Service had when the group first steered it (a JSON object),
// given back when the group lets it go.
inline constexpr const char* kOriginalSelector = "failover.io/original-selector";
inline constexpr const char* kFinalizer = "failover.io/finalizer";
}  // namespace keys

// ---- spec -------------------------------------------------------------------------------

enum class Mode { kActivePassive, kActiveActive };
enum class SelectorOperator { kIn, kNotIn, kExists, kDoesNotExist };
enum class HealthSource { kReadiness, kProbe, kReadinessAndProbe };
enum class SwitchStrategy { kBreakBeforeMake, kMakeBeforeBreak };
enum class FailbackPolicy { kManual, kAutomatic };
enum class FencingPolicy { kNone, kLabel, kDeletePods };
enum class HookFailurePolicy { kAbort, kIgnore };

struct SelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kIn;
  std::vector<std::string> values;
};

// A metav1.LabelSelector. Matches when every matchLabels pair and every expression holds.
struct LabelSelector {
  Labels match_labels;
  std::vector<SelectorRequirement> match_expressions;

  bool Matches(const Labels& labels) const;
  // No term at all: would select every pod, which the operator refuses.
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
};

struct Member {
  std::string name;
  LabelSelector selector;
  int min_ready = 1;
  std::optional<int> priority;
};

struct ServiceRef {
  std::string name;
};

struct HttpProbe {
  std::string path = "/";
  int port = 0;
  std::string scheme = "HTTP";
};

struct TcpProbe {
  int port = 0;
};

// An operator-side check of each member pod; exactly one of http, tcp.
struct Probe {
  std::optional<HttpProbe> http;
  std::optional<TcpProbe> tcp;
  Duration period = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(1);
  int failure_threshold = 3;
};

struct Detection {
  Duration unhealthy_for = std::chrono::seconds(5);
  // With no member active (a new group, or none recorded), how long a more preferred
  // member whose pods are starting is waited for before a less preferred one is elected.
  Duration initial_wait = std::chrono::seconds(30);
  // A member that was unhealthy counts as recovered only once healthy this long: shorter
  // healthy spells (a crash-looping primary Ready for moments) do not restart its
  // unhealthy period.
  Duration healthy_for = std::chrono::seconds(10);
  std::optional<HealthSource> source;  // unset: ReadinessAndProbe with a probe, else Readiness
  std::optional<Probe> probe;
  // A pod whose node's Lease (kube-node-lease) has not been renewed for this long does not
  // count as ready (NodeLeaseExpired), without waiting for the node to be marked NotReady.
  // Never less than the Lease's renew interval plus kNodeLeaseSlack (NodeLeaseBound). 0 = off.
  Duration node_lease_timeout = std::chrono::seconds(15);

  HealthSource EffectiveSource() const;
};

struct Failback {
  FailbackPolicy policy = FailbackPolicy::kManual;
  Duration stabilization_window = std::chrono::seconds(60);
};

struct AntiFlap {
  int max_failovers = 3;
  Duration window = std::chrono::minutes(10);
};

struct MaxLag {
  std::optional<double> seconds;
  std::optional<int64_t> bytes;
};

struct Hook {
  std::string url;
  Duration timeout = std::chrono::seconds(5);
  int retries = 3;
  HookFailurePolicy failure_policy = HookFailurePolicy::kAbort;
};

struct Spec {
  Mode mode = Mode::kActivePassive;
  std::vector<Member> members;
  std::vector<ServiceRef> services;
  Detection detection;
  SwitchStrategy strategy = SwitchStrategy::kBreakBeforeMake;
  Failback failback;
  AntiFlap anti_flap;
  FencingPolicy fencing = FencingPolicy::kLabel;
  std::optional<MaxLag> max_lag;
  std::optional<Hook> pre_promote;
  std::optional<Hook> post_promote;
  // spec.promotion.switchTimeout: a switch not finished this long after it started (a
  // prePromote hook failing with Abort, a promotion that never lands) is ended; then no
  // automatic switch for as long again (status.timedOutSwitch).
  Duration switch_timeout = std::chrono::minutes(5);
  bool paused = false;
  bool dry_run = false;

  // Index of the member with this name, or -1.
  int MemberIndex(const std::string& name) const;
};

// ---- status -----------------------------------------------------------------------------

enum class Role { kActive, kStandby, kFenced };

struct MemberStatus {
  std::string name;
  Role role = Role::kStandby;
  bool healthy = false;
  int ready_pods = 0;
  int pods = 0;
  Time since{};  // when `healthy` last changed (as observed)
  // Healthy again for less than detection.healthyFor: when the unhealthy period it has not
  // yet recovered from began (unset otherwise).
  std::optional<Time> unhealthy_since;
  std::optional<double> lag_seconds;
  std::optional<int64_t> lag_bytes;
  bool eligible = false;  // may be promoted automatically now
  std::string message;    // why not eligible, when it is not

  bool operator==(const MemberStatus&) const = default;
};

struct ServiceStatus {
  std::string name;
  bool exists = false;
  std::string member;  // the member(s) its selector points at ("" = none)
  bool in_sync = false;

  bool operator==(const ServiceStatus&) const = default;
};

// A switch of the active member that has started and not finished; survives restarts.
struct SwitchRecord {
  std::string from;
  std::string to;
  std::string reason;  // PrimaryUnhealthy | Failback | Switchover | MemberRemoved
  std::string step;    // Demoting | Promoting
  Time detected_at{};
  Time started_at{};
  // DeletePods fencing: the UIDs of the old member's pods when the switch started, the
  // only pods it deletes (a replacement created since is never one of them). Sorted.
  std::vector<std::string> fence_pods = {};
  int64_t seq = 0;  // the switch's number (status.switchSeq once booked)

  bool operator==(const SwitchRecord&) const = default;
};

// A switch that did not finish within spec.promotion.switchTimeout and was given up: the
// group went back to (or stayed on) `from`. While it stands (switchTimeout after
// timed_out_at, the spec unchanged) no automatic switch starts; a switchover ends it.
struct TimedOutSwitch {
  std::string from;
  std::string to;
  std::string reason;
  std::string stuck_at;  // the step it did not get past ("the prePromote hook (URL)")
  Time started_at{};
  Time timed_out_at{};
  int64_t generation = 0;  // metadata.generation then: a spec change ends the hold

  bool operator==(const TimedOutSwitch&) const = default;
};

// A switch booked in the status, with when each phase of it ended: detected (the active
// member first seen unhealthy, or the request), decided (the switch started), traffic
// moved (the Services' writes landed), roles done (the role labels' writes landed) and
// completed (the decision that books it, whose status write follows). The phases the
// operator did not see land (a restart between them) are unset.
struct Transition {
  std::string from;
  std::string to;
  std::string reason;
  Time detected_at{};
  Time completed_at{};
  int64_t seq = 0;  // the switch's number (SwitchRecord::seq); 0 = not recorded
  std::optional<Time> decided_at = {};
  std::optional<Time> traffic_moved_at = {};
  std::optional<Time> roles_done_at = {};

  bool operator==(const Transition&) const = default;
};

struct Condition {
  std::string type;
  std::string status;  // True | False | Unknown
  std::string reason;
  std::string message;
  Time last_transition_time{};
  int64_t observed_generation = 0;

  bool operator==(const Condition&) const = default;
};

struct Status {
  std::string phase;
  std::string active_member;               // ActiveActive: comma-joined
  std::vector<std::string> active_members;
  std::string healthy;                     // "2/3"
  int healthy_members = 0;
  int64_t observed_generation = 0;
  int64_t failover_count = 0;
  // The number of the last switch booked here; Services carry the number of the switch that
  // moved them (keys::kSwitch), so a larger one there is a switch not booked yet.
  int64_t switch_seq = 0;
  std::vector<MemberStatus> members;
  std::vector<ServiceStatus> services;
  std::optional<SwitchRecord> switch_record;
  std::optional<TimedOutSwitch> timed_out_switch;
  std::optional<Transition> last_transition;
  std::vector<Transition> history;         // newest first, at most kHistoryLimit
  std::vector<Time> recent_failovers;      // automatic switches inside antiFlap.window
  std::vector<std::string> planned_actions;  // dryRun only
  std::vector<Condition> conditions;

  static constexpr size_t kHistoryLimit = 10;

  bool operator==(const Status&) const = default;

  const MemberStatus* FindMember(const std::string& name) const;
  const Condition* FindCondition(const std::string& type) const;
};

const char* ModeName(Mode m);
const char* RoleName(Role r);       // Active | Standby | Fenced
const char* RoleLabel(Role r);      // active | standby | fenced
const char* StrategyName(SwitchStrategy s);
const char* FencingName(FencingPolicy f);
const char* FailbackName(FailbackPolicy f);
const char* HealthSourceName(HealthSource s);
const char* OperatorName(SelectorOperator op);

}  // namespace failover
