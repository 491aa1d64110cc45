#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "harness/pod_ip_allocator.h"
#include "harness/pod_status.h"
#include "harness/probe.h"
#include "kube/client.h"
#include "kube/list_watch.h"

namespace harness {

// Image repositories the agent knows how to run.
enum class ImageKind {
  kDemoApp,      // repository ends in "failover-demo-app": runs the demo app binary
  kVirtual,      // "failover.io/virtual": no process; Ready follows kReadyAnnotation
  kUnsupported,  // anything else
};
ImageKind ClassifyImage(const std::string& image);

// On pods with virtual containers: "true" (default) or "false" sets their readiness.
inline constexpr const char* kReadyAnnotation = "harness.failover.io/ready";

// The parts of a container spec the agent acts on.
struct ContainerSpec {
  std::string name;
  std::string image;
  ImageKind kind = ImageKind::kUnsupported;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, nlohmann::json>> env;  // name -> EnvVar JSON
  int port = 8080;
  std::optional<ProbeSpec> readiness;
  std::optional<ProbeSpec> liveness;
  std::string probe_error;
  // From the pod's existing status: a container that ran before (under an earlier agent)
  // counts its next start as a restart.
  std::optional<int> status_restart_count;
};

// The parts of a pod the agent acts on (kept small: thousands of pods may be bound).
struct PodSpec {
  std::string uid;
  std::string ns;
  std::string name;
  std::string restart_policy = "Always";
  int64_t termination_grace_seconds = 30;
  bool deleting = false;
  std::optional<int64_t> deletion_grace_seconds;
  std::string ready_annotation;
  std::vector<ContainerSpec> containers;
  // From the existing status, so an agent restart keeps IPs and transition times.
  std::string status_pod_ip;
  std::string status_start_time;
  std::string status_phase;
  nlohmann::json status_conditions;
};

// Extracts a PodSpec from a Pod object.
PodSpec ParsePod(const nlohmann::json& pod);

// Environment for a demo-app container: POD_NAME, POD_NAMESPACE, POD_IP, PORT,
// HOSTNAME, PATH, then the container's env (value, or valueFrom.fieldRef for
// metadata.name/namespace/uid, status.podIP, status.hostIP, spec.nodeName).
std::vector<std::string> ContainerEnv(const PodSpec& pod, const ContainerSpec& c,
                                      const std::string& pod_ip, const std::string& host_ip,
                                      const std::string& node_name);

struct NodeAgentOptions {
  std::string node_name;
  std::string node_ip;
  std::string pod_cidr;
  std::string state_dir;      // logs and pid files: <state_dir>/pods/<ns>_<name>_<uid>/
  std::string demo_app_path;  // the failover-demo-app binary
  bool register_node = true;  // create the Node if missing and heartbeat it
  bool schedule = false;      // bind unscheduled pods that fit this node (harness::Scheduler)
};

// The kubelet stand-in for one node: runs the pods bound to it as local processes,
// probes them and reports their status. Its timers, waits and timestamps are env's
// (and so are its scheduler's). Run() blocks until Stop().
class NodeAgent {
 public:
  NodeAgent(std::shared_ptr<kube::Client> client, NodeAgentOptions options,
            PodIPAllocator allocator, base::Env& env);
  ~NodeAgent();

  void Run();
  // Thread-safe; kills every workload process before Run() returns.
  void Stop();

 private:
  struct PodRecord;
  struct ContainerRuntime;

  // A list of this node's pods replaced everything: pods not in it are gone.
  void OnPodsListed(const nlohmann::json& items);
  void OnPod(const nlohmann::json& pod);
  void OnPodGone(const std::string& uid);
  void SyncLoop();
  void SyncStaticPod(PodRecord& rec);
  void PodWorker(std::shared_ptr<PodRecord> rec);
  void HeartbeatLoop();
  // Renews the node's Lease every 10 s as the kubelet does (node_lease.h), on a thread of
  // its own so a slow status write never delays it.
  void LeaseLoop();
  bool WriteStatus(PodRecord& rec, const PodView& view);
  bool FinishDeletion(PodRecord& rec);
  std::string PodDir(const PodRecord& rec) const;

  std::shared_ptr<kube::Client> client_;
  NodeAgentOptions options_;
  base::Env& env_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<kube::ListWatch> pod_watch_;  // pods bound to this node

  std::mutex mu_;
  std::condition_variable cv_;
  PodIPAllocator allocator_;
  std::map<std::string, std::shared_ptr<PodRecord>> pods_;  // by uid
  std::vector<std::string> dirty_;                          // static pods to sync
};

}  // namespace harness
