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
// otherwise redo writes or compute a status from an older one). An entry is dropped as
// soon as the cache shows the same resourceVersion or a newer one (Observe, called from
// the informers' event handlers, or Resolve; resourceVersions are compared as numbers when
// both are, as etcd's are, otherwise only equality counts), when the cache no longer has
// the object, or once older than `ttl` (swept on every call at most once per ttl). The
// caller stores what the cache would hold (the trimmed object), so that an entry costs no
// more than a cached object and a steady state holds none. Thread-safe.
class RecentWrites {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RecentWrites(std::chrono::milliseconds ttl = std::chrono::seconds(10),
                        std::function<Clock::time_point()> now = Clock::now)
      : ttl_(ttl), now_(std::move(now)), last_sweep_(now_()) {}

  void Remember(const std::string& key, nlohmann::json obj);
  // The fresher of the cached object and what this process wrote.
  runtime::ObjectPtr Resolve(const std::string& key, runtime::ObjectPtr cached);
  // The cache now holds `cached` for this key: the entry goes if the cache caught up.
  void Observe(const std::string& key, const nlohmann::json& cached);
  void Forget(const std::string& key);
  size_t size();

 private:
  struct Entry {
    runtime::ObjectPtr obj;
    Clock::time_point at;
  };
  void SweepLocked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  std::function<Clock::time_point()> now_;
  std::mutex mu_;
  Clock::time_point last_sweep_;
  std::map<std::string, Entry> entries_;
};

// Which groups care about which pods and Services: the reverse index that turns a pod or
// Service watch event into the keys of the groups to reconcile. Thread-safe.
//
// A pod event must not cost a scan of every group in the namespace (10,000 groups times
// 30,000 pods at the first list): each member selector is filed under one of its
// matchLabels pairs (whichever pair has the fewest selectors filed under it when the group
// is filed), so a pod's candidates are the selectors filed under one of its own labels,
// plus the few selectors made of matchExpressions alone. Services are filed by name.
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
    std::vector<LabelSelector> selectors;
    std::vector<std::string> filed_under;  // per selector: its "key=value", "" = unindexed
    std::set<std::string> services;
  };
  struct NsIndex {
    std::map<std::string, Entry> groups;                         // key -> entry
    std::map<std::string, std::map<std::string, int>> by_label;  // "k=v" -> key -> selectors
    std::map<std::string, int> unindexed;                        // key -> selectors
    std::map<std::string, std::set<std::string>> by_service;     // Service -> keys
  };
  void RemoveLocked(NsIndex& ns, const std::string& key);

  mutable std::mutex mu_;
  std::map<std::string, NsIndex> by_ns_;
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
  // An informer delivered this pod, Service or FailoverGroup (kind "pod", "svc", "fg"):
  // what this process remembers writing to it is dropped once the cache caught up.
  void CacheUpdated(const char* kind, const nlohmann::json& obj);
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
