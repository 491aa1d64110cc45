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

#include "base/env.h"
#include "failover/types.h"
#include "runtime/worker_pool.h"

namespace failover {

// One probe attempt: HTTP GET (2xx/3xx = success) or TCP connect to ip, within timeout.
bool ProbeOnce(const Probe& probe, const std::string& ip);

// The operator-side check of detection.probe: probes each member pod's podIP every
// period, with the probe's timeout; a pod's verdict becomes false after
// failureThreshold consecutive failures and true again after one success (unset until
// the first result). A verdict change, or a change of the latest attempt's outcome (a
// first failure below the threshold), calls on_change(group_key) (the reconciler
// enqueues the group). A timer thread of its own hands due probes to a worker pool
// (passed in; the wiring sizes it); a pod's next probe never starts while its previous
// one runs. Periods are on env's clock; `probe` makes one attempt (ProbeOnce; tests pass
// their own). Bounded per group: at most `per_group` probes of one group are on the pool
// at once (0 = unbounded); the group's other due pods wait, the longest overdue first, so
// a group whose probes hang holds per_group threads at most and the other groups' probes
// go on. Thread-safe.
class MemberProber {
 public:
  struct Target {
    std::string uid;
    std::string ip;
  };
  using ProbeFunc = std::function<bool(const Probe& probe, const std::string& ip)>;

  MemberProber(runtime::WorkerPool* pool, std::function<void(const std::string& group_key)> on_change,
               base::Env* env = &base::RealEnv(), ProbeFunc probe = ProbeOnce, int per_group = 0);
  ~MemberProber();
  MemberProber(const MemberProber&) = delete;
  MemberProber& operator=(const MemberProber&) = delete;

  // The pods to probe for a group (replaces the previous set; a pod whose ip changed starts
  // over). probe = nullopt or no targets stops probing the group.
  void SetTargets(const std::string& group_key, const std::optional<Probe>& probe,
                  const std::vector<Target>& targets);
  // The verdict for one pod of a group; nullopt = not probed yet.
  std::optional<bool> Verdict(const std::string& group_key, const std::string& uid) const;
  // The outcome of the pod's latest attempt, before failureThreshold; nullopt = none yet.
  // A change of it calls on_change too (a pod on a silent node is judged by it).
  std::optional<bool> LastAttempt(const std::string& group_key, const std::string& uid) const;
  void Stop();

 private:
  struct PodState {
    std::string ip;
    std::chrono::steady_clock::time_point next{};
    bool running = false;
    int failures = 0;
    std::optional<bool> verdict;
    std::optional<bool> last_ok;
    uint64_t generation = 0;
  };
  struct GroupState {
    Probe probe;
    std::map<std::string, PodState> pods;  // uid
  };
  struct Job {
    std::string group_key;
    std::string uid;
    std::string ip;
    Probe probe;
    uint64_t generation = 0;
  };
  void Scheduler();
  void Finish(const Job& job, bool ok);

  runtime::WorkerPool* pool_;
  std::function<void(const std::string&)> on_change_;
  base::Env* env_;
  ProbeFunc probe_;
  size_t per_group_;
  mutable std::mutex mu_;
  // Probes of each group on the pool (queued or running), counted until each ends, also
  // when its pod or group went meanwhile.
  std::map<std::string, size_t> in_flight_;
  std::condition_variable sched_cv_;
  std::map<std::string, GroupState> groups_;
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  runtime::TaskScope scope_;
  std::thread scheduler_;
};

}  // namespace failover
