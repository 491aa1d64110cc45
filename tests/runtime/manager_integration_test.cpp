#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "cluster_env.h"
#include "runtime/manager.h"

using namespace std::chrono_literals;

namespace {

class CountingReconciler : public runtime::Reconciler {
 public:
  std::atomic<int> calls{0};
  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request&) override {
    calls++;
    return runtime::ReconcileResult{};
  }
};

std::string GetBody(int port, const std::string& path, int* status) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  auto r = c.Get(path.c_str());
  if (!r) {
    *status = 0;
    return "";
  }
  *status = r->status;
  return r->body;
}

runtime::ManagerOptions LocalOptions() {
  runtime::ManagerOptions o;
  o.metrics_bind_address = "127.0.0.1:0";
  o.metrics_secure = false;  // plain HTTP; the secure path: metrics_auth_integration_test
  o.health_probe_bind_address = "127.0.0.1:0";
  o.graceful_shutdown_timeout = 10s;
  return o;
}

TEST(ManagerIntegration, ReadyzFailsWhileACacheCannotSync) {
  auto client = runtime_test::ClusterClient();
  ASSERT_NE(client, nullptr);
  runtime::Manager mgr(client, LocalOptions());
  runtime::InformerOptions io;
  io.resource = {"example.invalid", "v1", "widgets", true};
  io.backoff.initial = 200ms;
  mgr.GetInformer(io);
  std::thread run([&] { mgr.Run(); });
  ASSERT_TRUE(runtime_test::WaitFor([&] { return mgr.health_port() != 0; }, 10s));
  int status = 0;
  std::string body;
  EXPECT_TRUE(runtime_test::WaitFor([&] {
    body = GetBody(mgr.health_port(), "/readyz", &status);
    return status != 0;
  }, 10s));
  EXPECT_EQ(status, 500);
  EXPECT_NE(body.find("not synced: widgets.example.invalid"), std::string::npos) << body;
  GetBody(mgr.health_port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  mgr.RequestStop();
  run.join();
}

TEST(ManagerIntegration, ReconcilesWhenLeadingAndServesReadyzAndMetrics) {
  auto client = runtime_test::ClusterClient();
  ASSERT_NE(client, nullptr);
  runtime_test::TestNamespace ns(client, "rt-manager");
  auto opts = LocalOptions();
  opts.leader_elect = true;
  opts.leader_election_namespace = ns.name();
  opts.leader_election_id = "rt-manager-lease";
  runtime::Manager mgr(client, opts);
  runtime::InformerOptions io;
  io.resource = kube::resources::kConfigMaps;
  io.ns = ns.name();
  auto reconciler = std::make_shared<CountingReconciler>();
  auto& ctl = mgr.AddController({"rt_manager_test", 2, nullptr}, reconciler);
  ctl.Watch(mgr.GetInformer(io));
  std::thread run([&] { mgr.Run(); });

  ASSERT_TRUE(client->Create(kube::resources::kConfigMaps, ns.name(),
                             runtime_test::ConfigMap(ns.name(), "one", "x")).ok());
  EXPECT_TRUE(runtime_test::WaitFor([&] { return reconciler->calls.load() > 0; }, 30s));
  EXPECT_TRUE(mgr.IsLeader());
  int status = 0;
  GetBody(mgr.health_port(), "/readyz", &status);
  EXPECT_EQ(status, 200);
  const std::string metrics = GetBody(mgr.metrics_port(), "/metrics", &status);
  EXPECT_EQ(status, 200);
  for (const char* series : {
           "workqueue_depth{name=\"rt_manager_test\"}",
           "workqueue_adds_total{name=\"rt_manager_test\"}",
           "workqueue_queue_duration_seconds_bucket{name=\"rt_manager_test\"",
           "workqueue_work_duration_seconds_count{name=\"rt_manager_test\"}",
           "controller_runtime_reconcile_total{controller=\"rt_manager_test\",result=\"success\"}",
           "controller_runtime_reconcile_errors_total{controller=\"rt_manager_test\"} 0",
           "controller_runtime_reconcile_time_seconds_count{controller=\"rt_manager_test\"}",
           "controller_runtime_active_workers{controller=\"rt_manager_test\"}",
           "leader_election_master_status{name=\"rt-manager-lease\"} 1",
           "failover_operator_informer_relists_total{resource=\"configmaps\"}",
           "rest_client_requests_total{code=\"200\",",
           "rest_client_request_duration_seconds_count{resource=\"configmaps\","}) {
    EXPECT_NE(metrics.find(series), std::string::npos) << "missing " << series;
  }
  // Events: three identical occurrences become one Event with count 3.
  auto cm = client->Get(kube::resources::kConfigMaps, ns.name(), "one");
  ASSERT_TRUE(cm.ok());
  for (int i = 0; i < 3; ++i) mgr.events().Event(*cm, "Normal", "Tested", "same message");
  mgr.events().Event(*cm, "Warning", "Tested", "another message");
  kube::json events;
  EXPECT_TRUE(runtime_test::WaitFor([&] {
    auto list = client->List(kube::resources::kEvents, ns.name());
    if (!list.ok()) return false;
    events = (*list)["items"];
    int total = 0;
    for (const auto& e : events) total += e.value("count", 0);
    return events.size() == 2 && total == 4;
  }, 20s)) << events.dump();
  for (const auto& e : events) {
    EXPECT_EQ(e["involvedObject"].value("name", ""), "one");
    EXPECT_EQ(e["source"].value("component", ""), "failover-operator");
    EXPECT_EQ(e.value("count", 0), e.value("type", "") == "Normal" ? 3 : 1) << e.dump();
  }
  mgr.RequestStop();
  run.join();
  // A clean shutdown releases the lease.
  auto lease = client->Get(kube::resources::kLeases, ns.name(), "rt-manager-lease");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ((*lease)["spec"].value("holderIdentity", "x"), "");
}

}  // namespace
