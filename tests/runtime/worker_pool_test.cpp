// WorkerPool: jobs run on its threads, in submission order on one thread, several at once
// on several; Stop drops queued jobs, waits for running ones and refuses new ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/worker_pool.h"

namespace runtime {
namespace {

using std::chrono::seconds;

// A gate jobs wait at until it opens (or 10 s pass, so a broken pool fails, not hangs).
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, seconds(10), [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(WorkerPool, OneThreadRunsJobsInSubmissionOrder) {
  std::vector<int> order;
  std::mutex mu;
  Gate done;
  {
    WorkerPool pool("test", 1);
    EXPECT_EQ(pool.threads(), 1u);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(pool.Submit([&, i] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
        if (i == 49) done.Open();
      }));
    }
    ASSERT_TRUE(done.Wait());
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
}

TEST(WorkerPool, ThreeThreadsRunThreeJobsAtOnce) {
  WorkerPool pool("test", 3);
  std::atomic<int> arrived{0};
  Gate all_in;
  Gate release;
  for (int i = 0; i < 3; ++i) {
    pool.Submit([&] {
      if (++arrived == 3) all_in.Open();
      release.Wait();
    });
  }
  // Only three threads running at the same time can make all three arrive.
  EXPECT_TRUE(all_in.Wait()) << "arrived: " << arrived.load();
  release.Open();
}

TEST(WorkerPool, StopDropsQueuedJobsWaitsForRunningOnesAndRefusesNewOnes) {
  WorkerPool pool("test", 1);
  Gate started;
  Gate release;
  std::atomic<bool> running_finished{false};
  std::atomic<int> queued_ran{0};
  pool.Submit([&] {
    started.Open();
    release.Wait();
    running_finished = true;
  });
  ASSERT_TRUE(started.Wait());
  for (int i = 0; i < 5; ++i) pool.Submit([&] { ++queued_ran; });
  EXPECT_EQ(pool.queued(), 5u);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.Open();
  });
  pool.Stop();
  EXPECT_TRUE(running_finished.load()) << "Stop returned while a job still ran";
  EXPECT_EQ(queued_ran.load(), 0);
  EXPECT_FALSE(pool.Submit([&] { ++queued_ran; }));
  pool.Stop();  // idempotent
  releaser.join();
  EXPECT_EQ(queued_ran.load(), 0);
}

TEST(WorkerPool, AtLeastOneThread) {
  WorkerPool pool("test", 0);
  EXPECT_EQ(pool.threads(), 1u);
  Gate ran;
  pool.Submit([&] { ran.Open(); });
  EXPECT_TRUE(ran.Wait());
}

TEST(TaskScope, QueuedJobsOfAClosedScopeDoNothingRunningOnesAreWaitedFor) {
  WorkerPool pool("test", 1);
  Gate started;
  Gate release;
  std::atomic<int> ran{0};
  std::atomic<bool> first_finished{false};
  auto scope = std::make_unique<TaskScope>();
  pool.Submit(scope->Wrap([&] {
    started.Open();
    release.Wait();
    first_finished = true;
  }));
  ASSERT_TRUE(started.Wait());
  for (int i = 0; i < 3; ++i) pool.Submit(scope->Wrap([&] { ++ran; }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.Open();
  });
  scope->Close();
  EXPECT_TRUE(first_finished.load()) << "Close returned while a wrapped job still ran";
  EXPECT_TRUE(scope->closed());
  scope.reset();  // the owner is gone; its queued jobs still sit in the pool
  releaser.join();
  Gate drained;
  pool.Submit([&] { drained.Open(); });
  ASSERT_TRUE(drained.Wait());
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace runtime
