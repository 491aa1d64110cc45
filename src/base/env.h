#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace base {

// Time as the process sees it: a monotonic clock for deadlines and intervals, the wall
// clock for what is written down (Lease renewTime, Event timestamps, status times), and
// the waits that end at a monotonic deadline. Code that reads the time or waits takes an
// Env, so that tests can drive it with a fake clock (tests/support/fake_env.h) instead of
// sleeping. Implementations are thread-safe.
class Env {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Env() = default;

  virtual SteadyTime Now() const = 0;
  virtual WallTime WallNow() const = 0;

  // As cv.wait_until(lock, deadline): returns when cv is notified (or spuriously), or
  // with std::cv_status::timeout once Now() >= deadline. `lock` holds the mutex the
  // notifier takes. SteadyTime::max() waits for a notification only.
  virtual std::cv_status WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                   SteadyTime deadline) = 0;

  // As cv.wait_until(lock, deadline, pred): pred() once the wait ends.
  template <typename Pred>
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 Pred pred) {
    while (!pred()) {
      if (WaitUntil(lock, cv, deadline) == std::cv_status::timeout) return pred();
    }
    return true;
  }

  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::duration<Rep, Period> d, Pred pred) {
    return WaitUntil(lock, cv, Deadline(d), std::move(pred));
  }

  // Blocks the calling thread until Now() has moved on by d.
  void SleepFor(std::chrono::nanoseconds d);

  // Now() + d, saturating at SteadyTime::max() (d may be "forever").
  template <typename Rep, typename Period>
  SteadyTime Deadline(std::chrono::duration<Rep, Period> d) const {
    const SteadyTime now = Now();
    // Compared in d's own unit: converting a huge d to nanoseconds would overflow.
    const auto left = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(SteadyTime::max() - now);
    if (d >= left) return SteadyTime::max();
    return now + std::chrono::duration_cast<SteadyTime::duration>(d);
  }
};

// The process's clocks (std::chrono::steady_clock and system_clock) and real waits. The
// default wherever an Env is taken; lives for the whole process.
Env& RealEnv();

}  // namespace base
