#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "base/env.h"
#include "runtime/backoff.h"
#include "runtime/rate_limiter.h"

namespace prometheus {
class Gauge;
class Counter;
class Histogram;
}  // namespace prometheus

namespace runtime {

class RuntimeMetrics;

// A work queue of string keys with client-go's semantics:
// - a key queued several times is handed out once;
// - a key added while a worker processes it is handed out again after Done(), never to
//   two workers at the same time;
// - AddAfter delays a key; AddRateLimited delays it by the rate limiter (per-item
//   exponential backoff by default); Forget resets its backoff;
// - AddFollowUp queues a key in a second lane, handed out when no other key is ready, and
//   once its oldest key has waited max_follow_up_wait, every other time: the rest of work
//   already begun (a switch whose traffic moved) or a replay (an informer's first list),
//   which should not delay new work (another group's traffic) for long, nor starve. A key
//   there stays there when it is added again meanwhile.
// - ShutDown stops accepting keys; queued keys are still handed out, then Get returns
//   false. Delayed keys not yet due are dropped.
// Thread-safe. The workqueue_* metrics go to `metrics`, labelled with `name` (null
// metrics or an empty name = no metrics). Delays and deadlines are on env's clock (null
// limiter = DefaultControllerRateLimiter(env)).
class WorkQueue {
 public:
  explicit WorkQueue(std::string name = "", std::shared_ptr<RateLimiter> limiter = nullptr,
                     base::Env* env = &base::RealEnv(),
                     std::shared_ptr<RuntimeMetrics> metrics = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  void AddFollowUp(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key);

  // Blocks until a key is ready; false once shut down and empty.
  bool Get(std::string* key);
  // As Get, giving up at the deadline (returns false; *timed_out set when given).
  bool GetUntil(std::string* key, Clock::time_point deadline, bool* timed_out = nullptr);
  // Marks the key processed; re-queues it when it was added meanwhile.
  void Done(const std::string& key);

  void ShutDown();
  // ShutDown, then waits until every handed-out key is Done (or the deadline passes).
  // True when drained.
  bool ShutDownWithDrain(Clock::time_point deadline = Clock::time_point::max());
  bool ShuttingDown() const;

  // Keys ready to hand out, in either lane (delayed keys not yet due are not counted).
  size_t Len();
  // How long a follow-up waits behind other keys before it takes every other turn
  // (default 30 s: a storm's traffic writes all go first; a follow-up costs several
  // writes, and taking turns earlier cut their pace by as much).
  void SetMaxFollowUpWait(std::chrono::nanoseconds wait);
  // Keys waiting for their delay.
  size_t DelayedLen();
  size_t Processing();

 private:
  void AddLocked(const std::string& key);
  // Queues a dirty key that is not being processed in its lane.
  void EnqueueLocked(const std::string& key);
  // Moves due delayed keys to the queue; returns when the next one is due.
  std::optional<Clock::time_point> PromoteLocked(Clock::time_point now);
  void UpdateDepthLocked();

  std::string name_;
  base::Env* env_;
  std::shared_ptr<RateLimiter> limiter_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::deque<std::string> follow_ups_;
  std::map<std::string, Clock::time_point> follow_up_keys_;  // key -> when it became one
  std::chrono::nanoseconds max_follow_up_wait_ = std::chrono::seconds(30);
  bool took_overdue_follow_up_ = false;  // the last key handed out jumped the first lane
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> delayed_;  // key -> earliest due time
  std::map<std::string, Clock::time_point> added_at_;
  std::map<std::string, Clock::time_point> started_at_;
  bool shutting_down_ = false;

  std::shared_ptr<RuntimeMetrics> metrics_;  // keeps the series below alive
  prometheus::Gauge* depth_ = nullptr;
  prometheus::Counter* adds_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Histogram* queue_duration_ = nullptr;
  prometheus::Histogram* work_duration_ = nullptr;
};

}  // namespace runtime
