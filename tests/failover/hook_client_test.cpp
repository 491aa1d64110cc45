#include "failover/hook_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "failover/plan_executor.h"
#include "support/fake_env.h"
#include "support/recording_client.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

// A hook endpoint on a loopback port: answers POST /hook with `status`, counts the calls,
// and can hold a call until Release() (to see what happens while one runs).
class HookServer {
 public:
  HookServer() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_;
      last_body_ = req.body;
      last_switch_header_ = req.get_header_value(kSwitchIdHeader);
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // The socket listens from here on; calls queue until the accept loop runs.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HookServer() {
    Release();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void set_status(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::string last_body() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_body_;
  }
  std::string last_switch_header() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_switch_header_;
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits (real time, bounded) until the server has seen n calls.
  bool AwaitCalls(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_ >= n; });
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 200;
  int calls_ = 0;
  bool hold_ = false;
  std::string last_body_;
  std::string last_switch_header_;
};

Hook MakeHook(const std::string& url, int retries = 0) {
  Hook h;
  h.url = url;
  h.timeout = std::chrono::seconds(5);
  h.retries = retries;
  return h;
}

HookClient::Options BreakerOptions(FakeEnv* env) {
  HookClient::Options o;
  o.breaker_threshold = 3;
  o.breaker_open = 30s;
  o.env = env;
  return o;
}

bool FailedFast(const HookOutcome& out) {
  return !out.ok && out.attempts == 0 && out.message.find("circuit breaker open") != std::string::npos;
}

// A client with BreakerOptions on a fake clock, and a hook on a server answering 500.
struct FailingHook {
  FakeEnv env;
  HookServer server;
  HookClient client{BreakerOptions(&env)};
  Hook hook = MakeHook(server.url());

  FailingHook() { server.set_status(500); }
  // breaker_threshold failed calls open the breaker; breaker_open later it is half open,
  // letting one trial call through.
  void OpenUntilHalfOpen() {
    for (int i = 0; i < 3; ++i) client.Call(hook, {});
    env.Advance(30s);
  }
};

TEST(HookClient, SuccessOnTheFirstAttempt) {
  FakeEnv env;
  HookServer server;
  HookClient client(BreakerOptions(&env));
  const HookOutcome out = client.Call(MakeHook(server.url()), {{"phase", "pre"}});
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.attempts, 1);
  EXPECT_EQ(out.message, "");
  EXPECT_EQ(server.calls(), 1);
}

TEST(HookClient, BreakerOpensAfterThresholdFailuresAndFailsFastWhileOpen) {
  FailingHook f;
  auto& [env, server, client, hook] = f;
  for (int i = 0; i < 3; ++i) {
    const HookOutcome out = client.Call(hook, {});
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.attempts, 1);
    EXPECT_NE(out.message.find("HTTP 500"), std::string::npos) << out.message;
  }
  EXPECT_EQ(server.calls(), 3);

  server.set_status(200);
  EXPECT_TRUE(FailedFast(client.Call(hook, {})));
  env.Advance(30s - 1ms);
  EXPECT_TRUE(FailedFast(client.Call(hook, {})));
  EXPECT_EQ(server.calls(), 3) << "an open breaker must not call the hook";

  // Open for breaker_open: then one trial goes through, and its success closes the breaker.
  env.Advance(1ms);
  const HookOutcome trial = client.Call(hook, {});
  EXPECT_TRUE(trial.ok) << trial.message;
  EXPECT_EQ(server.calls(), 4);
  EXPECT_TRUE(client.Call(hook, {}).ok);
  EXPECT_EQ(server.calls(), 5);
}

TEST(HookClient, FailedTrialOpensTheBreakerAgain) {
  FailingHook f;
  auto& [env, server, client, hook] = f;
  f.OpenUntilHalfOpen();
  const HookOutcome trial = client.Call(hook, {});
  EXPECT_FALSE(trial.ok);
  EXPECT_EQ(trial.attempts, 1);
  EXPECT_EQ(server.calls(), 4);
  EXPECT_TRUE(FailedFast(client.Call(hook, {})));
  env.Advance(30s - 1ms);
  EXPECT_TRUE(FailedFast(client.Call(hook, {}))) << "a failed trial opens the breaker for a full period";
  EXPECT_EQ(server.calls(), 4);
}

TEST(HookClient, OnlyOneTrialWhileHalfOpen) {
  FailingHook f;
  auto& [env, server, client, hook] = f;
  f.OpenUntilHalfOpen();
  server.set_status(200);
  server.Hold();
  auto trial = std::async(std::launch::async, [&] { return client.Call(hook, {}); });
  ASSERT_TRUE(server.AwaitCalls(4));
  EXPECT_TRUE(FailedFast(client.Call(hook, {}))) << "a second call while the trial runs";
  server.Release();
  EXPECT_TRUE(trial.get().ok);
  EXPECT_TRUE(client.Call(hook, {}).ok);
}

TEST(HookClient, BreakersAreKeptPerUrl) {
  FakeEnv env;
  HookServer failing, healthy;
  failing.set_status(500);
  HookClient client(BreakerOptions(&env));
  for (int i = 0; i < 3; ++i) client.Call(MakeHook(failing.url()), {});
  EXPECT_TRUE(FailedFast(client.Call(MakeHook(failing.url()), {})));
  EXPECT_TRUE(client.Call(MakeHook(healthy.url()), {}).ok);
}

// Hooks of groups created and deleted one after another leave no breakers behind: a URL
// that answers is forgotten at once, one whose failures stopped is swept later.
TEST(HookClient, ChurnOfHookUrlsLeavesNoBreakersBehind) {
  FakeEnv env;
  HookServer healthy;
  HookClient client(BreakerOptions(&env));
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(client.Call(MakeHook(healthy.url() + "?g=" + std::to_string(i)), {}).ok);
  EXPECT_EQ(client.breakers(), 0u) << "a closed breaker with no failure is none";

  for (int i = 0; i < 2000; ++i) {
    client.Call(MakeHook("ftp://g-" + std::to_string(i) + ".invalid/hook"), {});  // fails at once
    env.Advance(1s);
  }
  EXPECT_LT(client.breakers(), 700u) << "URLs that last failed over 10 x breaker_open ago are swept";

  // A URL failing now keeps its breaker through the sweeps.
  const Hook failing = MakeHook("ftp://still-failing.invalid/hook");
  for (int i = 0; i < 3; ++i) client.Call(failing, {});
  for (int i = 0; i < 500; ++i) client.Call(MakeHook("ftp://x-" + std::to_string(i) + ".invalid/hook"), {});
  EXPECT_TRUE(FailedFast(client.Call(failing, {})));
}

TEST(HookClient, NotAnHttpUrlCountsAsAFailure) {
  FakeEnv env;
  HookClient client(BreakerOptions(&env));
  // The spec's validation refuses these first; the client must still fail, not throw.
  EXPECT_FALSE(client.Call(MakeHook("example.invalid/hook"), {}).ok);
  const Hook hook = MakeHook("ftp://example.invalid/hook");
  for (int i = 0; i < 3; ++i) {
    const HookOutcome out = client.Call(hook, {});
    EXPECT_FALSE(out.ok);
    EXPECT_NE(out.message.find("not an http(s) URL"), std::string::npos) << out.message;
  }
  EXPECT_TRUE(FailedFast(client.Call(hook, {})));
}

TEST(HookClient, RetriesBackOffExponentiallyUpToTheMax) {
  FakeEnv env;
  HookServer server;
  server.set_status(503);
  HookClient::Options o = BreakerOptions(&env);
  o.backoff_initial = 200ms;
  o.backoff_max = 300ms;
  HookClient client(o);
  auto call = std::async(std::launch::async, [&] { return client.Call(MakeHook(server.url(), 3), {}); });
  // Attempt 1, then waits of 200 ms, 300 ms (doubled, capped), 300 ms before attempts 2..4.
  for (auto wait : {200ms, 300ms, 300ms}) {
    ASSERT_TRUE(env.BlockUntilWaiters(1));
    ASSERT_EQ(env.NextDeadline(), env.Now() + wait);
    env.Advance(wait - 1ms);
    EXPECT_EQ(env.Waiters(), 1u) << "retried before the backoff ended";
    env.Advance(1ms);
  }
  const HookOutcome out = call.get();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.attempts, 4);
  EXPECT_NE(out.message.find("HTTP 503"), std::string::npos) << out.message;
  EXPECT_EQ(server.calls(), 4);
}

TEST(HookClient, RetrySucceedsAfterAFailedAttempt) {
  FakeEnv env;
  HookServer server;
  server.set_status(500);
  HookClient client(BreakerOptions(&env));
  auto call = std::async(std::launch::async, [&] { return client.Call(MakeHook(server.url(), 2), {}); });
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  server.set_status(204);
  env.Advance(200ms);
  const HookOutcome out = call.get();
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.attempts, 2);
  EXPECT_EQ(server.calls(), 2);
}

// HookRunner: a finished result is kept for `keep`, then the hook is called again.
TEST(HookRunner, KeepsAFinishedResultForKeepOnTheEnvClock) {
  FakeEnv env;
  HookServer server;
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 1);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  HookRunner runner(
      &client, &pool,
      [&](const std::string&) {
        std::lock_guard<std::mutex> lock(mu);
        ++done;
        cv.notify_all();
      },
      10min, &env);
  auto await_done = [&](int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return done >= n; });
  };
  CallHook call;
  call.hook = MakeHook(server.url());
  HookOutcome out;
  EXPECT_EQ(runner.Run("switch-1", "ns/g", call, {}, &out), HookRunner::State::kPending);
  ASSERT_TRUE(await_done(1));
  EXPECT_EQ(runner.Run("switch-1", "ns/g", call, {}, &out), HookRunner::State::kSucceeded);
  env.Advance(10min);
  EXPECT_EQ(runner.Run("switch-1", "ns/g", call, {}, &out), HookRunner::State::kSucceeded);
  EXPECT_EQ(server.calls(), 1);
  env.Advance(1ms);
  EXPECT_EQ(runner.Run("switch-1", "ns/g", call, {}, &out), HookRunner::State::kPending)
      << "a result older than keep is dropped and the hook called again";
  ASSERT_TRUE(await_done(2));
  EXPECT_EQ(server.calls(), 2);
  runner.Stop();
}

// Counts the calls that ended (on_done) and waits for them, real time, bounded.
struct DoneCounter {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> done;  // group key -> calls ended
  std::function<void(const std::string&)> callback() {
    return [this](const std::string& group) {
      std::lock_guard<std::mutex> lock(mu);
      ++done[group];
      cv.notify_all();
    };
  }
  bool Await(const std::string& group, int n, std::chrono::milliseconds within = 10s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, within, [&] { return done[group] >= n; });
  }
};

// A job that holds the pool's one thread until released, so calls queue behind it.
struct Blocker {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released{release.get_future().share()};
  void Submit(runtime::WorkerPool& pool) {
    ASSERT_TRUE(pool.Submit([this, r = released] {
      started.set_value();
      r.wait();
    }));
    ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  }
};

// A call queued for a switch that was then redirected (the group's current switch is
// another one) is dropped before its first attempt: the hook never sees it, and it is
// reported as dropped, not as failed. Asked for again under a current switch, it runs.
TEST(HookRunner, AQueuedCallOfASwitchNoLongerCurrentIsDroppedBeforeItsFirstAttempt) {
  FakeEnv env;
  HookServer server;
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 1);
  DoneCounter done;
  HookRunner runner(&client, &pool, done.callback(), 10min, &env);
  Blocker blocker;
  blocker.Submit(pool);
  CallHook call;
  call.hook = MakeHook(server.url());
  runner.SetCurrentSwitch("ns/g", "uid/b/t1");
  EXPECT_EQ(runner.Run("pre|b|t1", "ns/g", call, {}, nullptr, "uid/b/t1"), HookRunner::State::kPending);
  runner.SetCurrentSwitch("ns/g", "uid/c/t2");  // redirected to c while the call was queued
  blocker.release.set_value();
  ASSERT_TRUE(done.Await("ns/g", 1));
  HookOutcome out;
  ASSERT_EQ(runner.Peek("pre|b|t1", &out), HookRunner::State::kDropped);
  EXPECT_TRUE(out.dropped);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.attempts, 0);
  EXPECT_NE(out.message.find("dropped before attempt 1"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("uid/c/t2"), std::string::npos) << out.message;
  EXPECT_EQ(server.calls(), 0) << "no attempt of a stale switch's call reaches the hook";
  EXPECT_EQ(client.breakers(), 0u) << "a dropped call is no failure of the hook";

  // The switch is current again (the decision asks for the call once more): it runs.
  runner.SetCurrentSwitch("ns/g", "uid/b/t1");
  EXPECT_EQ(runner.Run("pre|b|t1", "ns/g", call, {}, nullptr, "uid/b/t1"), HookRunner::State::kPending);
  ASSERT_TRUE(done.Await("ns/g", 2));
  EXPECT_EQ(runner.Peek("pre|b|t1"), HookRunner::State::kSucceeded);
  EXPECT_EQ(server.calls(), 1);
  EXPECT_EQ(server.last_switch_header(), "uid/b/t1");
  runner.Stop();
}

// A call retrying after a failed attempt whose switch ends meanwhile (cancelled, timed
// out: the group has no current switch) is dropped before its next retry.
TEST(HookRunner, ARetryingCallIsDroppedBeforeItsNextRetryWhenItsSwitchEnds) {
  FakeEnv env;
  HookServer server;
  server.set_status(500);
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 1);
  DoneCounter done;
  HookRunner runner(&client, &pool, done.callback(), 10min, &env);
  CallHook call;
  call.hook = MakeHook(server.url(), 3);
  runner.SetCurrentSwitch("ns/g", "uid/b/t1");
  runner.Run("pre|b|t1", "ns/g", call, {}, nullptr, "uid/b/t1");
  ASSERT_TRUE(server.AwaitCalls(1));
  ASSERT_TRUE(env.BlockUntilWaiters(1)) << "backing off before the first retry";
  runner.SetCurrentSwitch("ns/g", "");  // the switch was cancelled or timed out
  env.Advance(200ms);
  ASSERT_TRUE(done.Await("ns/g", 1));
  HookOutcome out;
  ASSERT_EQ(runner.Peek("pre|b|t1", &out), HookRunner::State::kDropped);
  EXPECT_TRUE(out.dropped);
  EXPECT_EQ(out.attempts, 1);
  EXPECT_NE(out.message.find("dropped before attempt 2"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("HTTP 500"), std::string::npos) << "the last attempt's failure is kept: " << out.message;
  EXPECT_EQ(server.calls(), 1) << "no retry reached the hook";
  runner.Stop();
}

// A process that no longer leads drops its calls before the next attempt, queued or
// retrying, whatever the switch.
TEST(HookRunner, ACallOfAProcessThatNoLongerLeadsIsDroppedBeforeEachAttempt) {
  FakeEnv env;
  HookServer server;
  server.set_status(503);
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 1);
  DoneCounter done;
  std::atomic<bool> leader{true};
  HookRunner runner(&client, &pool, done.callback(), 10min, &env, 0, [&] { return leader.load(); });
  CallHook call;
  call.hook = MakeHook(server.url(), 3);
  runner.SetCurrentSwitch("ns/g", "uid/b/t1");
  runner.Run("retrying", "ns/g", call, {}, nullptr, "uid/b/t1");
  ASSERT_TRUE(server.AwaitCalls(1));
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  runner.Run("queued", "ns/g", call, {}, nullptr, "uid/b/t1");  // behind it on the one thread
  leader = false;
  env.Advance(200ms);
  ASSERT_TRUE(done.Await("ns/g", 2));
  HookOutcome out;
  ASSERT_EQ(runner.Peek("retrying", &out), HookRunner::State::kDropped);
  EXPECT_EQ(out.attempts, 1);
  EXPECT_NE(out.message.find("no longer leads"), std::string::npos) << out.message;
  ASSERT_EQ(runner.Peek("queued", &out), HookRunner::State::kDropped);
  EXPECT_EQ(out.attempts, 0);
  EXPECT_EQ(server.calls(), 1);
  runner.Stop();
}

// Bounded per group: a group whose hook hangs holds at most per_group threads of the
// shared pool; its further calls wait in its own queue, and another group's call runs.
TEST(HookRunner, AGroupWithAHangingHookDoesNotDelayAnotherGroupsCall) {
  FakeEnv env;
  HookServer slow;
  HookServer fast;
  slow.Hold();
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 2);
  DoneCounter done;
  HookRunner runner(&client, &pool, done.callback(), 10min, &env, /*per_group=*/1);
  CallHook hanging;
  hanging.hook = MakeHook(slow.url());
  CallHook quick;
  quick.hook = MakeHook(fast.url());
  runner.Run("a-1", "ns/a", hanging, {}, nullptr);
  ASSERT_TRUE(slow.AwaitCalls(1));
  runner.Run("a-2", "ns/a", hanging, {}, nullptr);
  EXPECT_EQ(runner.in_flight("ns/a"), 1u);
  EXPECT_EQ(runner.waiting("ns/a"), 1u) << "the group's second call waits its turn off the pool";
  runner.Run("b-1", "ns/b", quick, {}, nullptr);
  ASSERT_TRUE(done.Await("ns/b", 1)) << "group b's call waited behind group a's hanging hook";
  EXPECT_EQ(runner.Peek("b-1"), HookRunner::State::kSucceeded);
  EXPECT_EQ(slow.calls(), 1);
  // Once a's first call ends, its second goes to the pool.
  slow.Release();
  ASSERT_TRUE(done.Await("ns/a", 2));
  EXPECT_EQ(slow.calls(), 2);
  // Its place on the pool is given back just after its end is reported.
  for (int i = 0; i < 1000 && runner.in_flight("ns/a") > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(runner.in_flight("ns/a"), 0u);
  EXPECT_EQ(runner.waiting("ns/a"), 0u);
  runner.Stop();
}

// The executor tells the runner the group's current switch from each decision and sends
// the switch's identity: body switchId and switchStartedAt, header X-Failover-Switch-Id.
// A later decision without the switch (cancelled) drops its queued call.
TEST(HookRunnerAndExecutor, TheCallCarriesTheSwitchAndIsDroppedWhenTheNextDecisionCancelsIt) {
  FakeEnv env;
  HookServer server;
  HookClient client(BreakerOptions(&env));
  runtime::WorkerPool pool("hooks", 1);
  DoneCounter done;
  HookRunner runner(&client, &pool, done.callback(), 10min, &env);
  testsupport::RecordingClient api;
  api.ServeGroup("db", "7");
  RecentWrites recent;
  PlanExecutor::Deps deps;
  deps.client = &api;
  deps.recent = &recent;
  deps.hooks = &runner;
  PlanExecutor executor(deps);
  const nlohmann::json group = {
      {"metadata", {{"name", "db"}, {"namespace", "ns"}, {"uid", "g-uid"}, {"resourceVersion", "7"}}}};

  UpdateStatus intent;
  intent.status.switch_record =
      SwitchRecord{"a", "b", "Switchover", "Demoting", Time(1704067200000ms), Time(1704067201500ms), {}};
  CallHook pre;
  pre.phase = HookPhase::kPrePromote;
  pre.hook = MakeHook(server.url());
  pre.from = "a";
  pre.to = "b";
  pre.reason = "Switchover";
  pre.started_at = Time(1704067201500ms);
  Plan plan;
  plan.writes = {intent, pre, UpdateStatus{}};
  plan.stage_ends = {1, 2, 3};
  const std::string id = "g-uid/b/2024-01-01T00:00:01.500Z";

  // First while the pool is busy: the call queues; the next decision has no switch.
  Blocker blocker;
  blocker.Submit(pool);
  auto r = executor.Apply(group, plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.waiting_hook);
  api.ServeGroup("db", "8");
  const nlohmann::json group8 = {
      {"metadata", {{"name", "db"}, {"namespace", "ns"}, {"uid", "g-uid"}, {"resourceVersion", "8"}}}};
  Plan cancelled;
  cancelled.writes = {UpdateStatus{}};
  ASSERT_TRUE(executor.Apply(group8, cancelled).status.ok());
  blocker.release.set_value();
  ASSERT_TRUE(done.Await("ns/db", 1));
  EXPECT_EQ(server.calls(), 0) << "the cancelled switch's queued call reached the hook";

  // The switch asked for again: the call carries its identity.
  r = executor.Apply(group8, plan);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.waiting_hook);
  ASSERT_TRUE(done.Await("ns/db", 2));
  ASSERT_EQ(server.calls(), 1);
  EXPECT_EQ(server.last_switch_header(), id);
  const auto body = nlohmann::json::parse(server.last_body());
  EXPECT_EQ(body.value("switchId", ""), id);
  EXPECT_EQ(body.value("switchStartedAt", ""), "2024-01-01T00:00:01.500Z");
  EXPECT_EQ(body.value("to", ""), "b");
  EXPECT_EQ(body.value("phase", ""), "prePromote");
  runner.Stop();
}

}  // namespace
}  // namespace failover
