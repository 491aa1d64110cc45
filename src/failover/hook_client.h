#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "failover/engine.h"
#include "failover/types.h"
#include "runtime/worker_pool.h"

namespace failover {

// The outcome of one hook call with all its retries.
struct HookOutcome {
  bool ok = false;
  int attempts = 0;
  std::string message;  // the last failure ("" when ok)
};

// Calls HTTP(S) hooks: POST a JSON body; a 2xx answer is success. Each attempt is bounded
// by hook.timeout; failed attempts are retried hook.retries times with exponential
// backoff; a circuit breaker per URL opens after `breaker_threshold` consecutive failed
// calls and fails calls fast for `breaker_open`, then lets one trial call through.
// The breaker and the backoff run on env's clock (the attempts themselves on real
// sockets). Thread-safe.
class HookClient {
 public:
  struct Options {
    int breaker_threshold = 5;
    std::chrono::milliseconds breaker_open{30000};
    std::chrono::milliseconds backoff_initial{200};
    std::chrono::milliseconds backoff_max{2000};
    base::Env* env = &base::RealEnv();
  };
  HookClient();
  explicit HookClient(Options options);

  // Blocks for at most about (retries + 1) * timeout plus the backoff between attempts.
  HookOutcome Call(const Hook& hook, const nlohmann::json& body);

  // URLs with a breaker: only those whose last calls failed. A success forgets the URL, and
  // one with no failure for 10 x breaker_open is forgotten too (swept as the map doubles),
  // so hooks of deleted groups leave nothing behind.
  size_t breakers();

 private:
  struct Breaker {
    int failures = 0;
    std::chrono::steady_clock::time_point open_until{};
    std::chrono::steady_clock::time_point last_failure{};
    bool trial_running = false;
  };
  void SweepLocked();
  size_t next_sweep_ = 64;
  // False when the breaker is open (the call must fail fast).
  bool Admit(const std::string& url);
  void Record(const std::string& url, bool ok);

  Options options_;
  std::mutex mu_;
  std::map<std::string, Breaker> breakers_;
};

// Runs hooks on a worker pool (passed in; the wiring sizes it) so that a slow or hanging
// hook never holds a reconcile worker: Run() starts a call once per key and reports its
// state; the reconciler stops its plan at a pending hook and is re-queued (on_done) when
// the call ends. Results are kept for `keep` (on env's clock) so a re-computed plan passes
// a finished hook.
class HookRunner {
 public:
  enum class State { kPending, kSucceeded, kFailed };

  HookRunner(HookClient* client, runtime::WorkerPool* pool,
             std::function<void(const std::string& group_key)> on_done,
             std::chrono::milliseconds keep = std::chrono::minutes(10), base::Env* env = &base::RealEnv());
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // key identifies one call of one switch (group uid, phase, from, to, switch start).
  State Run(const std::string& key, const std::string& group_key, const CallHook& call,
            const nlohmann::json& body, HookOutcome* outcome);
  // Drops a finished result, so the next Run calls the hook again.
  void Forget(const std::string& key);
  // Calls not started yet are dropped; waits for the running ones.
  void Stop();

 private:
  struct Entry {
    State state = State::kPending;
    HookOutcome outcome;
    std::chrono::steady_clock::time_point finished{};
  };
  void Call(const std::string& key, const std::string& group_key, const Hook& hook, const nlohmann::json& body);

  HookClient* client_;
  runtime::WorkerPool* pool_;
  std::function<void(const std::string&)> on_done_;
  std::chrono::milliseconds keep_;
  base::Env* env_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  runtime::TaskScope scope_;  // last: closed (waiting for running calls) before the rest goes
};

}  // namespace failover
