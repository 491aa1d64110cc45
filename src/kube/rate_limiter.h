#pragma once

#include <chrono>
#include <mutex>

namespace kube {

// A token bucket (client-go's flowcontrol / golang.org/x/time/rate): `burst` tokens,
// refilled at `qps` per second. qps <= 0 means unlimited. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double qps, int burst, Clock::time_point now = Clock::now());

  // Takes one token and returns how long the caller must wait before using it
  // (zero when a token was available). Waiting callers queue in arrival order.
  Clock::duration Reserve(Clock::time_point now);
  // Reserve(now) and sleep for the answer.
  void Wait();

  bool unlimited() const { return qps_ <= 0; }

 private:
  const double qps_;
  const double burst_;
  std::mutex mu_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace kube
