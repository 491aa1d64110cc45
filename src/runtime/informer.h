#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/env.h"
#include "kube/client.h"
#include "kube/list_watch.h"
#include "runtime/backoff.h"
#include "runtime/event_handler.h"
#include "runtime/logger.h"
#include "runtime/store.h"

namespace prometheus {
class Counter;
class Gauge;
}

namespace runtime {

class RuntimeMetrics;

// What one informer watches.
struct InformerOptions {
  kube::Resource resource;
  std::string ns;              // empty = all namespaces (or cluster-scoped)
  std::string label_selector;  // server-side scoping
  std::string field_selector;
  int64_t page_size = 500;     // list page size (limit/continue)
  // Every resync_period, handlers get OnUpdate(obj, obj) for every cached object.
  std::chrono::milliseconds resync_period{0};  // 0 = off (the default)
  BackoffOptions backoff;      // between failed lists/watches
  // The server-side timeout of each watch; a watch still open kube::kWatchGrace after it
  // is cut as silent. 0 = at random in [kube::kWatchTimeoutMin, kWatchTimeoutMax] seconds.
  int watch_timeout_seconds = 0;
  // Applied to every listed and watched object before it is cached and handed to handlers
  // (controller-runtime's cache transform): drop what no handler reads to keep memory small.
  std::function<void(json&)> transform;
  // The clock of the resync period, the backoff and WaitForSync's deadline.
  base::Env* env = &base::RealEnv();
  // Where re-lists are counted (failover_operator_informer_relists_total{resource});
  // null = not counted (relists() still is). The manager passes its own.
  std::shared_ptr<RuntimeMetrics> metrics = nullptr;
  // The store to keep in step; null = a store of the informer's own. Informers of one
  // resource in different namespaces (ns set) may share one: each lists, re-lists, deletes
  // and resyncs only its own namespace's objects in it, so readers see one cache of the
  // watched namespaces (controller-runtime's multi-namespace cache, one store).
  std::shared_ptr<Store> store;
};

// Keeps a Store in step with the apiserver (client-go's shared informer) over a
// kube::ListWatch: a paginated list, then a watch from the list's resourceVersion. A
// dropped watch resumes from the last resourceVersion seen (bookmarks included); 410
// Expired causes a re-list whose differences from the store are delivered as adds,
// updates and deletes, so handlers never miss a deletion. Errors back off with jitter.
// Handlers run on the informer's thread, one at a time.
class Informer {
 public:
  Informer(std::shared_ptr<kube::Client> client, InformerOptions options);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start(): handlers added later miss the initial adds.
  void AddEventHandler(std::shared_ptr<EventHandler> handler);

  void Start();
  // Stops promptly (cancels the running watch) and joins the thread.
  void Stop();

  // True once the first list has been stored and delivered.
  bool HasSynced() const { return synced_.load(); }
  // Waits until synced or the deadline; true when synced.
  bool WaitForSync(Clock::time_point deadline) const;

  Store& store() { return *store_; }
  const Store& store() const { return *store_; }
  const InformerOptions& options() const { return options_; }
  // The last resourceVersion seen (bookmarks included); "" until a Start()'s first list.
  std::string LastResourceVersion() const;
  // Full lists done after the first one.
  int64_t relists() const { return relists_.load(); }
  // Asked by a handler: true while the change it is handed is a replay of what was there
  // already (the first list's adds, a periodic resync), not a change seen happening. A
  // controller queues those keys behind the ones with news (WorkQueue::AddFollowUp).
  bool Replaying() const { return replaying_.load(std::memory_order_relaxed); }
  // Watches cut as silent (ListWatchError::kWatchStalled).
  int64_t watch_stalls() const { return watch_stalls_.load(); }

 private:
  void ResyncLoop();
  // Reconciles the store with a full list and delivers the differences.
  void OnList(json& items, const std::string& resource_version);
  void OnWatchEvent(kube::WatchEvent& ev);
  void OnListWatchError(const kube::ListWatchError& error);
  bool SleepFor(std::chrono::milliseconds d);  // false when stopping

  void DispatchAdd(const json& obj, bool replay = false);
  void DispatchUpdate(const json& old_obj, const json& new_obj, bool replay = false);
  void DispatchDelete(const json& obj);

  std::shared_ptr<kube::Client> client_;
  InformerOptions options_;
  Logger log_;
  std::shared_ptr<Store> store_;

  std::mutex handlers_mu_;
  std::vector<std::shared_ptr<EventHandler>> handlers_;
  std::atomic<bool> replaying_{false};  // set under handlers_mu_ for one dispatch

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  // A fresh loop per Start(); kept after Stop() for LastResourceVersion().
  std::unique_ptr<kube::ListWatch> list_watch_;
  bool stopping_ = false;

  std::atomic<bool> synced_{false};
  std::atomic<int64_t> relists_{0};
  int64_t lists_ = 0;
  prometheus::Counter* relist_counter_ = nullptr;
  std::atomic<int64_t> watch_stalls_{0};
  prometheus::Counter* stall_counter_ = nullptr;
  prometheus::Gauge* objects_gauge_ = nullptr;  // the store's size (shared: the same series)
  void CountObjects();
  std::thread thread_;
  std::thread resync_thread_;
};

}  // namespace runtime
