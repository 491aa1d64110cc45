#include "failover/engine/build_status.h"

#include <set>

#include "failover/engine/text.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

// What the conditions are computed from.
struct Facts {
  const Inputs& in;
  const Classification& c;
  const Decision& d;
  const std::optional<SwitchRecord>& switch_record;
  const std::optional<TimedOutSwitch>& timed_out;  // a switch given up whose hold stands
  std::set<int> active;
  int healthy = 0;
  bool active_healthy = false;  // some member is active and every active one is healthy
  std::vector<std::string> missing;  // Services not found
  std::string active_text;           // status.activeMember
  bool elected_first = false;        // the serving member got there by the first election
};

// StandbyAvailable: ActivePassive: an eligible member besides the active one;
// ActiveActive: two healthy members.
void Standby(const Facts& f, Assessment& a) {
  const size_t n = f.c.members.size();
  if (f.in.spec.mode == Mode::kActiveActive) {
    a.standby = f.healthy >= 2;
    a.standby_reason = a.standby ? Reason::kStandbyReady : Reason::kNoHealthyStandby;
    a.standby_message = std::to_string(f.healthy) + " of " + std::to_string(n) + " members healthy";
    return;
  }
  std::vector<std::string> why;
  bool lagging = false, storm = false, zone = false;
  for (size_t i = 0; i < n; ++i) {
    if (f.active.count(static_cast<int>(i))) continue;
    const MemberState& m = f.c.members[i];
    const Role role = f.d.roles[i];
    if (Eligible(m, role)) {
      if (!a.standby) a.standby_message = "member " + m.name + " can take over";
      a.standby = true;
    } else {
      if (m.healthy && !m.lag_ok) lagging = true;
      if (WhyIneligible(m, role) == Ineligibility::kNodeStorm) storm = true;
      if (WhyIneligible(m, role) == Ineligibility::kZoneLost) zone = true;
      why.push_back(m.name + ": " + IneligibilityMessage(m, role, f.in.spec));
    }
  }
  if (a.standby) {
    a.standby_reason = Reason::kStandbyReady;
    return;
  }
  a.standby_reason = lagging ? Reason::kStandbyLagging
                     : storm ? Reason::kNodeStormHold
                     : zone  ? Reason::kZoneLost
                             : Reason::kNoHealthyStandby;
  a.standby_message = why.empty() ? "no standby member" : "no standby can take over: " + Join(why, "; ");
}

// Degraded: the first of these that holds, else AllHealthy.
void Degraded(const Facts& f, Assessment& a) {
  const bool active_passive = f.in.spec.mode == Mode::kActivePassive;
  const size_t n = f.c.members.size();
  a.degraded = true;
  if (const auto& t = f.timed_out) {
    a.degraded_reason = Reason::kSwitchTimedOut;
    a.degraded_message = "switch " + t->from + " -> " + t->to + " (" + t->reason + ") started " +
                         FormatTime(t->started_at) + " did not finish within " +
                         FormatDuration(f.in.spec.switch_timeout) + " (stuck at " + t->stuck_at +
                         "): given up, " + t->from + " stays active; no automatic switch until " +
                         FormatTime(t->timed_out_at + f.in.spec.switch_timeout) +
                         " unless the spec changes (a switchover may be requested at any time)";
  } else if (f.d.hold) {
    a.degraded_reason = Reason::kFailoverBudgetExhausted;
    a.degraded_message = *f.d.hold;
  } else if (f.active.empty() && f.d.electing) {
    // A group coming up, inside detection.initialWait: nothing needs attention yet.
    a.degraded = false;
    a.degraded_reason = Reason::kElecting;
    a.degraded_message = *f.d.electing;
  } else if (f.active.empty()) {
    a.degraded_reason = f.healthy == 0 ? Reason::kNoHealthyMember : Reason::kNoActiveMember;
    a.degraded_message = f.healthy == 0 ? "no member has enough ready pods; Services left as they are"
                                        : "no active member yet";
  } else if (!active_passive && f.healthy != static_cast<int>(n)) {
    std::vector<std::string> down;
    for (const auto& m : f.c.members) {
      if (!m.healthy) down.push_back(m.name);
    }
    a.degraded_reason = Reason::kMembersUnhealthy;
    a.degraded_message = "unhealthy: " + Join(down, ", ");
  } else if (!f.active_healthy) {
    const MemberState& cur = f.c.members[static_cast<size_t>(f.d.active.front())];
    if (!a.standby && f.healthy == 0) {
      a.degraded_reason = Reason::kNoHealthyMember;
      a.degraded_message = "every member is unhealthy, the active member " + cur.name + " too; Services left on " +
                           cur.name;
    } else if (!a.standby) {
      a.degraded_reason = a.standby_reason;
      a.degraded_message = "active member " + cur.name + " is unhealthy and " + a.standby_message +
                           "; Services left on " + cur.name;
    } else {
      a.degraded_reason = Reason::kActiveUnhealthy;
      a.degraded_message = "active member " + cur.name + " unhealthy since " + FormatTime(cur.since) +
                           (cur.node_problems.empty() ? std::string()
                                                      : " (NodeLeaseExpired: " + Join(cur.node_problems, ", ") + ")") +
                           "; failover after " + FormatDuration(f.in.spec.detection.unhealthy_for);
    }
  } else if (!f.missing.empty()) {
    a.degraded_reason = Reason::kServiceMissing;
    a.degraded_message = "Services not found: " + Join(f.missing, ", ");
  } else if (!a.standby && active_passive) {
    a.degraded_reason = a.standby_reason;
    a.degraded_message = a.standby_message;
  } else {
    a.degraded = false;
    a.degraded_reason = Reason::kAllHealthy;
    a.degraded_message = std::to_string(f.healthy) + "/" + std::to_string(n) + " members healthy";
  }
}

// Ready: the active member(s) healthy, every Service there, no switch under way.
void Ready(const Facts& f, Assessment& a) {
  a.ready = f.active_healthy && f.missing.empty() && !f.switch_record;
  if (f.switch_record) {
    a.ready_reason = Reason::kSwitching;
    a.ready_message = "switching from " + f.switch_record->from + " to " + f.switch_record->to + " (" +
                      f.switch_record->reason + ")";
  } else if (f.active.empty()) {
    a.ready_reason = Reason::kNoActiveMember;
    a.ready_message = f.d.electing ? *f.d.electing : "no member is active";
  } else if (!f.active_healthy) {
    a.ready_reason = Reason::kActiveUnhealthy;
    a.ready_message = "active member(s) " + f.active_text + " not healthy";
  } else if (!f.missing.empty()) {
    a.ready_reason = Reason::kServiceMissing;
    a.ready_message = "Services not found: " + Join(f.missing, ", ");
  } else {
    a.ready_reason = Reason::kActiveHealthy;
    a.ready_message = "Services point at " + f.active_text;
  }
}

// FailoverReady: the first of these that holds. False says why no automatic failover
// happens now (or would, if the active member failed): observing only (Paused, DryRun),
// a switch given up (SwitchTimedOut), no active member (Electing, NoActiveMember), the
// active member unhealthy but the budget used (FailoverBudgetExhausted), no standby to take
// over (NoHealthyStandby, StandbyLagging), unhealthyFor not over (UnhealthyForNotElapsed), a
// silence of the active member's node the live read could not confirm (NodeLeaseUnconfirmed)
// or a node storm holds (NodeStormHold).
// True: a switch is under way (Switching), or a failure of the active member would be
// failed over (Armed). Stable while the situation lasts: its message holds no "now".
void FailoverReadiness(const Facts& f, Assessment& a) {
  const Spec& spec = f.in.spec;
  auto set = [&a](bool ready, Reason reason, std::string message) {
    a.failover_ready = ready;
    a.failover_reason = reason;
    a.failover_message = std::move(message);
  };
  if (!f.in.acting && spec.paused) {
    return set(false, Reason::kPaused, "spec.paused is true: observing and reporting only, no switch is made");
  }
  if (!f.in.acting && spec.dry_run) {
    return set(false, Reason::kDryRun,
               "spec.dryRun is true: switches are planned (status.plannedActions), not made");
  }
  if (f.switch_record) return set(true, Reason::kSwitching, a.ready_message);
  if (f.timed_out) return set(false, Reason::kSwitchTimedOut, a.degraded_message);
  if (f.active.empty()) {
    if (f.d.electing) return set(false, Reason::kElecting, *f.d.electing);
    return set(false, Reason::kNoActiveMember, "no member is active, so none can fail over");
  }
  const int budget = spec.anti_flap.max_failovers;
  const auto& recent = f.d.ledger.recent_failovers;
  const bool budget_used = static_cast<int>(recent.size()) >= budget && !recent.empty();
  if (spec.mode == Mode::kActiveActive) {
    if (f.healthy >= 2) {
      return set(true, Reason::kFailoverArmed,
                 std::to_string(f.healthy) + " members healthy: a member that fails is taken out of the Services");
    }
    return set(false, Reason::kNoHealthyStandby, a.standby_message);
  }
  const MemberState& cur = f.c.members[static_cast<size_t>(f.d.active.front())];
  if (!cur.healthy) {
    if (f.d.hold) return set(false, Reason::kFailoverBudgetExhausted, *f.d.hold);
    if (!a.standby) {
      return set(false, a.standby_reason, "active member " + cur.name + " is unhealthy and " + a.standby_message);
    }
    const Time due = cur.since + spec.detection.unhealthy_for;
    if (f.in.now < due) {
      return set(false, Reason::kUnhealthyForNotElapsed,
                 "active member " + cur.name + " unhealthy since " + FormatTime(cur.since) + "; " +
                     a.standby_message + " at " + FormatTime(due) + " (detection.unhealthyFor " +
                     FormatDuration(spec.detection.unhealthy_for) + ")");
    }
    return set(true, Reason::kFailoverArmed, "active member " + cur.name + " is unhealthy; " + a.standby_message);
  }
  if (!cur.unconfirmed_nodes.empty()) {
    return set(false, Reason::kNodeLeaseUnconfirmed,
               "active member " + cur.name + " counts as healthy until a live read confirms: " +
                   Join(cur.unconfirmed_nodes, ", "));
  }
  if (!cur.storm_nodes.empty()) {
    return set(false, Reason::kNodeStormHold,
               "active member " + cur.name + " counts as healthy while the node storm lasts: " +
                   Join(cur.storm_nodes, ", "));
  }
  if (!a.standby) return set(false, a.standby_reason, a.standby_message);
  if (budget_used) {
    return set(false, Reason::kFailoverBudgetExhausted,
               std::to_string(recent.size()) + " automatic failovers within " + FormatDuration(spec.anti_flap.window) +
                   " used the antiFlap budget (maxFailovers " + std::to_string(budget) +
                   "): no automatic failover until " + FormatTime(recent.front() + spec.anti_flap.window));
  }
  return set(true, Reason::kFailoverArmed,
             a.standby_message + " if " + cur.name + " is unhealthy for " +
                 FormatDuration(spec.detection.unhealthy_for));
}

Phase PhaseOf(const Facts& f, const Assessment& a) {
  if (!f.in.acting && f.in.spec.paused) return Phase::kPaused;
  if (f.switch_record) {
    auto reason = ParseSwitchReason(f.switch_record->reason);
    bool back = reason == SwitchReason::kFailback || reason == SwitchReason::kSwitchover;
    return back ? Phase::kFailingBack : Phase::kFailingOver;
  }
  if (a.degraded) return Phase::kDegraded;
  if (f.d.active.empty()) return Phase::kPending;
  // A less preferred member serving is FailedOver when a switch put it there, not when it
  // was elected first (the more preferred one was not healthy when the group came up).
  if (f.in.spec.mode == Mode::kActivePassive && f.d.active.front() != f.c.rank_order.front() && !f.elected_first) {
    return Phase::kFailedOver;
  }
  return Phase::kHealthy;
}

MemberStatus MemberReport(const Inputs& in, const MemberState& m, Role role, bool active) {
  MemberStatus ms;
  ms.name = m.name;
  ms.role = role;
  ms.healthy = m.healthy;
  ms.ready_pods = m.ready;
  ms.pods = m.total;
  ms.since = m.since;
  ms.unhealthy_since = m.unhealthy_since;
  ms.lag_seconds = m.lag_seconds;
  ms.lag_bytes = m.lag_bytes;
  if (!active) {
    ms.eligible = Eligible(m, role);
    ms.message = IneligibilityMessage(m, role, in.spec);
  } else if (!m.healthy) {
    ms.message = IneligibilityMessage(m, role, in.spec);
  }
  // A garbled lag annotation is reported whether or not maxLag makes it matter.
  for (const std::string& problem : m.lag_problems) {
    if (ms.message.find(problem) != std::string::npos) continue;
    ms.message += (ms.message.empty() ? "" : "; ") + problem;
  }
  return ms;
}

}  // namespace

StatusReport BuildStatus(const Inputs& in, const Classification& c, const Decision& d,
                         const std::vector<ServiceStatus>& services, const Ledger& ledger) {
  const Status& prev = in.previous;
  Status s;
  s.observed_generation = in.observed.group.generation;
  s.failover_count = prev.failover_count + ledger.failovers;
  s.last_transition = prev.last_transition;
  s.history = prev.history;
  for (const Switch& t : ledger.transitions) {
    Transition done{t.from, t.to, SwitchReasonName(t.reason), t.detected_at, in.now};
    done.seq = t.seq;
    if (t.started_at != Time{}) done.decided_at = t.started_at;
    s.last_transition = done;
    s.history.insert(s.history.begin(), done);
  }
  if (s.history.size() > Status::kHistoryLimit) s.history.resize(Status::kHistoryLimit);
  s.recent_failovers = ledger.recent_failovers;
  s.switch_record = ledger.switch_record;
  s.switch_seq = std::max(prev.switch_seq, ledger.switch_seq);

  s.timed_out_switch = ledger.timed_out;

  Facts f{in, c, d, ledger.switch_record, ledger.timed_out, {d.active.begin(), d.active.end()}, 0, !d.active.empty(),
          {}, ""};
  for (size_t i = 0; i < c.members.size(); ++i) {
    const MemberState& m = c.members[i];
    s.members.push_back(MemberReport(in, m, d.roles[i], f.active.count(static_cast<int>(i)) > 0));
    f.healthy += m.healthy ? 1 : 0;
  }
  for (int i : d.active) f.active_healthy &= c.members[static_cast<size_t>(i)].healthy;
  s.healthy_members = f.healthy;
  s.healthy = std::to_string(f.healthy) + "/" + std::to_string(c.members.size());
  for (int i : d.active) s.active_members.push_back(c.members[static_cast<size_t>(i)].name);
  s.active_member = Join(s.active_members, ",");
  f.active_text = s.active_member;
  s.services = services;
  for (const auto& sv : services) {
    if (!sv.exists) f.missing.push_back(sv.name);
  }

  f.elected_first = s.last_transition && s.last_transition->reason == SwitchReasonName(SwitchReason::kInitial) &&
                    s.active_members.size() == 1 && s.last_transition->to == s.active_members.front();
  Assessment a;
  Standby(f, a);
  Degraded(f, a);
  Ready(f, a);
  FailoverReadiness(f, a);
  a.phase = PhaseOf(f, a);

  const int64_t gen = in.observed.group.generation;
  s.conditions.push_back(MakeCondition(prev, kConditionReady, a.ready, a.ready_reason, a.ready_message, in.now, gen));
  s.conditions.push_back(
      MakeCondition(prev, kConditionDegraded, a.degraded, a.degraded_reason, a.degraded_message, in.now, gen));
  s.conditions.push_back(MakeCondition(prev, kConditionStandbyAvailable, a.standby, a.standby_reason,
                                       a.standby_message, in.now, gen));
  s.conditions.push_back(
      MakeCondition(prev, kConditionInvalidSpec, false, Reason::kValid, "spec is valid", in.now, gen));
  s.conditions.push_back(MakeCondition(prev, kConditionFailoverReady, a.failover_ready, a.failover_reason,
                                       a.failover_message, in.now, gen));
  s.phase = PhaseName(a.phase);
  return {std::move(s), std::move(a)};
}

std::vector<Notice> LagNotices(const Status& previous, const Classification& c) {
  std::vector<Notice> out;
  for (const MemberState& m : c.members) {
    const MemberStatus* before = previous.FindMember(m.name);
    for (const std::string& problem : m.lag_problems) {
      if (before && before->message.find(problem) != std::string::npos) continue;  // reported already
      out.push_back(Warning(Reason::kLagUnknown, "member " + m.name + ": " + problem));
    }
  }
  return out;
}

std::vector<Notice> ConditionNotices(const Status& previous, const Assessment& a) {
  std::vector<Notice> out;
  const Condition* before = previous.FindCondition(kConditionDegraded);
  const bool was = before && before->status == "True";
  if (a.degraded && (!was || before->reason != ReasonName(a.degraded_reason))) {
    out.push_back(Warning(a.degraded_reason, a.degraded_message));
  } else if (!a.degraded && was) {
    out.push_back(Normal(Reason::kRecovered, a.degraded_message));
  }
  // A node storm holding this group's failover: said once when the hold begins (the
  // operator logs the storm itself, and failover_operator_node_storm says how long).
  const Condition* ready_before = previous.FindCondition(kConditionFailoverReady);
  if (a.failover_reason == Reason::kNodeStormHold &&
      (!ready_before || ready_before->reason != ReasonName(Reason::kNodeStormHold))) {
    out.push_back(Warning(Reason::kNodeStormHold, a.failover_message));
  }
  if (a.phase == Phase::kPaused && previous.phase != PhaseName(Phase::kPaused)) {
    out.push_back(Normal(Reason::kPaused, "spec.paused is true: observing and reporting only"));
  }
  return out;
}

Condition MakeCondition(const Status& previous, const char* type, bool value, Reason reason, std::string message,
                        Time now, int64_t generation) {
  Condition c{type, value ? "True" : "False", ReasonName(reason), std::move(message), now, generation};
  if (const Condition* old = previous.FindCondition(type); old && old->status == c.status) {
    c.last_transition_time = old->last_transition_time;
  }
  return c;
}

}  // namespace failover::engine
