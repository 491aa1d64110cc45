#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/timeline.h"
#include "failover/engine.h"
#include "failover/gather.h"
#include "failover/group_index.h"
#include "failover/plan_executor.h"
#include "failover/recent_writes.h"
#include "failover/failover_metrics.h"
#include "failover/hook_client.h"
#include "failover/member_prober.h"
#include "failover/node_leases.h"
#include "kube/client.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/store.h"
#include "runtime/worker_pool.h"

namespace failover {

// Bulkhead: `workers` reconciles run at once, one per group at most; every API request has
// the client's timeout, and a failing write backs off only its own group. Hooks never run
// on a worker: they run on `hook_threads` threads of their own, a plan waiting on a hook
// returns its worker at once and is re-queued when the hook ends, so a hanging hook costs
// one hook thread for at most (retries + 1) x timeout, and other groups' switches (which
// do not call hooks, or call other URLs) go on. Probes run on `probe_threads` threads.
// Both pools are bounded per group: at most hook_calls_per_group calls and
// probes_per_group probes of one group are on its pool at once (the rest wait their turn
// in the group's own queue), so a group whose hook or probe endpoint hangs holds that
// many threads at most and the other groups' calls and probes go on (0 = unbounded).
struct ReconcilerOptions {
  // The namespaces whose FailoverGroups, Pods and Services are watched; empty = all. More
  // than one: an informer per namespace and resource, the namespaces' objects in one store.
  std::vector<std::string> watch_namespaces;
  // A label selector the pod list/watch carries (server-side): only matching pods are cached,
  // so a member's pods must match it. "" = every pod of the watched namespaces.
  std::string pod_label_selector;
  int workers = 4;
  int hook_threads = 4;
  int probe_threads = 4;
  int hook_calls_per_group = 2;
  int probes_per_group = 2;
  // The server-side timeout of the informers' watches (InformerOptions); 0 = kube's default.
  int watch_timeout_seconds = 0;
  // The latency histograms per group (FailoverMetrics), not per namespace.
  bool per_group_histograms = false;
  // Watch the nodes' Leases (kube-node-lease) for detection.nodeLeaseTimeout; false: no
  // node verdicts (readiness only), for an installation without rights on those Leases.
  bool node_leases = true;
  // The node-storm hold (NodeLeases::Options): the share of nodes, and the least number,
  // silent at once that holds node-lease verdicts; share 0 = never.
  double node_storm_share = 0.55;
  int node_storm_min_nodes = 3;
  // The Node label that names a node's zone (NodeLeases' zones); "" = no zones (and no
  // watch on Nodes). Needs node_leases.
  std::string zone_label = "topology.kubernetes.io/zone";
};

// Reconciles FailoverGroups: reads the group from the informer cache (or this process's
// newer write of it), gathers its pods and Services (gather.h) with the member probe
// verdicts, asks the decision engine for a plan and hands it to the PlanExecutor. When
// every failure of the failed stage is a conflict (409), the group is re-read from the
// apiserver and decided again; any other failure retries with backoff. Hooks run on their
// own pool (HookRunner), so a plan waiting on a hook frees its worker and resumes when the
// hook ends. Metrics are recorded once the whole plan succeeded.
class GroupReconciler : public runtime::Reconciler {
 public:
  struct Deps {
    std::shared_ptr<kube::Client> client;
    runtime::Store* groups = nullptr;
    runtime::Store* pods = nullptr;
    runtime::Store* services = nullptr;
    runtime::EventRecorder* events = nullptr;
    std::function<bool()> may_write;                 // leader-election guard
    std::function<void(const std::string&)> enqueue;  // re-queues a group key
    // The clocks of the reconciler and its parts (hooks, probes, recent writes); now,
    // when unset, is a base::Timeline on env in ms (the wall clock, immune to its steps).
    base::Env* env = &base::RealEnv();
    std::function<Time()> now;
    // Where hook calls and member probes run; made and sized by the wiring (the
    // reconciler starts no threads of its own). Required.
    std::shared_ptr<runtime::WorkerPool> hook_pool;
    std::shared_ptr<runtime::WorkerPool> probe_pool;
    // Per-group bounds on those pools (ReconcilerOptions); 0 = unbounded.
    int hook_calls_per_group = 2;
    int probes_per_group = 2;
    // Where the failover_group_* families go (FailoverMetrics): the registry the manager
    // serves. Null = a registry of the reconciler's own, that nothing serves.
    std::shared_ptr<prometheus::Registry> metrics_registry = nullptr;
    bool per_group_histograms = false;  // ReconcilerOptions::per_group_histograms
    // Node-lease detection (detection.nodeLeaseTimeout): the Leases are fed to node_leases()
    // by the wiring and read live through `client` when they look expired; a node that goes
    // overdue or comes back re-queues the groups on it (through `enqueue`). false: no node
    // verdicts.
    bool node_leases = false;
    double node_storm_share = 0.55;  // ReconcilerOptions::node_storm_share
    int node_storm_min_nodes = 3;
  };

  explicit GroupReconciler(Deps deps);
  ~GroupReconciler() override;

  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request& request) override;

  GroupIndex& index() { return index_; }
  NodeLeases& node_leases() { return *node_leases_; }
  // An informer delivered this pod, Service or FailoverGroup (kind "pod", "svc", "fg"):
  // what this process remembers writing to it is dropped once the cache caught up.
  void CacheUpdated(const char* kind, const nlohmann::json& obj);
  void Stop();

 private:
  void UpdateProbes(const std::string& key, const Spec& spec, bool spec_ok, const Observed& observed);
  // Tells NodeLeases which nodes the group's pods run on (none once it is invalid or
  // being deleted), so the group is re-queued when one of them goes overdue or comes back.
  void TrackNodes(const std::string& key, const Spec& spec, bool spec_ok, const Observed& observed);
  void EmitEvent(const nlohmann::json& group, const Event& event);
  // Logs once per change of 2 s or more how far the wall clock is from the timeline.
  void WarnOfClockStep(std::chrono::nanoseconds offset);

  Deps deps_;
  std::unique_ptr<base::Timeline> timeline_;  // deps_.now unless the caller gave one
  std::atomic<int64_t> reported_clock_offset_{0};
  runtime::Logger log_;
  RecentWrites recent_;
  GroupIndex index_;
  FailoverMetrics metrics_;
  HookClient hook_client_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<MemberProber> prober_;
  std::unique_ptr<PlanExecutor> executor_;
  std::unique_ptr<NodeLeases> node_leases_;
  bool storm_logged_ = false;  // the hold the log last said (NodeLeases' timer thread only)
  int zones_logged_ = 0;       // the lost zones the log last counted (the same thread)
};

// Wires the FailoverGroup controller into a manager: informers on FailoverGroups, Pods
// and Services (in one namespace or all) and, with options.node_leases, on the Leases in
// kube-node-lease (a node whose Lease goes overdue, or comes back, re-queues the groups with
// pods on it), the reverse index from pods and Services to groups, and a controller with options.workers workers; the failover_group_* metrics go
// to the manager's registry (Manager::metrics_registry()).
std::shared_ptr<GroupReconciler> SetupFailoverController(runtime::Manager& manager,
                                                         const ReconcilerOptions& options);

}  // namespace failover
