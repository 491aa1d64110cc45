#include "runtime/leader_election.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "base/rfc3339.h"
#include "runtime/metrics.h"

namespace runtime {
namespace {

using namespace std::chrono_literals;

// metav1.MicroTime: RFC 3339 with microseconds, UTC.
std::string MicroTimeNow(const base::Env& env) {
  return base::FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(env.WallNow()), base::Fraction::kMicros);
}

int64_t SteadyNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string DefaultLeaderIdentity() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::snprintf(host, sizeof host, "unknown");
  std::mt19937_64 rng{std::random_device{}()};
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(host) + "_" + suffix;
}

kube::Status LeaderElector::Validate(const LeaderElectionOptions& o) {
  if (o.lease_name.empty() || o.lease_namespace.empty()) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "leader election: lease name and namespace are required");
  }
  if (o.lease_duration < std::chrono::seconds(1) || o.lease_duration % std::chrono::seconds(1) != 0ms) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "leader election: leaseDuration (--leader-elect-lease-duration) must be a whole "
                        "number of seconds, at least 1s: the Lease stores it as integer "
                        "leaseDurationSeconds, by which the other replicas decide when it expires (got " +
                            std::to_string(o.lease_duration.count()) + "ms)");
  }
  if (!(o.lease_duration > o.renew_deadline)) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "leader election: leaseDuration (--leader-elect-lease-duration) must be greater "
                        "than renewDeadline (--leader-elect-renew-deadline)");
  }
  if (!(o.renew_deadline.count() > o.retry_period.count() * 12 / 10) || o.retry_period.count() <= 0) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "leader election: renewDeadline (--leader-elect-renew-deadline) must be greater "
                        "than 1.2 x retryPeriod (--leader-elect-retry-period) > 0");
  }
  return kube::Status::OK();
}

LeaderElector::LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionOptions options,
                             Callbacks callbacks)
    : client_(std::move(client)),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)) {
  if (options_.identity.empty()) options_.identity = DefaultLeaderIdentity();
  if (!options_.env) options_.env = &base::RealEnv();
  log_ = Logger("leader-election", {{"lease", options_.lease_namespace + "/" + options_.lease_name},
                                    {"identity", options_.identity}});
  if (options_.metrics) {
    status_gauge_ = &options_.metrics->LeaderStatus().Add({{"name", options_.lease_name}});
    status_gauge_->Set(0);
  }
}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::IsLeader() const {
  if (!leading_.load()) return false;
  const int64_t renewed = renewed_at_ns_.load();
  return SteadyNs(options_.env->Now()) - renewed <
         std::chrono::duration_cast<std::chrono::nanoseconds>(options_.renew_deadline).count();
}

std::chrono::milliseconds LeaderElector::LeaseMargin() const {
  return (options_.lease_duration - options_.renew_deadline) / 2;
}

Clock::time_point LeaderElector::LeaseDeadline() const {
  if (!leading_.load()) return Clock::time_point::min();
  return Clock::time_point(std::chrono::nanoseconds(renewed_at_ns_.load())) + options_.lease_duration -
         LeaseMargin();
}

std::string LeaderElector::ObservedLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_holder_;
}

bool LeaderElector::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !options_.env->WaitFor(lock, cv_, d, [&] { return stopping_; });
}

void LeaderElector::SetLeading(bool leading) {
  leading_.store(leading);
  if (status_gauge_) status_gauge_->Set(leading ? 1 : 0);
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto attempt_start = options_.env->Now();
  const std::string now = MicroTimeNow(*options_.env);
  // Validate keeps it whole seconds; an elector built without it never publishes less
  // than it waits itself (and never 0, which every other replica reads as expired).
  const int64_t duration_s =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(options_.lease_duration).count());
  auto got = client_->Get(kube::resources::kLeases, options_.lease_namespace, options_.lease_name);
  if (!got.ok() && !got.status().IsNotFound()) {
    log_.Warn("cannot read the lease", {{"error", got.status().ToString()}});
    return false;
  }
  if (!got.ok()) {
    kube::json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", options_.lease_name}, {"namespace", options_.lease_namespace}}},
        {"spec",
         {{"holderIdentity", options_.identity},
          {"leaseDurationSeconds", duration_s},
          {"acquireTime", now},
          {"renewTime", now},
          {"leaseTransitions", 0}}}};
    auto created = client_->Create(kube::resources::kLeases, options_.lease_namespace, lease);
    if (!created.ok()) {
      log_.Warn("cannot create the lease", {{"error", created.status().ToString()}});
      return false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    observed_holder_ = options_.identity;
    observed_renew_time_ = now;
    observed_acquire_time_ = now;
    observed_transitions_ = 0;
    observed_at_ = options_.env->Now();
    renewed_at_ns_.store(SteadyNs(attempt_start));
    return true;
  }
  kube::json lease = *got;
  const kube::json spec = lease.value("spec", kube::json::object());
  const std::string holder = spec.value("holderIdentity", std::string());
  const std::string renew_time = spec.value("renewTime", std::string());
  const int64_t lease_seconds = spec.value("leaseDurationSeconds", duration_s);
  bool expired_for_us;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (holder != observed_holder_ || renew_time != observed_renew_time_ ||
        observed_at_ == Clock::time_point{}) {
      if (holder != observed_holder_ && callbacks_.on_new_leader && !holder.empty()) {
        callbacks_.on_new_leader(holder);
      }
      observed_holder_ = holder;
      observed_renew_time_ = renew_time;
      observed_at_ = options_.env->Now();
    }
    observed_transitions_ = spec.value("leaseTransitions", int64_t{0});
    observed_acquire_time_ = spec.value("acquireTime", std::string());
    expired_for_us = options_.env->Now() > observed_at_ + std::chrono::seconds(lease_seconds);
  }
  if (!holder.empty() && holder != options_.identity && !expired_for_us) {
    return false;  // held by someone else and still valid
  }
  kube::json new_spec = spec;
  new_spec["holderIdentity"] = options_.identity;
  new_spec["leaseDurationSeconds"] = duration_s;
  new_spec["renewTime"] = now;
  if (holder != options_.identity) {
    new_spec["acquireTime"] = now;
    new_spec["leaseTransitions"] = spec.value("leaseTransitions", int64_t{0}) + 1;
  }
  lease["spec"] = new_spec;
  auto updated = client_->Update(kube::resources::kLeases, options_.lease_namespace, lease);
  if (!updated.ok()) {
    log_.Warn("cannot update the lease", {{"error", updated.status().ToString()}});
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  observed_holder_ = options_.identity;
  observed_renew_time_ = now;
  observed_at_ = options_.env->Now();
  renewed_at_ns_.store(SteadyNs(attempt_start));
  return true;
}

void LeaderElector::Run() {
  std::mt19937_64 rng{std::random_device{}()};
  auto jittered = [&](std::chrono::milliseconds d) {
    std::uniform_real_distribution<double> dist(0.0, 0.2);
    return std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(d.count()) * (1.0 + dist(rng))));
  };
  log_.Info("attempting to acquire the leader lease");
  // Acquire.
  for (;;) {
    if (TryAcquireOrRenew()) break;
    if (!Sleep(jittered(options_.retry_period))) return;
  }
  SetLeading(true);
  log_.Info("acquired the leader lease");
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();
  // Renew.
  for (;;) {
    if (!Sleep(options_.retry_period)) {
      if (options_.release_on_cancel) Release();
      SetLeading(false);
      return;
    }
    const auto deadline =
        Clock::time_point(std::chrono::nanoseconds(renewed_at_ns_.load())) + options_.renew_deadline;
    bool renewed = false;
    while (options_.env->Now() < deadline) {
      if (TryAcquireOrRenew()) {
        renewed = true;
        break;
      }
      if (!Sleep(options_.retry_period / 4)) break;
    }
    if (!renewed) {
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = stopping_;
      }
      if (stopping) {
        if (options_.release_on_cancel) Release();
        SetLeading(false);
        return;
      }
      SetLeading(false);
      log_.Error("failed to renew the leader lease within the renew deadline; leadership lost");
      if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
      return;
    }
  }
}

void LeaderElector::Release() {
  auto got = client_->Get(kube::resources::kLeases, options_.lease_namespace, options_.lease_name);
  if (!got.ok()) return;
  kube::json lease = *got;
  if (lease["spec"].value("holderIdentity", std::string()) != options_.identity) return;
  SetLeading(false);
  const std::string now = MicroTimeNow(*options_.env);
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  lease["spec"]["acquireTime"] = now;
  auto updated = client_->Update(kube::resources::kLeases, options_.lease_namespace, lease);
  if (updated.ok()) {
    log_.Info("released the leader lease");
  } else {
    log_.Warn("cannot release the leader lease", {{"error", updated.status().ToString()}});
  }
}

}  // namespace runtime
