#include "failover/reconciler.h"

#include <algorithm>
#include <cstdlib>

#include "failover/cache_trim.h"
#include "failover/object_fields.h"

namespace failover {
namespace {

using json = nlohmann::json;

const char* const kApiVersion = "failover.io/v1alpha1";
const char* const kKind = "FailoverGroup";

GroupReconciler::Deps WithEnv(GroupReconciler::Deps deps) {
  if (!deps.env) deps.env = &base::RealEnv();
  return deps;
}

HookClient::Options HookClientOptions(base::Env* env) {
  HookClient::Options o;
  o.env = env;
  return o;
}

}  // namespace

// ---- GroupReconciler --------------------------------------------------------------------

GroupReconciler::GroupReconciler(Deps deps)
    : deps_(WithEnv(std::move(deps))),
      log_("failovergroup"),
      recent_(std::chrono::seconds(10), deps_.env),
      metrics_(deps_.metrics_registry, deps_.per_group_histograms),
      hook_client_(HookClientOptions(deps_.env)) {
  if (!deps_.now) {
    // The timeline, not the wall clock: a step of the wall clock neither fails a member
    // over early nor ages the anti-flap history out (base/timeline.h).
    timeline_ = std::make_unique<base::Timeline>(deps_.env);
    deps_.now = [this] {
      const Time now = std::chrono::time_point_cast<Duration>(timeline_->Now());
      WarnOfClockStep(timeline_->Offset());
      return now;
    };
  }
  if (!deps_.may_write) deps_.may_write = [] { return true; };
  auto enqueue = deps_.enqueue;
  hooks_ = std::make_unique<HookRunner>(
      &hook_client_, deps_.hook_pool.get(),
      [enqueue](const std::string& key) {
        if (enqueue) enqueue(key);
      },
      std::chrono::minutes(10), deps_.env, deps_.hook_calls_per_group, deps_.may_write);
  prober_ = std::make_unique<MemberProber>(
      deps_.probe_pool.get(),
      [enqueue](const std::string& key) {
        if (enqueue) enqueue(key);
      },
      deps_.env, ProbeOnce, deps_.probes_per_group);
  PlanExecutor::Deps ed;
  ed.client = deps_.client.get();
  ed.recent = &recent_;
  ed.hooks = hooks_.get();
  ed.may_write = deps_.may_write;
  ed.emit = [this](const json& group, const Event& event) { EmitEvent(group, event); };
  ed.now = deps_.now;
  executor_ = std::make_unique<PlanExecutor>(std::move(ed));
  NodeLeases::Options lo;
  lo.client = deps_.client.get();
  lo.now = deps_.now;
  lo.env = deps_.env;
  lo.storm_share = deps_.node_storm_share;
  lo.storm_min_nodes = deps_.node_storm_min_nodes;
  lo.on_storm = [this](const NodeLeases::Storm& s) {
    metrics_.SetNodeStorm(s.held, s.silent, s.known, s.lost_zones);
    if (s.lost_zones != zones_logged_) {
      zones_logged_ = s.lost_zones;
      std::string zones;
      for (const auto& z : node_leases_->LostZones()) zones += (zones.empty() ? "" : ",") + z;
      log_.Warn("zones lost (half or more of their nodes' Leases silent): their members are not promoted",
                {{"lostZones", zones}, {"count", s.lost_zones}});
    }
    if (s.held != storm_logged_) {
      storm_logged_ = s.held;
      if (s.held) {
        log_.Warn("node storm: node-lease failovers held",
                 {{"silentNodes", s.silent}, {"knownNodes", s.known}, {"share", deps_.node_storm_share}});
      } else {
        log_.Info("node storm over: node-lease failovers resume", {{"silentNodes", s.silent}, {"knownNodes", s.known}});
      }
    }
  };
  if (deps_.node_leases) {
    lo.enqueue = [enqueue](const std::string& key) {
      if (enqueue) enqueue(key);
    };
  }
  node_leases_ = std::make_unique<NodeLeases>(std::move(lo));
}

GroupReconciler::~GroupReconciler() { Stop(); }

void GroupReconciler::Stop() {
  if (hooks_) hooks_->Stop();
  if (prober_) prober_->Stop();
  if (node_leases_) node_leases_->Stop();
}

void GroupReconciler::TrackNodes(const std::string& key, const Spec& spec, bool spec_ok, const Observed& observed) {
  if (!deps_.node_leases) return;
  std::set<std::string> nodes;
  if (spec_ok && !observed.group.deleting) {
    for (const auto& p : observed.pods) {
      if (!p.terminating && !p.node_name.empty()) nodes.insert(p.node_name);
    }
  }
  node_leases_->Track(key, nodes, spec.detection.node_lease_timeout);
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

void GroupReconciler::WarnOfClockStep(std::chrono::nanoseconds offset) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(offset).count();
  int64_t reported = reported_clock_offset_.load();
  if (std::abs(seconds - reported) < 2) return;
  if (!reported_clock_offset_.compare_exchange_strong(reported, seconds)) return;
  if (seconds == 0) {
    log_.Info("the wall clock and the operator's timeline agree again");
  } else {
    log_.Warn("the wall clock was stepped: decisions keep to the monotonic timeline, which leans towards the "
              "wall clock at 1% of the time that passes",
              {{"wallClockAheadSeconds", std::to_string(seconds)}});
  }
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

kube::Result<runtime::ReconcileResult> GroupReconciler::Reconcile(const runtime::Request& request) {
  const std::string key = request.Key();
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    runtime::ObjectPtr obj = recent_.Resolve(RecentGroupKey(key), deps_.groups->Get(key));
    if (!obj) {
      metrics_.Forget(request.ns, request.name);
      prober_->SetTargets(key, std::nullopt, {});
      node_leases_->Track(key, {}, Duration{0});
      executor_->Forget(key);
      hooks_->SetCurrentSwitch(key, "");  // a call still queued or retrying for it is dropped
      if (deps_.events) deps_.events->ForgetObject(kKind, request.ns, request.name);
      return runtime::ReconcileResult{};
    }
    const json& group = *obj;
    // The object read once: the spec is parsed and checked here and nowhere else.
    const GroupInput input = ReadGroup(group);
    // One time for the whole decision: which Leases look expired, and the engine's now.
    const Time now = deps_.now();
    GatherExtras extras;
    extras.now = now;
    if (input.errors.empty()) {
      extras.probe = [&](const std::string& uid) { return prober_->Verdict(key, uid); };
      extras.probe_last = [&](const std::string& uid) { return prober_->LastAttempt(key, uid); };
      if (deps_.node_leases) extras.leases = node_leases_.get();
    }
    Observed observed = GatherObserved(CachedObjects(deps_.pods, deps_.services, &recent_), request.ns,
                                       request.name, input.parsed.spec, extras);
    observed.group = input.meta;
    // Probing and the nodes watched for it follow the same validity check the engine
    // decides by (CheckGroup).
    const bool spec_ok = CheckGroup(input, observed).empty();
    UpdateProbes(key, input.parsed.spec, spec_ok, observed);
    TrackNodes(key, input.parsed.spec, spec_ok, observed);

    const Plan plan = DecideGroup(input, observed, now);
    PlanExecutor::Result applied = executor_->Apply(group, plan);
    if (applied.conflict) {
      auto live = deps_.client->Get(kube::resources::kFailoverGroups, request.ns, request.name);
      if (!live.ok()) {
        if (live.status().IsNotFound()) {
          recent_.Forget(RecentGroupKey(key));
          return runtime::ReconcileResult{};
        }
        return live.status();
      }
      log_.Debug("conflict; deciding again from a fresh read",
                 {{"namespace", request.ns}, {"name", request.name}, {"error", applied.status.message()}});
      json trimmed = *live;
      TrimGroup(trimmed);
      recent_.Remember(RecentGroupKey(key), std::move(trimmed));
      continue;
    }
    if (!applied.status.ok()) return applied.status;
    runtime::ReconcileResult result;
    if (applied.handed_off) {
      // The Services moved; the roles and the status follow in the next reconcile (its
      // plan finishes the switch recorded on them and records the metrics), in the queue's
      // follow-up lane: in a storm, other groups' traffic moves first.
      result.follow_up = true;
      return result;
    }
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
      if (applied.booked) metrics_.ObservePhases(request.ns, request.name, *applied.booked, applied.status_written_at);
      metrics_.SetState(request.ns, request.name, plan.status, static_cast<int>(input.parsed.spec.members.size()));
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
  // One informer per watched namespace and resource (one for all namespaces when none is
  // named); the namespaces of a resource share one store, which the reconciler reads.
  const std::vector<std::string> namespaces =
      options.watch_namespaces.empty() ? std::vector<std::string>{""} : options.watch_namespaces;
  runtime::InformerOptions gi;
  gi.resource = kube::resources::kFailoverGroups;
  gi.transform = TrimGroup;
  gi.watch_timeout_seconds = options.watch_timeout_seconds;
  gi.store = std::make_shared<runtime::Store>();
  runtime::InformerOptions pi = gi;
  pi.resource = kube::resources::kPods;
  pi.transform = TrimPod;
  pi.label_selector = options.pod_label_selector;
  pi.store = std::make_shared<runtime::Store>();
  runtime::InformerOptions si = gi;
  si.resource = kube::resources::kServices;
  si.transform = TrimService;
  si.store = std::make_shared<runtime::Store>();
  std::vector<runtime::Informer*> group_informers, pod_informers, service_informers;
  for (const std::string& ns : namespaces) {
    gi.ns = pi.ns = si.ns = ns;
    group_informers.push_back(&manager.GetInformer(gi));
    pod_informers.push_back(&manager.GetInformer(pi));
    service_informers.push_back(&manager.GetInformer(si));
  }
  runtime::Informer& groups = *group_informers.front();
  runtime::Informer& pods = *pod_informers.front();
  runtime::Informer& services = *service_informers.front();
  runtime::Informer* leases = nullptr;
  if (options.node_leases) {
    runtime::InformerOptions li = gi;
    li.store = nullptr;
    li.resource = kube::resources::kLeases;
    li.ns = kNodeLeaseNamespace;
    li.transform = TrimLease;
    leases = &manager.GetInformer(li);
  }
  runtime::Informer* nodes = nullptr;
  if (options.node_leases && !options.zone_label.empty()) {
    runtime::InformerOptions ni = gi;
    ni.store = nullptr;
    ni.resource = kube::resources::kNodes;
    ni.ns = "";
    ni.transform = [label = options.zone_label](json& node) { TrimNode(node, label); };
    nodes = &manager.GetInformer(ni);
  }

  struct ControllerRef {
    runtime::Controller* controller = nullptr;
  };
  auto ref = std::make_shared<ControllerRef>();

  GroupReconciler::Deps deps;
  deps.env = manager.options().env;
  deps.metrics_registry = manager.metrics_registry();
  deps.per_group_histograms = options.per_group_histograms;
  deps.client = manager.client();
  deps.groups = &groups.store();
  deps.pods = &pods.store();
  deps.services = &services.store();
  deps.events = &manager.events();
  deps.may_write = manager.WriteGuard();
  deps.enqueue = [ref](const std::string& key) {
    if (ref->controller) ref->controller->Enqueue(key);
  };
  deps.hook_pool = std::make_shared<runtime::WorkerPool>("hooks", options.hook_threads);
  deps.probe_pool = std::make_shared<runtime::WorkerPool>("probes", options.probe_threads);
  deps.hook_calls_per_group = options.hook_calls_per_group;
  deps.probes_per_group = options.probes_per_group;
  deps.node_leases = options.node_leases;
  deps.node_storm_share = options.node_storm_share;
  deps.node_storm_min_nodes = options.node_storm_min_nodes;
  auto reconciler = std::make_shared<GroupReconciler>(deps);
  // Once the controller's reconciles have drained: the runners stop taking calls and wait
  // for the running ones, then the pools' threads end.
  manager.AddStopStep("failover-pools", [reconciler, hooks = deps.hook_pool, probes = deps.probe_pool] {
    reconciler->Stop();
    hooks->Stop();
    probes->Stop();
  });

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
  for (auto* informer : group_informers) informer->AddEventHandler(index_handler);
  for (auto [informers, kind] : {std::pair{&pod_informers, "pod"}, std::pair{&service_informers, "svc"}}) {
    auto caught_up = std::make_shared<runtime::EventHandlerFuncs>();
    caught_up->add = [r, kind = kind](const json& obj) { r->CacheUpdated(kind, obj); };
    caught_up->update = [r, kind = kind](const json&, const json& obj) { r->CacheUpdated(kind, obj); };
    for (auto* informer : *informers) informer->AddEventHandler(caught_up);
  }
  if (leases) {
    // Renewals only move each node's deadline; the tracker re-queues the groups on a node
    // when its Lease goes overdue and when it comes back (NodeLeases).
    auto lease_handler = std::make_shared<runtime::EventHandlerFuncs>();
    lease_handler->add = [r](const json& lease) { r->node_leases().Saw(lease); };
    lease_handler->update = [r](const json&, const json& lease) { r->node_leases().Saw(lease); };
    lease_handler->del = [r](const json& obj) {
      r->node_leases().Gone(obj.value("metadata", json::object()).value("name", ""));
    };
    leases->AddEventHandler(lease_handler);
  }
  if (nodes) {
    // Zones: a node's zone label; a zone is lost while half its nodes are silent (NodeLeases).
    auto zone_of = [label = options.zone_label](const json& node) {
      const json meta = node.value("metadata", json::object());
      const json labels = meta.value("labels", json::object());
      auto it = labels.find(label);
      return std::pair{meta.value("name", ""), it != labels.end() && it->is_string() ? it->get<std::string>() : ""};
    };
    auto node_handler = std::make_shared<runtime::EventHandlerFuncs>();
    node_handler->add = [r, zone_of](const json& node) {
      auto [name, zone] = zone_of(node);
      r->node_leases().SetZone(name, zone);
    };
    // Most Node updates are the kubelet's status heartbeats: only a zone change is news.
    node_handler->update = [r, zone_of](const json& old_node, const json& node) {
      auto [name, zone] = zone_of(node);
      if (zone_of(old_node).second == zone) return;
      r->node_leases().SetZone(name, zone);
    };
    node_handler->del = [r, zone_of](const json& node) { r->node_leases().SetZone(zone_of(node).first, ""); };
    nodes->AddEventHandler(node_handler);
  }
  for (auto* informer : group_informers) controller.Watch(*informer);
  for (auto* informer : pod_informers) {
    controller.Watch(*informer, [r](const json& pod) { return r->index().GroupsForPod(pod); });
  }
  for (auto* informer : service_informers) {
    controller.Watch(*informer, [r](const json& svc) { return r->index().GroupsForService(svc); });
  }
  return reconciler;
}

}  // namespace failover
