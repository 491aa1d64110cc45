#include "runtime/controller.h"

#include <cstdio>
#include <random>

namespace runtime {
namespace {

std::string NewReconcileID() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  std::string s(buf);
  return s.substr(0, 8) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4) + "-" +
         s.substr(16, 4) + "-" + s.substr(20, 12);
}

}  // namespace

Request Request::FromKey(const std::string& key) {
  Request r;
  SplitObjectKey(key, &r.ns, &r.name);
  return r;
}

Controller::Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler)
    : options_(std::move(options)),
      reconciler_(std::move(reconciler)),
      log_("controller", {{"controller", options_.name}}),
      queue_(options_.name, options_.rate_limiter, options_.env, options_.metrics) {
  if (!options_.metrics) return;
  const RuntimeMetrics& m = *options_.metrics;
  const prometheus::Labels labels{{"controller", options_.name}};
  for (const char* result : {"success", "error", "requeue", "requeue_after"}) {
    series_.total[result] = &m.ReconcileTotal().Add({{"controller", options_.name}, {"result", result}});
  }
  series_.errors = &m.ReconcileErrors().Add(labels);
  series_.panics = &m.ReconcilePanics().Add(labels);
  series_.active = &m.ActiveWorkers().Add(labels);
  series_.time = &m.ReconcileTime().Add(labels, LatencyBuckets());
}

Controller::~Controller() { Stop(); }

void Controller::Watch(Informer& informer, MapFunc map) {
  // What the informer replays (its first list, a resync) goes behind the news: a standby
  // that takes over with every group queued from its first list decides first the group
  // whose pod failed during the takeover.
  auto enqueue = [this, map, inf = &informer](const json& obj) {
    const bool replay = inf->Replaying();
    auto add = [&](const std::string& key) {
      if (replay) {
        queue_.AddFollowUp(key);
      } else {
        queue_.Add(key);
      }
    };
    if (map) {
      for (const auto& key : map(obj)) add(key);
    } else {
      add(ObjectKey(obj));
    }
  };
  auto h = std::make_shared<EventHandlerFuncs>();
  h->add = enqueue;
  h->update = [enqueue](const json& old_obj, const json& new_obj) {
    enqueue(old_obj);
    enqueue(new_obj);
  };
  h->del = enqueue;
  informer.AddEventHandler(h);
}

void Controller::Start() {
  if (started_.exchange(true)) return;
  log_.Info("starting workers", {{"workers", options_.workers}});
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { Worker(); });
  }
}

bool Controller::Stop(Clock::time_point deadline) {
  if (!started_.load()) {
    queue_.ShutDown();
    return true;
  }
  const bool drained = queue_.ShutDownWithDrain(deadline);
  if (!drained) {
    log_.Warn("reconciles still running at the shutdown deadline; leaving them");
    for (auto& t : workers_) {
      if (t.joinable()) t.detach();
    }
    workers_.clear();
    return false;
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  return true;
}

void Controller::Worker() {
  std::string key;
  while (queue_.Get(&key)) {
    ProcessOne(key);
    queue_.Done(key);
  }
}

void Controller::ProcessOne(const std::string& key) {
  if (series_.active) series_.active->Increment();
  const Request req = Request::FromKey(key);
  const Logger log = log_.WithValues(
      {{"namespace", req.ns}, {"name", req.name}, {"reconcileID", NewReconcileID()}});
  const auto start = options_.env->Now();
  std::string result;
  bool error = false;
  bool panic = false;
  try {
    auto r = reconciler_->Reconcile(req);
    if (!r.ok()) {
      result = "error";
      error = true;
      log.Error("reconcile failed", {{"error", r.status().ToString()},
                                     {"retries", queue_.NumRequeues(key)}});
      queue_.AddRateLimited(key);
    } else if (r->follow_up) {
      result = "requeue";
      queue_.Forget(key);
      queue_.AddFollowUp(key);
    } else if (r->requeue_after.count() > 0) {
      result = "requeue_after";
      queue_.Forget(key);
      queue_.AddAfter(key, r->requeue_after);
    } else if (r->requeue) {
      result = "requeue";
      queue_.AddRateLimited(key);
    } else {
      result = "success";
      queue_.Forget(key);
    }
  } catch (const std::exception& e) {
    result = "error";
    error = panic = true;
    log.Error("exception in reconcile", {{"error", e.what()}});
    queue_.AddRateLimited(key);
  } catch (...) {
    result = "error";
    error = panic = true;
    log.Error("unknown exception in reconcile");
    queue_.AddRateLimited(key);
  }
  const double secs = std::chrono::duration<double>(options_.env->Now() - start).count();
  if (options_.metrics) {
    if (panic) series_.panics->Increment();
    if (error) series_.errors->Increment();
    series_.time->Observe(secs);
    series_.total.at(result)->Increment();
    series_.active->Decrement();
  }
  log.Debug("reconciled", {{"result", result}, {"seconds", secs}});
}

}  // namespace runtime
