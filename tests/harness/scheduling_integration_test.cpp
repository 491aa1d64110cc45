// Deployments on the local control plane as on a real cluster: the deployment and
// replicaset controllers create pods, the node agent's scheduler (--schedule, passed by
// scripts/cluster.sh) binds them to its node, and the agent runs them as processes.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <httplib.h>

#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster_env.h"
#include "support/command.h"
#include "support/names.h"
#include "support/namespace_fixture.h"
#include "support/pod_process.h"
#include "support/wait.h"

namespace harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const kube::Resource kDeployments{"apps", "v1", "deployments", true};

using testsupport::PodReady;
using testsupport::ProcessAlive;

std::string Condition(const json& pod, const std::string& type, const std::string& field = "status") {
  return testsupport::ConditionOf(pod, type, field);
}

std::string NodeOf(const json& pod) { return pod.value("spec", json::object()).value("nodeName", ""); }

std::string NameOf(const json& obj) { return obj.value("metadata", json::object()).value("name", ""); }

bool Deleting(const json& pod) { return pod.value("metadata", json::object()).contains("deletionTimestamp"); }

// The pod that answered GET http://ip:port/, or "" on any failure.
std::string Answerer(const std::string& ip, int port) { return testsupport::AnsweringPod(testsupport::HttpGet(ip, port)); }

class SchedulingTest : public testsupport::NamespaceTest {
 protected:
  void SetUp() override { SetUpNamespace("sched"); }

  json DemoTemplate(const json& labels) {
    return {{"metadata", {{"labels", labels}}},
            {"spec",
             {{"terminationGracePeriodSeconds", 5},
              // failureThreshold 3: the API's default, which this template always used.
              {"containers", json::array({testsupport::DemoContainer(3)})}}}};
  }

  std::vector<json> Pods(const std::string& selector = "") {
    kube::ListOptions lo;
    lo.label_selector = selector;
    auto list = client_->List(kube::resources::kPods, ns_, lo);
    std::vector<json> out;
    if (list.ok()) {
      for (const auto& p : (*list)["items"]) out.push_back(p);
    }
    return out;
  }

  // Adds (value non-empty) or removes (empty) a label on this cluster's Node.
  void LabelNode(const std::string& key, const std::string& value) {
    json labels = {{key, value.empty() ? json(nullptr) : json(value)}};
    auto r = client_->Patch(kube::resources::kNodes, "", node_, kube::PatchType::kMerge,
                            json{{"metadata", {{"labels", labels}}}}.dump());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
};

TEST_F(SchedulingTest, DeploymentPodsAreBoundRunAndScaleDown) {
  json labels = {{"app", "sched-demo"}};
  json deployment = {{"apiVersion", "apps/v1"},
                     {"kind", "Deployment"},
                     {"metadata", {{"name", "demo"}, {"namespace", ns_}}},
                     {"spec",
                      {{"replicas", 2},
                       {"selector", {{"matchLabels", labels}}},
                       {"template", DemoTemplate(labels)}}}};
  auto created = client_->Create(kDeployments, ns_, deployment);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<json> pods;
  bool ready = testsupport::wait_until(
      [&] {
        pods = Pods("app=sched-demo");
        if (pods.size() != 2) return false;
        for (const auto& p : pods) {
          if (NodeOf(p) != node_ || !PodReady(p)) return false;
        }
        return true;
      },
      seconds(60), milliseconds(100));
  std::string seen;
  for (const auto& p : pods) seen += " " + NameOf(p) + "@" + NodeOf(p) + ":" + Condition(p, "Ready");
  ASSERT_TRUE(ready) << "expected 2 Ready pods bound to " << node_ << ", saw:" << seen;
  std::printf("deployment: 2 pods bound and Ready %.1f s after the Deployment was created\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  std::map<std::string, pid_t> pids;
  for (const auto& p : pods) {
    const std::string name = NameOf(p);
    EXPECT_EQ(Condition(p, "PodScheduled"), "True") << name;
    pid_t pid = testsupport::find_pod_process(ns_, name);
    ASSERT_GT(pid, 0) << "no demo-app process for " << name;
    pids[name] = pid;
    const std::string ip = p["status"].value("podIP", "");
    EXPECT_EQ(Answerer(ip, 8080), name) << "pod " << name << " at " << ip;
  }

  auto scaled = client_->Patch(kDeployments, ns_, "demo", kube::PatchType::kMerge,
                               json{{"spec", {{"replicas", 1}}}}.dump());
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  std::string survivor;
  bool one_left = testsupport::wait_until(
      [&] {
        auto now = Pods("app=sched-demo");
        if (now.size() != 1 || Deleting(now[0])) return false;
        survivor = NameOf(now[0]);
        return true;
      },
      seconds(60), milliseconds(100));
  ASSERT_TRUE(one_left) << "scaling to 1 did not leave exactly one pod";
  ASSERT_EQ(pids.count(survivor), 1u) << "the surviving pod " << survivor << " is new";
  for (const auto& [name, pid] : pids) {
    if (name == survivor) {
      EXPECT_TRUE(ProcessAlive(pid)) << "the surviving pod's process " << pid << " stopped";
    } else {
      EXPECT_TRUE(testsupport::wait_until([&] { return !ProcessAlive(pid); }, seconds(15)))
          << "the process " << pid << " of scaled-away pod " << name << " still runs";
    }
  }
  EXPECT_TRUE(PodReady(GetPod(survivor)));
}

TEST_F(SchedulingTest, NodeSelectorIsHonoured) {
  const std::string key = "harness.failover.io/sched-test";
  auto pod = [&](const std::string& name, const json& spec_extra) {
    json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", ns_}}},
              {"spec", DemoTemplate(json::object())["spec"]}};
    p["spec"].merge_patch(spec_extra);
    auto r = client_->Create(kube::resources::kPods, ns_, p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  pod("other-scheduler", {{"schedulerName", "other-scheduler"}});
  pod("on-hostname", {{"nodeSelector", {{"kubernetes.io/hostname", node_}}}});
  pod("unmatched", {{"nodeSelector", {{key, ns_}}}});

  EXPECT_TRUE(testsupport::wait_until([&] { return PodReady(GetPod("on-hostname")); }, seconds(30)))
      << "a pod selecting this node by hostname was not bound and Ready: " << GetPod("on-hostname").dump();

  // The scheduler records why it left a pod pending; events arrive in order, so by then
  // it has also seen the pod meant for another scheduler.
  ASSERT_TRUE(testsupport::wait_until(
      [&] { return Condition(GetPod("unmatched"), "PodScheduled", "reason") == "Unschedulable"; },
      seconds(30)))
      << GetPod("unmatched").dump();
  json unmatched = GetPod("unmatched");
  EXPECT_EQ(NodeOf(unmatched), "");
  EXPECT_EQ(unmatched["status"].value("phase", ""), "Pending");
  EXPECT_EQ(Condition(unmatched, "PodScheduled"), "False");
  std::printf("unmatched pod: %s\n", Condition(unmatched, "PodScheduled", "message").c_str());
  EXPECT_EQ(testsupport::find_pod_process(ns_, "unmatched"), 0);
  EXPECT_EQ(NodeOf(GetPod("other-scheduler")), "");

  // Labelling the Node makes the pending pod fit: it is bound without any change to it.
  LabelNode(key, ns_);
  bool bound = testsupport::wait_until([&] { return PodReady(GetPod("unmatched")); }, seconds(30));
  LabelNode(key, "");
  EXPECT_TRUE(bound) << "after labelling the node: " << GetPod("unmatched").dump();
  EXPECT_EQ(NodeOf(GetPod("other-scheduler")), "");
}

// The shipped samples as a user applies them (the operator is not needed for this part):
// two Deployments become two Ready pods, and the NodePort Service gets a ready endpoint
// (in its EndpointSlices) that answers through the service proxy on the node port.
TEST_F(SchedulingTest, SamplesApplyAsShipped) {
  const char* src = std::getenv("FO_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "FO_SOURCE_DIR is not set (run through ctest)";
  const std::string samples = std::string(src) + "/manifests/samples";
  const std::string demo_ns = "failover-demo";
  ASSERT_FALSE(client_->Get(kube::resources::kNamespaces, "", demo_ns).ok())
      << "namespace " << demo_ns << " already exists: another test left the samples behind";

  const bool crd_existed =
      client_->Get(kube::resources::kCustomResourceDefinitions, "", "failovergroups.failover.io").ok();
  if (!crd_existed) {
    auto r = testsupport::kubectl({"apply", "-f", std::string(src) + "/manifests/crd/failovergroups.failover.io.yaml"});
    ASSERT_TRUE(r.ok()) << r.err;
    r = testsupport::wait_crd_established("failovergroups.failover.io");
    ASSERT_TRUE(r.ok()) << r.err;
  }
  auto applied = testsupport::kubectl({"apply", "-k", samples});
  EXPECT_TRUE(applied.ok()) << applied.out << applied.err;

  std::vector<json> pods;
  bool ready = testsupport::wait_until(
      [&] {
        auto list = client_->List(kube::resources::kPods, demo_ns);
        if (!list.ok()) return false;
        pods.clear();
        for (const auto& p : (*list)["items"]) pods.push_back(p);
        if (pods.size() != 2) return false;
        for (const auto& p : pods) {
          if (!PodReady(p)) return false;
        }
        return true;
      },
      seconds(90), milliseconds(200));
  std::string seen;
  for (const auto& p : pods) seen += " " + NameOf(p) + ":" + p["status"].value("phase", "") + ":" + Condition(p, "Ready");
  EXPECT_TRUE(ready) << "expected 2 Ready demo pods in " << demo_ns << ", saw:" << seen;

  // EndpointSlices, not Endpoints: core/v1 Endpoints reject the loopback pod IPs used here.
  std::string endpoints;
  bool serving = testsupport::wait_until(
      [&] {
        kube::ListOptions lo;
        lo.label_selector = "kubernetes.io/service-name=demo";
        auto slices = client_->List(kube::resources::kEndpointSlices, demo_ns, lo);
        if (!slices.ok()) return false;
        endpoints = slices->dump();
        for (const auto& slice : (*slices)["items"]) {
          for (const auto& ep : slice.value("endpoints", json::array())) {
            if (ep.value("conditions", json::object()).value("ready", false)) return true;
          }
        }
        return false;
      },
      seconds(30), milliseconds(200));
  EXPECT_TRUE(serving) << "Service demo has no ready endpoints: " << endpoints;
  if (serving && !node_ip_.empty()) {
    std::string answer;
    bool through_proxy = testsupport::wait_until(
        [&] {
          answer = Answerer(node_ip_, 30080);
          return answer.rfind("demo-site-a-", 0) == 0;
        },
        seconds(15), milliseconds(200));
    EXPECT_TRUE(through_proxy) << "NodePort 30080 on " << node_ip_ << " answered '" << answer << "'";
  }

  auto deleted = testsupport::kubectl({"delete", "-k", samples, "--wait=false"});
  EXPECT_TRUE(deleted.ok()) << deleted.err;
  EXPECT_TRUE(testsupport::wait_until(
      [&] { return client_->Get(kube::resources::kNamespaces, "", demo_ns).status().IsNotFound(); },
      seconds(90), milliseconds(200)))
      << "namespace " << demo_ns << " was not removed";
  if (!crd_existed) {
    testsupport::kubectl({"delete", "crd", "failovergroups.failover.io", "--wait=false"});
  }
}

}  // namespace
}  // namespace harness
