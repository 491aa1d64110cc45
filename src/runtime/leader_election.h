#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/env.h"
#include "kube/client.h"
#include "runtime/backoff.h"
#include "runtime/logger.h"

namespace prometheus {
class Gauge;
}

namespace runtime {

class RuntimeMetrics;

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // empty = DefaultLeaderIdentity()
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_cancel = true;
  // The clocks: monotonic for the deadlines and the retry waits, wall for the times
  // written on the Lease.
  base::Env* env = &base::RealEnv();
  // Where leader_election_master_status{name=lease_name} is kept; null = nowhere. The
  // manager passes its own.
  std::shared_ptr<RuntimeMetrics> metrics = nullptr;
};

// hostname + "_" + random hex: unique per process.
std::string DefaultLeaderIdentity();

// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection:
// acquire when the lease is free, expired (not renewed for leaseDuration as observed by
// this process) or ours; renew every retryPeriod; leadership is lost when no renewal
// succeeds for renewDeadline. Release (holder cleared) on Stop().
class LeaderElector {
 public:
  struct Callbacks {
    std::function<void()> on_started_leading;
    std::function<void()> on_stopped_leading;  // after having led
    std::function<void(const std::string& identity)> on_new_leader;
  };

  LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionOptions options,
                Callbacks callbacks);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void Start();
  // Stops renewing; releases the lease when held and release_on_cancel.
  void Stop();

  // The write guard: true only while this process holds the lease and its last
  // successful renewal started less than renewDeadline ago. Check before every write.
  bool IsLeader() const;
  // When this process's claim ends as it sees it, on env's monotonic clock: the start of
  // its last successful renewal + leaseDuration - LeaseMargin(). Another replica takes
  // the lease no sooner than leaseDuration after it saw that renewal land, which is after
  // the renewal started; a write still running at this point is abandoned
  // (fenced_client.h). Clock::time_point::min() while not leading.
  Clock::time_point LeaseDeadline() const;
  // (leaseDuration - renewDeadline) / 2: what is kept back from the lease for clock-rate
  // differences between replicas and a last request's way to the apiserver.
  std::chrono::milliseconds LeaseMargin() const;
  const std::string& identity() const { return options_.identity; }
  // The holder last observed on the lease ("" when unknown).
  std::string ObservedLeader() const;

  // Validates durations: leaseDuration > renewDeadline > retryPeriod * 1.2 > 0, and
  // leaseDuration a whole number of seconds (at least 1s): the Lease publishes it as the
  // integer leaseDurationSeconds, by which the other replicas decide when it expires.
  // renewDeadline and retryPeriod stay in this process and are kept to the millisecond.
  // Errors name the manager's flag for the field.
  static kube::Status Validate(const LeaderElectionOptions& options);

 private:
  void Run();
  // One attempt to acquire or renew. True when the lease is ours afterwards.
  bool TryAcquireOrRenew();
  bool Sleep(std::chrono::milliseconds d);  // false when stopping
  void Release();
  void SetLeading(bool leading);

  std::shared_ptr<kube::Client> client_;
  LeaderElectionOptions options_;
  Callbacks callbacks_;
  Logger log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> renewed_at_ns_{0};  // steady clock, start of the last good renewal

  // What we last saw on the lease and when (local clock) it last changed.
  std::string observed_holder_;
  std::string observed_renew_time_;
  Clock::time_point observed_at_{};
  int64_t observed_transitions_ = 0;
  std::string observed_acquire_time_;

  prometheus::Gauge* status_gauge_ = nullptr;
  std::thread thread_;
};

}  // namespace runtime
