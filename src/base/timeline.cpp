#include "base/timeline.h"

#include <algorithm>

namespace base {

Timeline::Timeline(Env* env) : env_(env), last_steady_(env->Now()), last_(env->WallNow()) {}

Env::WallTime Timeline::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  const Env::SteadyTime steady = env_->Now();
  const Env::WallTime wall = env_->WallNow();
  const auto elapsed = std::max(std::chrono::nanoseconds(0),
                                std::chrono::duration_cast<std::chrono::nanoseconds>(steady - last_steady_));
  last_steady_ = steady;
  Env::WallTime t = last_ + std::chrono::duration_cast<Env::WallTime::duration>(elapsed);
  const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(wall - t);
  const auto lean = elapsed / 100;
  t += std::chrono::duration_cast<Env::WallTime::duration>(std::clamp(gap, -lean, lean));
  last_ = t;
  offset_ = std::chrono::duration_cast<std::chrono::nanoseconds>(wall - t);
  return t;
}

std::chrono::nanoseconds Timeline::Offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offset_;
}

}  // namespace base
