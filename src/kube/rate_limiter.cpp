#include "kube/rate_limiter.h"

#include <algorithm>

namespace kube {

RateLimiter::RateLimiter(double qps, int burst, base::Env& env)
    : qps_(qps), burst_(std::max(1, burst)), env_(env), tokens_(std::max(1, burst)), last_(env.Now()) {}

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

void RateLimiter::Refund() {
  if (qps_ <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::min(burst_, tokens_ + 1);
}

void RateLimiter::Wait() {
  if (qps_ <= 0) return;
  const auto wait = Reserve(env_.Now());
  if (wait > Clock::duration::zero()) env_.SleepFor(wait);
}

}  // namespace kube
