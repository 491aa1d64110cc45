#pragma once

#include <chrono>
#include <mutex>

#include "base/env.h"

namespace kube {

// A token bucket (client-go's flowcontrol / golang.org/x/time/rate): `burst` tokens,
// refilled at `qps` per second on env's clock, full at construction. qps <= 0 means
// unlimited. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double qps, int burst, base::Env& env);

  // Takes one token and returns how long the caller must wait before using it
  // (zero when a token was available). Waiting callers queue in arrival order.
  Clock::duration Reserve(Clock::time_point now);
  // Gives back a token Reserve took for a request that will not be sent (its deadline
  // would pass first), so that refused requests do not pile up a debt for the others.
  void Refund();
  // Reserve(env.Now()) and sleep on env for the answer.
  void Wait();

  bool unlimited() const { return qps_ <= 0; }

 private:
  const double qps_;
  const double burst_;
  base::Env& env_;
  std::mutex mu_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace kube
