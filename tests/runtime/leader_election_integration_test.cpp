#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cluster_env.h"
#include "runtime/leader_election.h"

extern char** environ;

using namespace std::chrono_literals;

namespace {

// One runtime_leader_demo process, its stdout in a file; killed at the end if alive.
class DemoProcess {
 public:
  DemoProcess(const std::string& ns, const std::string& identity, const std::string& out,
              const std::vector<std::string>& extra = {})
      : identity_(identity), out_(out) {
    const std::string bin = runtime_test::Env("FO_BIN_DIR") + "/runtime_leader_demo";
    std::vector<std::string> args = {bin,
                                     "--kubeconfig=" + runtime_test::Env("FO_KUBECONFIG"),
                                     "--namespace=" + ns,
                                     "--identity=" + identity,
                                     "--leader-elect",
                                     "--leader-election-namespace=" + ns,
                                     "--leader-election-id=demo-lease",
                                     "--metrics-bind-address=0",
                                     "--health-probe-bind-address=0",
                                     "--log-format=text"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (out + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~DemoProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(out_.c_str());
    std::remove((out_ + ".log").c_str());
  }
  bool started() const { return pid_ > 0; }
  void Kill() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
  // SIGTERM and wait (bounded); the exit code, or -1.
  int Terminate(std::chrono::seconds limit) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }
  // Waits (bounded) for the process to exit by itself; the exit code, or -1.
  int WaitExit(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  int Reconciles() const {
    std::ifstream f(out_);
    std::string line;
    int n = 0;
    while (std::getline(f, line)) n += line.rfind("reconciled ", 0) == 0;
    return n;
  }
  std::string Log() const {
    std::ifstream f(out_ + ".log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  const std::string& identity() const { return identity_; }

 private:
  std::string identity_, out_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

std::string Holder(kube::Client& c, const std::string& ns) {
  auto lease = c.Get(kube::resources::kLeases, ns, "demo-lease");
  if (!lease.ok()) return "";
  return (*lease)["spec"].value("holderIdentity", "");
}

std::string ReconciledBy(kube::Client& c, const std::string& ns) {
  auto cm = c.Get(kube::resources::kConfigMaps, ns, "probe");
  if (!cm.ok()) return "";
  return (*cm)["metadata"].value("annotations", kube::json::object())
      .value("runtime-test/reconciled-by", "");
}

// Two operator processes share a Lease: only the holder reconciles; SIGKILL it and the
// other takes over within leaseDuration (15 s) + retryPeriod (2 s) + slack, and a clean
// SIGTERM releases the lease.
TEST(LeaderElectionIntegration, OnlyTheLeaderReconcilesAndTheOtherTakesOver) {
  auto client = runtime_test::ClusterClient();
  ASSERT_NE(client, nullptr);
  runtime_test::TestNamespace ns(client, "rt-leader");
  const std::string dir = ::testing::TempDir();
  const std::string tag = runtime_test::RandomSuffix();
  DemoProcess a(ns.name(), "demo-a-" + tag, dir + "/leader-a-" + tag + ".out");
  ASSERT_TRUE(a.started());
  ASSERT_TRUE(runtime_test::WaitFor([&] { return Holder(*client, ns.name()) == a.identity(); }, 30s))
      << a.Log();
  DemoProcess b(ns.name(), "demo-b-" + tag, dir + "/leader-b-" + tag + ".out");
  ASSERT_TRUE(b.started());

  ASSERT_TRUE(client->Create(kube::resources::kConfigMaps, ns.name(),
                             runtime_test::ConfigMap(ns.name(), "probe", "1")).ok());
  ASSERT_TRUE(runtime_test::WaitFor([&] { return ReconciledBy(*client, ns.name()) == a.identity(); }, 30s))
      << a.Log();
  // Give b time to sync and see the probe too; it must not act.
  std::this_thread::sleep_for(3s);
  EXPECT_GE(a.Reconciles(), 1);
  EXPECT_EQ(b.Reconciles(), 0) << b.Log();

  a.Kill();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_test::WaitFor([&] { return Holder(*client, ns.name()) == b.identity(); }, 40s))
      << b.Log();
  const auto takeover = std::chrono::steady_clock::now() - killed;
  std::printf("takeover %.1f s after SIGKILL of the leader\n",
              std::chrono::duration<double>(takeover).count());
  EXPECT_LE(takeover, 15s + 2s + 5s)
      << "took " << std::chrono::duration<double>(takeover).count() << " s";
  ASSERT_TRUE(client->Patch(kube::resources::kConfigMaps, ns.name(), "probe",
                            kube::PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  EXPECT_TRUE(runtime_test::WaitFor([&] { return ReconciledBy(*client, ns.name()) == b.identity(); }, 30s))
      << b.Log();
  // The demo prints its line after the patch returns: the annotation can be seen first.
  EXPECT_TRUE(runtime_test::WaitFor([&] { return b.Reconciles() >= 1; }, 10s)) << b.Log();

  EXPECT_EQ(b.Terminate(30s), 0) << b.Log();
  EXPECT_EQ(Holder(*client, ns.name()), "") << "a clean shutdown releases the lease";
}

// The write guard: once renewals stop succeeding (the apiserver is gone), IsLeader()
// turns false no later than renewDeadline after the last good renewal, and the loss is
// reported.
TEST(LeaderElectionIntegration, GuardTurnsFalseWhenRenewalsStop) {
  auto client = runtime_test::ClusterClient();
  ASSERT_NE(client, nullptr);
  runtime_test::TestNamespace ns(client, "rt-guard");
  runtime::LeaderElectionOptions o;
  o.lease_namespace = ns.name();
  o.lease_name = "guard-lease";
  o.lease_duration = 6s;
  o.renew_deadline = 4s;
  o.retry_period = 1s;
  ASSERT_TRUE(runtime::LeaderElector::Validate(o).ok());
  std::atomic<bool> lost{false};
  runtime::LeaderElector::Callbacks cb;
  cb.on_stopped_leading = [&] { lost = true; };
  runtime::LeaderElector le(client, o, cb);
  le.Start();
  ASSERT_TRUE(runtime_test::WaitFor([&] { return le.IsLeader(); }, 20s));
  runtime_test::ApiserverRestorer restore;
  ASSERT_TRUE(runtime_test::ClusterScript("stop-apiserver"));
  const auto stopped = std::chrono::steady_clock::now();
  // The last renewal started before `stopped`, so the guard must be down by then + 4 s.
  EXPECT_TRUE(runtime_test::WaitFor([&] { return !le.IsLeader(); }, 4s + 200ms));
  EXPECT_LE(std::chrono::steady_clock::now() - stopped, 4s + 200ms);
  EXPECT_TRUE(runtime_test::WaitFor([&] { return lost.load(); }, 6s));
  EXPECT_FALSE(le.IsLeader());
  ASSERT_TRUE(runtime_test::ClusterScript("start-apiserver"));
  le.Stop();
}

// A leader that cannot renew stops acting and exits (status 1) to restart clean.
TEST(LeaderElectionIntegration, LeaderExitsWhenItCannotRenew) {
  auto client = runtime_test::ClusterClient();
  ASSERT_NE(client, nullptr);
  runtime_test::TestNamespace ns(client, "rt-exit");
  const std::string tag = runtime_test::RandomSuffix();
  DemoProcess a(ns.name(), "demo-exit-" + tag, ::testing::TempDir() + "/leader-exit-" + tag + ".out",
                {"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s",
                 "--leader-elect-retry-period=1s"});
  ASSERT_TRUE(a.started());
  ASSERT_TRUE(runtime_test::WaitFor([&] { return Holder(*client, ns.name()) == a.identity(); }, 30s))
      << a.Log();
  runtime_test::ApiserverRestorer restore;
  ASSERT_TRUE(runtime_test::ClusterScript("stop-apiserver"));
  EXPECT_EQ(a.WaitExit(4s + 3s), 1) << a.Log();
  EXPECT_NE(a.Log().find("leader election lost"), std::string::npos) << a.Log();
}

}  // namespace
