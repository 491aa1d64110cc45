// The metrics registry is the program's, not the process's: a manager registers its
// families on the registry it is given and serves that one at /metrics, so two managers
// in one process share no series.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "support/recording_client.h"

using namespace std::chrono_literals;

namespace {

class CountingReconciler : public runtime::Reconciler {
 public:
  std::atomic<int> calls{0};
  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request&) override {
    ++calls;
    return runtime::ReconcileResult{};
  }
};

runtime::ManagerOptions LocalOptions(std::shared_ptr<prometheus::Registry> registry) {
  runtime::ManagerOptions o;
  o.metrics_bind_address = "127.0.0.1:0";
  o.metrics_secure = false;  // plain HTTP; the secure path: metrics_auth_integration_test
  o.health_probe_bind_address = "0";
  o.memory_trim_interval = 0ms;
  o.graceful_shutdown_timeout = 10s;
  o.metrics_registry = std::move(registry);
  return o;
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string GetMetrics(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  return r && r->status == 200 ? r->body : "";
}

TEST(ManagerMetrics, TwoManagersServeTheirOwnRegistries) {
  auto registry_a = std::make_shared<prometheus::Registry>();
  auto registry_b = std::make_shared<prometheus::Registry>();
  runtime::PublishBuildInfo(*registry_a, "a-version");
  runtime::Manager a(std::make_shared<testsupport::RecordingClient>(), LocalOptions(registry_a));
  runtime::Manager b(std::make_shared<testsupport::RecordingClient>(), LocalOptions(registry_b));
  EXPECT_EQ(a.metrics_registry(), registry_a);
  EXPECT_EQ(b.metrics_registry(), registry_b);
  auto reconciler_a = std::make_shared<CountingReconciler>();
  auto reconciler_b = std::make_shared<CountingReconciler>();
  auto& ctl_a = a.AddController({"twin", 1, nullptr}, reconciler_a);
  b.AddController({"twin", 1, nullptr}, reconciler_b);
  ctl_a.Enqueue("shop/one");
  ctl_a.Enqueue("shop/two");

  std::thread run_a([&] { a.Run(); });
  std::thread run_b([&] { b.Run(); });
  ASSERT_TRUE(WaitFor([&] { return a.metrics_port() != 0 && b.metrics_port() != 0; }));
  ASSERT_TRUE(WaitFor([&] { return reconciler_a->calls.load() == 2; }));
  const std::string success = "controller_runtime_reconcile_total{controller=\"twin\",result=\"success\"} ";
  std::string text_a;
  EXPECT_TRUE(WaitFor([&] {
    text_a = GetMetrics(a.metrics_port());
    return text_a.find(success + "2") != std::string::npos;
  })) << text_a;
  const std::string text_b = GetMetrics(b.metrics_port());
  EXPECT_NE(text_b.find(success + "0"), std::string::npos) << text_b;
  EXPECT_NE(text_b.find("workqueue_adds_total{name=\"twin\"} 0"), std::string::npos) << text_b;
  EXPECT_NE(text_a.find("failover_operator_build_info{version=\"a-version\"} 1"), std::string::npos);
  EXPECT_EQ(text_b.find("failover_operator_build_info"), std::string::npos) << text_b;
  EXPECT_EQ(reconciler_b->calls.load(), 0);

  a.RequestStop();
  b.RequestStop();
  run_a.join();
  run_b.join();
}

TEST(ManagerMetrics, WithoutARegistryAManagerHasOneOfItsOwn) {
  runtime::ManagerOptions o;
  runtime::Manager a(std::make_shared<testsupport::RecordingClient>(), o);
  runtime::Manager b(std::make_shared<testsupport::RecordingClient>(), o);
  ASSERT_NE(a.metrics_registry(), nullptr);
  ASSERT_NE(b.metrics_registry(), nullptr);
  EXPECT_NE(a.metrics_registry(), b.metrics_registry());
  EXPECT_EQ(a.options().metrics_registry, a.metrics_registry());
  EXPECT_EQ(a.metrics()->registry(), a.metrics_registry());
}

}  // namespace
