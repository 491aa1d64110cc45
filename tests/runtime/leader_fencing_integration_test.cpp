// Leader election against the real apiserver, under load and under a stalled connection:
//   - the elector's renewals do not queue behind the controllers' writes (its own client);
//   - a leader whose connection to the apiserver stalls past its lease (the chaos proxy's
//     black hole on its path only, the other replica on a direct path) lands no write
//     after the new leader's first one: the write it had in flight is abandoned at its
//     lease deadline and never retried once the network heals.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "cluster_env.h"
#include "runtime/manager.h"

extern char** environ;

using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

std::shared_ptr<kube::Client> ClientFor(kube::RestConfig cfg) {
  auto c = kube::Client::Create(cfg);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : nullptr;
}

kube::RestConfig ClusterConfig() {
  auto cfg = kube::LoadKubeconfig({runtime_test::Env("FO_KUBECONFIG")});
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return cfg.ok() ? *cfg : kube::RestConfig{};
}

runtime::ManagerOptions ElectionOptions(const std::string& ns, const std::string& lease,
                                        const std::string& identity, std::atomic<bool>* lost) {
  runtime::ManagerOptions mo;
  mo.metrics_bind_address = "0";
  mo.health_probe_bind_address = "0";
  mo.leader_elect = true;
  mo.leader_election_id = lease;
  mo.leader_election_namespace = ns;
  mo.leader_identity = identity;
  mo.lease_duration = 3s;
  mo.renew_deadline = 2s;
  mo.retry_period = 500ms;
  mo.log_format = runtime::LogFormat::kText;
  // Record the loss and keep running: the test checks that the fence alone holds the
  // writes back (the operator also exits, which this does not count on).
  mo.on_leadership_lost = [lost] { *lost = true; };
  return mo;
}

// A Manager running on a thread of its own; stopped and joined at the end.
class Running {
 public:
  Running(std::shared_ptr<kube::Client> client, runtime::ManagerOptions mo)
      : mgr_(std::move(client), std::move(mo)), thread_([this] { rc_ = mgr_.Run(); }) {}
  ~Running() {
    mgr_.RequestStop();
    thread_.join();
  }
  runtime::Manager& operator*() { return mgr_; }
  runtime::Manager* operator->() { return &mgr_; }

 private:
  runtime::Manager mgr_;
  std::atomic<int> rc_{-1};
  std::thread thread_;
};

std::string Holder(kube::Client& c, const std::string& ns, const std::string& lease) {
  auto l = c.Get(kube::resources::kLeases, ns, lease);
  return l.ok() ? (*l)["spec"].value("holderIdentity", "") : "";
}

// Writes the ConfigMap `name` over and over through the manager's client while it leads:
// annotations fence/writer = identity and fence/seq = n. Keeps every outcome.
class Writer {
 public:
  Writer(runtime::Manager* mgr, std::string ns, std::string name, std::string identity,
         std::chrono::milliseconds pause, int threads = 1)
      : mgr_(mgr), ns_(std::move(ns)), name_(std::move(name)), identity_(std::move(identity)), pause_(pause) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_.load(); }
  std::vector<kube::Status> failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  void Loop() {
    while (!stop_) {
      if (mgr_->IsLeader()) {
        const int n = ++seq_;
        const kube::json patch = {
            {"metadata", {{"annotations", {{"fence/writer", identity_}, {"fence/seq", std::to_string(n)}}}}}};
        auto r = mgr_->client()->Patch(kube::resources::kConfigMaps, ns_, name_, kube::PatchType::kMerge,
                                       patch.dump());
        if (r.ok()) {
          ok_++;
        } else {
          std::lock_guard<std::mutex> lock(mu_);
          failures_.push_back(r.status());
        }
      }
      std::this_thread::sleep_for(pause_);
    }
  }
  runtime::Manager* mgr_;
  const std::string ns_, name_, identity_;
  const std::chrono::milliseconds pause_;
  std::atomic<bool> stop_{false};
  std::atomic<int> seq_{0}, ok_{0};
  mutable std::mutex mu_;
  std::vector<kube::Status> failures_;
  std::vector<std::thread> threads_;
};

// The controllers' client limited to 2 requests a second and kept saturated by 6
// writers: a renewal that had to queue there (the elector on the same client) would wait
// seconds, past renewDeadline (2 s). The elector has its own client, so the leader keeps
// the lease for the whole run.
TEST(LeaderFencing, RenewalsDoNotQueueBehindBulkWrites) {
  auto admin = runtime_test::ClusterClient();
  ASSERT_NE(admin, nullptr);
  runtime_test::TestNamespace ns(admin, "rt-bulk");
  ASSERT_TRUE(admin->Create(kube::resources::kConfigMaps, ns.name(),
                            runtime_test::ConfigMap(ns.name(), "bulk", "1")).ok());
  kube::RestConfig cfg = ClusterConfig();
  cfg.qps = 2;
  cfg.burst = 1;
  auto slow = ClientFor(cfg);
  ASSERT_NE(slow, nullptr);
  std::atomic<bool> lost{false};
  Running mgr(slow, ElectionOptions(ns.name(), "bulk-lease", "bulk-leader", &lost));
  ASSERT_TRUE(runtime_test::WaitFor([&] { return mgr->IsLeader(); }, 20s));
  Writer bulk(&*mgr, ns.name(), "bulk", "bulk-leader", 10ms, /*threads=*/6);
  const auto start = SteadyClock::now();
  int not_leader_samples = 0;
  while (SteadyClock::now() - start < 8s) {
    if (!mgr->IsLeader()) ++not_leader_samples;
    std::this_thread::sleep_for(100ms);
  }
  bulk.Stop();
  const double loaded_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  EXPECT_FALSE(lost.load()) << "the lease was lost under bulk writes";
  EXPECT_EQ(not_leader_samples, 0);
  EXPECT_EQ(Holder(*admin, ns.name(), "bulk-lease"), "bulk-leader");
  // The load was real: the writes went at the limiter's pace (2/s, less the refused).
  EXPECT_GE(bulk.ok(), 8);
  EXPECT_LE(bulk.ok(), 2 * loaded_s + 4);
  int refused = 0;
  for (const auto& f : bulk.failures()) refused += f.reason() == kube::Reason::kCancelled;
  std::printf("bulk: %d writes in %.1f s, %d refused (the limiter would hold them past the lease)\n",
              bulk.ok(), loaded_s, refused);
}

// The chaos proxy (e2e/tools/chaos_proxy.cpp) as a child process; killed at the end.
class ChaosProxy {
 public:
  explicit ChaosProxy(const std::string& upstream) {
    port_file_ = ::testing::TempDir() + "/chaos-proxy-" + runtime_test::RandomSuffix() + ".ports";
    const std::string bin = runtime_test::Env("FO_BIN_DIR") + "/failover-chaos-proxy";
    std::vector<std::string> args = {bin, "--upstream", upstream, "--port-file", port_file_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    runtime_test::WaitFor(
        [&] {
          std::ifstream f(port_file_);
          std::string listen, admin;
          if (!(f >> listen >> admin)) return false;
          listen_port_ = std::atoi(listen.substr(listen.find('=') + 1).c_str());
          admin_port_ = std::atoi(admin.substr(admin.find('=') + 1).c_str());
          return listen_port_ > 0 && admin_port_ > 0;
        },
        10s);
  }
  ~ChaosProxy() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(port_file_.c_str());
  }
  int listen_port() const { return listen_port_; }
  bool Admin(const std::string& path) {
    httplib::Client c("127.0.0.1", admin_port_);
    auto r = c.Get(path);
    return r && r->status == 200;
  }

 private:
  pid_t pid_ = -1;
  std::string port_file_;
  int listen_port_ = 0, admin_port_ = 0;
};

// What a watch saw of one object: the writer annotation of each version, in the order the
// apiserver stored them.
class Versions {
 public:
  Versions(std::shared_ptr<kube::Client> client, const std::string& ns, const std::string& name,
           const std::string& from_rv)
      : client_(std::move(client)) {
    thread_ = std::thread([this, ns, name, rv = from_rv]() mutable {
      while (!cancel_.cancelled()) {
        kube::WatchOptions wo;
        wo.resource_version = rv;
        wo.field_selector = "metadata.name=" + name;
        wo.timeout_seconds = 60;
        client_->Watch(kube::resources::kConfigMaps, ns, wo, [&](kube::WatchEvent&& e) {
          if (e.type == kube::WatchEvent::Type::kBookmark) return true;
          const auto md = e.object.value("metadata", kube::json::object());
          rv = md.value("resourceVersion", rv);
          std::lock_guard<std::mutex> lock(mu_);
          writers_.push_back(md.value("annotations", kube::json::object()).value("fence/writer", ""));
          return true;
        }, &cancel_);
      }
    });
  }
  ~Versions() { Stop(); }
  void Stop() {
    cancel_.Cancel();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> writers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writers_;
  }

 private:
  std::shared_ptr<kube::Client> client_;
  kube::WatchCancel cancel_;
  mutable std::mutex mu_;
  std::vector<std::string> writers_;
  std::thread thread_;
};

// Replica A reaches the apiserver through the chaos proxy, replica B directly; both write
// one ConfigMap every 20 ms while they lead. A leads; its path is black-holed (a write of
// A's is then in flight, unanswered); B takes over after the lease and writes; then the
// network heals and every connection through the proxy is cut, which makes a client retry
// a write it had in flight on a fresh connection. No write of A's may be stored after B's
// first.
TEST(LeaderFencing, ADeposedLeaderLandsNoWriteAfterTheNewLeadersFirst) {
  auto admin = runtime_test::ClusterClient();
  ASSERT_NE(admin, nullptr);
  runtime_test::TestNamespace ns(admin, "rt-fence");
  auto created = admin->Create(kube::resources::kConfigMaps, ns.name(),
                               runtime_test::ConfigMap(ns.name(), "fence", "1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const kube::RestConfig direct = ClusterConfig();
  const std::string apiserver = direct.server.substr(direct.server.find("://") + 3);
  ChaosProxy proxy(apiserver);
  ASSERT_GT(proxy.listen_port(), 0);
  kube::RestConfig via_proxy = direct;
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.listen_port());
  auto client_a = ClientFor(via_proxy);
  auto client_b = ClientFor(direct);
  ASSERT_TRUE(client_a && client_b);

  std::atomic<bool> lost_a{false}, lost_b{false};
  Running a(client_a, ElectionOptions(ns.name(), "fence-lease", "replica-a", &lost_a));
  ASSERT_TRUE(runtime_test::WaitFor([&] { return a->IsLeader(); }, 20s));
  Running b(client_b, ElectionOptions(ns.name(), "fence-lease", "replica-b", &lost_b));
  Versions versions(admin, ns.name(), "fence", (*created)["metadata"].value("resourceVersion", ""));
  Writer writer_a(&*a, ns.name(), "fence", "replica-a", 20ms);
  Writer writer_b(&*b, ns.name(), "fence", "replica-b", 20ms);
  ASSERT_TRUE(runtime_test::WaitFor([&] { return writer_a.ok() >= 10; }, 10s));
  EXPECT_FALSE(b->IsLeader());

  ASSERT_TRUE(proxy.Admin("/blackhole/on"));
  const auto stalled = SteadyClock::now();
  ASSERT_TRUE(runtime_test::WaitFor([&] { return writer_b.ok() >= 1; }, 15s)) << "B never took over";
  std::printf("B's first write %.1f s after A's path stalled\n",
              std::chrono::duration<double>(SteadyClock::now() - stalled).count());
  std::this_thread::sleep_for(300ms);
  // The network heals; the connections that were open through the proxy are cut.
  ASSERT_TRUE(proxy.Admin("/blackhole/off"));
  ASSERT_TRUE(proxy.Admin("/cut"));
  std::this_thread::sleep_for(2s);
  writer_a.Stop();
  writer_b.Stop();
  ASSERT_TRUE(runtime_test::WaitFor([&] {
    auto cm = admin->Get(kube::resources::kConfigMaps, ns.name(), "fence");
    auto w = versions.writers();
    return cm.ok() && !w.empty() &&
           (*cm)["metadata"]["annotations"].value("fence/writer", "") == w.back();
  }, 10s));
  versions.Stop();

  const auto seen = versions.writers();
  size_t first_b = seen.size();
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] == "replica-b") {
      first_b = i;
      break;
    }
  }
  ASSERT_LT(first_b, seen.size());
  ASSERT_GT(first_b, 0u);
  int late_a = 0;
  for (size_t i = first_b; i < seen.size(); ++i) late_a += seen[i] == "replica-a";
  EXPECT_EQ(late_a, 0) << "writes of the deposed leader stored after the new leader's first: " << late_a
                       << " of " << seen.size() - first_b;
  EXPECT_TRUE(lost_a.load());
  EXPECT_FALSE(lost_b.load());
  // A's write that was in flight when its path stalled ended at its lease deadline.
  bool abandoned = false;
  for (const auto& f : writer_a.failures()) {
    abandoned = abandoned || f.reason() == kube::Reason::kRequestTimeout || f.reason() == kube::Reason::kCancelled;
  }
  EXPECT_TRUE(abandoned);
}

}  // namespace
