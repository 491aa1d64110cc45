#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>

#include "base/env.h"

namespace testsupport {

// A base::Env whose clocks move only when the test says so (Advance). A wait on it ends
// when its condition variable is notified or when Advance moves the clock to its deadline,
// so a test steps a component through minutes of timers without sleeping: start it, let
// it block (BlockUntilWaiters), Advance, look. Both clocks move together. Thread-safe.
class FakeEnv final : public base::Env {
 public:
  // Starts an hour into the steady clock (so that time_point{} reads as "never") and at
  // 2024-01-01T00:00:00Z on the wall.
  FakeEnv()
      : now_(SteadyTime() + std::chrono::hours(1)),
        wall_(WallTime(std::chrono::seconds(1704067200))) {}

  SteadyTime Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  WallTime WallNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }

  std::cv_status WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           SteadyTime deadline) override {
    Waiter w{deadline, &cv};
    {
      std::lock_guard<std::mutex> g(mu_);
      if (now_ >= deadline) return std::cv_status::timeout;
      waiters_.push_back(&w);
      changed_.notify_all();
    }
    std::cv_status result = std::cv_status::no_timeout;
    for (int polls = 1;; ++polls) {
      // Advance notifies without the caller's mutex, so its notification can fall between
      // the registration above and this wait; the short real wait bounds that gap, and
      // only real time is lost, never fake time. A notification that arrives just as a 5 ms
      // wait runs out is reported by wait_for as a timeout, indistinguishable from none:
      // every 100 ms of real time the wait ends anyway (a spurious wake-up, which callers
      // check their condition after), so such a notification costs 100 ms, never a hang.
      const bool woken = cv.wait_for(lock, std::chrono::milliseconds(5)) == std::cv_status::no_timeout;
      std::lock_guard<std::mutex> g(mu_);
      if (w.fired) {
        result = std::cv_status::timeout;
        break;
      }
      if (woken || polls % 20 == 0) {
        waiters_.remove(&w);
        changed_.notify_all();
        break;
      }
    }
    return result;
  }

  // Moves both clocks on by d and ends the waits whose deadline has come.
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += std::chrono::duration_cast<SteadyTime::duration>(d);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if ((*it)->deadline <= now_) {
        (*it)->fired = true;
        (*it)->cv->notify_all();
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    changed_.notify_all();
  }

  // Steps the wall clock alone by d (either way), as NTP stepping or `date -s` would; the
  // steady clock and the waits are left alone.
  void StepWall(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

  // Moves the clocks to the earliest pending deadline (none: does nothing). Returns
  // whether there was one.
  bool AdvanceToNextDeadline() {
    std::optional<SteadyTime> next = NextDeadline();
    if (!next) return false;
    Advance(*next - Now());
    return true;
  }

  // The earliest deadline among the waits in progress (SteadyTime::max() ones excluded).
  std::optional<SteadyTime> NextDeadline() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<SteadyTime> next;
    for (const Waiter* w : waiters_) {
      if (w->deadline != SteadyTime::max() && (!next || w->deadline < *next)) next = w->deadline;
    }
    return next;
  }

  // Waits (in real time, up to `limit`) until at least n threads wait on this clock.
  // False on timeout: the component did not reach its wait, a test failure.
  bool BlockUntilWaiters(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return waiters_.size() >= n; });
  }

  // Waits (in real time, up to `limit`) until some wait has a deadline at or before t,
  // e.g. a component's next timer is armed.
  bool BlockUntilDeadlineBy(SteadyTime t, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, limit, [&] {
      return std::any_of(waiters_.begin(), waiters_.end(), [&](const Waiter* w) { return w->deadline <= t; });
    });
  }

  size_t Waiters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiters_.size();
  }

 private:
  struct Waiter {
    SteadyTime deadline;
    std::condition_variable* cv;
    bool fired = false;
  };

  mutable std::mutex mu_;
  std::condition_variable changed_;  // waiters_ or the time changed
  SteadyTime now_;
  WallTime wall_;
  std::list<Waiter*> waiters_;
};

}  // namespace testsupport
