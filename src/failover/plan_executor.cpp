#include "failover/plan_executor.h"

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

#include "failover/cache_trim.h"
#include "failover/object_fields.h"
#include "failover/parse.h"
#include "failover/plan_json.h"
#include "failover/status_json.h"

namespace failover {
namespace {

using json = nlohmann::json;

// A write that moves traffic or roles: a Service's selector, a pod's labels, a pod
// deletion, a promotion hook.
bool MovesTrafficOrRoles(const Write& w) { return !IsGroupWrite(w); }

// A Service write conditional on the resourceVersion it was decided from: it lands only on
// the Service the engine saw, whose switch record (keys::kSwitch) the engine has compared
// with the group's status (a status older than the Services' last switch only finishes
// that switch), so it is its own fence.
bool SelfFenced(const Write& w) {
  const auto* p = std::get_if<PatchService>(&w);
  return p != nullptr && !p->resource_version.empty();
}

// The number of the switch whose record a Service write carries; 0 = none.
int64_t SwitchSeqMovedBy(const Write& w) {
  const auto* p = std::get_if<PatchService>(&w);
  if (p == nullptr) return 0;
  auto it = p->annotations.find(keys::kSwitch);
  if (it == p->annotations.end()) return 0;
  json j = json::parse(it->second, nullptr, false);
  return j.is_object() ? SwitchRecordFromJson(j).seq : 0;
}

// A stage whose every write is a conditional Service write carrying a switch record: the
// stage that moves a switch's traffic.
bool MovesASwitchsTraffic(const Plan& plan, const StageRange& stage) {
  for (size_t i = stage.begin; i < stage.end; ++i) {
    if (!SelfFenced(plan.writes[i]) || !std::get<PatchService>(plan.writes[i]).annotations.count(keys::kSwitch)) {
      return false;
    }
  }
  return stage.end > stage.begin;
}

// A stage is issued in parallel only as the engine promises it: one group write at most
// (they chain the group's resourceVersion) and no hook; otherwise one write after another.
bool Independent(const Plan& plan, const StageRange& stage) {
  int group_writes = 0;
  for (size_t i = stage.begin; i < stage.end; ++i) {
    const Write& w = plan.writes[i];
    if (std::holds_alternative<CallHook>(w)) return false;
    if (IsGroupWrite(w)) ++group_writes;
  }
  return group_writes <= 1;
}

// What the informer cache would hold of a written object (cache_trim.h).
json Trimmed(json obj, void (*trim)(json&)) {
  trim(obj);
  return obj;
}

}  // namespace

void PlanExecutor::Emit(const json& group, const Event& event) {
  if (deps_.emit) deps_.emit(group, event);
}

kube::Status PlanExecutor::ApplyWrite(const Write& write, const std::string& ns, const std::string& name,
                                         std::string* group_rv, const json& group, bool* waiting_hook) {
  if (deps_.may_write && !deps_.may_write()) {
    return kube::Status(kube::Reason::kCancelled, "not the leader: write withheld (" + Describe(write) + ")");
  }
  kube::Client& client = *deps_.client;
  const std::string group_key = runtime::ObjectKey(ns, name);
  auto patch_group = [&](json body, const std::string& subresource) -> kube::Status {
    body["metadata"]["resourceVersion"] = *group_rv;
    kube::PatchOptions po;
    po.subresource = subresource;
    auto r = client.Patch(kube::resources::kFailoverGroups, ns, name, kube::PatchType::kMerge, body.dump(), po);
    if (!r.ok()) return r.status();
    *group_rv = ResourceVersionOf(*r);
    deps_.recent->Remember(RecentGroupKey(group_key), Trimmed(std::move(*r), TrimGroup));
    return kube::Status::OK();
  };
  return std::visit(
      [&](const auto& w) -> kube::Status {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          json body = MergePatchBody(w);
          if (!w.uid.empty()) body["metadata"]["uid"] = w.uid;
          auto r = client.Patch(kube::resources::kPods, ns, w.name, kube::PatchType::kMerge, body.dump());
          if (!r.ok()) return r.status().IsNotFound() ? kube::Status::OK() : r.status();
          deps_.recent->Remember(RecentPodKey(ns, w.name), Trimmed(std::move(*r), TrimPod));
          return kube::Status::OK();
        } else if constexpr (std::is_same_v<T, DeletePod>) {
          kube::DeleteOptions o;
          o.precondition_uid = w.uid;
          auto r = client.Delete(kube::resources::kPods, ns, w.name, o);
          if (!r.ok() && !r.status().IsNotFound() && !r.status().IsConflict()) return r.status();
          return kube::Status::OK();
        } else if constexpr (std::is_same_v<T, PatchService>) {
          auto r = client.Patch(kube::resources::kServices, ns, w.name, kube::PatchType::kMerge,
                                MergePatchBody(w).dump());
          if (!r.ok() && r.status().IsConflict()) {
            // Changed since the decision: the next decision reads it as it is now, even before
            // the Services watch delivers it.
            auto live = client.Get(kube::resources::kServices, ns, w.name);
            if (live.ok()) deps_.recent->Remember(RecentServiceKey(ns, w.name), Trimmed(std::move(*live), TrimService));
          }
          if (!r.ok()) return r.status().IsNotFound() ? kube::Status::OK() : r.status();
          deps_.recent->Remember(RecentServiceKey(ns, w.name), Trimmed(std::move(*r), TrimService));
          return kube::Status::OK();
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return patch_group(MergePatchBody(w), "");
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          return patch_group(MergePatchBody(w), "");
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          return patch_group(MergePatchBody(w), "status");
        } else {
          return CallHookWrite(w, ns, name, group, waiting_hook);
        }
      },
      write);
}

kube::Status PlanExecutor::CallHookWrite(const CallHook& w, const std::string& ns, const std::string& name,
                                         const json& group, bool* waiting_hook) {
  if (!deps_.hooks) return kube::Status(kube::Reason::kUnknown, "no hook runner to call " + w.hook.url);
  const std::string group_key = runtime::ObjectKey(ns, name);
  const json meta = group.value("metadata", json::object());
  const char* phase = w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote";
  const std::string started = FormatTime(w.started_at);
  const std::string key = meta.value("uid", "") + "|" + phase + "|" + w.from + "|" + w.to + "|" +
                          w.reason + "|" + started;
  // The switch's identity (the one Apply told the runner is current), so the receiver can
  // reject a call of a switch that is not the group's newest.
  const std::string switch_id = SwitchId(meta.value("uid", ""), w.to, started);
  json body = {{"group", name}, {"namespace", ns}, {"phase", phase}, {"from", w.from}, {"to", w.to},
               {"reason", w.reason}, {"switchId", switch_id}, {"switchStartedAt", started}};
  HookOutcome outcome;
  switch (deps_.hooks->Run(key, group_key, w, body, &outcome, switch_id)) {
    case HookRunner::State::kPending:
    case HookRunner::State::kDropped:  // not returned by Run (a dropped call starts again)
      *waiting_hook = true;
      return kube::Status::OK();
    case HookRunner::State::kSucceeded:
      return kube::Status::OK();
    case HookRunner::State::kFailed:
      break;
  }
  const bool abort = w.hook.failure_policy == HookFailurePolicy::kAbort;
  Emit(group, {"Warning", "HookFailed",
                    std::string(phase) + " hook " + w.hook.url + " failed after " +
                        std::to_string(outcome.attempts) + " attempt(s): " + outcome.message +
                        (abort ? "; switch held (failurePolicy Abort)" : "; continuing (failurePolicy Ignore)"),
                    0});
  if (!abort) return kube::Status::OK();
  deps_.hooks->Forget(key);
  return kube::Status(kube::Reason::kUnknown, std::string(phase) + " hook failed: " + outcome.message);
}

kube::Status PlanExecutor::CheckGroupFresh(const std::string& ns, const std::string& name,
                                           const std::string& group_rv) {
  if (deps_.may_write && !deps_.may_write()) {
    return kube::Status(kube::Reason::kCancelled, "not the leader: writes withheld");
  }
  auto live = deps_.client->Get(kube::resources::kFailoverGroups, ns, name);
  if (!live.ok()) {
    if (live.status().IsNotFound()) {
      return kube::Status(kube::Reason::kConflict, "the group is gone since the decision: nothing moved");
    }
    kube::Status failed = live.status();
    return failed.Annotate("reading the group before moving traffic");
  }
  const std::string rv = ResourceVersionOf(*live);
  if (rv != group_rv) {
    return kube::Status(kube::Reason::kConflict, "the group changed since the decision (resourceVersion " +
                                                     group_rv + " -> " + rv + "): nothing moved, deciding again");
  }
  return kube::Status::OK();
}

void PlanExecutor::Forget(const std::string& group_key) {
  std::lock_guard<std::mutex> lock(mu_);
  traffic_moved_.erase(group_key);
}

std::optional<UpdateStatus> PlanExecutor::Stamped(const std::string& group_key, const UpdateStatus& w,
                                                  const std::optional<std::pair<int64_t, Time>>& traffic,
                                                  const std::optional<Time>& roles_done) {
  const auto& t = w.status.last_transition;
  if (!deps_.now || !t || t->seq <= 0) return std::nullopt;
  Transition stamped = *t;
  if (!stamped.traffic_moved_at) {
    if (traffic && traffic->first == t->seq) {
      stamped.traffic_moved_at = traffic->second;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = traffic_moved_.find(group_key);
      if (it != traffic_moved_.end() && it->second.first == t->seq) stamped.traffic_moved_at = it->second.second;
    }
  }
  if (!stamped.roles_done_at && roles_done) stamped.roles_done_at = roles_done;
  if (stamped == *t) return std::nullopt;
  UpdateStatus out = w;
  if (!out.status.history.empty() && out.status.history.front() == *t) out.status.history.front() = stamped;
  out.status.last_transition = stamped;
  return out;
}

PlanExecutor::Result PlanExecutor::Apply(const json& group, const Plan& plan) {
  Result out;
  const json meta = group.value("metadata", json::object());
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  std::string group_rv = ResourceVersionOf(group);
  // The hook runner learns the group's current switch from every decision: the switch
  // whose hooks this plan calls, or none. A queued or retrying call of another switch (one
  // cancelled, redirected or timed out) is dropped before its next attempt.
  if (deps_.hooks) {
    std::string current;
    for (const Write& w : plan.writes) {
      if (const auto* h = std::get_if<CallHook>(&w)) {
        current = SwitchId(meta.value("uid", ""), h->to, FormatTime(h->started_at));
        break;
      }
    }
    deps_.hooks->SetCurrentSwitch(runtime::ObjectKey(ns, name), current);
  }
  // The phases of the switch this plan moves or books, as its stages land.
  const std::string group_key = runtime::ObjectKey(ns, name);
  std::optional<std::pair<int64_t, Time>> traffic;  // (switch number, when its Services moved)
  std::optional<Time> roles_done;
  std::optional<UpdateStatus> stamped;  // the status write of the current stage, stamped
  std::vector<kube::Status> results(plan.writes.size());
  std::vector<char> applied(plan.writes.size(), 0);
  std::vector<char> done(plan.writes.size(), 0);
  std::vector<char> waiting(plan.writes.size(), 0);
  std::vector<char> emitted(plan.events.size(), 0);
  size_t prefix = 0;  // writes[0, prefix) succeeded
  auto emit = [&](bool stopped) {
    while (prefix < done.size() && done[prefix]) ++prefix;
    for (size_t e = 0; e < plan.events.size(); ++e) {
      const Event& event = plan.events[e];
      if (emitted[e] || event.after_writes > prefix || (event.if_stopped && !stopped)) continue;
      emitted[e] = 1;
      Emit(group, event);
    }
  };
  auto apply = [&](size_t i) {
    bool w = false;
    std::optional<Write> stamped_write;
    if (stamped && std::holds_alternative<UpdateStatus>(plan.writes[i])) stamped_write = Write(*stamped);
    results[i] = ApplyWrite(stamped_write ? *stamped_write : plan.writes[i], ns, name, &group_rv, group, &w);
    waiting[i] = w ? 1 : 0;
    applied[i] = 1;
  };
  // The fence: no write that moves traffic or roles goes out before the group the plan was
  // decided from is known to be the group on the server. A group write carrying its
  // resourceVersion proves it (the first such write of the stage goes alone, before the
  // rest); a stage without one reads the group and compares. A group changed since (a
  // lagging groups watch, another leader's switch) is a conflict: decide again.
  bool fenced = false;
  const bool calls_hook = std::any_of(plan.writes.begin(), plan.writes.end(),
                                      [](const Write& w) { return std::holds_alternative<CallHook>(w); });
  for (const StageRange& stage : Stages(plan)) {
    bool moves = false, self_fenced = true;
    std::optional<size_t> group_write;
    for (size_t i = stage.begin; i < stage.end; ++i) {
      const bool m = MovesTrafficOrRoles(plan.writes[i]);
      moves |= m;
      self_fenced &= !m || SelfFenced(plan.writes[i]);
      if (!group_write && IsGroupWrite(plan.writes[i])) group_write = i;
    }
    const bool parallel = stage.end - stage.begin > 1 && Independent(plan, stage);
    // The roles are on once the stages before this one landed; the status write of the
    // stage (one at most) carries the phases landed so far.
    if (deps_.now && plan.roles_done_after && !roles_done && *plan.roles_done_after <= stage.begin) {
      roles_done = deps_.now();
    }
    stamped.reset();
    std::optional<size_t> status_write;
    for (size_t i = stage.begin; i < stage.end; ++i) {
      if (const auto* u = std::get_if<UpdateStatus>(&plan.writes[i])) {
        stamped = Stamped(group_key, *u, traffic, roles_done);
        status_write = i;
      }
    }
    // A stage of conditional Service writes needs no read before it (the first write of a
    // switch is the one that moves traffic); once it landed, the rest of the plan is fenced.
    const bool own_fence = moves && self_fenced && !group_write;
    if (moves && !fenced && !own_fence && !(group_write && (parallel || *group_write == stage.begin))) {
      kube::Status fence = CheckGroupFresh(ns, name, group_rv);
      if (!fence.ok()) {
        out.status = fence;
        out.conflict = fence.IsConflict();
        emit(true);
        return out;
      }
      fenced = true;
    }
    if (moves && !fenced && group_write && parallel) {
      // The group write alone first; the rest of the stage once it landed.
      apply(*group_write);
      if (!results[*group_write].ok()) {
        out.status = results[*group_write].Annotate(Describe(plan.writes[*group_write]));
        out.conflict = results[*group_write].IsConflict();
        emit(true);
        return out;
      }
    }
    if (group_write) fenced = true;  // every group write carries the resourceVersion
    if (own_fence) fenced = true;    // the stage stops the plan unless every write landed
    if (!parallel) {
      for (size_t i = stage.begin; i < stage.end; ++i) {
        apply(i);
        if (!results[i].ok() || waiting[i]) break;
      }
    } else {
      // One thread per write but the first, which runs here; a thread that cannot be
      // started leaves its write to this thread.
      std::vector<std::thread> threads;
      std::vector<size_t> inline_writes;
      for (size_t i = stage.begin; i < stage.end; ++i) {
        if (applied[i]) continue;  // the group write, applied alone above
        if (inline_writes.empty()) {
          inline_writes.push_back(i);
          continue;
        }
        try {
          threads.emplace_back(apply, i);
        } catch (const std::system_error&) {
          inline_writes.push_back(i);
        }
      }
      for (size_t i : inline_writes) apply(i);
      for (auto& t : threads) t.join();
    }
    std::optional<size_t> failed;
    bool all_conflicts = true, stop_at_hook = false;
    for (size_t i = stage.begin; i < stage.end && applied[i]; ++i) {
      if (results[i].ok() && !waiting[i]) {
        done[i] = 1;
      } else if (!results[i].ok()) {
        if (!failed) failed = i;
        all_conflicts &= results[i].IsConflict();
      }
      stop_at_hook |= waiting[i] != 0;
    }
    if (failed) {
      out.status = results[*failed].Annotate(Describe(plan.writes[*failed]));
      out.conflict = all_conflicts;
      emit(true);
      return out;
    }
    if (stop_at_hook) {
      out.waiting_hook = true;
      emit(true);
      return out;
    }
    if (deps_.now) {
      const Time landed = deps_.now();
      for (size_t i = stage.begin; i < stage.end; ++i) {
        if (const int64_t seq = SwitchSeqMovedBy(plan.writes[i]); seq > 0) {
          traffic = {seq, landed};
          std::lock_guard<std::mutex> lock(mu_);
          traffic_moved_[group_key] = *traffic;
        }
      }
      if (status_write) {
        const UpdateStatus& written =
            stamped ? *stamped : std::get<UpdateStatus>(plan.writes[*status_write]);
        const auto& t = written.status.last_transition;
        // The status that books the switch this plan finished (its roles stamped here).
        if (t && t->seq > 0 && roles_done && t->roles_done_at == roles_done) {
          out.booked = *t;
          out.status_written_at = landed;
          std::lock_guard<std::mutex> lock(mu_);
          auto it = traffic_moved_.find(group_key);
          if (it != traffic_moved_.end() && it->second.first <= t->seq) traffic_moved_.erase(it);
        }
      }
    }
    emit(false);
    if (deps_.hand_off_after_traffic && !calls_hook && stage.end < plan.writes.size() &&
        MovesASwitchsTraffic(plan, stage)) {
      out.handed_off = true;  // no if_stopped Event: the next plan finishes and reports it
      return out;
    }
  }
  emit(false);
  return out;
}

}  // namespace failover
