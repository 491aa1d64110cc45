#include "failover/reconciler.h"

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "failover/cache_trim.h"
#include "failover/parse.h"
#include "failover/validate.h"

namespace failover {
namespace {

using json = nlohmann::json;

const char* const kApiVersion = "failover.io/v1alpha1";
const char* const kKind = "FailoverGroup";

std::string ResourceVersion(const json& obj) {
  return obj.value("metadata", json::object()).value("resourceVersion", "");
}

Labels LabelsOf(const json& obj) {
  Labels out;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return out;
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

std::string Namespace(const json& obj) {
  return obj.value("metadata", json::object()).value("namespace", "");
}

// resourceVersion a is known to be at least b.
bool AtLeast(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  char* ea = nullptr;
  char* eb = nullptr;
  const unsigned long long na = std::strtoull(a.c_str(), &ea, 10);
  const unsigned long long nb = std::strtoull(b.c_str(), &eb, 10);
  if (*ea != '\0' || *eb != '\0') return false;
  return na >= nb;
}

// A stage is issued in parallel only as the engine promises it: one group write at most
// (they chain the group's resourceVersion) and no hook; otherwise one write after another.
bool Independent(const Plan& plan, const StageRange& stage) {
  int group_writes = 0;
  for (size_t i = stage.begin; i < stage.end; ++i) {
    const Write& w = plan.writes[i];
    if (std::holds_alternative<CallHook>(w)) return false;
    if (std::holds_alternative<UpdateStatus>(w) || std::holds_alternative<PatchGroupAnnotations>(w) ||
        std::holds_alternative<PatchGroupFinalizers>(w)) {
      ++group_writes;
    }
  }
  return group_writes <= 1;
}

// RecentWrites keys: the kind ("pod", "svc", "fg"), then the object's key.
std::string RecentKey(const char* kind, const std::string& object_key) { return std::string(kind) + "|" + object_key; }
std::string PodKey(const std::string& ns, const std::string& name) { return RecentKey("pod", runtime::ObjectKey(ns, name)); }
std::string ServiceKey(const std::string& ns, const std::string& name) {
  return RecentKey("svc", runtime::ObjectKey(ns, name));
}
std::string GroupKey(const std::string& key) { return RecentKey("fg", key); }

// What the informer cache would hold of a written object (cache_trim.h).
json Trimmed(json obj, void (*trim)(json&)) {
  trim(obj);
  return obj;
}

}  // namespace

// ---- RecentWrites -----------------------------------------------------------------------

void RecentWrites::SweepLocked(Clock::time_point now) {
  if (now - last_sweep_ < ttl_) return;
  last_sweep_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.at > ttl_ ? entries_.erase(it) : std::next(it);
  }
}

void RecentWrites::Remember(const std::string& key, json obj) {
  const Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  entries_[key] = {std::make_shared<const json>(std::move(obj)), now};
}

runtime::ObjectPtr RecentWrites::Resolve(const std::string& key, runtime::ObjectPtr cached) {
  const Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  auto it = entries_.find(key);
  if (it == entries_.end()) return cached;
  if (!cached || AtLeast(ResourceVersion(*cached), ResourceVersion(*it->second.obj)) ||
      now - it->second.at > ttl_) {
    entries_.erase(it);
    return cached;
  }
  return it->second.obj;
}

void RecentWrites::Observe(const std::string& key, const json& cached) {
  const Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  auto it = entries_.find(key);
  if (it != entries_.end() && AtLeast(ResourceVersion(cached), ResourceVersion(*it->second.obj))) {
    entries_.erase(it);
  }
}

void RecentWrites::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

size_t RecentWrites::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

// ---- GroupIndex -------------------------------------------------------------------------

void GroupIndex::Upsert(const json& group) {
  const std::string ns = Namespace(group);
  const std::string key = runtime::ObjectKey(ns, group.value("metadata", json::object()).value("name", ""));
  SpecParse parsed = ParseSpec(group.value("spec", json::object()));
  Entry e;
  for (const auto& m : parsed.spec.members) {
    if (!m.selector.Empty()) e.selectors.push_back(m.selector);
  }
  for (const auto& s : parsed.spec.services) e.services.insert(s.name);

  std::lock_guard<std::mutex> lock(mu_);
  NsIndex& n = by_ns_[ns];
  RemoveLocked(n, key);
  for (const auto& sel : e.selectors) {
    std::string under;
    size_t fewest = 0;
    for (const auto& [k, v] : sel.match_labels) {
      const std::string pair = k + "=" + v;
      auto it = n.by_label.find(pair);
      const size_t filed = it == n.by_label.end() ? 0 : it->second.size();
      if (under.empty() || filed < fewest) {
        under = pair;
        fewest = filed;
      }
    }
    if (under.empty()) {
      n.unindexed[key]++;
    } else {
      n.by_label[under][key]++;
    }
    e.filed_under.push_back(under);
  }
  for (const auto& svc : e.services) n.by_service[svc].insert(key);
  n.groups[key] = std::move(e);
}

void GroupIndex::RemoveLocked(NsIndex& n, const std::string& key) {
  auto it = n.groups.find(key);
  if (it == n.groups.end()) return;
  auto drop = [&key](std::map<std::string, int>& counts) {
    auto c = counts.find(key);
    if (c != counts.end() && --c->second <= 0) counts.erase(c);
  };
  for (const auto& under : it->second.filed_under) {
    if (under.empty()) {
      drop(n.unindexed);
      continue;
    }
    auto bucket = n.by_label.find(under);
    if (bucket == n.by_label.end()) continue;
    drop(bucket->second);
    if (bucket->second.empty()) n.by_label.erase(bucket);
  }
  for (const auto& svc : it->second.services) {
    auto bucket = n.by_service.find(svc);
    if (bucket == n.by_service.end()) continue;
    bucket->second.erase(key);
    if (bucket->second.empty()) n.by_service.erase(bucket);
  }
  n.groups.erase(it);
}

void GroupIndex::Remove(const std::string& key) {
  std::string ns, name;
  runtime::SplitObjectKey(key, &ns, &name);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return;
  RemoveLocked(it->second, key);
  if (it->second.groups.empty()) by_ns_.erase(it);
}

std::vector<std::string> GroupIndex::GroupsForPod(const json& pod) const {
  std::vector<std::string> out;
  const std::string ns = Namespace(pod);
  const Labels labels = LabelsOf(pod);
  auto owner = labels.find(keys::kGroup);
  if (owner != labels.end()) out.push_back(runtime::ObjectKey(ns, owner->second));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return out;
  const NsIndex& n = it->second;
  auto consider = [&](const std::string& key) {
    if (std::find(out.begin(), out.end(), key) != out.end()) return;
    auto g = n.groups.find(key);
    if (g == n.groups.end()) return;
    for (const auto& sel : g->second.selectors) {
      if (sel.Matches(labels)) {
        out.push_back(key);
        return;
      }
    }
  };
  for (const auto& [k, v] : labels) {
    auto bucket = n.by_label.find(k + "=" + v);
    if (bucket == n.by_label.end()) continue;
    for (const auto& [key, count] : bucket->second) consider(key);
  }
  for (const auto& [key, count] : n.unindexed) consider(key);
  return out;
}

std::vector<std::string> GroupIndex::GroupsForService(const json& service) const {
  std::vector<std::string> out;
  const std::string ns = Namespace(service);
  const std::string name = service.value("metadata", json::object()).value("name", "");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return out;
  auto bucket = it->second.by_service.find(name);
  if (bucket == it->second.by_service.end()) return out;
  out.assign(bucket->second.begin(), bucket->second.end());
  return out;
}

// ---- GroupReconciler --------------------------------------------------------------------

GroupReconciler::GroupReconciler(Deps deps) : deps_(std::move(deps)), log_("failovergroup") {
  if (!deps_.now) {
    deps_.now = [] { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); };
  }
  if (!deps_.may_write) deps_.may_write = [] { return true; };
  auto enqueue = deps_.enqueue;
  hooks_ = std::make_unique<HookRunner>(&hook_client_, deps_.hook_threads, [enqueue](const std::string& key) {
    if (enqueue) enqueue(key);
  });
  prober_ = std::make_unique<MemberProber>(deps_.probe_threads, [enqueue](const std::string& key) {
    if (enqueue) enqueue(key);
  });
}

GroupReconciler::~GroupReconciler() { Stop(); }

void GroupReconciler::Stop() {
  if (hooks_) hooks_->Stop();
  if (prober_) prober_->Stop();
}

Observed GroupReconciler::Gather(const std::string& ns, const std::string& name, const Spec& spec,
                                 bool spec_ok) {
  Observed obs;
  std::set<std::string> seen;
  const std::string group_key = runtime::ObjectKey(ns, name);
  auto add = [&](const runtime::ObjectPtr& cached) {
    if (!cached) return;
    const std::string pod_name = cached->value("metadata", json::object()).value("name", "");
    if (!seen.insert(pod_name).second) return;
    runtime::ObjectPtr pod = recent_.Resolve(PodKey(ns, pod_name), cached);
    if (!pod) return;
    PodObservation p = PodFromObject(*pod);
    if (spec_ok && spec.detection.probe) p.probe_ok = prober_->Verdict(group_key, p.uid);
    obs.pods.push_back(std::move(p));
  };
  for (const auto& m : spec.members) {
    if (m.selector.Empty()) continue;
    std::vector<runtime::ObjectPtr> candidates =
        m.selector.match_labels.empty() ? deps_.pods->ListNamespace(ns)
                                        : deps_.pods->ListByLabels(ns, m.selector.match_labels);
    for (const auto& pod : candidates) {
      if (m.selector.Matches(LabelsOf(*pod))) add(pod);
    }
  }
  for (const auto& pod : deps_.pods->ByIndex(runtime::Store::kLabelIndex, std::string(keys::kGroup) + "=" + name)) {
    if (Namespace(*pod) == ns) add(pod);
  }
  for (const auto& ref : spec.services) {
    runtime::ObjectPtr svc = recent_.Resolve(ServiceKey(ns, ref.name), deps_.services->Get(ns, ref.name));
    if (svc) {
      obs.services.push_back(ServiceFromObject(*svc));
    } else {
      ServiceObservation missing;
      missing.name = ref.name;
      obs.services.push_back(missing);
    }
  }
  return obs;
}

void GroupReconciler::UpdateProbes(const std::string& key, const Spec& spec, bool spec_ok,
                                   const Observed& observed) {
  if (!spec_ok || !spec.detection.probe || spec.paused) {
    prober_->SetTargets(key, std::nullopt, {});
    return;
  }
  std::vector<MemberProber::Target> targets;
  for (const auto& p : observed.pods) {
    if (p.terminating || p.pod_ip.empty()) continue;
    auto g = p.labels.find(keys::kGroup);
    if (g != p.labels.end() && g->second != observed.group.name) continue;
    for (const auto& m : spec.members) {
      if (m.selector.Matches(p.labels)) {
        targets.push_back({p.uid, p.pod_ip});
        break;
      }
    }
  }
  prober_->SetTargets(key, spec.detection.probe, targets);
}

void GroupReconciler::EmitEvent(const json& group, const Event& event) {
  if (!deps_.events) return;
  const json meta = group.value("metadata", json::object());
  json involved = {{"apiVersion", kApiVersion},
                   {"kind", kKind},
                   {"metadata",
                    {{"name", meta.value("name", "")},
                     {"namespace", meta.value("namespace", "")},
                     {"uid", meta.value("uid", "")},
                     {"resourceVersion", meta.value("resourceVersion", "")}}}};
  deps_.events->Event(involved, event.type, event.reason, event.message);
}

kube::Result<json> GroupReconciler::GetGroupLive(const std::string& ns, const std::string& name) {
  return deps_.client->Get(kube::resources::kFailoverGroups, ns, name);
}

kube::Status GroupReconciler::ApplyWrite(const Write& write, const std::string& ns, const std::string& name,
                                         std::string* group_rv, std::optional<Time>* switch_started,
                                         const json& group, bool* waiting_hook) {
  if (!deps_.may_write()) {
    return kube::Status(kube::Reason::kCancelled, "not the leader: write withheld (" + Describe(write) + ")");
  }
  auto& client = *deps_.client;
  const std::string group_key = runtime::ObjectKey(ns, name);
  auto patch_group = [&](json body, const std::string& subresource) -> kube::Status {
    body["metadata"]["resourceVersion"] = *group_rv;
    kube::PatchOptions po;
    po.subresource = subresource;
    auto r = client.Patch(kube::resources::kFailoverGroups, ns, name, kube::PatchType::kMerge, body.dump(), po);
    if (!r.ok()) return r.status();
    *group_rv = ResourceVersion(*r);
    recent_.Remember(GroupKey(group_key), Trimmed(std::move(*r), TrimGroup));
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
          recent_.Remember(PodKey(ns, w.name), Trimmed(std::move(*r), TrimPod));
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
          if (!r.ok()) return r.status().IsNotFound() ? kube::Status::OK() : r.status();
          recent_.Remember(ServiceKey(ns, w.name), Trimmed(std::move(*r), TrimService));
          return kube::Status::OK();
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return patch_group(MergePatchBody(w), "");
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          return patch_group(MergePatchBody(w), "");
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          if (w.status.switch_record) *switch_started = w.status.switch_record->started_at;
          return patch_group(MergePatchBody(w), "status");
        } else {
          const json meta = group.value("metadata", json::object());
          const char* phase = w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote";
          std::string started = *switch_started ? FormatTime(**switch_started) : "";
          const std::string key = meta.value("uid", "") + "|" + phase + "|" + w.from + "|" + w.to + "|" +
                                  w.reason + "|" + started;
          json body = {{"group", name}, {"namespace", ns}, {"phase", phase},
                       {"from", w.from}, {"to", w.to}, {"reason", w.reason}};
          HookOutcome outcome;
          switch (hooks_->Run(key, group_key, w, body, &outcome)) {
            case HookRunner::State::kPending:
              *waiting_hook = true;
              return kube::Status::OK();
            case HookRunner::State::kSucceeded:
              return kube::Status::OK();
            case HookRunner::State::kFailed:
              break;
          }
          const bool abort = w.hook.failure_policy == HookFailurePolicy::kAbort;
          EmitEvent(group, {"Warning", "HookFailed",
                            std::string(phase) + " hook " + w.hook.url + " failed after " +
                                std::to_string(outcome.attempts) + " attempt(s): " + outcome.message +
                                (abort ? "; switch held (failurePolicy Abort)" : "; continuing (failurePolicy Ignore)"),
                            0});
          if (!abort) return kube::Status::OK();
          hooks_->Forget(key);
          return kube::Status(kube::Reason::kUnknown, std::string(phase) + " hook failed: " + outcome.message);
        }
      },
      write);
}

GroupReconciler::Applied GroupReconciler::Apply(const json& group, const Plan& plan, const std::string& key) {
  Applied out;
  std::string ns, name;
  runtime::SplitObjectKey(key, &ns, &name);
  std::string group_rv = ResourceVersion(group);
  std::optional<Time> switch_started;
  {
    Status prev = ParseStatus(group.value("status", json::object()));
    if (prev.switch_record) switch_started = prev.switch_record->started_at;
  }
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
      EmitEvent(group, event);
    }
  };
  auto apply = [&](size_t i) {
    bool w = false;
    results[i] = ApplyWrite(plan.writes[i], ns, name, &group_rv, &switch_started, group, &w);
    waiting[i] = w ? 1 : 0;
    applied[i] = 1;
  };
  for (const StageRange& stage : Stages(plan)) {
    if (stage.end - stage.begin == 1 || !Independent(plan, stage)) {
      for (size_t i = stage.begin; i < stage.end; ++i) {
        apply(i);
        if (!results[i].ok() || waiting[i]) break;
      }
    } else {
      // One thread per write but the first, which runs here; a thread that cannot be
      // started leaves its write to this thread.
      std::vector<std::thread> threads;
      std::vector<size_t> inline_writes = {stage.begin};
      for (size_t i = stage.begin + 1; i < stage.end; ++i) {
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
    emit(false);
  }
  emit(false);
  return out;
}

kube::Result<runtime::ReconcileResult> GroupReconciler::Reconcile(const runtime::Request& request) {
  const std::string key = request.Key();
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    runtime::ObjectPtr obj = recent_.Resolve(GroupKey(key), deps_.groups->Get(key));
    if (!obj) {
      metrics_.Forget(request.ns, request.name);
      prober_->SetTargets(key, std::nullopt, {});
      return runtime::ReconcileResult{};
    }
    const json& group = *obj;
    SpecParse parsed = ParseSpec(group.value("spec", json()));
    const bool spec_ok = parsed.ok() && Validate(parsed.spec).empty();
    Observed observed = Gather(request.ns, request.name, parsed.spec, spec_ok);
    observed.group = GroupMetaFromObject(group);
    UpdateProbes(key, parsed.spec, spec_ok, observed);

    const Plan plan = DecideObject(group, observed, deps_.now());
    Applied applied = Apply(group, plan, key);
    if (applied.conflict) {
      auto live = GetGroupLive(request.ns, request.name);
      if (!live.ok()) {
        if (live.status().IsNotFound()) {
          recent_.Forget(GroupKey(key));
          return runtime::ReconcileResult{};
        }
        return live.status();
      }
      log_.Debug("conflict; deciding again from a fresh read",
                 {{"namespace", request.ns}, {"name", request.name}, {"error", applied.status.message()}});
      recent_.Remember(GroupKey(key), Trimmed(*live, TrimGroup));
      continue;
    }
    if (!applied.status.ok()) return applied.status;
    runtime::ReconcileResult result;
    if (applied.waiting_hook) {
      // The hook's end re-queues the group; this is a safety net only.
      result.requeue_after = std::chrono::seconds(60);
      return result;
    }
    const bool deleting = observed.group.deleting;
    if (deleting) {
      metrics_.Forget(request.ns, request.name);
      prober_->SetTargets(key, std::nullopt, {});
    } else {
      metrics_.Observe(request.ns, request.name, plan.metrics, deps_.now());
      metrics_.SetState(request.ns, request.name, plan.status, static_cast<int>(parsed.spec.members.size()));
    }
    if (plan.requeue_after && plan.requeue_after->count() > 0) {
      result.requeue_after = *plan.requeue_after;
    }
    return result;
  }
  return kube::Status(kube::Reason::kConflict, "conflicts on every attempt; retrying with backoff");
}

void GroupReconciler::CacheUpdated(const char* kind, const json& obj) {
  recent_.Observe(RecentKey(kind, runtime::ObjectKey(obj)), obj);
}

// ---- wiring -----------------------------------------------------------------------------

std::shared_ptr<GroupReconciler> SetupFailoverController(runtime::Manager& manager,
                                                         const ReconcilerOptions& options) {
  runtime::InformerOptions gi;
  gi.resource = kube::resources::kFailoverGroups;
  gi.ns = options.watch_namespace;
  gi.transform = TrimGroup;
  runtime::InformerOptions pi = gi;
  pi.resource = kube::resources::kPods;
  pi.transform = TrimPod;
  runtime::InformerOptions si = gi;
  si.resource = kube::resources::kServices;
  si.transform = TrimService;
  runtime::Informer& groups = manager.GetInformer(gi);
  runtime::Informer& pods = manager.GetInformer(pi);
  runtime::Informer& services = manager.GetInformer(si);

  struct ControllerRef {
    runtime::Controller* controller = nullptr;
  };
  auto ref = std::make_shared<ControllerRef>();

  GroupReconciler::Deps deps;
  deps.client = manager.client();
  deps.groups = &groups.store();
  deps.pods = &pods.store();
  deps.services = &services.store();
  deps.events = &manager.events();
  deps.may_write = manager.WriteGuard();
  deps.enqueue = [ref](const std::string& key) {
    if (ref->controller) ref->controller->Enqueue(key);
  };
  deps.hook_threads = options.hook_threads;
  deps.probe_threads = options.probe_threads;
  auto reconciler = std::make_shared<GroupReconciler>(deps);

  runtime::ControllerOptions co;
  co.name = "failovergroup";
  co.workers = std::max(1, options.workers);
  runtime::Controller& controller = manager.AddController(co, reconciler);
  ref->controller = &controller;

  GroupReconciler* r = reconciler.get();
  auto index_handler = std::make_shared<runtime::EventHandlerFuncs>();
  index_handler->add = [r](const json& obj) {
    r->index().Upsert(obj);
    r->CacheUpdated("fg", obj);
  };
  index_handler->update = [r](const json&, const json& obj) {
    r->index().Upsert(obj);
    r->CacheUpdated("fg", obj);
  };
  index_handler->del = [r](const json& obj) { r->index().Remove(runtime::ObjectKey(obj)); };
  groups.AddEventHandler(index_handler);
  for (auto [informer, kind] : {std::pair{&pods, "pod"}, std::pair{&services, "svc"}}) {
    auto caught_up = std::make_shared<runtime::EventHandlerFuncs>();
    caught_up->add = [r, kind = kind](const json& obj) { r->CacheUpdated(kind, obj); };
    caught_up->update = [r, kind = kind](const json&, const json& obj) { r->CacheUpdated(kind, obj); };
    informer->AddEventHandler(caught_up);
  }
  controller.Watch(groups);
  controller.Watch(pods, [r](const json& pod) { return r->index().GroupsForPod(pod); });
  controller.Watch(services, [r](const json& svc) { return r->index().GroupsForService(svc); });
  return reconciler;
}

}  // namespace failover
