#include <cstdlib>

#include "harness/node_agent.h"

// Reading a Pod object: which images the agent runs, the parts of the spec it acts on,
// and a demo-app container's environment.

namespace harness {

using nlohmann::json;

namespace {

std::string Repository(const std::string& image) {
  std::string repo = image;
  auto at = repo.find('@');
  if (at != std::string::npos) repo = repo.substr(0, at);
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  return repo;
}

}  // namespace

ImageKind ClassifyImage(const std::string& image) {
  const std::string repo = Repository(image);
  if (repo == "failover.io/virtual") return ImageKind::kVirtual;
  const std::string demo = "failover-demo-app";
  if (repo.size() >= demo.size() && repo.compare(repo.size() - demo.size(), demo.size(), demo) == 0 &&
      (repo.size() == demo.size() || repo[repo.size() - demo.size() - 1] == '/')) {
    return ImageKind::kDemoApp;
  }
  return ImageKind::kUnsupported;
}

PodSpec ParsePod(const json& pod) {
  PodSpec p;
  const json& meta = pod.value("metadata", json::object());
  const json& spec = pod.value("spec", json::object());
  const json& status = pod.value("status", json::object());
  p.uid = meta.value("uid", "");
  p.ns = meta.value("namespace", "");
  p.name = meta.value("name", "");
  p.restart_policy = spec.value("restartPolicy", "Always");
  if (spec.contains("terminationGracePeriodSeconds") &&
      spec["terminationGracePeriodSeconds"].is_number_integer()) {
    p.termination_grace_seconds = spec["terminationGracePeriodSeconds"].get<int64_t>();
  }
  p.deleting = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  if (meta.contains("deletionGracePeriodSeconds") &&
      meta["deletionGracePeriodSeconds"].is_number_integer()) {
    p.deletion_grace_seconds = meta["deletionGracePeriodSeconds"].get<int64_t>();
  }
  const json& ann = meta.value("annotations", json::object());
  if (ann.contains(kReadyAnnotation) && ann[kReadyAnnotation].is_string()) {
    p.ready_annotation = ann[kReadyAnnotation].get<std::string>();
  }
  for (const auto& c : spec.value("containers", json::array())) {
    ContainerSpec cs;
    cs.name = c.value("name", "");
    cs.image = c.value("image", "");
    cs.kind = ClassifyImage(cs.image);
    for (const auto& a : c.value("args", json::array())) {
      if (a.is_string()) cs.args.push_back(a.get<std::string>());
    }
    for (const auto& e : c.value("env", json::array())) {
      cs.env.emplace_back(e.value("name", ""), e);
    }
    const json& ports = c.value("ports", json::array());
    if (!ports.empty() && ports[0].contains("containerPort")) {
      cs.port = ports[0].value("containerPort", 8080);
    }
    std::string err;
    cs.readiness = ParseProbe(c, "readinessProbe", &err);
    if (!err.empty()) cs.probe_error = err;
    err.clear();
    cs.liveness = ParseProbe(c, "livenessProbe", &err);
    if (!err.empty()) cs.probe_error = err;
    p.containers.push_back(std::move(cs));
  }
  for (const auto& cs : status.value("containerStatuses", json::array())) {
    for (auto& c : p.containers) {
      if (c.name == cs.value("name", "") && cs.value("started", false)) {
        c.status_restart_count = cs.value("restartCount", 0);
      }
    }
  }
  p.status_pod_ip = status.value("podIP", "");
  p.status_start_time = status.value("startTime", "");
  p.status_phase = status.value("phase", "");
  p.status_conditions = status.value("conditions", json::array());
  return p;
}

std::vector<std::string> ContainerEnv(const PodSpec& pod, const ContainerSpec& c,
                                      const std::string& pod_ip, const std::string& host_ip,
                                      const std::string& node_name) {
  std::vector<std::string> env;
  const char* path = std::getenv("PATH");
  env.push_back(std::string("PATH=") + (path ? path : "/usr/local/bin:/usr/bin:/bin"));
  env.push_back("HOSTNAME=" + pod.name);
  env.push_back("POD_NAME=" + pod.name);
  env.push_back("POD_NAMESPACE=" + pod.ns);
  env.push_back("POD_IP=" + pod_ip);
  env.push_back("PORT=" + std::to_string(c.port));
  for (const auto& [name, var] : c.env) {
    if (name.empty()) continue;
    if (var.contains("value") && var["value"].is_string()) {
      env.push_back(name + "=" + var["value"].get<std::string>());
      continue;
    }
    std::string field = var.value("valueFrom", json::object())
                            .value("fieldRef", json::object())
                            .value("fieldPath", "");
    std::string value;
    if (field == "metadata.name") value = pod.name;
    else if (field == "metadata.namespace") value = pod.ns;
    else if (field == "metadata.uid") value = pod.uid;
    else if (field == "status.podIP") value = pod_ip;
    else if (field == "status.hostIP") value = host_ip;
    else if (field == "spec.nodeName") value = node_name;
    else if (var.contains("value")) value = "";
    else continue;
    env.push_back(name + "=" + value);
  }
  return env;
}

}  // namespace harness
