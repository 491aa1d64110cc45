#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "runtime/backoff.h"

namespace runtime {

// Decides how long an item waits before it is retried (client-go's workqueue
// RateLimiter). Thread-safe.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // The delay for the item's next retry; counts a failure.
  virtual std::chrono::nanoseconds When(const std::string& item) = 0;
  // Stops tracking the item (it succeeded).
  virtual void Forget(const std::string& item) = 0;
  // Failures counted for the item since the last Forget.
  virtual int NumRequeues(const std::string& item) = 0;
};

// base * 2^failures, capped at max (default 5 ms .. 1000 s).
class ItemExponentialRateLimiter : public RateLimiter {
 public:
  explicit ItemExponentialRateLimiter(
      std::chrono::nanoseconds base = std::chrono::milliseconds(5),
      std::chrono::nanoseconds max = std::chrono::seconds(1000));
  std::chrono::nanoseconds When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  std::chrono::nanoseconds base_, max_;
  std::mutex mu_;
  std::map<std::string, int> failures_;
};

// An overall token bucket (qps, burst) shared by all items, refilled on env's clock;
// never forgets.
class BucketRateLimiter : public RateLimiter {
 public:
  BucketRateLimiter(double qps = 10, int burst = 100, base::Env* env = &base::RealEnv());
  std::chrono::nanoseconds When(const std::string& item) override;
  // As When(), at a given time.
  std::chrono::nanoseconds ReserveAt(Clock::time_point now);
  void Forget(const std::string&) override {}
  int NumRequeues(const std::string&) override { return 0; }

 private:
  double qps_;
  double burst_;
  base::Env* env_;
  std::mutex mu_;
  double tokens_;
  bool started_ = false;
  Clock::time_point last_;
};

// The longest delay of several limiters.
class MaxOfRateLimiter : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::shared_ptr<RateLimiter>> limiters);
  std::chrono::nanoseconds When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  std::vector<std::shared_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: max(per-item 5 ms..1000 s, bucket 10 qps / 100).
std::shared_ptr<RateLimiter> DefaultControllerRateLimiter(base::Env* env = &base::RealEnv());

}  // namespace runtime
