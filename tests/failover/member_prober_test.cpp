#include "failover/member_prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>

#include "support/fake_env.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

// The probe as a script: each attempt (on a pool thread) waits for the test's answer.
// Because a pod's next attempt starts only after the previous one is recorded, "the next
// attempt is waiting" also says "the previous result is in the verdict".
class ScriptedProbe {
 public:
  bool operator()(const Probe&, const std::string& ip) {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    last_ip_ = ip;
    waiting_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, 10s, [&] { return answer_.has_value() || closed_; });
    const bool ok = answer_.value_or(false);
    answer_.reset();
    waiting_ = false;
    return ok;
  }

  // Waits (real time, bounded) for an attempt to be waiting for its answer.
  bool AwaitAttempt() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return waiting_ && !answer_; });
  }
  bool Answer(bool ok) {
    if (!AwaitAttempt()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = ok;
    cv_.notify_all();
    return true;
  }
  // Lets a waiting attempt end (before the prober stops, which waits for it).
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::string last_ip() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_ip_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<bool> answer_;
  bool waiting_ = false;
  bool closed_ = false;
  int calls_ = 0;
  std::string last_ip_;
};

Probe TcpProbeEvery(std::chrono::milliseconds period, int failure_threshold) {
  Probe p;
  p.tcp = TcpProbe{};
  p.tcp->port = 8080;
  p.period = period;
  p.failure_threshold = failure_threshold;
  return p;
}

// A prober on a fake clock with a scripted probe; stopped before its parts go.
struct Rig {
  FakeEnv env;
  ScriptedProbe probe;
  runtime::WorkerPool pool{"probe", 1};
  std::mutex mu;
  int changes = 0;
  MemberProber prober{&pool,
                      [this](const std::string&) {
                        std::lock_guard<std::mutex> lock(mu);
                        ++changes;
                      },
                      &env, [this](const Probe& p, const std::string& ip) { return probe(p, ip); }};

  ~Rig() {
    probe.Close();
    prober.Stop();
    pool.Stop();
  }
  int Changes() {
    std::lock_guard<std::mutex> lock(mu);
    return changes;
  }
  // Answers the waiting attempt, moves on one period and waits for the next attempt: the
  // answer is then in the verdict.
  void Step(bool ok, std::chrono::milliseconds period) {
    ASSERT_TRUE(probe.Answer(ok));
    env.Advance(period);
    ASSERT_TRUE(probe.AwaitAttempt());
  }
};

TEST(MemberProber, VerdictTurnsFalseAfterFailureThresholdAndTrueAfterOneSuccess) {
  Rig rig;
  rig.prober.SetTargets("ns/g", TcpProbeEvery(5s, 3), {{"uid-a", "10.0.0.7"}});
  ASSERT_TRUE(rig.probe.AwaitAttempt()) << "a new target is probed at once";
  EXPECT_EQ(rig.probe.last_ip(), "10.0.0.7");
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt);

  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt) << "1 failure of 3";
  // The latest attempt is reported before the threshold (a pod on a silent node is judged by
  // it), and its first failure calls on_change.
  EXPECT_EQ(rig.prober.LastAttempt("ns/g", "uid-a"), std::optional<bool>(false));
  EXPECT_EQ(rig.Changes(), 1);
  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt) << "2 failures of 3";
  EXPECT_EQ(rig.Changes(), 1) << "neither the verdict nor the latest attempt changed";
  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(false));
  EXPECT_EQ(rig.Changes(), 2);

  rig.Step(true, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(true)) << "one success is enough";
  EXPECT_EQ(rig.prober.LastAttempt("ns/g", "uid-a"), std::optional<bool>(true));
  EXPECT_EQ(rig.Changes(), 3);

  // Failures count again from zero after a success.
  rig.Step(false, 5s);
  EXPECT_EQ(rig.Changes(), 4) << "the latest attempt failed";
  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(true));
  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(false));
  EXPECT_EQ(rig.Changes(), 5);
  EXPECT_EQ(rig.prober.LastAttempt("ns/g", "uid-x"), std::nullopt);
}

TEST(MemberProber, FirstSuccessSetsTheVerdict) {
  Rig rig;
  rig.prober.SetTargets("ns/g", TcpProbeEvery(5s, 3), {{"uid-a", "10.0.0.7"}});
  rig.Step(true, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(true));
  EXPECT_EQ(rig.Changes(), 1);
  rig.Step(true, 5s);
  EXPECT_EQ(rig.Changes(), 1) << "no change, no call";
}

TEST(MemberProber, ProbesOncePerPeriod) {
  Rig rig;
  rig.prober.SetTargets("ns/g", TcpProbeEvery(5s, 1), {{"uid-a", "10.0.0.7"}});
  ASSERT_TRUE(rig.probe.Answer(true));
  // Step the clock up to just before the period ends, letting the timer thread look each
  // time (it wakes at least once a second).
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(rig.env.BlockUntilWaiters(1));
    rig.env.Advance(1s);
  }
  ASSERT_TRUE(rig.env.BlockUntilWaiters(1));
  rig.env.Advance(999ms);
  ASSERT_TRUE(rig.env.BlockUntilWaiters(1));
  EXPECT_EQ(rig.probe.calls(), 1) << "probed again before the period ended";
  rig.env.Advance(1ms);
  ASSERT_TRUE(rig.probe.AwaitAttempt());
  EXPECT_EQ(rig.probe.calls(), 2);
}

TEST(MemberProber, NewIpStartsOverAndNoProbeStopsTheGroup) {
  Rig rig;
  rig.prober.SetTargets("ns/g", TcpProbeEvery(5s, 1), {{"uid-a", "10.0.0.7"}});
  rig.Step(false, 5s);
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::optional<bool>(false));
  // The pod moved: its state starts over and the new address is probed at once.
  rig.prober.SetTargets("ns/g", TcpProbeEvery(5s, 1), {{"uid-a", "10.0.0.8"}});
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt);
  ASSERT_TRUE(rig.probe.Answer(false));  // the attempt on the old address, now stale
  ASSERT_TRUE(rig.probe.AwaitAttempt());
  EXPECT_EQ(rig.probe.last_ip(), "10.0.0.8");
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt) << "a stale result must not count";

  rig.prober.SetTargets("ns/g", std::nullopt, {{"uid-a", "10.0.0.8"}});
  EXPECT_EQ(rig.prober.Verdict("ns/g", "uid-a"), std::nullopt);
}

// ProbeOnce itself, against a loopback listener.
// Bounded per group: a group whose probes hang holds at most per_group threads of the
// shared pool, and another group's pods are probed meanwhile.
TEST(MemberProber, AGroupWithHangingProbesDoesNotDelayAnotherGroupsProbes) {
  FakeEnv env;
  runtime::WorkerPool pool{"probe", 2};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int hanging = 0;
  auto probe = [&](const Probe&, const std::string& ip) {
    if (ip.rfind("10.0.0.", 0) != 0) return true;  // group b: answers at once
    std::unique_lock<std::mutex> lock(mu);
    ++hanging;
    cv.notify_all();
    cv.wait_for(lock, 10s, [&] { return release; });
    return false;
  };
  std::set<std::string> changed;
  MemberProber prober(
      &pool,
      [&](const std::string& group) {
        std::lock_guard<std::mutex> lock(mu);
        changed.insert(group);
        cv.notify_all();
      },
      &env, probe, /*per_group=*/1);
  const Probe p = TcpProbeEvery(1s, 1);
  prober.SetTargets("ns/a", p, {{"a-0", "10.0.0.1"}, {"a-1", "10.0.0.2"}, {"a-2", "10.0.0.3"}});
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return hanging >= 1; }));
  }
  prober.SetTargets("ns/b", p, {{"b-0", "10.1.0.1"}});
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return changed.count("ns/b") > 0; }))
        << "group b's probe waited behind group a's hanging ones";
    EXPECT_EQ(hanging, 1) << "group a holds one thread of the pool at most";
  }
  EXPECT_EQ(prober.Verdict("ns/b", "b-0"), std::optional<bool>(true));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  prober.Stop();
  pool.Stop();
}

TEST(ProbeOnce, TcpConnectsToAListenerAndFailsOnAClosedPort) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Probe p = TcpProbeEvery(5s, 1);
  p.tcp->port = ntohs(addr.sin_port);
  EXPECT_TRUE(ProbeOnce(p, "127.0.0.1"));
  close(fd);
  EXPECT_FALSE(ProbeOnce(p, "127.0.0.1"));
  EXPECT_FALSE(ProbeOnce(p, "")) << "no address, no success";
  EXPECT_FALSE(ProbeOnce(p, "not-an-ip"));
}

}  // namespace
}  // namespace failover
