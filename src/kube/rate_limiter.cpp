#include "kube/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace kube {

RateLimiter::RateLimiter(double qps, int burst, Clock::time_point now)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(now) {}

RateLimiter::Clock::duration RateLimiter::Reserve(Clock::time_point now) {
  if (qps_ <= 0) return Clock::duration::zero();
  std::lock_guard<std::mutex> lock(mu_);
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  // A negative balance is the debt queued callers owe; this one waits until it is repaid.
  auto wait = std::chrono::duration<double>(-tokens_ / qps_);
  return std::chrono::duration_cast<Clock::duration>(wait);
}

void RateLimiter::Wait() {
  if (qps_ <= 0) return;
  auto wait = Reserve(Clock::now());
  if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
}

}  // namespace kube
