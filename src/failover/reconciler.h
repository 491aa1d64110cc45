#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "failover/engine.h"
#include "failover/failover_metrics.h"
#include "failover/hook_client.h"
#include "failover/member_prober.h"
#include "kube/client.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/store.h"

namespace failover {

// Objects this process wrote, kept until the informer cache has caught up with them, so
// that a reconcile right after a write reads its own writes (a stale cache would
// otherwise redo writes or compute a status from an older one). An entry is dropped when
// the cache shows the same resourceVersion or a newer one (resourceVersions are
// compared as numbers when both are, as etcd's are; otherwise only equality counts), when
// the cache no longer has the object, or after `ttl`. Thread-safe.
class RecentWrites {
 public:
  explicit RecentWrites(std::chrono::milliseconds ttl = std::chrono::seconds(10)) : ttl_(ttl) {}

  void Remember(const std::string& key, const nlohmann::json& obj);
  // The fresher of the cached object and what this process wrote.
  runtime::ObjectPtr Resolve(const std::string& key, runtime::ObjectPtr cached);
  void Forget(const std::string& key);

 private:
  struct Entry {
    runtime::ObjectPtr obj;
    std::chrono::steady_clock::time_point at;
  };
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// Which groups care about which pods and Services: the reverse index that turns a pod or
// Service watch event into the keys of the groups to reconcile. Thread-safe.
class GroupIndex {
 public:
  // Files (or refiles) a group from its object; a spec that does not parse is filed with
  // whatever parsed.
  void Upsert(const nlohmann::json& group);
  void Remove(const std::string& key);
  // Groups whose member selectors select the pod, plus the group its failover.io/group
  // label names.
  std::vector<std::string> GroupsForPod(const nlohmann::json& pod) const;
  // Groups that list the Service in spec.services.
  std::vector<std::string> GroupsForService(const nlohmann::json& service) const;

 private:
  struct Entry {
    std::string ns;
    std::string name;
    std::vector<LabelSelector> selectors;
    std::set<std::string> services;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Entry>> by_ns_;  // ns -> key -> entry
};

// Bulkhead: `workers` reconciles run at once, one per group at most; every API request has
// the client's timeout, and a failing write backs off only its own group. Hooks never run
// on a worker: they run on `hook_threads` threads of their own, a plan waiting on a hook
// returns its worker at once and is re-queued when the hook ends, so a hanging hook costs
// one hook thread for at most (retries + 1) x timeout, and other groups' switches (which
// do not call hooks, or call other URLs) go on. Probes run on `probe_threads` threads.
struct ReconcilerOptions {
  std::string watch_namespace;  // "" = all namespaces
  int workers = 4;
  int hook_threads = 4;
  int probe_threads = 4;
};

// Reconciles FailoverGroups: reads the group, its pods and Services from the informer
// caches (plus this process's own recent writes and the member probe verdicts), asks the
// decision engine for a plan and applies it stage by stage: the writes of a stage are
// issued at once (one thread each; the kube client is shared, it is thread-safe) and all
// are waited for; the plan stops after a stage in which one failed. Every write is checked
// against the leader-election guard first. When every failure of that stage is a
// conflict (409), the group is re-read from the apiserver and decided again; any other
// failure retries with backoff. Hooks run on their own pool (HookRunner), so a plan
// waiting on a hook frees its worker and resumes when the hook ends. Events are emitted
// once the writes before them succeeded (checked at the end of each stage; an if_stopped
// Event only when the plan stops early); metrics once the whole plan succeeded.
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
    std::function<Time()> now;                        // wall clock (ms)
    int hook_threads = 4;
    int probe_threads = 4;
  };

  explicit GroupReconciler(Deps deps);
  ~GroupReconciler() override;

  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request& request) override;

  GroupIndex& index() { return index_; }
  void Stop();

 private:
  struct Applied {
    kube::Status status;
    bool conflict = false;      // re-read and decide again
    bool waiting_hook = false;  // stopped at a running hook
  };
  Observed Gather(const std::string& ns, const std::string& name, const Spec& spec, bool spec_ok);
  Applied Apply(const nlohmann::json& group, const Plan& plan, const std::string& key);
  kube::Status ApplyWrite(const Write& write, const std::string& ns, const std::string& name,
                          std::string* group_rv, std::optional<Time>* switch_started,
                          const nlohmann::json& group, bool* waiting_hook);
  kube::Result<nlohmann::json> GetGroupLive(const std::string& ns, const std::string& name);
  void UpdateProbes(const std::string& key, const Spec& spec, bool spec_ok, const Observed& observed);
  void EmitEvent(const nlohmann::json& group, const Event& event);

  Deps deps_;
  runtime::Logger log_;
  RecentWrites recent_;
  GroupIndex index_;
  FailoverMetrics metrics_;
  HookClient hook_client_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<MemberProber> prober_;
};

// Wires the FailoverGroup controller into a manager: informers on FailoverGroups, Pods
// and Services (in one namespace or all), the reverse index from pods and Services to
// groups, and a controller with options.workers workers.
std::shared_ptr<GroupReconciler> SetupFailoverController(runtime::Manager& manager,
                                                         const ReconcilerOptions& options);

}  // namespace failover
