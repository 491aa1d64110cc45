#include "base/env.h"

namespace base {
namespace {

class SystemEnv final : public Env {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }

  std::cv_status WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           SteadyTime deadline) override {
    // wait_until on the largest time point overflows inside some standard libraries.
    if (deadline == SteadyTime::max()) {
      cv.wait(lock);
      return std::cv_status::no_timeout;
    }
    return cv.wait_until(lock, deadline);
  }
};

}  // namespace

void Env::SleepFor(std::chrono::nanoseconds d) {
  // A private condition variable nobody notifies: the wait ends at the deadline, on
  // whichever clock this Env keeps.
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  const SteadyTime deadline = Deadline(d);
  while (Now() < deadline) WaitUntil(lock, cv, deadline);
}

Env& RealEnv() {
  // Never destroyed: threads still running at exit may read it.
  static SystemEnv* env = new SystemEnv();
  return *env;
}

}  // namespace base
