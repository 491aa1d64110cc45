#include "runtime/worker_pool.h"

#include <algorithm>

namespace runtime {

WorkerPool::WorkerPool(std::string name, int threads) : name_(std::move(name)) {
  const int n = std::max(1, threads);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

void WorkerPool::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

TaskScope::TaskScope() : state_(std::make_shared<State>()) {}

TaskScope::~TaskScope() { Close(); }

std::function<void()> TaskScope::Wrap(std::function<void()> fn) {
  return [state = state_, fn = std::move(fn)] {
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (state->closed) return;
      ++state->running;
    }
    fn();
    std::lock_guard<std::mutex> lock(state->mu);
    --state->running;
    state->cv.notify_all();
  };
}

void TaskScope::Close() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->closed = true;
  state_->cv.wait(lock, [this] { return state_->running == 0; });
}

bool TaskScope::closed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->closed;
}

}  // namespace runtime
