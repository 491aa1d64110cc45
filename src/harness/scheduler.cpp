#include "harness/scheduler.h"

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "harness/list_watch_options.h"
#include "harness/node_agent.h"
#include "harness/pod_status.h"

namespace harness {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

void Log(const base::Env& env, const std::string& line) {
  std::fputs((NowRfc3339(env) + " scheduler: " + line + "\n").c_str(), stderr);
}

const json& Field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string Str(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::string PodKey(const json& pod) {
  const json& meta = Field(pod, "metadata");
  return Str(meta, "namespace") + "/" + Str(meta, "name");
}

bool ParseInt(const std::string& s, long long* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// One NodeSelectorRequirement against a value that may be absent.
bool RequirementMatches(const json& req, const std::optional<std::string>& value) {
  const std::string op = Str(req, "operator");
  std::vector<std::string> values;
  for (const auto& v : Field(req, "values").is_array() ? Field(req, "values") : json::array()) {
    if (v.is_string()) values.push_back(v.get<std::string>());
  }
  auto listed = [&] {
    for (const auto& v : values) {
      if (value && *value == v) return true;
    }
    return false;
  };
  if (op == "In") return value.has_value() && listed();
  if (op == "NotIn") return !value.has_value() || !listed();
  if (op == "Exists") return value.has_value();
  if (op == "DoesNotExist") return !value.has_value();
  if (op == "Gt" || op == "Lt") {
    long long have = 0;
    long long want = 0;
    if (!value || values.size() != 1 || !ParseInt(*value, &have) || !ParseInt(values[0], &want)) {
      return false;
    }
    return op == "Gt" ? have > want : have < want;
  }
  return false;
}

std::optional<std::string> Label(const json& node, const std::string& key) {
  const json& labels = Field(Field(node, "metadata"), "labels");
  const json& v = Field(labels, key.c_str());
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

// A NodeSelectorTerm: all its requirements hold; an empty term matches no node.
bool TermMatches(const json& term, const json& node) {
  const json& exprs = Field(term, "matchExpressions");
  const json& fields = Field(term, "matchFields");
  bool any = false;
  if (exprs.is_array()) {
    for (const auto& req : exprs) {
      any = true;
      if (!RequirementMatches(req, Label(node, Str(req, "key")))) return false;
    }
  }
  if (fields.is_array()) {
    for (const auto& req : fields) {
      any = true;
      if (Str(req, "key") != "metadata.name") return false;
      if (!RequirementMatches(req, Str(Field(node, "metadata"), "name"))) return false;
    }
  }
  return any;
}

bool Tolerates(const json& toleration, const json& taint) {
  const std::string effect = Str(toleration, "effect");
  if (!effect.empty() && effect != Str(taint, "effect")) return false;
  const std::string key = Str(toleration, "key");
  const std::string op = Str(toleration, "operator").empty() ? "Equal" : Str(toleration, "operator");
  if (key.empty()) return op == "Exists";
  if (key != Str(taint, "key")) return false;
  if (op == "Exists") return true;
  return op == "Equal" && Str(toleration, "value") == Str(taint, "value");
}

// The Node's fields scheduling depends on; a change of these re-checks pending pods.
std::string SchedulingKey(const json& node) {
  return json{{"labels", Field(Field(node, "metadata"), "labels")},
              {"taints", Field(Field(node, "spec"), "taints")},
              {"unschedulable", Field(Field(node, "spec"), "unschedulable")}}
      .dump();
}

}  // namespace

bool WantsScheduling(const json& pod) {
  const json& meta = Field(pod, "metadata");
  const json& spec = Field(pod, "spec");
  if (!Str(spec, "nodeName").empty()) return false;
  const std::string scheduler = Str(spec, "schedulerName");
  if (!scheduler.empty() && scheduler != "default-scheduler") return false;
  if (!Field(meta, "deletionTimestamp").is_null()) return false;
  const std::string phase = Str(Field(pod, "status"), "phase");
  return phase != "Succeeded" && phase != "Failed";
}

std::optional<std::string> UnschedulableReason(const json& pod, const json& node) {
  const json& spec = Field(pod, "spec");
  std::string unsupported;
  const json& containers = Field(spec, "containers");
  for (const auto& c : containers.is_array() ? containers : json::array()) {
    if (ClassifyImage(Str(c, "image")) == ImageKind::kUnsupported) {
      unsupported += (unsupported.empty() ? "" : ", ") + Str(c, "image");
    }
  }
  if (!unsupported.empty()) {
    return "node(s) run only failover-demo-app and failover.io/virtual images, not " + unsupported;
  }
  const json& selector = Field(spec, "nodeSelector");
  if (selector.is_object()) {
    for (const auto& [key, want] : selector.items()) {
      auto have = Label(node, key);
      if (!have || !want.is_string() || *have != want.get<std::string>()) {
        return "node(s) didn't match Pod's node affinity/selector (nodeSelector " + key + ")";
      }
    }
  }
  const json& affinity = Field(spec, "affinity");
  const json& required = Field(Field(Field(affinity, "nodeAffinity"),
                                     "requiredDuringSchedulingIgnoredDuringExecution"),
                               "nodeSelectorTerms");
  if (required.is_array()) {
    bool matched = false;
    for (const auto& term : required) matched = matched || TermMatches(term, node);
    if (!matched) return std::string("node(s) didn't match Pod's node affinity/selector");
  }
  for (const char* kind : {"podAffinity", "podAntiAffinity"}) {
    const json& terms = Field(Field(affinity, kind), "requiredDuringSchedulingIgnoredDuringExecution");
    if (terms.is_array() && !terms.empty()) {
      return std::string("required ") + kind + " is not supported by the harness scheduler";
    }
  }
  json taints = Field(Field(node, "spec"), "taints").is_array() ? Field(Field(node, "spec"), "taints")
                                                                : json::array();
  if (Field(Field(node, "spec"), "unschedulable") == true) {
    taints.push_back({{"key", "node.kubernetes.io/unschedulable"}, {"effect", "NoSchedule"}});
  }
  const json& tolerations = Field(spec, "tolerations");
  for (const auto& taint : taints) {
    const std::string effect = Str(taint, "effect");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    bool tolerated = false;
    for (const auto& t : tolerations.is_array() ? tolerations : json::array()) {
      tolerated = tolerated || Tolerates(t, taint);
    }
    if (!tolerated) {
      return "node(s) had taint {" + Str(taint, "key") + ": " + Str(taint, "value") +
             "}, that the pod didn't tolerate";
    }
  }
  return std::nullopt;
}

json PodBinding(const json& pod, const std::string& node_name) {
  const json& meta = Field(pod, "metadata");
  return {{"apiVersion", "v1"},
          {"kind", "Binding"},
          {"metadata",
           {{"name", Str(meta, "name")}, {"namespace", Str(meta, "namespace")}, {"uid", Str(meta, "uid")}}},
          {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node_name}}}};
}

Scheduler::Scheduler(std::shared_ptr<kube::Client> client, std::string node_name, base::Env& env)
    : client_(std::move(client)), node_name_(std::move(node_name)), env_(env) {
  kube::ListWatchHandlers pods;
  pods.on_list = [this](json& items, const std::string&) { OnPendingPodsListed(items); };
  pods.on_event = [this](kube::WatchEvent& ev) { OnPendingPodEvent(ev); };
  pods.on_error = [this](const kube::ListWatchError& e) {
    if (auto line = ListWatchErrorLine("pods", e)) Log(env_, *line);
  };
  pods_watch_ = std::make_unique<kube::ListWatch>(
      client_, HarnessListWatch(kube::resources::kPods, env_, "spec.nodeName="), std::move(pods));
  kube::ListWatchHandlers node;
  node.on_list = [this](json& items, const std::string&) { OnNodeListed(items); };
  node.on_event = [this](kube::WatchEvent& ev) { OnNodeEvent(ev); };
  node.on_error = [this](const kube::ListWatchError& e) {
    if (auto line = ListWatchErrorLine("nodes", e)) Log(env_, *line);
  };
  node_watch_ = std::make_unique<kube::ListWatch>(
      client_, HarnessListWatch(kube::resources::kNodes, env_, "metadata.name=" + node_name_),
      std::move(node));
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Stop() {
  stopping_ = true;
  pods_watch_->Stop();
  node_watch_->Stop();
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void Scheduler::Run() {
  Log(env_, "binding unscheduled pods that fit node " + node_name_);
  std::thread node([this] { node_watch_->Run(); });
  std::thread worker([this] { Work(); });
  pods_watch_->Run();
  Stop();
  node.join();
  worker.join();
}

void Scheduler::TrackLocked(const json& pod) {
  const std::string uid = Str(Field(pod, "metadata"), "uid");
  if (uid.empty()) return;
  if (WantsScheduling(pod)) {
    pending_[uid] = pod;
    queue_.insert(uid);
  } else {
    pending_.erase(uid);
    logged_.erase(uid);
  }
}

void Scheduler::OnPendingPodsListed(const json& items) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
  for (const auto& pod : items) TrackLocked(pod);
  cv_.notify_all();
}

void Scheduler::OnPendingPodEvent(const kube::WatchEvent& ev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ev.type == kube::WatchEvent::Type::kAdded || ev.type == kube::WatchEvent::Type::kModified) {
    TrackLocked(ev.object);
  } else if (ev.type == kube::WatchEvent::Type::kDeleted) {
    const std::string uid = Str(Field(ev.object, "metadata"), "uid");
    pending_.erase(uid);
    logged_.erase(uid);
    retry_at_.erase(uid);
  }
  cv_.notify_all();
}

void Scheduler::SeenNodeLocked(const json& node) {
  std::string key = SchedulingKey(node);
  node_ = node;
  if (key == node_key_) return;
  node_key_ = std::move(key);
  for (const auto& [uid, pod] : pending_) queue_.insert(uid);
  cv_.notify_all();
}

void Scheduler::OnNodeListed(const json& items) {
  std::lock_guard<std::mutex> lock(mu_);
  if (items.empty()) {
    node_.reset();
  } else {
    SeenNodeLocked(items[0]);
  }
}

void Scheduler::OnNodeEvent(const kube::WatchEvent& ev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ev.type == kube::WatchEvent::Type::kAdded || ev.type == kube::WatchEvent::Type::kModified) {
    SeenNodeLocked(ev.object);
  } else if (ev.type == kube::WatchEvent::Type::kDeleted) {
    node_.reset();
    node_key_.clear();
  }
}

void Scheduler::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = env_.Now();
    base::Env::SteadyTime wake = base::Env::SteadyTime::max();
    for (auto it = retry_at_.begin(); it != retry_at_.end();) {
      if (it->second <= now) {
        queue_.insert(it->first);
        it = retry_at_.erase(it);
      } else {
        wake = std::min(wake, it->second);
        ++it;
      }
    }
    if (queue_.empty() || !node_) {
      env_.WaitUntil(lock, cv_, wake);  // max(): until notified
      continue;
    }
    std::string uid = *queue_.begin();
    queue_.erase(queue_.begin());
    lock.unlock();
    Schedule(uid);
    lock.lock();
  }
}

void Scheduler::Schedule(const std::string& uid) {
  json pod;
  json node;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(uid);
    if (it == pending_.end() || !node_) return;
    pod = it->second;
    node = *node_;
  }
  const std::string key = PodKey(pod);
  if (auto reason = UnschedulableReason(pod, node)) {
    bool log = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& last = logged_[uid];
      log = last != *reason;
      last = *reason;
    }
    if (log) Log(env_, "pod " + key + " stays pending on node " + node_name_ + ": " + *reason);
    MarkUnschedulable(pod, *reason);
    return;
  }
  const json& meta = Field(pod, "metadata");
  const std::string path = "/api/v1/namespaces/" + Str(meta, "namespace") + "/pods/" +
                           Str(meta, "name") + "/binding";
  auto res = client_->Raw("POST", path, PodBinding(pod, node_name_).dump());
  std::lock_guard<std::mutex> lock(mu_);
  if (res.ok()) {
    Log(env_, "pod " + key + " bound to node " + node_name_);
    pending_.erase(uid);
    logged_.erase(uid);
    return;
  }
  if (res.status().IsConflict() || res.status().IsNotFound()) {
    pending_.erase(uid);
    logged_.erase(uid);
    return;
  }
  Log(env_, "pod " + key + ": binding failed, retrying in 1 s: " + res.status().ToString());
  retry_at_[uid] = env_.Now() + seconds(1);
  cv_.notify_all();
}

void Scheduler::MarkUnschedulable(const json& pod, const std::string& reason) {
  const json& conditions = Field(Field(pod, "status"), "conditions");
  for (const auto& c : conditions.is_array() ? conditions : json::array()) {
    if (Str(c, "type") == "PodScheduled" && Str(c, "status") == "False" &&
        Str(c, "reason") == "Unschedulable") {
      return;  // a scheduler (this or another node's) said so already
    }
  }
  const json& meta = Field(pod, "metadata");
  json patch = {{"metadata", {{"uid", Str(meta, "uid")}, {"resourceVersion", Str(meta, "resourceVersion")}}},
                {"status",
                 {{"conditions",
                   json::array({{{"type", "PodScheduled"},
                                 {"status", "False"},
                                 {"reason", "Unschedulable"},
                                 {"message", "0/1 nodes are available: node " + node_name_ + ": " + reason},
                                 {"lastProbeTime", nullptr},
                                 {"lastTransitionTime", NowRfc3339(env_)}}})}}}};
  kube::PatchOptions po;
  po.subresource = "status";
  auto res = client_->Patch(kube::resources::kPods, Str(meta, "namespace"), Str(meta, "name"),
                            kube::PatchType::kStrategicMerge, patch.dump(), po);
  if (!res.ok() && !res.status().IsConflict() && !res.status().IsNotFound()) {
    Log(env_, "pod " + PodKey(pod) + ": writing PodScheduled=False: " + res.status().ToString());
  }
}

}  // namespace harness
