#include <chrono>
#include <string>

#include "base/rfc3339.h"
#include "harness/node_agent.h"
#include "harness/node_agent_internal.h"
#include "harness/node_lease.h"

// What the agent reports: a pod's status (written only when it changed), the end of a
// deletion, the status of pods without a process (virtual, unsupported images, no IP),
// the Node's status heartbeat, and the node Lease (renewed on a thread of its own).

namespace harness {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using node_agent_internal::Log;

bool NodeAgent::WriteStatus(PodRecord& rec, const PodView& view) {
  json status = RenderPodStatus(view, &rec.clock, NowRfc3339(env_));
  std::string text = status.dump();
  if (text == rec.last_written) return true;
  if (env_.Now() < rec.retry_at) return false;
  kube::PatchOptions po;
  po.subresource = "status";
  auto res = client_->Patch(kube::resources::kPods, rec.ns, rec.name, kube::PatchType::kMerge,
                            StatusPatch(rec.uid, status).dump(), po);
  if (!res.ok()) {
    if (!res.status().IsNotFound() && !res.status().IsConflict()) {
      Log(env_, "pod %s/%s: status write failed: %s", rec.ns, rec.name, res.status().ToString());
    }
    rec.retry_at = env_.Now() + milliseconds(500);
    return false;
  }
  rec.last_written = std::move(text);
  return true;
}

bool NodeAgent::FinishDeletion(PodRecord& rec) {
  if (env_.Now() - rec.delete_sent < seconds(2)) return false;
  rec.delete_sent = env_.Now();
  kube::DeleteOptions opts;
  opts.grace_period_seconds = 0;
  opts.precondition_uid = rec.uid;
  auto res = client_->Delete(kube::resources::kPods, rec.ns, rec.name, opts);
  if (res.ok() || res.status().IsNotFound() || res.status().IsConflict()) return true;
  Log(env_, "pod %s/%s: delete failed: %s", rec.ns, rec.name, res.status().ToString());
  return false;
}

void NodeAgent::SyncStaticPod(PodRecord& rec) {
  PodSpec spec;
  bool gone;
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    spec = rec.spec;
    gone = rec.gone;
  }
  if (gone) return;
  if (spec.deleting) {
    FinishDeletion(rec);
    return;
  }
  if (rec.terminal) return;
  PodView view;
  view.pod_ip = rec.pod_ip;
  view.host_ip = options_.node_ip;
  view.start_time = rec.start_time;
  std::string unsupported;
  for (const auto& c : spec.containers) {
    if (c.kind == ImageKind::kUnsupported) unsupported += (unsupported.empty() ? "" : ", ") + c.image;
  }
  bool virtual_ready = spec.ready_annotation != "false";
  for (const auto& c : spec.containers) {
    ContainerView cv;
    cv.name = c.name;
    cv.image = c.image;
    if (!rec.ip_error.empty() || !unsupported.empty()) {
      cv.state = ContainerView::State::kWaiting;
      cv.reason = rec.ip_error.empty() ? "UnsupportedImage" : "PodIPUnavailable";
      cv.message = rec.ip_error.empty()
                       ? "image " + c.image +
                             ": this node runs only failover-demo-app and failover.io/virtual images"
                       : rec.ip_error;
    } else {
      cv.state = ContainerView::State::kRunning;
      cv.started_at = rec.start_time;
      cv.started = true;
      cv.ready = virtual_ready;
    }
    view.containers.push_back(std::move(cv));
  }
  if (!rec.ip_error.empty()) {
    view.phase = "Failed";
    view.reason = "PodIPUnavailable";
    view.message = rec.ip_error;
    view.pod_ip.clear();
  } else if (!unsupported.empty()) {
    view.phase = "Failed";
    view.reason = "UnsupportedImage";
    view.message = "this node runs only failover-demo-app and failover.io/virtual images, not " +
                   unsupported;
  } else {
    view.phase = "Running";
  }
  if (!WriteStatus(rec, view)) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.push_back(rec.uid);
  }
}

void NodeAgent::HeartbeatLoop() {
  const auto& node = options_.node_name;
  bool logged = false;
  // A kubelet reports its own version, which matches the control plane's in a cluster
  // of one release: report the apiserver's, marked as the harness.
  std::string kubelet_version = "v0.0.0-failover-harness";
  if (auto v = client_->Raw("GET", "/version"); v.ok()) {
    json doc = json::parse(*v, nullptr, false);
    if (doc.is_object() && doc.contains("gitVersion") && doc["gitVersion"].is_string()) {
      kubelet_version = doc["gitVersion"].get<std::string>() + "-failover-harness";
    }
  }
  while (!stopping_) {
    auto got = client_->Get(kube::resources::kNodes, "", node);
    if (!got.ok() && got.status().IsNotFound()) {
      json obj = {{"apiVersion", "v1"},
                  {"kind", "Node"},
                  {"metadata",
                   {{"name", node},
                    {"labels", {{"kubernetes.io/hostname", node}, {"kubernetes.io/os", "linux"}}}}},
                  {"spec", {{"podCIDR", options_.pod_cidr}, {"podCIDRs", {options_.pod_cidr}}}}};
      auto created = client_->Create(kube::resources::kNodes, "", obj);
      if (!created.ok() && !created.status().IsAlreadyExists()) {
        Log(env_, "create node %s: %s", node, created.status().ToString());
      }
    }
    const std::string now = NowRfc3339(env_);
    std::string since = now;
    if (got.ok()) {
      for (const auto& c : (*got).value("status", json::object()).value("conditions", json::array())) {
        if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
          since = c.value("lastTransitionTime", now);
        }
      }
    }
    json status = {
        {"conditions",
         json::array({{{"type", "Ready"},
                       {"status", "True"},
                       {"reason", "KubeletReady"},
                       {"message", "failover-node-agent is posting ready status"},
                       {"lastHeartbeatTime", now},
                       {"lastTransitionTime", since}}})},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", options_.node_ip}},
                                   {{"type", "Hostname"}, {"address", node}}})},
        {"capacity", {{"pods", "100000"}, {"cpu", "64"}, {"memory", "256Gi"}}},
        {"allocatable", {{"pods", "100000"}, {"cpu", "64"}, {"memory", "256Gi"}}},
        {"nodeInfo",
         {{"kubeletVersion", kubelet_version},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"},
          {"containerRuntimeVersion", "failover-node-agent://1"},
          {"kernelVersion", ""},
          {"osImage", ""},
          {"machineID", ""},
          {"systemUUID", ""},
          {"bootID", ""}}}};
    kube::PatchOptions po;
    po.subresource = "status";
    auto res = client_->Patch(kube::resources::kNodes, "", node, kube::PatchType::kMerge,
                              json{{"status", status}}.dump(), po);
    if (!res.ok() && !logged) {
      Log(env_, "node %s status: %s", node, res.status().ToString());
      logged = true;
    }
    // The apiserver taints a new Node not-ready; the node lifecycle controller, which does
    // not run here, lifts the taint once the Node is Ready. This node is, so lift it.
    if (got.ok() && res.ok()) {
      json kept = json::array();
      bool tainted = false;
      for (const auto& t : (*got).value("spec", json::object()).value("taints", json::array())) {
        if (t.value("key", "") == "node.kubernetes.io/not-ready" && t.value("effect", "") == "NoSchedule") {
          tainted = true;
        } else {
          kept.push_back(t);
        }
      }
      if (tainted) {
        json patch = {{"metadata", {{"resourceVersion", (*res)["metadata"].value("resourceVersion", "")}}},
                      {"spec", {{"taints", kept.empty() ? json(nullptr) : kept}}}};
        auto lifted = client_->Patch(kube::resources::kNodes, "", node, kube::PatchType::kMerge, patch.dump());
        if (lifted.ok()) {
          Log(env_, "node %s: lifted the node.kubernetes.io/not-ready taint (the node is Ready)", node);
        } else if (!lifted.status().IsConflict()) {
          Log(env_, "node %s: lifting the not-ready taint: %s", node, lifted.status().ToString());
        }
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    env_.WaitFor(lock, cv_, seconds(10), [this] { return stopping_.load(); });
  }
}

void NodeAgent::LeaseLoop() {
  const auto& node = options_.node_name;
  std::string node_uid;
  std::string last_error;
  while (!stopping_) {
    // The Node's uid, for the Lease's owner reference (the Node may not be created yet).
    if (node_uid.empty()) {
      if (auto got = client_->Get(kube::resources::kNodes, "", node); got.ok()) {
        node_uid = (*got).value("metadata", json::object()).value("uid", "");
      }
    }
    bool renewed = false;
    std::string error;
    for (int attempt = 0; attempt < kNodeLeaseUpdateAttempts && !renewed && !stopping_; ++attempt) {
      const std::string now = base::FormatRfc3339(std::chrono::time_point_cast<base::WallTime::duration>(env_.WallNow()), base::Fraction::kMicros);
      auto current = client_->Get(kube::resources::kLeases, kNodeLeaseNamespace, node);
      if (!current.ok() && !current.status().IsNotFound()) {
        error = current.status().ToString();
        continue;
      }
      kube::Result<json> written =
          current.ok()
              ? client_->Update(kube::resources::kLeases, kNodeLeaseNamespace,
                                NodeLeaseRenewal(*current, node, node_uid, now))
              : client_->Create(kube::resources::kLeases, kNodeLeaseNamespace,
                                NodeLeaseRenewal(json(), node, node_uid, now));
      renewed = written.ok();
      if (!renewed) error = written.status().ToString();
    }
    if (!renewed && error != last_error) Log(env_, "node %s: renewing its Lease: %s", node, error);
    last_error = renewed ? "" : error;
    std::unique_lock<std::mutex> lock(mu_);
    env_.WaitFor(lock, cv_, kNodeLeaseRenewInterval, [this] { return stopping_.load(); });
  }
}

}  // namespace harness
