#include "runtime/workqueue.h"

#include "runtime/metrics.h"

namespace runtime {

WorkQueue::WorkQueue(std::string name, std::shared_ptr<RateLimiter> limiter, base::Env* env,
                     std::shared_ptr<RuntimeMetrics> metrics)
    : name_(std::move(name)), env_(env), limiter_(std::move(limiter)) {
  if (!limiter_) limiter_ = DefaultControllerRateLimiter(env_);
  if (metrics && !name_.empty()) {
    metrics_ = std::move(metrics);
    const prometheus::Labels labels{{"name", name_}};
    depth_ = &metrics_->WorkqueueDepth().Add(labels);
    adds_ = &metrics_->WorkqueueAdds().Add(labels);
    retries_ = &metrics_->WorkqueueRetries().Add(labels);
    queue_duration_ = &metrics_->WorkqueueQueueDuration().Add(labels, LatencyBuckets());
    work_duration_ = &metrics_->WorkqueueWorkDuration().Add(labels, LatencyBuckets());
  }
}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::UpdateDepthLocked() {
  if (depth_) depth_->Set(static_cast<double>(queue_.size() + follow_ups_.size()));
}

void WorkQueue::EnqueueLocked(const std::string& key) {
  if (follow_up_keys_.count(key)) {
    follow_ups_.push_back(key);
  } else {
    queue_.push_back(key);
  }
  UpdateDepthLocked();
  cv_.notify_all();
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (adds_) adds_->Increment();
  if (dirty_.count(key)) return;
  dirty_.insert(key);
  added_at_.emplace(key, env_->Now());
  if (processing_.count(key)) return;
  EnqueueLocked(key);
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddFollowUp(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  // Already waiting in the first lane (a new event): it goes as it is.
  if (dirty_.count(key) && !processing_.count(key) && !follow_up_keys_.count(key)) {
    if (adds_) adds_->Increment();
    return;
  }
  follow_up_keys_.emplace(key, env_->Now());
  AddLocked(key);
}

void WorkQueue::SetMaxFollowUpWait(std::chrono::nanoseconds wait) {
  std::lock_guard<std::mutex> lock(mu_);
  max_follow_up_wait_ = wait;
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (delay <= std::chrono::nanoseconds::zero()) {
    AddLocked(key);
    return;
  }
  const auto due = env_->Now() + delay;
  auto [it, inserted] = delayed_.emplace(key, due);
  if (!inserted && due < it->second) it->second = due;
  cv_.notify_all();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  const auto delay = limiter_->When(key);
  if (retries_) retries_->Increment();
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

std::optional<Clock::time_point> WorkQueue::PromoteLocked(Clock::time_point now) {
  std::optional<Clock::time_point> next;
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      const std::string key = it->first;
      it = delayed_.erase(it);
      AddLocked(key);
    } else {
      if (!next || it->second < *next) next = it->second;
      ++it;
    }
  }
  return next;
}

bool WorkQueue::Get(std::string* key) { return GetUntil(key, Clock::time_point::max()); }

bool WorkQueue::GetUntil(std::string* key, Clock::time_point deadline, bool* timed_out) {
  if (timed_out) *timed_out = false;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    std::optional<Clock::time_point> next;
    if (!shutting_down_) next = PromoteLocked(env_->Now());
    if (!queue_.empty() || !follow_ups_.empty()) break;
    if (shutting_down_) return false;
    Clock::time_point wake = deadline;
    if (next && *next < wake) wake = *next;
    if (wake == Clock::time_point::max()) {
      env_->WaitUntil(lock, cv_, wake);
    } else {
      env_->WaitUntil(lock, cv_, wake);
      if (env_->Now() >= deadline && queue_.empty() && follow_ups_.empty()) {
        if (timed_out) *timed_out = true;
        return false;
      }
    }
  }
  const auto now = env_->Now();
  // The follow-up lane when nothing else waits; otherwise, once its oldest key has waited
  // max_follow_up_wait_, every other key (so neither lane starves the other).
  bool follow_up = queue_.empty();
  if (!follow_up && !follow_ups_.empty() && !took_overdue_follow_up_) {
    auto since = follow_up_keys_.find(follow_ups_.front());
    follow_up = since != follow_up_keys_.end() && now - since->second >= max_follow_up_wait_;
  }
  took_overdue_follow_up_ = follow_up && !queue_.empty();
  std::deque<std::string>& lane = follow_up ? follow_ups_ : queue_;
  *key = lane.front();
  lane.pop_front();
  follow_up_keys_.erase(*key);
  UpdateDepthLocked();
  processing_.insert(*key);
  dirty_.erase(*key);
  auto added = added_at_.find(*key);
  if (added != added_at_.end()) {
    if (queue_duration_) {
      queue_duration_->Observe(std::chrono::duration<double>(now - added->second).count());
    }
    added_at_.erase(added);
  }
  started_at_[*key] = now;
  return true;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto started = started_at_.find(key);
  if (started != started_at_.end()) {
    if (work_duration_) {
      work_duration_->Observe(
          std::chrono::duration<double>(env_->Now() - started->second).count());
    }
    started_at_.erase(started);
  }
  processing_.erase(key);
  if (dirty_.count(key)) EnqueueLocked(key);
  cv_.notify_all();
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  delayed_.clear();
  cv_.notify_all();
}

bool WorkQueue::ShutDownWithDrain(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  shutting_down_ = true;
  delayed_.clear();
  cv_.notify_all();
  const auto drained = [&] { return processing_.empty() && queue_.empty() && follow_ups_.empty(); };
  if (deadline == Clock::time_point::max()) {
    env_->WaitUntil(lock, cv_, deadline, drained);
    return true;
  }
  return env_->WaitUntil(lock, cv_, deadline, drained);
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!shutting_down_) PromoteLocked(env_->Now());
  return queue_.size() + follow_ups_.size();
}

size_t WorkQueue::DelayedLen() {
  std::lock_guard<std::mutex> lock(mu_);
  return delayed_.size();
}

size_t WorkQueue::Processing() {
  std::lock_guard<std::mutex> lock(mu_);
  return processing_.size();
}

}  // namespace runtime
