// StopSignals: SIGTERM and SIGINT reach the watching thread, counted, instead of ending
// the process; destroying the watcher ends its thread without a report.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "base/stop_signals.h"

namespace base {
namespace {

TEST(StopSignals, EachSignalIsReportedWithItsCount) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, int>> seen;
  {
    StopSignals signals;  // blocks the signals here, before the watching thread starts
    signals.Watch([&](int sig, int count) {
      std::lock_guard<std::mutex> lock(mu);
      seen.emplace_back(sig, count);
      cv.notify_all();
    });
    auto wait_for = [&](size_t n) {
      std::unique_lock<std::mutex> lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= n; });
    };
    // Sent to the process: a default SIGTERM disposition would end this test binary.
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    ASSERT_TRUE(wait_for(1));
    ASSERT_EQ(kill(getpid(), SIGINT), 0);
    ASSERT_TRUE(wait_for(2));
  }
  // The destructor woke the thread without a third report.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(SIGTERM, 1));
  EXPECT_EQ(seen[1], std::make_pair(SIGINT, 2));
}

}  // namespace
}  // namespace base
