#pragma once
// What the integration tests on the local cluster share: a client for the cluster, a fresh
// namespace per test (deleted afterwards, its FailoverGroups released), the node's name and address, pod and HTTP
// helpers. Header-only, so fo_testsupport itself stays free of src/kube: a test that
// includes this links fo_kube and cpp-httplib.

#include <signal.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster_env.h"
#include "support/names.h"
#include "support/release_groups.h"

namespace testsupport {

// A field of condition `type` of an object (a pod, a group): its status ("True", "False"), or reason, message...;
// "" when absent.
inline std::string ConditionOf(const nlohmann::json& pod, const std::string& type,
                                const std::string& field = "status") {
  for (const auto& c : pod.value("status", nlohmann::json::object()).value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == type) return c.value(field, "");
  }
  return "";
}

inline bool PodReady(const nlohmann::json& pod) { return ConditionOf(pod, "Ready") == "True"; }

// A process that exists and is not a zombie.
inline bool ProcessAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

// GET http://host:port/path on a fresh connection: the body of a 200, else "".
inline std::string HttpGet(const std::string& host, int port, const std::string& path = "/") {
  httplib::Client cli(host, port);
  cli.set_connection_timeout(1, 0);
  cli.set_read_timeout(2, 0);
  auto res = cli.Get(path);
  if (!res || res->status != 200) return "";
  return res->body;
}

// POST http://host:port/path; true on a 200.
inline bool HttpPost(const std::string& host, int port, const std::string& path) {
  httplib::Client cli(host, port);
  cli.set_connection_timeout(1, 0);
  auto res = cli.Post(path, "x", "text/plain");
  return res && res->status == 200;
}

// The pod a demo-app answer names ({"pod": ...}), or "".
inline std::string AnsweringPod(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() ? j.value("pod", "") : "";
}

// The demo app's container: named port http 8080, readiness from GET /ready every second.
inline nlohmann::json DemoContainer(int failure_threshold = 1) {
  return {{"name", "app"},
          {"image", "example.registry/failover-demo-app:test"},
          {"ports", nlohmann::json::array({{{"name", "http"}, {"containerPort", 8080}}})},
          {"readinessProbe",
           {{"httpGet", {{"path", "/ready"}, {"port", "http"}}},
            {"periodSeconds", 1},
            {"successThreshold", 1},
            {"failureThreshold", failure_threshold}}}};
}

// A test with a client for the local cluster and a namespace of its own. A derived fixture
// calls SetUpNamespace(prefix) from its SetUp; TearDown deletes the namespace (a derived
// TearDown calls NamespaceTest::TearDown last).
class NamespaceTest : public ::testing::Test {
 protected:
  void SetUpNamespace(const std::string& prefix) {
    const std::string kubeconfig = kubeconfig_path();
    ASSERT_FALSE(kubeconfig.empty()) << "FO_KUBECONFIG is not set (run through ctest)";
    node_ = cluster_value("FO_NODE_NAME").value_or("");
    node_ip_ = cluster_value("FO_NODE_IP").value_or("");
    ASSERT_FALSE(node_.empty()) << "no FO_NODE_NAME in $FO_CLUSTER_DIR/cluster.env";
    auto config = kube::LoadKubeconfig({kubeconfig});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto client = kube::Client::Create(*config);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = *client;
    ns_ = unique_namespace(prefix);
    auto created = client_->Create(kube::resources::kNamespaces, "", nlohmann::json{{"metadata", {{"name", ns_}}}});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // A derived TearDown stops its operator first: a group it leaves loses its finalizer here.
  void TearDown() override {
    if (!client_ || ns_.empty()) return;
    ReleaseFailoverGroups(*client_, ns_);
    client_->Delete(kube::resources::kNamespaces, "", ns_);
  }

  nlohmann::json GetPod(const std::string& name) {
    auto r = client_->Get(kube::resources::kPods, ns_, name);
    return r.ok() ? *r : nlohmann::json();
  }
  std::string PodIP(const std::string& name) {
    return GetPod(name).value("status", nlohmann::json::object()).value("podIP", "");
  }

  std::shared_ptr<kube::Client> client_;
  std::string ns_;
  std::string node_;
  std::string node_ip_;
};

}  // namespace testsupport
