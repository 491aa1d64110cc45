// ActivePassive: one member serves. The rules, in the order they apply:
//   1. a switchover the user asked for (failover.io/switchover-to) is done or refused; it
//      replaces a switch under way (or cancels it: a request for the member switched from);
//   2. else a switch recorded by an earlier plan finishes (toward another healthy member if
//      its target failed meanwhile), unless it started promotion.switchTimeout ago: then it
//      ends now (TimeOut), and while the one given up holds no automatic switch starts;
//   3. else with no active member: the most preferred healthy one is elected (Initial) once
//      no more preferred member is still starting (detection.initialWait), or, if the
//      active member left the spec, the best standby takes over (MemberRemoved);
//   4. else an active member unhealthy for detection.unhealthyFor fails over to the best
//      eligible standby (PrimaryUnhealthy), within the antiFlap budget;
//   5. else with failback Automatic a more preferred member healthy (and within maxLag) for
//      the stabilization window takes over again (Failback), within the budget, unless the
//      last switch was a switchover.
// The member switched away from is fenced after a failover (fencing Label or DeletePods)
// until it has been healthy for the stabilization window.
#include <algorithm>

#include "failover/engine/decision.h"
#include "failover/engine/text.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

// The target as the rules choose it; reason unset = no rule moved it.
struct Choice {
  int target = -1;
  std::optional<SwitchReason> reason;
  Time detected{};
};

const MemberState& At(const Classification& c, int i) { return c.members[static_cast<size_t>(i)]; }

// The most preferred eligible member outside `exclude`; failing that, a healthy fenced
// one within the lag bound (better than no member at all), never one a node storm holds
// (its pods count only because the storm may be a partition) nor one all in lost zones;
// -1 when none.
int BestStandby(const Classification& c, const std::vector<Role>& roles, const std::set<int>& exclude) {
  for (int i : c.rank_order) {
    if (!exclude.count(i) && Eligible(At(c, i), roles[static_cast<size_t>(i)])) return i;
  }
  for (int i : c.rank_order) {
    if (!exclude.count(i) && At(c, i).healthy && At(c, i).lag_ok && At(c, i).held_by_storm == 0 &&
        !AllInLostZones(At(c, i))) {
      return i;
    }
  }
  return -1;
}

// The member that served before this plan, by name ("" = none): the status's, else (a
// group that was ActiveActive) the most preferred of its serving members that is healthy,
// else the Service annotation or the role labels of a group met for the first time.
std::string PreviousActive(const Inputs& in, const Classification& c) {
  const Status& prev = in.previous;
  if (prev.active_members.size() > 1) {
    std::string first;
    for (int i : c.rank_order) {
      const MemberState& m = At(c, i);
      if (std::find(prev.active_members.begin(), prev.active_members.end(), m.name) == prev.active_members.end()) {
        continue;
      }
      if (m.healthy) return m.name;
      if (first.empty()) first = m.name;
    }
    if (!first.empty()) return first;
  } else if (!prev.active_member.empty()) {
    return prev.active_member;
  }
  for (const auto& ref : in.spec.services) {
    for (const auto& s : in.observed.services) {
      if (s.name != ref.name || !s.exists) continue;
      auto a = s.annotations.find(keys::kActiveMember);
      if (a != s.annotations.end() && in.spec.MemberIndex(a->second) >= 0) return a->second;
    }
  }
  std::string labelled;
  for (const auto& m : c.members) {
    if (!m.labelled_active) continue;
    if (!labelled.empty()) return "";
    labelled = m.name;
  }
  return labelled;
}

// The switch an earlier plan recorded and did not book, if it still names a member and a
// reason this engine knows (an unreadable record is as good as none: the plan decides
// afresh, which every stage of every plan allows): the status's (written before a
// prePromote hook), or the Services' when it is newer than every switch the status booked
// (*unbooked): a switch whose Service write landed and whose final status did not (the
// process stopped, a later write failed), or a status read from a cache older than the
// Services.
// `svc` is NewestServiceRecord(in).
std::optional<Switch> RecordedSwitch(const Inputs& in, const std::optional<SwitchRecord>& svc, bool* unbooked) {
  std::optional<SwitchRecord> rec = in.previous.switch_record;
  if (svc && svc->seq > in.previous.switch_seq && (!rec || svc->seq > rec->seq)) {
    rec = svc;
    *unbooked = true;
  }
  if (!rec || in.spec.MemberIndex(rec->to) < 0) return std::nullopt;
  auto reason = ParseSwitchReason(rec->reason);
  if (!reason) return std::nullopt;
  return Switch{rec->from, rec->to, *reason, rec->detected_at, rec->started_at, rec->fence_pods, rec->seq};
}

// The largest switch number anything shows: every switch booked, recorded or on a Service.
int64_t SeenSeq(const Inputs& in, const std::optional<SwitchRecord>& svc) {
  int64_t seen = in.previous.switch_seq;
  if (in.previous.switch_record) seen = std::max(seen, in.previous.switch_record->seq);
  if (svc) seen = std::max(seen, svc->seq);
  return seen;
}

// Members fenced and healthy for the stabilization window become standby again.
void Unfence(const Inputs& in, const Classification& c, Decision& d) {
  const Duration window = in.spec.failback.stabilization_window;
  for (size_t i = 0; i < c.members.size(); ++i) {
    const MemberState& m = c.members[i];
    if (d.roles[i] != Role::kFenced || !m.healthy) continue;
    Time at = m.since + window;
    if (in.now < at) {
      RequeueAt(d, at, in.now);
    } else if (in.acting) {
      d.roles[i] = Role::kStandby;
      d.notices.push_back(Normal(Reason::kMemberUnfenced,
                                 "member " + m.name + " healthy for " + FormatDuration(window) + ": standby again"));
    }
  }
}

// Rule 2: finish the recorded switch; if its target is unhealthy, stay on (cancel) or go
// to (redirect) a healthy member instead; with none, carry on toward the target.
Choice Resume(const Inputs& in, const Classification& c, Decision& d, std::optional<Switch>& sw, int current,
              const std::string& current_name) {
  const int to = in.spec.MemberIndex(sw->to);
  Choice choice{to, sw->reason, sw->detected_at};
  if (At(c, to).healthy) return choice;
  int alt = BestStandby(c, d.roles, {to});
  if (alt >= 0 && alt == current) {
    d.notices.push_back(Warning(Reason::kSwitchCancelled,
                                "switch target " + sw->to + " became unhealthy and " + current_name +
                                    " is healthy: staying on " + current_name));
    choice.target = alt;
  } else if (alt >= 0) {
    d.notices.push_back(Warning(Reason::kSwitchRedirected,
                                "switch target " + sw->to + " became unhealthy; switching to " + At(c, alt).name +
                                    " instead"));
    choice.target = alt;
    sw.reset();
  }
  return choice;
}

// Rule 1: a switchover request, consumed whatever its outcome. Returns whether it moves
// the target. With a switch recorded (sw), a request for its target leaves it as it is
// (its timeout still counts), a request for the member it switches from cancels it, and one
// for a third member replaces it.
bool Switchover(const Inputs& in, const Classification& c, Decision& d, int current,
                const std::optional<Switch>& sw, Choice& choice) {
  auto ann = in.observed.group.annotations.find(keys::kSwitchoverTo);
  if (ann == in.observed.group.annotations.end()) return false;
  d.clear_switchover = true;
  const std::string& want = ann->second;
  int idx = in.spec.MemberIndex(want);
  if (idx < 0) {
    std::vector<std::string> names;
    for (const auto& m : c.members) names.push_back(m.name);
    d.notices.push_back(Warning(Reason::kSwitchoverRefused,
                                "no member named \"" + want + "\"; members: " + Join(names, ", ")));
    return false;
  }
  const MemberState& m = At(c, idx);
  if (sw && want == sw->to) {
    d.notices.push_back(Normal(Reason::kSwitchoverSkipped, "a switch to " + want + " is under way already (started " +
                                                               FormatTime(sw->started_at) + ")"));
    return false;
  }
  if (idx == current && !sw) {
    d.notices.push_back(Normal(Reason::kSwitchoverSkipped, "member " + want + " is already active"));
    return false;
  }
  if (!m.healthy) {
    d.notices.push_back(Warning(Reason::kSwitchoverRefused,
                                "member " + want + " is not healthy (" + std::to_string(m.ready) + "/" +
                                    std::to_string(m.min_ready) + " ready pods needed); nothing changed"));
    return false;
  }
  if (sw) {
    const std::string what = "the switch " + sw->from + " -> " + sw->to + " (" + SwitchReasonName(sw->reason) +
                             ", started " + FormatTime(sw->started_at) + ")";
    d.notices.push_back(idx == current
                            ? Warning(Reason::kSwitchCancelled,
                                      "switchover to " + want + " requested: " + what + " is cancelled, " + want +
                                          " stays active")
                            : Warning(Reason::kSwitchRedirected,
                                      "switchover to " + want + " requested: it replaces " + what));
  }
  choice = {idx, SwitchReason::kSwitchover, in.now};
  if (!m.lag_ok) {
    d.notices.push_back(Warning(Reason::kSwitchoverForced,
                                "switching to " + want + " on request although " + m.lag_message));
  }
  return true;
}

// Whether some Service in spec.services (that exists) points at member `name`; with `all`,
// whether every one does.
bool ServicesOn(const Inputs& in, const std::string& name, bool all) {
  bool any = false;
  for (const auto& ref : in.spec.services) {
    for (const auto& s : in.observed.services) {
      if (s.name != ref.name || !s.exists) continue;
      auto it = s.selector.find(keys::kMember);
      const bool on = it != s.selector.end() && it->second == name;
      if (on) any = true;
      if (!on && all) return false;
    }
  }
  return any;
}

// The step of a switch that has not finished, as what has landed shows it: the Services
// move first (one write each), then the role labels.
std::string StuckAt(const Inputs& in, const Classification& c, const Switch& sw) {
  const bool promoted = At(c, in.spec.MemberIndex(sw.to)).labelled_active;
  if (!ServicesOn(in, sw.to, false)) {
    if (in.spec.pre_promote) return "the prePromote hook (" + in.spec.pre_promote->url + ")";
    return "its first writes (none landed)";
  }
  if (!ServicesOn(in, sw.to, true)) return "pointing the Services at " + sw.to;
  if (!promoted) return "promoting " + sw.to + " (role=active on its pods)";
  if (in.spec.post_promote) return "the postPromote hook (" + in.spec.post_promote->url + ")";
  return "its last writes (demoting " + sw.from + ")";
}

// Rule 2, a recorded switch promotion.switchTimeout after it started: it ends now. When a
// Service points at its target already (traffic flows there) and the target is healthy or
// the member switched from is not, or when that member left the spec, it is
// finished on its target without the hooks it has not passed. Otherwise it is given up: the
// member switched from stays active (its changes are undone), and ledger.timed_out holds
// automatic switches for switchTimeout (a switchover or a spec change ends the hold).
Choice TimeOut(const Inputs& in, const Classification& c, Decision& d, std::optional<Switch>& sw) {
  d.switch_timed_out = true;
  const int to = in.spec.MemberIndex(sw->to);
  const int from = in.spec.MemberIndex(sw->from);
  const std::string stuck = StuckAt(in, c, *sw);
  const bool on_target =
      from < 0 || (ServicesOn(in, sw->to, false) && (At(c, to).healthy || !At(c, from).healthy));
  if (on_target) {
    d.notices.push_back(Warning(Reason::kSwitchTimedOut,
                                "switch " + sw->from + " -> " + sw->to + " (" + SwitchReasonName(sw->reason) +
                                    ") did not finish within " + FormatDuration(in.spec.switch_timeout) +
                                    " (stuck at " + stuck + "); " + sw->to +
                                    " serves already: finished without the steps left"));
    return {to, sw->reason, sw->detected_at};
  }
  d.ledger.timed_out = TimedOutSwitch{sw->from, sw->to, SwitchReasonName(sw->reason), stuck, sw->started_at, in.now,
                                      in.observed.group.generation};
  sw.reset();
  return {from, std::nullopt, in.now};
}

// The switch given up by an earlier plan while its hold stands.
std::optional<TimedOutSwitch> StandingTimeout(const Inputs& in) {
  const auto& t = in.previous.timed_out_switch;
  if (!t || in.now >= t->timed_out_at + in.spec.switch_timeout || t->generation != in.observed.group.generation) {
    return std::nullopt;
  }
  return t;
}

bool BudgetExhausted(const Inputs& in, const Decision& d) {
  return static_cast<int>(d.ledger.recent_failovers.size()) >= in.spec.anti_flap.max_failovers;
}

// Holds an automatic switch the antiFlap budget does not allow, until the oldest counted
// switch leaves the window.
void Hold(const Inputs& in, Decision& d, std::string message) {
  d.hold = std::move(message);
  RequeueAt(d, d.ledger.recent_failovers.front() + in.spec.anti_flap.window, in.now);
}

std::string BudgetText(const Inputs& in, const Decision& d) {
  return std::to_string(d.ledger.recent_failovers.size()) + " automatic failovers within " +
         FormatDuration(in.spec.anti_flap.window) + " used the antiFlap budget (maxFailovers " +
         std::to_string(in.spec.anti_flap.max_failovers) + ")";
}

// Until when the election waits for member m: detection.initialWait after the later of the
// group's creation and m's newest pod's (a member of a new group whose pods its controller
// has not created yet is waited for too); Time{} when m is healthy.
Time StartingUntil(const Inputs& in, const MemberState& m) {
  if (m.healthy) return Time{};
  return std::max(in.observed.group.created_at, m.newest_pod) + in.spec.detection.initial_wait;
}

// Rule 3: no member is active. The most preferred healthy member is elected, once every
// more preferred member whose pods are starting is healthy or has had initialWait.
Choice Elect(const Inputs& in, const Classification& c, Decision& d, const std::string& current_name) {
  if (!current_name.empty()) {
    // The active member left the spec: its pods are no longer ours.
    int best = BestStandby(c, d.roles, {});
    int target = best >= 0 ? best : (c.members.empty() ? -1 : c.rank_order.front());
    return {target, SwitchReason::kMemberRemoved, in.now};
  }
  std::vector<std::string> starting;
  std::optional<Time> first_deadline;
  for (int i : c.rank_order) {
    const MemberState& m = At(c, i);
    if (!m.healthy) {
      const Time until = StartingUntil(in, m);
      if (in.now < until) {
        starting.push_back(m.name + " (" + std::to_string(m.ready) + "/" + std::to_string(m.min_ready) +
                           " ready pods, waited for until " + FormatTime(until) + ")");
        first_deadline = first_deadline ? std::min(*first_deadline, until) : until;
      }
      continue;
    }
    if (starting.empty()) return {i, SwitchReason::kInitial, in.now};
    d.electing = "electing no member yet: " + m.name + " is healthy but the more preferred " +
                 Join(starting, ", ") + " may still start (detection.initialWait " +
                 FormatDuration(in.spec.detection.initial_wait) + ")";
    RequeueAt(d, *first_deadline, in.now);
    return {-1, SwitchReason::kInitial, in.now};
  }
  return {-1, SwitchReason::kInitial, in.now};
}

// Rule 4: the active member is unhealthy.
void Failover(const Inputs& in, const Classification& c, Decision& d, int current, Choice& choice) {
  const MemberState& cur = At(c, current);
  Time due = cur.since + in.spec.detection.unhealthy_for;
  if (in.now < due) {
    RequeueAt(d, due, in.now);
    return;
  }
  int cand = BestStandby(c, d.roles, {current});
  if (cand < 0) return;
  if (BudgetExhausted(in, d)) {
    Hold(in, d,
         "active member " + cur.name + " is unhealthy but " + BudgetText(in, d) + "; holding until " +
             FormatTime(d.ledger.recent_failovers.front() + in.spec.anti_flap.window));
    return;
  }
  choice = {cand, SwitchReason::kPrimaryUnhealthy, cur.since};
}

// Rule 5: automatic failback to the most preferred member that would qualify.
void Failback(const Inputs& in, const Classification& c, Decision& d, int current, Choice& choice) {
  const int cur_rank = At(c, current).rank;
  for (int i : c.rank_order) {
    const MemberState& m = At(c, i);
    if (m.rank >= cur_rank) break;
    if (!m.healthy || !m.lag_ok || m.held_by_storm > 0 || AllInLostZones(m)) continue;
    Time stable = m.since + in.spec.failback.stabilization_window;
    if (in.now < stable) {
      RequeueAt(d, stable, in.now);
    } else if (BudgetExhausted(in, d)) {
      Hold(in, d, "failback to " + m.name + " held: " + BudgetText(in, d));
    } else {
      choice = {i, SwitchReason::kFailback, stable};
    }
    return;
  }
}

bool LastWasSwitchover(const Status& prev) {
  return prev.last_transition && ParseSwitchReason(prev.last_transition->reason) == SwitchReason::kSwitchover;
}

}  // namespace

Decision DecideActivePassive(const Inputs& in, const Classification& c) {
  Decision d;
  d.roles = PreviousRoles(c);
  d.ledger.recent_failovers = RecentFailovers(in.spec, in.previous, in.now);
  const std::string current_name = PreviousActive(in, c);
  const int current = in.spec.MemberIndex(current_name);
  const std::optional<SwitchRecord> on_services = NewestServiceRecord(in);
  bool unbooked = false;
  std::optional<Switch> sw = RecordedSwitch(in, on_services, &unbooked);
  const int64_t seen_seq = SeenSeq(in, on_services);
  // Whatever this plan does with the switches it sees (finish, cancel, redirect, give up),
  // its final status books them; observing books nothing.
  d.ledger.switch_seq = in.acting ? seen_seq : in.previous.switch_seq;

  Unfence(in, c, d);

  Choice choice{current, std::nullopt, in.now};
  d.ledger.timed_out = StandingTimeout(in);
  if (!in.acting) {
    // Observe only: keep what is, but still say when a decision would become due.
    if (current >= 0 && !At(c, current).healthy) {
      RequeueAt(d, At(c, current).since + in.spec.detection.unhealthy_for, in.now);
    }
  } else if (!unbooked && Switchover(in, c, d, current, sw, choice)) {
    // (A switch on the Services that the status has not booked is finished before a request
    // is read: beside a status that old, the request may be one served already.)
    // choice is the requested member; the switch it replaces and any hold are over
    sw.reset();
    d.ledger.timed_out.reset();
  } else if (sw && in.now >= sw->started_at + in.spec.switch_timeout) {
    choice = TimeOut(in, c, d, sw);
  } else if (sw) {
    RequeueAt(d, sw->started_at + in.spec.switch_timeout, in.now);
    choice = Resume(in, c, d, sw, current, current_name);
  } else if (current < 0) {
    choice = Elect(in, c, d, current_name);
  } else if (d.ledger.timed_out) {
    // A switch timed out: no automatic one until its hold ends.
    RequeueAt(d, d.ledger.timed_out->timed_out_at + in.spec.switch_timeout, in.now);
  } else if (!At(c, current).healthy) {
    Failover(in, c, d, current, choice);
  } else if (in.spec.failback.policy == FailbackPolicy::kAutomatic && !LastWasSwitchover(in.previous)) {
    // A member chosen by a switchover stays until asked again: failback follows failures only.
    Failback(in, c, d, current, choice);
  }
  const int target = choice.target;
  // Observing, the status keeps reporting a switch under way as it was recorded.
  if (!in.acting) d.ledger.switch_record = in.previous.switch_record;
  if (target < 0) return d;  // none was active and none can be

  bool resumed = sw.has_value();
  const bool unbooked_to_target = sw && sw->to == At(c, target).name && in.previous.active_member != sw->to;
  if (target == current && !unbooked_to_target) {
    // Nothing to switch (or a switch cancelled). A recorded switch to the member the
    // Services already name (an election whose status did not land) is finished instead.
    sw.reset();
  } else if (!sw || sw->to != At(c, target).name) {
    resumed = false;
    sw = Switch{current_name, At(c, target).name, choice.reason.value_or(SwitchReason::kPrimaryUnhealthy),
                choice.detected, in.now};
    sw->seq = seen_seq + 1;
  }
  if (sw) {
    int from = in.spec.MemberIndex(sw->from);
    if (from >= 0 && from != target) {
      const MemberState& old = At(c, from);
      const bool failover = sw->reason == SwitchReason::kPrimaryUnhealthy;
      bool recovered = old.healthy && in.now >= old.since + in.spec.failback.stabilization_window;
      bool fence = failover && in.spec.fencing != FencingPolicy::kNone && !recovered;
      d.roles[static_cast<size_t>(from)] = fence ? Role::kFenced : Role::kStandby;
      if (failover && in.spec.fencing == FencingPolicy::kDeletePods) {
        // A switch this plan starts names the pods there are now; a resumed one keeps its list.
        if (!resumed) sw->fence_pods = PodUids(c, from);
        d.delete_uids.insert(sw->fence_pods.begin(), sw->fence_pods.end());
      }
    }
  }
  d.roles[static_cast<size_t>(target)] = Role::kActive;
  d.active = {target};
  d.switching = sw;
  return d;
}

}  // namespace failover::engine
