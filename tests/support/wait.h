#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace testsupport {

// Polls `done` every `interval` until it returns true (then true) or `timeout` passes
// (then false, after one last check).
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds interval = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(interval);
  }
  return done();
}

}  // namespace testsupport
