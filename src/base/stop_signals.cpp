#include "base/stop_signals.h"

#include <pthread.h>

namespace base {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

StopSignals::~StopSignals() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  // Wakes the sigwait; the thread sees stopping_ and returns without reporting it.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void StopSignals::Watch(std::function<void(int, int)> on_signal) {
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    for (int count = 1;; ++count) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) return;
      if (stopping_.load()) return;
      if (on_signal) on_signal(sig, count);
    }
  });
}

}  // namespace base
