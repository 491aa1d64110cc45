#pragma once

#include <chrono>
#include <mutex>

#include "base/env.h"

namespace base {

// The wall-clock time a process decides by. It moves with the monotonic clock, and leans
// towards the wall clock at most 1% of the time that passed (as NTP slews): a step of the
// system's wall clock (NTP stepping, `date -s`, a VM resumed) neither jumps it forward nor
// sends it back. So a duration measured in-process between two readings is the real one to
// within 1%, whichever way the wall clock was stepped, and the times it gives converge on
// the wall clock again (one hour of step in 100 hours). It never goes backwards. Starts equal
// to the wall clock. Thread-safe.
class Timeline {
 public:
  explicit Timeline(Env* env = &RealEnv());

  Env::WallTime Now();
  // The wall clock minus Now() as of the last reading: how far a step put the wall clock
  // away from this timeline (0 without one).
  std::chrono::nanoseconds Offset() const;

 private:
  Env* env_;
  mutable std::mutex mu_;
  Env::SteadyTime last_steady_;
  Env::WallTime last_;
  std::chrono::nanoseconds offset_{0};
};

}  // namespace base
