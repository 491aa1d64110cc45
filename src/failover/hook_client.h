#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
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
  std::string message;  // the last failure ("" when ok); why, when dropped
  // Dropped before an attempt (the switch it was for is no longer current, or this process
  // no longer leads): not a failure of the hook, which got no further attempt.
  bool dropped = false;
};

// One call of a hook: the body, extra headers, and the fence asked before every attempt
// (the first and each retry): a non-empty answer drops the call there, naming why.
struct HookCall {
  nlohmann::json body = nlohmann::json::object();
  std::map<std::string, std::string> headers = {};
  std::function<std::string()> stale = {};
};

// The identity of one switch of one group, carried in its hook calls (body switchId,
// header X-Failover-Switch-Id) so that a receiver can reject a stale one: stable for the
// switch's life, different for any other switch of the group.
std::string SwitchId(const std::string& group_uid, const std::string& to, const std::string& started_at);
inline constexpr const char* kSwitchIdHeader = "X-Failover-Switch-Id";

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
  // The same, with headers, and call.stale asked before each attempt: a call found stale
  // ends there (dropped), before the breaker is asked for its first attempt.
  HookOutcome CallWith(const Hook& hook, const HookCall& call);

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
//
// Bounded per group: at most `per_group` calls of one group are on the pool (queued or
// running); the group's further calls wait in a queue of its own and go to the pool as its
// calls end, so a group whose hook hangs holds at most per_group threads (0 = unbounded).
//
// Fenced: a call made with a switch id runs only while that switch is the group's current
// one (SetCurrentSwitch, told after each decision) and `may_call` (the leader guard)
// holds, asked before each attempt, the first and every retry; a call found stale is
// dropped there (State kDropped, outcome.dropped), its hook gets no further attempt.
class HookRunner {
 public:
  enum class State { kPending, kSucceeded, kFailed, kDropped };

  HookRunner(HookClient* client, runtime::WorkerPool* pool,
             std::function<void(const std::string& group_key)> on_done,
             std::chrono::milliseconds keep = std::chrono::minutes(10), base::Env* env = &base::RealEnv(),
             int per_group = 0, std::function<bool()> may_call = {});
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // key identifies one call of one switch (group uid, phase, from, to, switch start).
  // switch_id ("" = not fenced on a switch) is the switch the call belongs to; it goes in
  // the body (switchId, with switchStartedAt from the caller) and the header. A call that
  // was dropped is started again: the caller asks for it under a current switch.
  State Run(const std::string& key, const std::string& group_key, const CallHook& call,
            const nlohmann::json& body, HookOutcome* outcome, const std::string& switch_id = "");
  // The group's current switch ("" = none: every fenced call of the group is dropped);
  // a group told "" is forgotten.
  void SetCurrentSwitch(const std::string& group_key, const std::string& switch_id);
  // The state of a call without starting it (nullopt = unknown).
  std::optional<State> Peek(const std::string& key, HookOutcome* outcome = nullptr);
  // Drops a finished result, so the next Run calls the hook again.
  void Forget(const std::string& key);
  // Calls not started yet are dropped; waits for the running ones.
  void Stop();
  // Calls of the group on the pool (queued or running) and waiting for their turn.
  size_t in_flight(const std::string& group_key);
  size_t waiting(const std::string& group_key);

 private:
  struct Entry {
    State state = State::kPending;
    HookOutcome outcome;
    std::chrono::steady_clock::time_point finished{};
  };
  struct GroupCalls {
    size_t in_flight = 0;
    std::deque<std::function<void()>> waiting;
  };
  void Call(const std::string& key, const std::string& group_key, const Hook& hook, const nlohmann::json& body,
            const std::string& switch_id);
  // Why a call of the group for switch_id must not go on ("" = it may).
  std::string Stale(const std::string& group_key, const std::string& switch_id);
  // Hands the job to the pool, or queues it behind the group's calls; false when stopping.
  bool SubmitLocked(const std::string& group_key, std::function<void()> job);
  // A call of the group ended: its next waiting one goes to the pool.
  void Release(const std::string& group_key);

  HookClient* client_;
  runtime::WorkerPool* pool_;
  std::function<void(const std::string&)> on_done_;
  std::chrono::milliseconds keep_;
  base::Env* env_;
  size_t per_group_;
  std::function<bool()> may_call_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, GroupCalls> groups_;
  std::map<std::string, std::string> current_;  // group key -> its current switch id
  runtime::TaskScope scope_;  // last: closed (waiting for running calls) before the rest goes
};

}  // namespace failover
