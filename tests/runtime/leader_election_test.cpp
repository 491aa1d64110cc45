#include "runtime/leader_election.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "support/fake_env.h"

namespace runtime {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

// An apiserver holding Leases and nothing else: Get, Create and Update (with the
// resourceVersion precondition) on one in-memory object per name, and a switch that
// makes every request fail, as an unreachable apiserver does. Thread-safe.
class LeaseServer : public kube::Client {
 public:
  void SetUnreachable(bool unreachable) {
    std::lock_guard<std::mutex> lock(mu_);
    unreachable_ = unreachable;
  }
  // Stores a lease as another process would have written it.
  void Put(const std::string& name, kube::json spec) {
    std::lock_guard<std::mutex> lock(mu_);
    kube::json& lease = leases_[name];
    lease["metadata"]["name"] = name;
    lease["metadata"]["resourceVersion"] = std::to_string(++rv_);
    lease["spec"] = std::move(spec);
  }
  std::optional<kube::json> Lease(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(name);
    if (it == leases_.end()) return std::nullopt;
    return it->second;
  }
  int failed_requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }

  kube::Result<kube::json> Get(const kube::Resource& res, const std::string&, const std::string& name,
                               const std::string& = "") override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto st = CheckLocked(res); !st.ok()) return st;
    auto it = leases_.find(name);
    if (it == leases_.end()) return kube::Status(kube::Reason::kNotFound, "leases \"" + name + "\" not found", 404);
    return it->second;
  }
  kube::Result<kube::json> Create(const kube::Resource& res, const std::string&, const kube::json& obj,
                                  const kube::CreateOptions& = {}) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto st = CheckLocked(res); !st.ok()) return st;
    const std::string name = obj["metadata"]["name"];
    if (leases_.count(name)) return kube::Status(kube::Reason::kAlreadyExists, "exists", 409);
    kube::json stored = obj;
    stored["metadata"]["resourceVersion"] = std::to_string(++rv_);
    leases_[name] = stored;
    return stored;
  }
  kube::Result<kube::json> Update(const kube::Resource& res, const std::string&, const kube::json& obj,
                                  const kube::UpdateOptions& = {}) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto st = CheckLocked(res); !st.ok()) return st;
    const std::string name = obj["metadata"]["name"];
    auto it = leases_.find(name);
    if (it == leases_.end()) return kube::Status(kube::Reason::kNotFound, "not found", 404);
    if (obj["metadata"].value("resourceVersion", "") != it->second["metadata"]["resourceVersion"]) {
      return kube::Status(kube::Reason::kConflict, "the object has been modified", 409);
    }
    kube::json stored = obj;
    stored["metadata"]["resourceVersion"] = std::to_string(++rv_);
    it->second = stored;
    return stored;
  }

  kube::Result<kube::json> List(const kube::Resource&, const std::string&, const kube::ListOptions& = {}) override {
    return Unserved();
  }
  kube::Result<kube::json> ListAll(const kube::Resource&, const std::string&, kube::ListOptions = {}) override {
    return Unserved();
  }
  kube::Result<kube::json> Patch(const kube::Resource&, const std::string&, const std::string&, kube::PatchType,
                                 const std::string&, const kube::PatchOptions& = {}) override {
    return Unserved();
  }
  kube::Result<kube::json> Delete(const kube::Resource&, const std::string&, const std::string&,
                                  const kube::DeleteOptions& = {}) override {
    return Unserved();
  }
  kube::Status Watch(const kube::Resource&, const std::string&, const kube::WatchOptions&,
                     const std::function<bool(kube::WatchEvent&&)>&, kube::WatchCancel* = nullptr) override {
    return Unserved().status();
  }
  kube::Result<std::string> Raw(const std::string&, const std::string&, const std::string& = "",
                                const std::string& = "") override {
    return Unserved().status();
  }
  const kube::RestConfig& config() const override { return config_; }
  void SetObserver(std::shared_ptr<kube::RequestObserver>) override {}

 private:
  kube::Status CheckLocked(const kube::Resource& res) {
    if (res.resource != "leases") return kube::Status(kube::Reason::kInvalidArgument, "leases only");
    if (unreachable_) {
      ++failed_;
      return kube::Status(kube::Reason::kConnectionFailed, "connection refused");
    }
    return kube::Status::OK();
  }
  kube::Result<kube::json> Unserved() { return kube::Status(kube::Reason::kInvalidArgument, "leases only"); }

  mutable std::mutex mu_;
  std::map<std::string, kube::json> leases_;
  bool unreachable_ = false;
  int failed_ = 0;
  int64_t rv_ = 0;
  kube::RestConfig config_;
};

// What the callbacks reported, waited for in real time (bounded).
class Events {
 public:
  LeaderElector::Callbacks Callbacks() {
    LeaderElector::Callbacks c;
    c.on_started_leading = [this] { Set(&started_); };
    c.on_stopped_leading = [this] { Set(&stopped_); };
    c.on_new_leader = [this](const std::string& id) {
      std::lock_guard<std::mutex> lock(mu_);
      new_leaders_.push_back(id);
    };
    return c;
  }
  bool AwaitStarted() { return Await(&started_); }
  bool AwaitStopped() { return Await(&stopped_); }
  bool started() { return Get(&started_); }
  bool stopped() { return Get(&stopped_); }
  std::vector<std::string> new_leaders() {
    std::lock_guard<std::mutex> lock(mu_);
    return new_leaders_;
  }

 private:
  void Set(bool* flag) {
    std::lock_guard<std::mutex> lock(mu_);
    *flag = true;
    cv_.notify_all();
  }
  bool Get(bool* flag) {
    std::lock_guard<std::mutex> lock(mu_);
    return *flag;
  }
  bool Await(bool* flag) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return *flag; });
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopped_ = false;
  std::vector<std::string> new_leaders_;
};

LeaderElectionOptions Options(FakeEnv* env) {
  LeaderElectionOptions o;
  o.lease_namespace = "ops";
  o.lease_name = "failover-operator";
  o.identity = "me";
  o.lease_duration = 15s;
  o.renew_deadline = 10s;
  o.retry_period = 2s;
  o.env = env;
  return o;
}

// An elector ("me", with Options) on a LeaseServer of its own and a fake clock, its
// callbacks reported to `events`; not started.
struct Election {
  FakeEnv env;
  std::shared_ptr<LeaseServer> server = std::make_shared<LeaseServer>();
  Events events;
  LeaderElector elector{server, Options(&env), events.Callbacks()};

  // Starts the elector and waits (real time, bounded) until it leads.
  bool StartLeading() {
    elector.Start();
    return events.AwaitStarted();
  }
};

std::string Holder(const LeaseServer& server) {
  auto lease = server.Lease("failover-operator");
  return lease ? (*lease)["spec"].value("holderIdentity", "<none>") : "<no lease>";
}

TEST(LeaderElector, AcquiresAFreeLeaseAndWritesTheWallClock) {
  Election e;
  auto& [env, server, events, elector] = e;
  EXPECT_FALSE(elector.IsLeader());
  ASSERT_TRUE(e.StartLeading());
  EXPECT_TRUE(elector.IsLeader());
  auto lease = server->Lease("failover-operator");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "me");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ((*lease)["spec"]["renewTime"], "2024-01-01T00:00:00.000000Z");
  EXPECT_EQ((*lease)["spec"]["acquireTime"], "2024-01-01T00:00:00.000000Z");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 0);
  elector.Stop();
}

TEST(LeaderElector, RenewsEveryRetryPeriod) {
  Election e;
  auto& [env, server, events, elector] = e;
  ASSERT_TRUE(e.StartLeading());
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    ASSERT_EQ(env.NextDeadline(), env.Now() + 2s);
    env.Advance(2s);
    ASSERT_TRUE(env.BlockUntilWaiters(1));  // renewed, waiting for the next round
    char want[64];
    std::snprintf(want, sizeof want, "2024-01-01T00:00:%02d.000000Z", 2 * i);
    EXPECT_EQ((*server->Lease("failover-operator"))["spec"]["renewTime"], want);
    EXPECT_TRUE(elector.IsLeader());
  }
  EXPECT_FALSE(events.stopped());
  elector.Stop();
}

TEST(LeaderElector, LosesLeadershipWhenNoRenewalSucceedsForRenewDeadline) {
  Election e;
  auto& [env, server, events, elector] = e;
  ASSERT_TRUE(e.StartLeading());
  const auto acquired = env.Now();
  server->SetUnreachable(true);
  // Renewals at +2 s, then every retryPeriod/4 until the deadline at +10 s.
  while (env.Now() < acquired + 10s && !events.stopped()) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    EXPECT_TRUE(elector.IsLeader()) << "at +" << (env.Now() - acquired).count() << "ns";
    env.Advance(env.Now() < acquired + 2s ? 2s : 500ms);
  }
  EXPECT_EQ(env.Now(), acquired + 10s);
  // The write guard is down at the deadline, whether or not the loop has noticed yet.
  EXPECT_FALSE(elector.IsLeader());
  ASSERT_TRUE(events.AwaitStopped());
  EXPECT_FALSE(elector.IsLeader());
  EXPECT_EQ(server->failed_requests(), 16);  // +2.0, +2.5, ..., +9.5
  elector.Stop();
}

TEST(LeaderElector, OneLateRenewalWithinTheDeadlineKeepsLeadership) {
  Election e;
  auto& [env, server, events, elector] = e;
  ASSERT_TRUE(e.StartLeading());
  server->SetUnreachable(true);
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  env.Advance(2s);
  for (int i = 0; i < 14; ++i) {  // failing until +9 s
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    env.Advance(500ms);
  }
  ASSERT_TRUE(env.BlockUntilWaiters(1));  // the attempt at +9 s failed
  server->SetUnreachable(false);
  env.Advance(500ms);  // +9.5 s: this attempt succeeds
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  EXPECT_TRUE(elector.IsLeader());
  EXPECT_EQ((*server->Lease("failover-operator"))["spec"]["renewTime"], "2024-01-01T00:00:09.500000Z");
  EXPECT_FALSE(events.stopped());
  elector.Stop();
}

TEST(LeaderElector, TakesALeaseOnlyAfterItsHolderStopsRenewingForLeaseDuration) {
  Election e;
  auto& [env, server, events, elector] = e;
  server->Put("failover-operator", {{"holderIdentity", "other"},
                                    {"leaseDurationSeconds", 15},
                                    {"renewTime", "2023-12-31T23:59:59.000000Z"},
                                    {"acquireTime", "2023-12-31T23:00:00.000000Z"},
                                    {"leaseTransitions", 4}});
  const auto start = env.Now();
  elector.Start();
  // Retries come every retryPeriod plus up to 20 % jitter.
  while (!events.started() && env.Now() < start + 30s) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    if (events.started()) break;
    EXPECT_LE(*env.NextDeadline() - env.Now(), 2400ms);
    EXPECT_GE(*env.NextDeadline() - env.Now(), 2s);
    EXPECT_EQ(Holder(*server), "other") << "taken before the lease expired";
    env.AdvanceToNextDeadline();
  }
  ASSERT_TRUE(events.AwaitStarted());
  EXPECT_GT(env.Now(), start + 15s);
  EXPECT_LE(env.Now(), start + 15s + 2400ms);
  auto lease = server->Lease("failover-operator");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "me");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 5);
  EXPECT_EQ((*lease)["spec"]["acquireTime"], (*lease)["spec"]["renewTime"]);
  EXPECT_EQ(events.new_leaders(), std::vector<std::string>{"other"});
  EXPECT_EQ(elector.ObservedLeader(), "me");
  elector.Stop();
}

TEST(LeaderElector, NeverTakesALeaseItsHolderKeepsRenewing) {
  Election e;
  auto& [env, server, events, elector] = e;
  auto renew_by_other = [&](int n) {
    server->Put("failover-operator", {{"holderIdentity", "other"},
                                      {"leaseDurationSeconds", 15},
                                      {"renewTime", "renewal " + std::to_string(n)},
                                      {"leaseTransitions", 1}});
  };
  renew_by_other(0);
  const auto start = env.Now();
  elector.Start();
  for (int n = 1; env.Now() < start + 2min; ++n) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    renew_by_other(n);
    env.AdvanceToNextDeadline();
  }
  EXPECT_FALSE(events.started());
  EXPECT_FALSE(elector.IsLeader());
  EXPECT_EQ(elector.ObservedLeader(), "other");
  EXPECT_EQ(Holder(*server), "other");
  elector.Stop();
}

TEST(LeaderElector, StopReleasesTheLease) {
  Election e;
  auto& [env, server, events, elector] = e;
  ASSERT_TRUE(e.StartLeading());
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  env.Advance(1s);
  elector.Stop();
  EXPECT_FALSE(elector.IsLeader());
  auto lease = server->Lease("failover-operator");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 1);
  EXPECT_EQ((*lease)["spec"]["renewTime"], "2024-01-01T00:00:01.000000Z");
  EXPECT_FALSE(events.stopped()) << "a requested stop is not a lost leadership";
}

// The fence (fenced_client.h) abandons a write at LeaseDeadline: the start of the last
// good renewal + leaseDuration - (leaseDuration - renewDeadline) / 2. Never while not
// leading.
TEST(LeaderElector, LeaseDeadlineFollowsTheLastRenewalStart) {
  Election e;
  auto& [env, server, events, elector] = e;
  EXPECT_EQ(elector.LeaseDeadline(), Clock::time_point::min());
  EXPECT_EQ(elector.LeaseMargin(), 2500ms);
  const auto acquired = env.Now();
  ASSERT_TRUE(e.StartLeading());
  EXPECT_EQ(elector.LeaseDeadline(), acquired + 12500ms);
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  env.Advance(2s);
  ASSERT_TRUE(env.BlockUntilWaiters(1));  // renewed at +2 s
  EXPECT_EQ(elector.LeaseDeadline(), acquired + 2s + 12500ms);
  server->SetUnreachable(true);
  while (env.Now() < acquired + 2s + 10s) {  // failing renewals until the renew deadline
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    EXPECT_EQ(elector.LeaseDeadline(), acquired + 2s + 12500ms) << "a failed renewal moves nothing";
    env.AdvanceToNextDeadline();
  }
  ASSERT_TRUE(events.AwaitStopped());
  EXPECT_EQ(elector.LeaseDeadline(), Clock::time_point::min());
  elector.Stop();
}

// leaseDurationSeconds is an integer: a lease shorter than a second, or not a whole
// number of seconds, is refused naming the flag, never published as 0.
TEST(LeaderElector, ValidateRefusesALeaseThatIsNotWholeSeconds) {
  FakeEnv env;
  for (auto d : {500ms, 999ms, 1500ms, 0ms}) {
    LeaderElectionOptions o = Options(&env);
    o.lease_duration = d;
    o.renew_deadline = 400ms;
    o.retry_period = 100ms;
    auto st = LeaderElector::Validate(o);
    ASSERT_FALSE(st.ok()) << d.count() << "ms";
    EXPECT_NE(st.message().find("--leader-elect-lease-duration"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("whole number of seconds"), std::string::npos) << st.message();
  }
  LeaderElectionOptions o = Options(&env);
  o.lease_duration = 1s;
  o.renew_deadline = 800ms;
  o.retry_period = 200ms;
  EXPECT_TRUE(LeaderElector::Validate(o).ok());
  o.renew_deadline = 1s;
  auto st = LeaderElector::Validate(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--leader-elect-renew-deadline"), std::string::npos) << st.message();
}

// renewDeadline and retryPeriod never leave the process: sub-second values are kept to
// the millisecond. A 1 s lease is published as 1.
TEST(LeaderElector, SubSecondRenewDeadlineAndRetryPeriodAreHonouredExactly) {
  FakeEnv env;
  auto server = std::make_shared<LeaseServer>();
  Events events;
  LeaderElectionOptions o = Options(&env);
  o.lease_duration = 1s;
  o.renew_deadline = 800ms;
  o.retry_period = 200ms;
  ASSERT_TRUE(LeaderElector::Validate(o).ok());
  LeaderElector elector(server, o, events.Callbacks());
  const auto start = env.Now();
  elector.Start();
  ASSERT_TRUE(events.AwaitStarted());
  EXPECT_EQ((*server->Lease("failover-operator"))["spec"]["leaseDurationSeconds"], 1);
  EXPECT_EQ(elector.LeaseDeadline(), start + 1s - 100ms);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    ASSERT_EQ(*env.NextDeadline(), env.Now() + 200ms);
    env.Advance(200ms);
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    EXPECT_EQ(elector.LeaseDeadline(), start + i * 200ms + 900ms);
  }
  server->SetUnreachable(true);
  const auto last = env.Now();
  while (env.Now() < last + 800ms) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    EXPECT_TRUE(elector.IsLeader());
    env.AdvanceToNextDeadline();
  }
  ASSERT_TRUE(events.AwaitStopped());
  EXPECT_EQ(env.Now(), last + 800ms) << "lost exactly renewDeadline after the last good renewal";
  EXPECT_FALSE(elector.IsLeader());
  elector.Stop();
}

// An elector built without Validate (a program that skips it) still never publishes 0:
// a 500 ms lease goes out as 1 s, which the other replicas wait for (longer than this
// process's own fence, so never shorter than it acts).
TEST(LeaderElector, NeverPublishesALeaseOfZeroSeconds) {
  FakeEnv env;
  auto server = std::make_shared<LeaseServer>();
  Events events;
  LeaderElectionOptions o = Options(&env);
  o.lease_duration = 500ms;
  o.renew_deadline = 400ms;
  o.retry_period = 100ms;
  LeaderElector elector(server, o, events.Callbacks());
  elector.Start();
  ASSERT_TRUE(events.AwaitStarted());
  EXPECT_EQ((*server->Lease("failover-operator"))["spec"]["leaseDurationSeconds"], 1);
  elector.Stop();
}

}  // namespace
}  // namespace runtime
