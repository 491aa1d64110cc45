#include "kube/backoff.h"

#include <algorithm>

namespace kube {

Backoff::Backoff(BackoffOptions options, uint64_t seed)
    : options_(options),
      rng_(seed != 0 ? seed : std::random_device{}()),
      base_ms_(static_cast<double>(options.initial.count())) {}

std::chrono::milliseconds Backoff::Next(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || now - last_ > options_.reset_after) {
    base_ms_ = static_cast<double>(options_.initial.count());
  }
  started_ = true;
  last_ = now;
  const double max_ms = static_cast<double>(options_.max.count());
  const double base = std::min(base_ms_, max_ms);
  double delay = base;
  if (options_.jitter > 0) {
    std::uniform_real_distribution<double> dist(0.0, options_.jitter * base);
    delay += dist(rng_);
  }
  delay = std::min(delay, max_ms);
  base_ms_ = std::min(base * options_.factor, max_ms);
  return std::chrono::milliseconds(static_cast<int64_t>(delay));
}

void Backoff::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  base_ms_ = static_cast<double>(options_.initial.count());
  started_ = false;
}

std::chrono::milliseconds Backoff::current_base() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::chrono::milliseconds(static_cast<int64_t>(base_ms_));
}

}  // namespace kube
