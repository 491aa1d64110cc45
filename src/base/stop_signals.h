#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace base {

// The stop signals (SIGTERM, SIGINT) of a program, taken by one thread of its own with
// sigwait instead of an asynchronous handler, so that what a signal starts (a graceful
// shutdown) runs as ordinary code. Libraries never install handlers or end the process:
// main decides what a signal means.
//
// Construct it first thing in main, before any thread starts: it blocks the signals in
// the calling thread, and threads started later inherit the mask.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Calls on_signal(signal, count) on the watching thread for every stop signal; count
  // is 1 for the first, 2 for the second... Call once.
  void Watch(std::function<void(int signal, int count)> on_signal);

 private:
  sigset_t set_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace base
