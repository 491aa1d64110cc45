#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/client.h"

namespace harness {

// True when a pod waits for the default scheduler: no spec.nodeName, spec.schedulerName
// empty or "default-scheduler", not being deleted and not terminal.
bool WantsScheduling(const nlohmann::json& pod);

// Why `pod` cannot be bound to `node`, or nullopt when it fits. Honoured: every container
// image is one the node agent runs; spec.nodeSelector; required node affinity
// (matchExpressions on labels with In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields on
// metadata.name); NoSchedule/NoExecute taints and spec.unschedulable against tolerations.
// Required pod (anti-)affinity cannot be honoured here, so such a pod does not fit.
// Resource requests, preferred terms and topology spread constraints are ignored.
std::optional<std::string> UnschedulableReason(const nlohmann::json& pod,
                                               const nlohmann::json& node);

// The binding a scheduler posts to pods/<name>/binding (uid as a precondition).
nlohmann::json PodBinding(const nlohmann::json& pod, const std::string& node_name);

// A minimal kube-scheduler for one node: binds each unscheduled pod that fits the node
// through the pods/binding subresource. Event-driven from a watch on unscheduled pods
// and on the Node; a pod that does not fit is re-checked when it or the Node changes.
// Several schedulers (one per node agent) may race for a pod: the loser gets 409 Conflict.
class Scheduler {
 public:
  Scheduler(std::shared_ptr<kube::Client> client, std::string node_name);
  ~Scheduler();

  // Blocks until Stop().
  void Run();
  // Thread-safe.
  void Stop();

 private:
  // Lists, then watches `res` under `field_selector` until Stop(), relisting after an
  // expired watch; on_list gets each list's items, on_event each watch event.
  void ListWatch(const kube::Resource& res, const std::string& field_selector,
                 kube::WatchCancel** cancel_slot,
                 const std::function<void(const nlohmann::json&)>& on_list,
                 const std::function<void(kube::WatchEvent&)>& on_event);
  void WatchPendingPods();
  void WatchNode();
  void Work();
  void Schedule(const std::string& uid);
  void MarkUnschedulable(const nlohmann::json& pod, const std::string& reason);
  void Sleep(std::chrono::milliseconds d);

  std::shared_ptr<kube::Client> client_;
  std::string node_name_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  kube::WatchCancel* pod_cancel_ = nullptr;
  kube::WatchCancel* node_cancel_ = nullptr;
  std::optional<nlohmann::json> node_;
  std::string node_key_;                        // the Node's scheduling-relevant fields
  std::map<std::string, nlohmann::json> pending_;  // unscheduled pods by uid
  std::set<std::string> queue_;                 // uids to (re)consider
  std::map<std::string, std::chrono::steady_clock::time_point> retry_at_;
  std::map<std::string, std::string> logged_;   // uid -> last reason logged
};

}  // namespace harness
