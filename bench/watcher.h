#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace bench {

// An independent observer of the benchmark namespace: its own watches on Pods, Services
// and EndpointSlices, each change stamped with the steady clock the moment its event is
// decoded. The benchmark's time origin and every reaction are read from here.
class Watcher {
 public:
  struct PodState {
    std::string uid;
    std::string ip;
    bool ready = false;
    Clock::time_point ready_changed;
    std::string role;  // failover.io/role
    Clock::time_point role_changed;
    std::string eligible;  // failover.io/eligible: what an ActivePassive Service selects on
    Clock::time_point eligible_changed;
  };
  struct ServiceState {
    std::string member;  // selector failover.io/member, else bench.failover.io/member
    Clock::time_point changed;
  };
  struct EndpointState {
    bool ready = false;
    Clock::time_point changed;
  };

  Watcher(std::shared_ptr<kube::Client> client, std::string ns);
  ~Watcher();

  // Starts the watches and waits until each has listed (false on timeout).
  bool Start(std::chrono::seconds timeout);
  void Stop();

  // Waits until pred(*this) holds (called under the lock) or the timeout passes.
  template <typename Pred>
  bool WaitFor(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }
  // Runs fn(*this) under the lock.
  template <typename Fn>
  auto With(Fn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(*this);
  }

  const PodState* Pod(const std::string& name) const;
  const ServiceState* Service(const std::string& name) const;
  const EndpointState* Endpoint(const std::string& service, const std::string& pod) const;
  uint64_t events() const { return events_.load(); }

 private:
  void Run(const kube::Resource& res, const std::string& selector,
           const std::function<void(const json&, bool deleted)>& apply);
  void ApplyPod(const json& pod, bool deleted);
  void ApplyService(const json& svc, bool deleted);
  void ApplySlice(const json& slice, bool deleted);

  std::shared_ptr<kube::Client> client_;
  std::string ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, PodState> pods_;
  std::map<std::string, ServiceState> services_;
  std::map<std::string, std::map<std::string, EndpointState>> endpoints_;
  int listed_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> events_{0};
  std::mutex cancel_mu_;
  std::vector<kube::WatchCancel*> cancels_;
  std::vector<std::thread> threads_;
};

}  // namespace bench
