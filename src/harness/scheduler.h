#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "kube/client.h"
#include "kube/list_watch.h"

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
// through the pods/binding subresource. Event-driven from list-watches on unscheduled
// pods and on the Node; a pod that does not fit is re-checked when it or the Node changes.
// Several schedulers (one per node agent) may race for a pod: the loser gets 409 Conflict.
// Retries wait and log lines are stamped on env's clocks.
class Scheduler {
 public:
  Scheduler(std::shared_ptr<kube::Client> client, std::string node_name, base::Env& env);
  ~Scheduler();

  // Blocks until Stop().
  void Run();
  // Thread-safe.
  void Stop();

 private:
  // Handlers of the two list-watches (on their threads); each takes mu_.
  void OnPendingPodsListed(const nlohmann::json& items);
  void OnPendingPodEvent(const kube::WatchEvent& ev);
  void OnNodeListed(const nlohmann::json& items);
  void OnNodeEvent(const kube::WatchEvent& ev);
  void TrackLocked(const nlohmann::json& pod);
  void SeenNodeLocked(const nlohmann::json& node);
  void Work();
  void Schedule(const std::string& uid);
  void MarkUnschedulable(const nlohmann::json& pod, const std::string& reason);

  std::shared_ptr<kube::Client> client_;
  std::string node_name_;
  base::Env& env_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<kube::ListWatch> pods_watch_;  // pods with no spec.nodeName
  std::unique_ptr<kube::ListWatch> node_watch_;  // this node's Node

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<nlohmann::json> node_;
  std::string node_key_;                        // the Node's scheduling-relevant fields
  std::map<std::string, nlohmann::json> pending_;  // unscheduled pods by uid
  std::set<std::string> queue_;                 // uids to (re)consider
  std::map<std::string, base::Env::SteadyTime> retry_at_;
  std::map<std::string, std::string> logged_;   // uid -> last reason logged
};

}  // namespace harness
