#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "runtime/metrics.h"

using namespace std::chrono_literals;

namespace {

// A reconciler driven by a per-key script of outcomes.
class ScriptedReconciler : public runtime::Reconciler {
 public:
  enum class Outcome { kOk, kError, kThrow, kRequeueAfter };
  std::mutex mu;
  std::map<std::string, std::vector<Outcome>> script;
  std::map<std::string, int> calls;
  std::atomic<int> concurrent{0};
  std::atomic<bool> overlap{false};

  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request& req) override {
    if (concurrent++ > 0) overlap = true;
    Outcome o = Outcome::kOk;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& s = script[req.Key()];
      if (!s.empty()) {
        o = s.front();
        s.erase(s.begin());
      }
      calls[req.Key()]++;
    }
    std::this_thread::sleep_for(1ms);
    concurrent--;
    switch (o) {
      case Outcome::kError:
        return kube::Status(kube::Reason::kConflict, "object changed", 409);
      case Outcome::kThrow:
        throw std::runtime_error("boom");
      case Outcome::kRequeueAfter:
        return runtime::ReconcileResult{false, 30ms};
      case Outcome::kOk:
        break;
    }
    return runtime::ReconcileResult{};
  }
  int Calls(const std::string& k) {
    std::lock_guard<std::mutex> lock(mu);
    return calls[k];
  }
};

double CounterValue(prometheus::Family<prometheus::Counter>& f, const prometheus::Labels& l) {
  return f.Add(l).Value();
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST(Controller, ErrorsAndExceptionsBackOffThenSucceed) {
  auto r = std::make_shared<ScriptedReconciler>();
  r->script["shop/a"] = {ScriptedReconciler::Outcome::kError, ScriptedReconciler::Outcome::kThrow};
  auto m = std::make_shared<runtime::RuntimeMetrics>(std::make_shared<prometheus::Registry>());
  runtime::Controller c({"unit_errors", 1, std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 100ms),
                         &base::RealEnv(), m},
                        r);
  c.Start();
  c.Enqueue("shop/a");
  ASSERT_TRUE(WaitFor([&] { return r->Calls("shop/a") == 3; }));
  ASSERT_TRUE(WaitFor([&] { return c.queue().NumRequeues("shop/a") == 0; }))
      << "success must forget the backoff";
  EXPECT_TRUE(c.Stop());
  EXPECT_EQ(CounterValue(m->ReconcileTotal(), {{"controller", "unit_errors"}, {"result", "error"}}), 2);
  EXPECT_EQ(CounterValue(m->ReconcileTotal(), {{"controller", "unit_errors"}, {"result", "success"}}), 1);
  EXPECT_EQ(CounterValue(m->ReconcilePanics(), {{"controller", "unit_errors"}}), 1);
  EXPECT_EQ(CounterValue(m->ReconcileErrors(), {{"controller", "unit_errors"}}), 2);
  EXPECT_EQ(CounterValue(m->WorkqueueRetries(), {{"name", "unit_errors"}}), 2);
  EXPECT_EQ(m->ActiveWorkers().Add({{"controller", "unit_errors"}}).Value(), 0);
}

// Each controller records into the metrics it was given, and nowhere else: two
// controllers of the same name on two registries share no series.
TEST(Controller, ControllersOnTwoRegistriesShareNoSeries) {
  auto r = std::make_shared<ScriptedReconciler>();
  auto one = std::make_shared<runtime::RuntimeMetrics>(std::make_shared<prometheus::Registry>());
  auto two = std::make_shared<runtime::RuntimeMetrics>(std::make_shared<prometheus::Registry>());
  runtime::Controller a({"twin", 1, nullptr, &base::RealEnv(), one}, r);
  runtime::Controller b({"twin", 1, nullptr, &base::RealEnv(), two}, r);
  a.Start();
  a.Enqueue("shop/c");
  ASSERT_TRUE(WaitFor([&] { return r->Calls("shop/c") == 1; }));
  EXPECT_TRUE(a.Stop());
  const std::string success = "controller_runtime_reconcile_total{controller=\"twin\",result=\"success\"} ";
  EXPECT_NE(one->Serialize().find(success + "1"), std::string::npos) << one->Serialize();
  EXPECT_NE(two->Serialize().find(success + "0"), std::string::npos) << two->Serialize();
  EXPECT_NE(two->Serialize().find("workqueue_adds_total{name=\"twin\"} 0"), std::string::npos)
      << two->Serialize();
}

// Without metrics a controller records nothing and runs as well.
TEST(Controller, RunsWithoutMetrics) {
  auto r = std::make_shared<ScriptedReconciler>();
  r->script["shop/d"] = {ScriptedReconciler::Outcome::kThrow};
  runtime::Controller c({"no_metrics", 1, std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 100ms)}, r);
  c.Start();
  c.Enqueue("shop/d");
  ASSERT_TRUE(WaitFor([&] { return r->Calls("shop/d") == 2; }));
  EXPECT_TRUE(c.Stop());
}

TEST(Controller, RequeueAfterLooksAgain) {
  auto r = std::make_shared<ScriptedReconciler>();
  r->script["shop/b"] = {ScriptedReconciler::Outcome::kRequeueAfter};
  runtime::Controller c({"unit_requeue", 2, nullptr}, r);
  c.Start();
  const auto start = std::chrono::steady_clock::now();
  c.Enqueue("shop/b");
  ASSERT_TRUE(WaitFor([&] { return r->Calls("shop/b") == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  c.Stop();
}

TEST(Controller, RequestCarriesNamespaceAndName) {
  auto req = runtime::Request::FromKey("shop/orders-db");
  EXPECT_EQ(req.ns, "shop");
  EXPECT_EQ(req.name, "orders-db");
  EXPECT_EQ(req.Key(), "shop/orders-db");
}

}  // namespace
