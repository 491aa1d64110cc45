#include <gtest/gtest.h>

#include <future>

#include "kube/client.h"
#include "kube/rate_limiter.h"
#include "kube/resource.h"
#include "kube/tls.h"
#include "support/fake_env.h"

namespace kube {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

TEST(QueryStringTest, EncodesAndSkipsEmptyValues) {
  EXPECT_EQ(QueryString({}), "");
  EXPECT_EQ(QueryString({{"a", ""}}), "");
  EXPECT_EQ(QueryString({{"labelSelector", "app=web,tier in (a,b)"}, {"limit", "5"}, {"x", ""}}),
            "?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29&limit=5");
  EXPECT_EQ(QueryString({{"continue", "eyJ2Ijoi+/="}}), "?continue=eyJ2Ijoi%2B%2F%3D");
  EXPECT_EQ(QueryString({{"fieldSelector", "metadata.name=a~b_c-d"}}),
            "?fieldSelector=metadata.name%3Da~b_c-d");
  EXPECT_EQ(QueryString({{"k", "é"}}), "?k=%C3%A9");
}

TEST(WarningHeaderTest, ApiserverDeprecationWarning) {
  EXPECT_EQ(kube::ParseWarningHeader(
                "299 - \"discovery.k8s.io/v1beta1 EndpointSlice is deprecated in v1.21+, "
                "unavailable in v1.25+; use discovery.k8s.io/v1 EndpointSlice\""),
            (std::vector<std::string>{"discovery.k8s.io/v1beta1 EndpointSlice is deprecated in "
                                      "v1.21+, unavailable in v1.25+; use discovery.k8s.io/v1 "
                                      "EndpointSlice"}));
}

TEST(WarningHeaderTest, EscapesSeveralAndADate) {
  EXPECT_EQ(kube::ParseWarningHeader(
                "299 - \"a \\\"quoted\\\" word, and a comma\", "
                "299 kube-apiserver \"second\" \"Mon, 30 Nov 2026 10:00:00 GMT\", 299 - \"third\""),
            (std::vector<std::string>{"a \"quoted\" word, and a comma", "second", "third"}));
}

TEST(WarningHeaderTest, NotTheUsualFormIsKeptWhole) {
  EXPECT_EQ(kube::ParseWarningHeader("something odd"), (std::vector<std::string>{"something odd"}));
  EXPECT_EQ(kube::ParseWarningHeader("299 - \"unterminated"),
            (std::vector<std::string>{"299 - \"unterminated"}));
  EXPECT_TRUE(kube::ParseWarningHeader("").empty());
}

TEST(ResourceTest, Paths) {
  EXPECT_EQ(resources::kPods.CollectionPath("ns"), "/api/v1/namespaces/ns/pods");
  EXPECT_EQ(resources::kPods.CollectionPath(""), "/api/v1/pods");
  EXPECT_EQ(resources::kPods.ObjectPath("ns", "p", "status"), "/api/v1/namespaces/ns/pods/p/status");
  EXPECT_EQ(resources::kNodes.ObjectPath("ignored", "n1"), "/api/v1/nodes/n1");
  EXPECT_EQ(resources::kLeases.ObjectPath("ns", "l"),
            "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
  EXPECT_EQ(resources::kLeases.Name(), "leases.coordination.k8s.io");
  EXPECT_EQ(resources::kPods.Name(), "pods");
  EXPECT_EQ(resources::kCustomResourceDefinitions.CollectionPath(""),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
}

TEST(RateLimiterTest, BurstThenQps) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  RateLimiter rl(10, 3, env);
  EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  // The bucket is empty: each further caller waits one more 1/qps.
  EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t0)).count(), 0.1, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t0)).count(), 0.2, 1e-6);
  // 1 s later 10 tokens were added, 2 of them repaid the debt; the bucket holds 3.
  auto t1 = t0 + std::chrono::seconds(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rl.Reserve(t1), RateLimiter::Clock::duration::zero());
  EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t1)).count(), 0.1, 1e-6);
}

// A token taken for a request that is then not sent goes back: refused requests leave no
// debt for the next caller.
TEST(RateLimiterTest, RefundGivesTheTokenBack) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  RateLimiter rl(10, 1, env);
  EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t0)).count(), 0.1, 1e-6);
    rl.Refund();
  }
  EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t0)).count(), 0.1, 1e-6);
}

TEST(RateLimiterTest, RefillsPartially) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  RateLimiter rl(4, 1, env);
  EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  // A quarter second refills exactly one token at 4 qps.
  EXPECT_EQ(rl.Reserve(t0 + milliseconds(250)), RateLimiter::Clock::duration::zero());
  EXPECT_NEAR(std::chrono::duration<double>(rl.Reserve(t0 + milliseconds(300))).count(), 0.2,
              1e-6);
}

TEST(RateLimiterTest, ZeroQpsIsUnlimited) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  RateLimiter rl(0, 1, env);
  EXPECT_TRUE(rl.unlimited());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(rl.Reserve(t0), RateLimiter::Clock::duration::zero());
  for (int i = 0; i < 10; ++i) rl.Wait();  // never waits on the clock (it would block: nobody advances it)
  RateLimiter negative(-1, 0, env);
  EXPECT_TRUE(negative.unlimited());
}

// rl.Wait() on a thread of its own: the future is ready once Wait returned.
std::future<void> WaitAsync(RateLimiter& rl) {
  return std::async(std::launch::async, [&rl] { rl.Wait(); });
}

bool Returned(std::future<void>& f) { return f.wait_for(0s) == std::future_status::ready; }

TEST(RateLimiterTest, WaitAdmitsQpsPerSecondAndSleepsOnItsClockUntilTheNextToken) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  RateLimiter rl(5, 5, env);
  // The burst: five callers at the same instant go at once, none waits on the clock.
  for (int i = 0; i < 5; ++i) {
    auto w = WaitAsync(rl);
    ASSERT_EQ(w.wait_for(10s), std::future_status::ready) << "caller " << i << " is in the burst";
  }
  EXPECT_EQ(env.Waiters(), 0u);
  // The sixth waits for the next token: 1/qps = 200 ms after t0, to the nanosecond.
  auto sixth = WaitAsync(rl);
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  ASSERT_TRUE(env.NextDeadline().has_value());
  EXPECT_EQ(std::chrono::nanoseconds(*env.NextDeadline() - t0).count(), 200'000'000);
  env.Advance(200ms - 1ns);
  EXPECT_FALSE(Returned(sixth));
  EXPECT_EQ(env.Waiters(), 1u) << "still waiting a nanosecond before its token";
  env.Advance(1ns);
  ASSERT_EQ(sixth.wait_for(10s), std::future_status::ready);
  // At t0 + 1 s, the second's 5 tokens have come and one went to the sixth caller: four
  // go at once, and the fifth of this second waits 200 ms again.
  env.Advance(800ms);
  for (int i = 0; i < 4; ++i) {
    auto w = WaitAsync(rl);
    ASSERT_EQ(w.wait_for(10s), std::future_status::ready) << "caller " << i << " of the second second";
  }
  auto next = WaitAsync(rl);
  ASSERT_TRUE(env.BlockUntilWaiters(1));
  EXPECT_EQ(std::chrono::nanoseconds(*env.NextDeadline() - t0).count(), 1'200'000'000);
  env.Advance(200ms);
  ASSERT_EQ(next.wait_for(10s), std::future_status::ready);
}

TEST(Base64Test, RoundTripAndRejects) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\x01\xff\x80 binary"}) {
    auto enc = tls::Base64Encode(s);
    auto dec = tls::Base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(*tls::Base64Decode("aGVs\nbG8=\n"), "hello");
  EXPECT_FALSE(tls::Base64Decode("not base64!").has_value());
  EXPECT_FALSE(tls::Base64Decode("aGVsbG8=x").has_value());
  EXPECT_FALSE(tls::Base64Decode("a").has_value());
}

TEST(ClientCreateTest, RejectsBadServerUrls) {
  RestConfig cfg;
  cfg.server = "ftp://x";
  EXPECT_EQ(Client::Create(cfg).status().reason(), Reason::kConfigError);
  cfg.server = "https://host:99999";
  EXPECT_EQ(Client::Create(cfg).status().reason(), Reason::kConfigError);
  cfg.server = "https://127.0.0.1:1";
  EXPECT_TRUE(Client::Create(cfg).ok());
}

TEST(ClientCreateTest, ConnectionRefusedIsATransportError) {
  RestConfig cfg;
  cfg.server = "https://127.0.0.1:1";
  cfg.timeout = milliseconds(2000);
  auto client = Client::Create(cfg);
  ASSERT_TRUE(client.ok());
  auto got = (*client)->Get(resources::kConfigMaps, "ns", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), Reason::kConnectionFailed) << got.status().ToString();
  EXPECT_TRUE(got.status().IsTransport());
  EXPECT_EQ((*client)->Get(resources::kConfigMaps, "ns", "").status().reason(),
            Reason::kInvalidArgument);
  EXPECT_EQ((*client)->Patch(resources::kConfigMaps, "ns", "x", PatchType::kApply, "{}")
                .status()
                .reason(),
            Reason::kInvalidArgument);
}

}  // namespace
}  // namespace kube
