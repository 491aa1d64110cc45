#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace kube {

// Exponential backoff with jitter for reconnecting (client-go's reflector uses 800 ms
// doubling up to 30 s, reset after 2 minutes without trouble).
struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  double jitter = 1.0;  // a delay d becomes d + random[0, jitter*d), never above max
  std::chrono::milliseconds reset_after{120000};
};

// Thread-safe. Each Next() is the next wait; the schedule starts over when the previous
// Next() was longer than reset_after ago, or after Reset().
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(BackoffOptions options = {}, uint64_t seed = 0);

  // `now`: the caller's clock (base::Env::Now()).
  std::chrono::milliseconds Next(Clock::time_point now);
  void Reset();
  // The un-jittered base of the next delay.
  std::chrono::milliseconds current_base() const;

 private:
  BackoffOptions options_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  double base_ms_;
  bool started_ = false;
  Clock::time_point last_;
};

}  // namespace kube
