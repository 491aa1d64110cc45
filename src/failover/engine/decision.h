#pragma once
// Stage 2 of the decision engine: who should serve. DecideActivePassive and
// DecideActiveActive read the classification, the previous status, the spec and the time,
// and return the target as a value; Assemble (assemble.h) turns it into a staged plan.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "failover/engine/classify.h"
#include "failover/engine/reasons.h"
#include "failover/observed.h"
#include "failover/plan.h"
#include "failover/types.h"

namespace failover::engine {

// What every stage reads; no stage changes it.
struct Inputs {
  const Spec& spec;
  const Observed& observed;
  const Status& previous;  // the status as last written
  Time now;
  bool acting;  // false: observe and report only (paused, and the status half of dryRun)
};

// A change of who serves: the engine's form of SwitchRecord and Transition.
struct Switch {
  std::string from;  // "" = none
  std::string to;    // "" = none (ActiveActive: a member taken out)
  SwitchReason reason = SwitchReason::kPrimaryUnhealthy;
  Time detected_at{};
  Time started_at{};
  std::vector<std::string> fence_pods = {};  // DeletePods: UIDs to delete (SwitchRecord::fence_pods)
  int64_t seq = 0;  // its number: one more than any switch before it (SwitchRecord::seq)
};

// An Event the engine emits; `after` unset = once every write of the plan has landed.
struct Notice {
  EventType type = EventType::kNormal;
  Reason reason = Reason::kRecovered;
  std::string message;
  std::optional<size_t> after;
  bool if_stopped = false;
};
inline Notice MakeNotice(EventType type, Reason reason, std::string message) {
  return Notice{type, reason, std::move(message), std::nullopt, false};
}
inline Notice Warning(Reason reason, std::string message) {
  return MakeNotice(EventType::kWarning, reason, std::move(message));
}
inline Notice Normal(Reason reason, std::string message) {
  return MakeNotice(EventType::kNormal, reason, std::move(message));
}

// A metric observation (MetricObservation with the reason as an enum).
struct Measurement {
  MetricObservation::Kind kind = MetricObservation::Kind::kFailover;
  std::string from;
  std::string to;
  SwitchReason reason = SwitchReason::kPrimaryUnhealthy;
  double seconds = 0;
  Time started_at{};
};

// What the status keeps of switches: lastTransition and history, failoverCount,
// recentFailovers and the switch under way.
struct Ledger {
  std::vector<Switch> transitions;     // completed by this plan, oldest first
  int64_t failovers = 0;               // added to failoverCount
  std::vector<Time> recent_failovers;  // automatic switches inside antiFlap.window, sorted
  std::optional<SwitchRecord> switch_record;
  int64_t switch_seq = 0;  // status.switchSeq: the last switch booked (or ended)
  // A switch given up at promotion.switchTimeout whose hold on automatic switches stands.
  std::optional<TimedOutSwitch> timed_out = {};
};

struct Decision {
  std::vector<int> active;  // the members that should serve (indices, spec order); empty = none
  std::vector<Role> roles;  // the role of each member
  // The switch this plan performs (ActivePassive, acting); Assemble records its intent,
  // orders the writes around it and books it in the ledger.
  std::optional<Switch> switching;
  // DeletePods fencing deletes the pods with these UIDs (those of the old member when the
  // switch started), nothing else.
  std::set<std::string> delete_uids;
  std::optional<std::string> hold;  // the antiFlap budget holds an automatic switch: why
  // No member is active and the election waits (detection.initialWait) for a more
  // preferred member whose pods are starting: what it waits for.
  std::optional<std::string> electing;
  bool clear_switchover = false;    // remove failover.io/switchover-to from the group
  // The recorded switch reached promotion.switchTimeout: the plan writes the status that
  // ends it first (so it ends even if a later write keeps failing), and `switching`, when
  // set (finished on its target), runs no hook.
  bool switch_timed_out = false;
  Ledger ledger;                    // as it stands without `switching`
  std::vector<Notice> notices;
  std::vector<Measurement> measurements;
  std::optional<Time> requeue_at;  // look again then, even without an event
};

Decision DecideActivePassive(const Inputs& in, const Classification& c);
Decision DecideActiveActive(const Inputs& in, const Classification& c);

// Shared by both modes.
// The previous status's automatic switches still inside antiFlap.window, oldest first.
std::vector<Time> RecentFailovers(const Spec& spec, const Status& previous, Time now);
// Asks for a look at `at` unless an earlier one is asked already; a time not after now is
// no reason to look again.
void RequeueAt(Decision& d, Time at, Time now);
// The UIDs of member's pods that are not terminating, sorted.
std::vector<std::string> PodUids(const Classification& c, int member);
// The roles as last written (none Active), one per member.
std::vector<Role> PreviousRoles(const Classification& c);
// A Service's switch record (keys::kSwitch): none without the annotation; with one that is
// not the operator's JSON (edited by hand, truncated) or names no switch, a record with
// seq 0 (as good as none: the next switch writes a readable one).
std::optional<SwitchRecord> ServiceSwitchRecord(const ServiceObservation& service);
// The newest readable switch record on the existing Services of spec.services; none when
// none has one.
std::optional<SwitchRecord> NewestServiceRecord(const Inputs& in);
// The record a Service carries for a switch (no step: the Service is the step).
SwitchRecord ServiceRecordOf(const Switch& sw);

}  // namespace failover::engine
