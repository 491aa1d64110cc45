// The decision engine as a pipeline of pure stages (src/failover/engine/):
//   Classify (classify.h): pods and the previous status, read per member;
//   DecideActivePassive / DecideActiveActive (decision.h): who should serve;
//   Assemble (assemble.h): the writes in stages (writes.h), the switch booked, the status
//     (build_status.h), Events and metrics.
// This file composes them, and handles what needs no decision: deletion, an invalid spec,
// and dryRun (the acting plan computed, reported and withheld).
#include "failover/engine.h"

#include <algorithm>
#include <set>

#include "failover/engine/assemble.h"
#include "failover/engine/writes.h"
#include "failover/engine/build_status.h"
#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "failover/engine/text.h"
#include "failover/object_observations.h"
#include "failover/spec_parse.h"
#include "failover/status_json.h"
#include "failover/validate.h"

namespace failover {
namespace {

using engine::EventType;
using engine::Reason;

constexpr size_t kPlannedActionsLimit = 20;

Event MakeEvent(EventType type, Reason reason, std::string message, size_t after_writes) {
  return Event{EventTypeName(type), ReasonName(reason), std::move(message), after_writes, false};
}

Plan Run(const Spec& spec, const Observed& observed, const Status& previous, Time now, bool acting) {
  const engine::Inputs in{spec, observed, previous, now, acting};
  const engine::Classification c = engine::Classify(spec, observed, previous, now);
  engine::Decision d = spec.mode == Mode::kActivePassive ? engine::DecideActivePassive(in, c)
                                                         : engine::DecideActiveActive(in, c);
  // A member recovering from an unhealthy period is looked at again when it has recovered.
  for (const auto& m : c.members) {
    if (m.unhealthy_since) engine::RequeueAt(d, m.since + spec.detection.healthy_for, now);
  }
  // A silence the live read could not confirm: looked at again shortly.
  if (c.lease_recheck) engine::RequeueAt(d, *c.lease_recheck, now);
  return engine::Assemble(in, c, d);
}

// A group being deleted: its Services are given back first (ReleaseService: the selector
// they had before, so traffic never stops), then every pod loses the group's labels (but
// those a Service with nothing to give back still selects), then the finalizer goes. spec
// is null when the spec is invalid.
Plan Finalize(const Observed& obs, const Spec* spec) {
  Plan plan;
  const auto& f = obs.group.finalizers;
  if (std::find(f.begin(), f.end(), keys::kFinalizer) == f.end()) return plan;
  std::vector<Labels> kept;  // selectors of Services that still need the group's labels
  int released = 0;
  std::set<std::string> services_seen;
  for (const auto& s : obs.services) {
    if (!services_seen.insert(s.name).second) continue;
    engine::Release r = engine::ReleaseService(s, spec, obs.group.name);
    if (r.patch) plan.writes.push_back(*r.patch);
    if (r.notice) plan.events.push_back(MakeEvent(r.notice->type, r.notice->reason, r.notice->message, SIZE_MAX));
    if (r.kept) {
      // It keeps following the group's active pods (ReleaseService).
      kept.push_back({{keys::kGroup, obs.group.name}, {keys::kRole, "active"}});
    } else if (r.patch) {
      ++released;
    }
  }
  if (!plan.writes.empty()) plan.stage_ends.push_back(plan.writes.size());
  auto still_selected = [&](const Labels& labels) {
    for (const Labels& sel : kept) {
      bool all = !sel.empty();
      for (const auto& [k, v] : sel) {
        auto it = labels.find(k);
        all &= it != labels.end() && it->second == v;
      }
      if (all) return true;
    }
    return false;
  };
  const size_t services_end = plan.writes.size();
  for (auto& e : plan.events) e.after_writes = services_end;  // once the Services are given back
  std::vector<const PodObservation*> pods;
  for (const auto& p : obs.pods) pods.push_back(&p);
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::set<std::string> seen;
  int cleaned = 0;
  for (const PodObservation* p : pods) {
    if (!seen.insert(p->name).second) continue;
    auto g = p->labels.find(keys::kGroup);
    if (g == p->labels.end() || g->second != obs.group.name) continue;
    if (still_selected(p->labels)) continue;
    PatchPodLabels patch{p->name, p->uid, {}, {}};
    for (const char* k : {keys::kGroup, keys::kMember, keys::kRole, keys::kEligible}) {
      if (p->labels.count(k)) patch.remove.push_back(k);
    }
    plan.writes.push_back(patch);
    ++cleaned;
  }
  if (plan.writes.size() > services_end) plan.stage_ends.push_back(plan.writes.size());
  std::vector<std::string> rest;
  for (const auto& x : f) {
    if (x != keys::kFinalizer) rest.push_back(x);
  }
  plan.writes.push_back(PatchGroupFinalizers{rest, obs.group.resource_version});
  plan.events.push_back(MakeEvent(EventType::kNormal, Reason::kFinalized,
                                  "gave back " + std::to_string(released) + " Services; removed failover.io labels from " +
                                      std::to_string(cleaned) + " pods",
                                  plan.writes.size()));
  return plan;
}

// dryRun: the status of an observing plan, with the acting plan's writes withheld and
// listed (status.plannedActions, and a DryRun Event when the list changes).
Plan DryRun(const Spec& spec, const Observed& observed, const Status& previous, Time now) {
  Plan would = Run(spec, observed, previous, now, true);
  Plan plan = Run(spec, observed, previous, now, false);
  std::vector<std::string> actions;
  for (const auto& w : would.writes) {
    if (std::holds_alternative<UpdateStatus>(w)) continue;
    plan.withheld.push_back(w);
    if (actions.size() < kPlannedActionsLimit) actions.push_back(Describe(w));
  }
  if (plan.withheld.size() > kPlannedActionsLimit) {
    actions.back() = "... and " + std::to_string(plan.withheld.size() - kPlannedActionsLimit + 1) + " more";
  }
  plan.status.planned_actions = actions;
  plan.active_members = would.active_members;
  plan.writes.clear();
  plan.stage_ends.clear();
  plan.status_changed = !(plan.status == previous);
  if (plan.status_changed) plan.writes.push_back(UpdateStatus{plan.status});
  for (auto& e : plan.events) e.after_writes = plan.writes.size();
  if (actions != previous.planned_actions && !actions.empty()) {
    plan.events.push_back(
        MakeEvent(EventType::kNormal, Reason::kDryRun, "would: " + engine::Join(actions, "; "), plan.writes.size()));
  }
  plan.metrics.clear();
  return plan;
}

}  // namespace

Plan Decide(const Spec& spec, const Observed& observed, const Status& previous, Time now) {
  if (observed.group.deleting) return Finalize(observed, &spec);
  if (spec.paused) return Run(spec, observed, previous, now, false);
  if (spec.dry_run) return DryRun(spec, observed, previous, now);
  return Run(spec, observed, previous, now, true);
}

Plan DecideInvalid(const std::vector<FieldError>& errors, const Observed& observed,
                   const Status& previous, Time now) {
  if (observed.group.deleting) return Finalize(observed, nullptr);
  Plan plan;
  Status s = previous;
  std::vector<std::string> parts;
  for (const auto& e : errors) parts.push_back(e.ToString());
  std::string message = engine::Join(parts, "; ");
  const int64_t gen = observed.group.generation;
  s.observed_generation = gen;
  s.phase = PhaseName(engine::Phase::kInvalid);
  s.planned_actions.clear();
  auto set = [&](const char* type, bool value, Reason reason, const std::string& msg) {
    Condition c = engine::MakeCondition(previous, type, value, reason, msg, now, gen);
    for (auto& old : s.conditions) {
      if (old.type == type) {
        old = c;
        return;
      }
    }
    s.conditions.push_back(c);
  };
  set(engine::kConditionReady, false, Reason::kInvalidSpec, "the spec is invalid; nothing is done until it is fixed");
  set(engine::kConditionInvalidSpec, true, Reason::kInvalidSpec, message);
  set(engine::kConditionFailoverReady, false, Reason::kInvalidSpec,
      "the spec is invalid: no switch is made until it is fixed");
  plan.status = s;
  plan.status_changed = !(s == previous);
  if (plan.status_changed) plan.writes.push_back(UpdateStatus{s});
  const Condition* before = previous.FindCondition(engine::kConditionInvalidSpec);
  if (!before || before->status != "True" || before->message != message) {
    plan.events.push_back(MakeEvent(EventType::kWarning, Reason::kInvalidSpec, message, plan.writes.size()));
  }
  for (const auto& name : previous.active_members) plan.active_members.push_back(name);
  return plan;
}

GroupInput ReadGroup(const json& group) {
  GroupInput in;
  in.meta = GroupMetaFromObject(group);
  in.previous = ParseStatus(group.contains("status") ? group["status"] : json::object());
  in.parsed = ParseSpec(group.contains("spec") ? group["spec"] : json());
  in.errors = in.parsed.errors;
  if (in.errors.empty()) in.errors = Validate(in.parsed.spec);
  return in;
}

std::vector<FieldError> CheckGroup(const GroupInput& input, const Observed& observed) {
  if (!input.errors.empty()) return input.errors;
  return ValidateServiceClaims(input.parsed.spec, observed.services, input.meta.name);
}

Plan DecideGroup(const GroupInput& input, Observed observed, Time now) {
  observed.group = input.meta;
  if (observed.group.deleting) return Finalize(observed, input.errors.empty() ? &input.parsed.spec : nullptr);
  std::vector<FieldError> errors = CheckGroup(input, observed);
  if (!errors.empty()) return DecideInvalid(errors, observed, input.previous, now);
  return Decide(input.parsed.spec, observed, input.previous, now);
}

Plan DecideObject(const json& group, Observed observed, Time now) {
  return DecideGroup(ReadGroup(group), std::move(observed), now);
}

}  // namespace failover
