#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "runtime/controller.h"

using namespace std::chrono_literals;

namespace {

// Four workers, keys re-enqueued from several threads while they reconcile: no key is
// ever reconciled by two workers at once, and Stop() waits for running reconciles.
class TrackingReconciler : public runtime::Reconciler {
 public:
  std::mutex mu;
  std::set<std::string> running;
  std::atomic<bool> overlap{false};
  std::atomic<int> total{0};
  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request& req) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!running.insert(req.Key()).second) overlap = true;
    }
    std::this_thread::sleep_for(200us);
    {
      std::lock_guard<std::mutex> lock(mu);
      running.erase(req.Key());
    }
    if (++total % 5 == 0) throw std::runtime_error("every fifth throws");
    return runtime::ReconcileResult{};
  }
};

TEST(ControllerConcurrency, SameKeyNeverReconciledConcurrently) {
  auto r = std::make_shared<TrackingReconciler>();
  runtime::Controller c({"concurrency_controller", 4,
                         std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 10ms),
                         &base::RealEnv(), std::make_shared<runtime::RuntimeMetrics>(nullptr)},
                        r);
  c.Start();
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) c.Enqueue("ns/k" + std::to_string(i % 5));
    });
  }
  for (auto& t : producers) t.join();
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(c.Stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_FALSE(r->overlap.load());
  EXPECT_GE(r->total.load(), 5);
}

}  // namespace
