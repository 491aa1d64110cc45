#include "failover/engine/assemble.h"

#include <algorithm>

#include "failover/engine/build_status.h"
#include "failover/engine/writes.h"

namespace failover::engine {
namespace {

// Plan::writes and Plan::stage_ends as they grow, and the status as the last checkpoint
// wrote it.
class StagedWrites {
 public:
  StagedWrites(Plan& plan, const Status& previous) : plan_(plan), last_written_(previous) {}

  void Add(Write w) { plan_.writes.push_back(std::move(w)); }
  void AddAll(std::vector<Write>& ws) {
    for (auto& w : ws) plan_.writes.push_back(std::move(w));
    ws.clear();
  }
  // Ends the current stage (nothing when it is empty).
  void EndStage() {
    const size_t begun = plan_.stage_ends.empty() ? 0 : plan_.stage_ends.back();
    if (plan_.writes.size() > begun) plan_.stage_ends.push_back(plan_.writes.size());
  }
  // Writes the status unless it is the one written last.
  void Checkpoint(const Status& s) {
    if (s == last_written_) return;
    plan_.writes.push_back(UpdateStatus{s});
    last_written_ = s;
  }
  size_t size() const { return plan_.writes.size(); }

 private:
  Plan& plan_;
  Status last_written_;
};

SwitchRecord Record(const Switch& sw, const char* step) {
  SwitchRecord r = ServiceRecordOf(sw);
  r.step = step;
  return r;
}

Reason Started(SwitchReason r) {
  return r == SwitchReason::kFailback     ? Reason::kFailbackStarted
         : r == SwitchReason::kSwitchover ? Reason::kSwitchoverStarted
                                          : Reason::kFailoverStarted;
}

Reason Completed(SwitchReason r) {
  return r == SwitchReason::kFailback     ? Reason::kFailbackCompleted
         : r == SwitchReason::kSwitchover ? Reason::kSwitchoverCompleted
                                          : Reason::kFailoverCompleted;
}

// Books a finished switch: the transition, and unless it is the first election the
// failover count, the antiFlap budget, the metrics and the Events (Started only for a
// switch whose intent this plan records, emitted if the plan stops before its end).
void Book(const Inputs& in, const Switch& sw, bool resumed, std::optional<size_t> started_after, Ledger& ledger,
          std::vector<Measurement>& measurements, std::vector<Notice>& notices) {
  ledger.transitions.push_back(sw);
  ledger.switch_seq = std::max(ledger.switch_seq, sw.seq);
  if (sw.reason == SwitchReason::kInitial) {
    notices.push_back(Normal(Reason::kActiveMemberElected, "member " + sw.to + " is active"));
    return;
  }
  ++ledger.failovers;
  // The antiFlap budget counts automatic switches started inside the window; one booked
  // after its window (a follow-up queued behind a storm) spends none, as the next decision
  // would prune it (RecentFailovers): a second status write for nothing.
  if (IsAutomatic(sw.reason) && sw.started_at > in.now - in.spec.anti_flap.window) {
    auto& recent = ledger.recent_failovers;
    recent.push_back(std::min(sw.started_at, in.now));
    std::sort(recent.begin(), recent.end());
    while (recent.size() > static_cast<size_t>(in.spec.anti_flap.max_failovers)) recent.erase(recent.begin());
  }
  measurements.push_back({MetricObservation::Kind::kFailover, sw.from, sw.to, sw.reason, 0, {}});
  if (sw.reason == SwitchReason::kPrimaryUnhealthy) {
    measurements.push_back({MetricObservation::Kind::kDetectionLatency, sw.from, sw.to, sw.reason,
                            std::chrono::duration<double>(sw.started_at - sw.detected_at).count(), {}});
  }
  measurements.push_back({MetricObservation::Kind::kSwitchDuration, sw.from, sw.to, sw.reason, 0, sw.started_at});

  const EventType type = sw.reason == SwitchReason::kPrimaryUnhealthy ? EventType::kWarning : EventType::kNormal;
  const std::string what = (sw.from.empty() ? std::string("none") : sw.from) + " -> " + sw.to + " (" +
                           SwitchReasonName(sw.reason) + "), strategy " + StrategyName(in.spec.strategy);
  // One Event per switch: Completed; Started only explains a switch this plan leaves
  // unfinished (the plan that finishes it, resuming, reports Completed).
  if (!resumed) notices.push_back({type, Started(sw.reason), "switching " + what, started_after, true});
  notices.push_back(MakeNotice(type, Completed(sw.reason), "switched " + what));
}

Event ToEvent(const Notice& n, size_t writes) {
  size_t after = n.after ? std::min(*n.after, writes) : writes;
  return Event{EventTypeName(n.type), ReasonName(n.reason), n.message, after, n.if_stopped};
}

MetricObservation ToMetric(const Measurement& m) {
  return MetricObservation{m.kind, m.from, m.to, SwitchReasonName(m.reason), m.seconds, m.started_at};
}

}  // namespace

Plan Assemble(const Inputs& in, const Classification& c, const Decision& d) {
  Plan plan;
  WriteSets w = in.acting ? PodWrites(in, c, d) : WriteSets{};
  ServicePlan services = ServiceWrites(in, d);
  w.services = std::move(services.writes);
  std::vector<Notice> notices = d.notices;
  notices.insert(notices.end(), services.notices.begin(), services.notices.end());
  std::vector<Measurement> measurements = d.measurements;
  StagedWrites out(plan, in.previous);

  const GroupMeta& group = in.observed.group;
  if (in.acting && !group.deleting &&
      std::find(group.finalizers.begin(), group.finalizers.end(), keys::kFinalizer) == group.finalizers.end()) {
    std::vector<std::string> f = group.finalizers;
    f.push_back(keys::kFinalizer);
    out.Add(PatchGroupFinalizers{f, group.resource_version});
    out.EndStage();
  }

  // The switch's first write moves traffic (ActivePassive): each Service's selector, which
  // names the member and the eligible label its pods carry already, and the switch record
  // on it, so a restart or a plan cut short finds the switch there (RecordedSwitch). Only a
  // prePromote hook has its intent recorded in the status first (alone, then the hook),
  // so that the hook's call is known to belong to this switch.
  const bool bbm = in.spec.strategy == SwitchStrategy::kBreakBeforeMake;
  const bool ap = in.spec.mode == Mode::kActivePassive;
  const std::optional<Switch> sw = in.acting ? d.switching : std::nullopt;
  const bool initial = sw && sw->reason == SwitchReason::kInitial;
  // A switch finished on its target at promotion.switchTimeout runs no hook.
  const bool hooks = sw && !initial && !d.switch_timed_out;
  const bool recorded = sw && in.previous.switch_record && in.previous.switch_record->to == sw->to;
  // A switch numbered no higher than any the plan's inputs show (ledger.switch_seq, when
  // acting) was recorded before: on the Services or in the status.
  const bool resumed = recorded || (sw && sw->seq > 0 && sw->seq <= d.ledger.switch_seq);
  std::optional<size_t> started_after;
  if (hooks && in.spec.pre_promote && !recorded) {
    Ledger intent_ledger = d.ledger;
    intent_ledger.switch_record = Record(*sw, bbm ? "Demoting" : "Promoting");
    Status intent = BuildStatus(in, c, d, services.statuses, intent_ledger).status;
    intent.active_members.clear();
    intent.active_member = sw->from;
    if (!sw->from.empty()) intent.active_members = {sw->from};
    out.Checkpoint(intent);
    out.EndStage();
    if (!resumed) started_after = out.size();
  }
  // A switch that timed out ends first of all (its record cleared, the switch booked or
  // given up), so it ends even if a write below keeps failing.
  Ledger ledger = d.ledger;
  std::optional<StatusReport> ended;
  if (d.switch_timed_out) {
    if (sw) Book(in, *sw, resumed, std::nullopt, ledger, measurements, notices);
    ended = BuildStatus(in, c, d, services.statuses, ledger);
    out.EndStage();
    out.Checkpoint(ended->status);
    out.EndStage();
  }
  if (hooks && in.spec.pre_promote) {
    out.EndStage();
    out.Add(CallHook{HookPhase::kPrePromote, *in.spec.pre_promote, sw->from, sw->to, SwitchReasonName(sw->reason),
                     sw->started_at});
    out.EndStage();
  }
  if (ap) {
    // The selector's labels on the pods to serve (none in a steady state), then the Services:
    // one write each moves traffic, whatever the strategy.
    out.AddAll(w.prerequisites);
    out.EndStage();
    out.AddAll(w.services);
    out.EndStage();
    if (sw && !initial && !resumed && !started_after) started_after = out.size();
  }
  // The role labels in the strategy's order: BreakBeforeMake, the old member's pods lose
  // role=active before the new member's get it; MakeBeforeBreak, the other way round.
  // (ActiveActive Services select role=active: they move with the demotions, or between
  // the promotions and the demotions.)
  if (bbm) {
    out.AddAll(w.services);
    out.AddAll(w.demotions);
    out.AddAll(w.deletes);
    out.AddAll(w.neutral);
    out.EndStage();
    out.AddAll(w.promotions);
  } else {
    out.AddAll(w.promotions);
    out.AddAll(w.neutral);
    out.EndStage();
    out.AddAll(w.services);
    out.EndStage();
    out.AddAll(w.demotions);
    out.AddAll(w.deletes);
  }
  if (in.acting && d.clear_switchover) out.Add(PatchGroupAnnotations{{}, {keys::kSwitchoverTo}});
  out.EndStage();
  // The switch's roles are on once these writes landed (the status that books it follows).
  if (sw && !ended) plan.roles_done_after = out.size();
  if (hooks && in.spec.post_promote) {
    out.Add(CallHook{HookPhase::kPostPromote, *in.spec.post_promote, sw->from, sw->to, SwitchReasonName(sw->reason),
                     sw->started_at});
    out.EndStage();
  }

  if (sw && !ended) Book(in, *sw, resumed, started_after, ledger, measurements, notices);
  StatusReport final_report = ended ? *ended : BuildStatus(in, c, d, services.statuses, ledger);
  // One Event per switch: what the switch leaves behind (Degraded: no healthy standby, ...)
  // is said in its Completed Event rather than in Events of its own.
  Notice* completed = nullptr;
  for (auto& n : notices) {
    if (sw && !initial && n.reason == Completed(sw->reason) && !n.if_stopped) completed = &n;
  }
  for (auto& n : ConditionNotices(in.previous, final_report.assessment)) {
    if (completed == nullptr) {
      notices.push_back(std::move(n));
      continue;
    }
    completed->message += "; " + std::string(ReasonName(n.reason)) + ": " + n.message;
    if (n.type == EventType::kWarning) completed->type = EventType::kWarning;
  }
  for (auto& n : LagNotices(in.previous, c)) notices.push_back(std::move(n));
  out.Checkpoint(final_report.status);
  out.EndStage();

  for (const auto& n : notices) plan.events.push_back(ToEvent(n, plan.writes.size()));
  for (const auto& m : measurements) plan.metrics.push_back(ToMetric(m));
  plan.active_members = final_report.status.active_members;
  plan.status = std::move(final_report.status);
  plan.status_changed = !(plan.status == in.previous);
  if (d.requeue_at) plan.requeue_after = *d.requeue_at - in.now;
  return plan;
}

}  // namespace failover::engine
