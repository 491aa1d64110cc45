// The reconciler applying switches whose stages it issues in parallel (one thread per write,
// one shared kube client), several groups at once, in process against the test cluster.
// Labelled concurrency: `make tsan` runs it under ThreadSanitizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "failover/reconciler.h"
#include "failover/time_text.h"
#include "runtime/cluster_env.h"
#include "runtime/manager.h"
#include "runtime/store.h"
#include "runtime/worker_pool.h"
#include "support/command.h"
#include "support/names.h"
#include "support/release_groups.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int kGroups = 4;
constexpr int kPodsPerMember = 2;

std::string Now() {
  auto t = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return FormatTime(std::chrono::time_point_cast<Duration>(t));
}

// pods/status as a kubelet would write it.
std::string PodStatus(bool ready, int ip) {
  const char* r = ready ? "True" : "False";
  const std::string now = Now();
  json conds = json::array({json{{"type", "Ready"}, {"status", r}, {"lastTransitionTime", now}},
                            json{{"type", "ContainersReady"}, {"status", r}, {"lastTransitionTime", now}}});
  const std::string addr = "10.198.0." + std::to_string(ip);
  return json{{"status", {{"phase", "Running"}, {"podIP", addr}, {"podIPs", json::array({json{{"ip", addr}}})},
                          {"conditions", conds}}}}
      .dump();
}

json GroupObject(const std::string& name, const char* strategy) {
  json members = json::array();
  for (const char* m : {"a", "b"}) {
    members.push_back({{"name", m}, {"selector", {{"matchLabels", {{"app", name}, {"site", m}}}}}, {"minReady", 1}});
  }
  return {{"apiVersion", "failover.io/v1alpha1"},
          {"kind", "FailoverGroup"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"mode", "ActivePassive"},
            {"members", members},
            {"services", json::array({json{{"name", name}}})},
            {"detection", {{"unhealthyFor", "0"}}},
            {"switchover", {{"strategy", strategy}}},
            {"failback", {{"policy", "Manual"}}},
            {"fencing", {{"policy", "Label"}}}}}};
}

std::string Label(const json& obj, const char* key) {
  return obj.value("metadata", json::object()).value("labels", json::object()).value(key, "");
}

class ReconcilerConcurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string src = runtime_test::Env("FO_SOURCE_DIR");
    ASSERT_FALSE(src.empty()) << "FO_SOURCE_DIR is not set (run through ctest)";
    auto r = testsupport::kubectl({"apply", "-f", src + "/crds/failovergroups.failover.io.yaml"});
    ASSERT_TRUE(r.ok()) << r.err;
    r = testsupport::wait_crd_established("failovergroups.failover.io");
    ASSERT_TRUE(r.ok()) << r.err;
    client_ = runtime_test::ClusterClient();
    ASSERT_NE(client_, nullptr);
    ns_ = testsupport::unique_namespace("fo-reconciler-conc");
    node_ = ns_ + "-node";
    ASSERT_TRUE(client_->Create(kube::resources::kNamespaces, "",
                                {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}})
                    .ok());
    // A Node nothing serves, so that the pods bound to it are not garbage-collected; the
    // test writes their status itself.
    auto node = client_->Create(kube::resources::kNodes, "",
                                {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node_}}}});
    ASSERT_TRUE(node.ok()) << node.status().ToString();
  }

  void TearDown() override {
    if (run_.joinable()) {
      manager_->RequestStop();
      run_.join();
    }
    if (!client_) return;
    if (!ns_.empty()) {
      testsupport::ReleaseFailoverGroups(*client_, ns_);  // the reconciler's finalizers
      (void)client_->Delete(kube::resources::kNamespaces, "", ns_);
    }
    if (!node_.empty()) (void)client_->Delete(kube::resources::kNodes, "", node_);
  }

  std::string PodName(int g, const char* member, int i) const {
    return "g" + std::to_string(g) + "-" + member + "-" + std::to_string(i);
  }

  void CreateGroup(int g, const char* strategy) {
    const std::string name = "g" + std::to_string(g);
    for (const char* m : {"a", "b"}) {
      for (int i = 0; i < kPodsPerMember; ++i) {
        const std::string pod = PodName(g, m, i);
        json obj = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", pod}, {"labels", {{"app", name}, {"site", m}}}}},
                    {"spec",
                     {{"nodeName", node_},
                      {"terminationGracePeriodSeconds", 0},
                      {"containers", json::array({json{{"name", "app"}, {"image", "failover.io/virtual"}}})}}}};
        auto c = client_->Create(kube::resources::kPods, ns_, obj);
        ASSERT_TRUE(c.ok()) << c.status().ToString();
        SetReady(pod, true);
      }
    }
    json svc = {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", name}}},
                {"spec", {{"selector", {{"app", name}, {"site", "a"}}},
                          {"ports", json::array({json{{"port", 80}, {"targetPort", 8080}}})}}}};
    auto s = client_->Create(kube::resources::kServices, ns_, svc);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto f = client_->Create(kube::resources::kFailoverGroups, ns_, GroupObject(name, strategy));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }

  void SetReady(const std::string& pod, bool ready) {
    kube::PatchOptions po;
    po.subresource = "status";
    auto r = client_->Patch(kube::resources::kPods, ns_, pod, kube::PatchType::kMerge,
                            PodStatus(ready, ++ip_ % 250 + 1), po);
    ASSERT_TRUE(r.ok()) << pod << ": " << r.status().ToString();
  }

  // Every group serves `member` alone: the status says so with no switch in progress, the
  // Service selects it, its pods are role=active and the other member's are not.
  bool AllServe(const std::string& member, std::string* why, int groups = kGroups) {
    for (int g = 0; g < groups; ++g) {
      const std::string name = "g" + std::to_string(g);
      auto fg = client_->Get(kube::resources::kFailoverGroups, ns_, name);
      if (!fg.ok()) return (*why = fg.status().ToString()), false;
      json st = fg->value("status", json::object());
      if (st.value("activeMember", "") != member || (st.contains("switch") && !st["switch"].is_null())) {
        return (*why = name + " status " + st.dump()), false;
      }
      auto svc = client_->Get(kube::resources::kServices, ns_, name);
      if (!svc.ok()) return (*why = svc.status().ToString()), false;
      if ((*svc)["spec"]["selector"].value(keys::kMember, "") != member) {
        return (*why = name + " selector " + (*svc)["spec"]["selector"].dump()), false;
      }
      for (const char* m : {"a", "b"}) {
        for (int i = 0; i < kPodsPerMember; ++i) {
          auto pod = client_->Get(kube::resources::kPods, ns_, PodName(g, m, i));
          if (!pod.ok()) return (*why = pod.status().ToString()), false;
          const bool active = Label(*pod, keys::kRole) == "active";
          if (active != (member == m)) return (*why = PodName(g, m, i) + " role " + Label(*pod, keys::kRole)), false;
        }
      }
    }
    return true;
  }

  // "<group>/<reason>: <message>" of the Events in the namespace.
  std::vector<std::string> Events() {
    std::vector<std::string> out;
    auto list = client_->List(kube::resources::kEvents, ns_);
    if (!list.ok()) return out;
    for (const auto& e : list->value("items", json::array())) {
      out.push_back(e.value("involvedObject", json::object()).value("name", "") + "/" + e.value("reason", "") +
                    ": " + e.value("message", ""));
    }
    return out;
  }

  // The operator in process: a manager with the FailoverGroup controller, running.
  void StartOperator(int workers) {
    runtime::ManagerOptions mo;
    mo.metrics_bind_address = "0";
    mo.health_probe_bind_address = "0";
    mo.graceful_shutdown_timeout = 10s;
    manager_ = std::make_unique<runtime::Manager>(client_, mo);
    ReconcilerOptions ro;
    ro.watch_namespaces = {ns_};
    ro.workers = workers;
    SetupFailoverController(*manager_, ro);
    run_ = std::thread([this] { manager_->Run(); });
  }

  void StopOperator() {
    manager_->RequestStop();
    run_.join();
    manager_.reset();
  }

  // The items of a fresh list of `res` in the test's namespace.
  std::vector<json> Fresh(const kube::Resource& res) {
    auto list = client_->List(res, ns_);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<json> out;
    if (list.ok()) {
      for (const auto& item : list->value("items", json::array())) out.push_back(item);
    }
    return out;
  }

  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<runtime::Manager> manager_;
  std::thread run_;
  std::string ns_;
  std::string node_;
  std::atomic<int> ip_{0};
};

TEST_F(ReconcilerConcurrency, GroupsFailOverAtOnceWithParallelStages) {
  for (int g = 0; g < kGroups; ++g) {
    CreateGroup(g, g % 2 == 0 ? "BreakBeforeMake" : "MakeBeforeBreak");
    if (HasFatalFailure()) return;
  }
  StartOperator(kGroups);

  std::string why;
  ASSERT_TRUE(runtime_test::WaitFor([&] { return AllServe("a", &why); }, 60s)) << "election: " << why;

  // Every group's active member fails at once: the switches overlap, and each plan's
  // first stage has three or more writes in flight.
  std::vector<std::thread> writers;
  for (int g = 0; g < kGroups; ++g) {
    writers.emplace_back([this, g] {
      for (int i = 0; i < kPodsPerMember; ++i) SetReady(PodName(g, "a", i), false);
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_TRUE(runtime_test::WaitFor([&] { return AllServe("b", &why); }, 60s)) << "failover: " << why;

  // One Event per completed switch, naming the strategy (and, after it, the Degraded
  // condition it leaves: a is down, no standby left).
  std::vector<std::string> events;
  auto completed = [&](int g) {
    const std::string want = "g" + std::to_string(g) + "/FailoverCompleted: switched a -> b (PrimaryUnhealthy), strategy " +
                             (g % 2 == 0 ? "BreakBeforeMake" : "MakeBeforeBreak") + "; NoHealthyStandby: ";
    return std::count_if(events.begin(), events.end(), [&](const std::string& e) { return e.rfind(want, 0) == 0; }) == 1;
  };
  bool all = runtime_test::WaitFor([&] {
    events = Events();
    for (int g = 0; g < kGroups; ++g) {
      if (!completed(g)) return false;
    }
    return true;
  }, 20s);
  std::string listed;
  for (const auto& e : events) listed += e + "\n";
  EXPECT_TRUE(all) << listed;
}

// A process whose groups cache lags behind the pods and Services (a slow groups watch, a
// leader that took over a moment ago) decides from a status older than what it acts on: the
// status still says a is active after the group failed over to b. The Service it reads
// carries that switch's record, numbered above the stale status's switchSeq: the plan only
// finishes that switch (its status write, carrying the stale resourceVersion, is a conflict
// and the group is read again), and moves nothing back.
TEST_F(ReconcilerConcurrency, AGroupCacheOlderThanThePodsAndServicesNeverFlipsTraffic) {
  CreateGroup(0, "BreakBeforeMake");
  if (HasFatalFailure()) return;
  StartOperator(1);
  std::string why;
  ASSERT_TRUE(runtime_test::WaitFor([&] { return AllServe("a", &why, 1); }, 60s)) << "election: " << why;
  auto stale = client_->Get(kube::resources::kFailoverGroups, ns_, "g0");
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  for (int i = 0; i < kPodsPerMember; ++i) SetReady(PodName(0, "a", i), false);
  ASSERT_TRUE(runtime_test::WaitFor([&] { return AllServe("b", &why, 1); }, 60s)) << "failover: " << why;
  StopOperator();
  // a is healthy again; failback is Manual, so b stays active.
  for (int i = 0; i < kPodsPerMember; ++i) SetReady(PodName(0, "a", i), true);

  runtime::Store groups, pods, services;
  groups.Upsert(*stale);
  pods.Replace(Fresh(kube::resources::kPods));
  services.Replace(Fresh(kube::resources::kServices));
  GroupReconciler::Deps deps;
  deps.client = client_;
  deps.groups = &groups;
  deps.pods = &pods;
  deps.services = &services;
  deps.hook_pool = std::make_shared<runtime::WorkerPool>("hooks", 1);
  deps.probe_pool = std::make_shared<runtime::WorkerPool>("probes", 1);
  GroupReconciler lagging(deps);
  auto result = lagging.Reconcile(runtime::Request{ns_, "g0"});
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  lagging.Stop();
  EXPECT_TRUE(AllServe("b", &why, 1)) << "traffic moved on a stale status: " << why;
}

}  // namespace
}  // namespace failover
