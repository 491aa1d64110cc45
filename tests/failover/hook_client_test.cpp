#include "failover/hook_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "support/fake_env.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeEnv;

// A hook endpoint on a loopback port: answers POST /hook with `status`, counts the calls,
// and can hold a call until Release() (to see what happens while one runs).
class HookServer {
 public:
  HookServer() {
    server_.Post("/hook", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_;
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

}  // namespace
}  // namespace failover
