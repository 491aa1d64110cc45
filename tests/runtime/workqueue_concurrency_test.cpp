#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/metrics.h"
#include "runtime/workqueue.h"

using namespace std::chrono_literals;

namespace {

// N workers, producers re-adding the same keys: a key is never processed by two
// workers at once, and every key added after its last processing started runs again.
TEST(WorkQueueConcurrency, NeverProcessesAKeyConcurrentlyAndLosesNoAdds) {
  // With metrics: their series are updated from every thread too.
  runtime::WorkQueue q("concurrency_test",
                       std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 5ms),
                       &base::RealEnv(), std::make_shared<runtime::RuntimeMetrics>(nullptr));
  constexpr int kKeys = 8;
  constexpr int kWorkers = 4;
  std::mutex mu;
  std::map<std::string, int> in_flight;
  std::map<std::string, int> last_seen_version;
  std::map<std::string, int> version;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      std::string key;
      while (q.Get(&key)) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (in_flight[key]++ > 0) overlap = true;
          last_seen_version[key] = version[key];
        }
        std::this_thread::sleep_for(100us);
        {
          std::lock_guard<std::mutex> lock(mu);
          in_flight[key]--;
        }
        processed++;
        if (processed % 7 == 0) q.AddRateLimited(key);
        else q.Forget(key);
        q.Done(key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < 400; ++i) {
        const std::string key = "ns/k" + std::to_string((i + p) % kKeys);
        {
          std::lock_guard<std::mutex> lock(mu);
          version[key]++;
        }
        q.Add(key);
        if (i % 50 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& t : producers) t.join();
  // Every key must be seen at its final version.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    bool caught_up = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [k, v] : version) caught_up = caught_up && last_seen_version[k] == v;
    }
    if (caught_up || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(q.ShutDownWithDrain(std::chrono::steady_clock::now() + 10s));
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [k, v] : version) EXPECT_EQ(last_seen_version[k], v) << k;
  EXPECT_GT(processed.load(), kKeys);
}

TEST(WorkQueueConcurrency, ShutDownWithDrainWaitsForInFlightWork) {
  runtime::WorkQueue q("", std::make_shared<runtime::ItemExponentialRateLimiter>(1ms, 5ms));
  std::atomic<bool> finished{false};
  q.Add("k");
  std::thread worker([&] {
    std::string key;
    while (q.Get(&key)) {
      std::this_thread::sleep_for(50ms);
      finished = true;
      q.Done(key);
    }
  });
  while (q.Processing() == 0) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(q.ShutDownWithDrain());
  EXPECT_TRUE(finished.load());
  worker.join();
}

}  // namespace
