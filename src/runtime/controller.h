#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/env.h"
#include "kube/status.h"
#include "runtime/informer.h"
#include "runtime/logger.h"
#include "runtime/metrics.h"
#include "runtime/workqueue.h"

namespace runtime {

// The object a reconcile is about.
struct Request {
  std::string ns;
  std::string name;
  std::string Key() const { return ObjectKey(ns, name); }
  static Request FromKey(const std::string& key);
};

// What a successful reconcile asks for: nothing (done), a retry with backoff (requeue),
// another look after a delay (requeue_after > 0, backoff reset), or the rest of work it
// began (follow_up: at once, in the queue's follow-up lane, behind keys with new work
// for at most its max wait; WorkQueue::AddFollowUp).
struct ReconcileResult {
  bool requeue = false;
  std::chrono::milliseconds requeue_after{0};
  bool follow_up = false;
};

// The user's logic: bring the world in line with the object named by the request.
// Called for one key at a time (never concurrently for the same key). An error Status
// retries with per-item backoff; an exception is caught, counted and backed off too.
class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual kube::Result<ReconcileResult> Reconcile(const Request& request) = 0;
};

struct ControllerOptions {
  std::string name;  // labels metrics and logs ("failovergroup")
  int workers = 1;
  std::shared_ptr<RateLimiter> rate_limiter;  // null = DefaultControllerRateLimiter(env)
  base::Env* env = &base::RealEnv();          // the work queue's clock
  // The controller_runtime_* and its queue's workqueue_* series go here, labelled with
  // name; null = none recorded. The manager passes its own.
  std::shared_ptr<RuntimeMetrics> metrics = nullptr;
};

// Maps a watched object to the keys to reconcile.
using MapFunc = std::function<std::vector<std::string>(const json& obj)>;

// Runs a Reconciler over a work queue with N workers.
class Controller {
 public:
  Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Enqueues keys for every add/update/delete the informer delivers; map = null enqueues
  // the object's own key.
  void Watch(Informer& informer, MapFunc map = nullptr);
  void Enqueue(const std::string& key) { queue_.Add(key); }

  void Start();
  // Stops taking new keys, lets running reconciles finish (until the deadline), joins.
  // True when every running reconcile finished in time.
  bool Stop(Clock::time_point deadline = Clock::time_point::max());
  bool started() const { return started_.load(); }

  WorkQueue& queue() { return queue_; }
  const std::string& name() const { return options_.name; }

 private:
  void Worker();
  void ProcessOne(const std::string& key);

  ControllerOptions options_;
  // This controller's series in options_.metrics (unset without metrics).
  struct Series {
    std::map<std::string, prometheus::Counter*> total;  // by result
    prometheus::Counter* errors = nullptr;
    prometheus::Counter* panics = nullptr;
    prometheus::Gauge* active = nullptr;
    prometheus::Histogram* time = nullptr;
  };
  Series series_;
  std::shared_ptr<Reconciler> reconciler_;
  Logger log_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> started_{false};
};

}  // namespace runtime
