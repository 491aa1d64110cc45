// MetricsAuthorizer without an apiserver: the bearer header it accepts, what it asks the
// TokenReview and SubjectAccessReview (answered here from a script), how long it keeps a
// decision and how many it keeps. The real reviews are tested against the local
// apiserver (metrics_auth_integration_test.cpp).
#include "runtime/metrics_auth.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/logger.h"
#include "support/fake_env.h"
#include "support/recording_client.h"

using namespace std::chrono_literals;
using Outcome = runtime::AccessDecision::Outcome;

namespace {

// Answers TokenReviews from a token -> user table and SubjectAccessReviews from the set
// of users allowed; records every review's body.
class ReviewingClient : public testsupport::RecordingClient {
 public:
  std::map<std::string, nlohmann::json> users;  // token -> status.user
  std::set<std::string> allowed;                // user names
  bool unreachable = false;

  kube::Result<nlohmann::json> Create(const kube::Resource& res, const std::string&, const nlohmann::json& obj,
                                      const kube::CreateOptions& = {}) override {
    std::lock_guard<std::mutex> lock(mu);
    reviews.push_back(obj);
    if (unreachable) return kube::Status(kube::Reason::kConnectionFailed, "connection refused");
    nlohmann::json out = obj;
    if (res.resource == "tokenreviews") {
      auto it = users.find(obj["spec"]["token"].get<std::string>());
      out["status"] = it == users.end()
                          ? nlohmann::json{{"authenticated", false}, {"error", "invalid bearer token"}}
                          : nlohmann::json{{"authenticated", true}, {"user", it->second}};
      return out;
    }
    if (res.resource == "subjectaccessreviews") {
      const bool ok = allowed.count(obj["spec"]["user"].get<std::string>()) > 0;
      out["status"] = ok ? nlohmann::json{{"allowed", true}}
                         : nlohmann::json{{"allowed", false}, {"reason", "no RBAC policy matched"}};
      return out;
    }
    return kube::Status(kube::Reason::kNotFound, res.resource + " is not served");
  }
  size_t review_count() {
    std::lock_guard<std::mutex> lock(mu);
    return reviews.size();
  }

  std::mutex mu;
  std::vector<nlohmann::json> reviews;
};

TEST(BearerToken, TakesTheTokenOfABearerHeaderOnly) {
  EXPECT_EQ(runtime::BearerToken("Bearer abc.def-ghi"), "abc.def-ghi");
  EXPECT_EQ(runtime::BearerToken("bearer abc"), "abc");
  EXPECT_EQ(runtime::BearerToken("BEARER   abc  "), "abc");
  EXPECT_EQ(runtime::BearerToken("  Bearer\tabc"), "abc");
  EXPECT_EQ(runtime::BearerToken(""), std::nullopt);
  EXPECT_EQ(runtime::BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(runtime::BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(runtime::BearerToken("Bearerabc"), std::nullopt);
  EXPECT_EQ(runtime::BearerToken("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(runtime::BearerToken("Bearer two words"), std::nullopt);
}

TEST(AccessDecisionCache, KeepsEachDecisionForItsTimeToLive) {
  testsupport::FakeEnv env;
  runtime::AccessDecisionCache cache(env, 8);
  runtime::AccessDecision allowed;
  allowed.outcome = Outcome::kAllowed;
  allowed.user = "system:serviceaccount:monitoring:prometheus";
  cache.Put("token-a", allowed, 60s);
  runtime::AccessDecision refused;
  refused.outcome = Outcome::kForbidden;
  cache.Put("token-b", refused, 10s);
  ASSERT_TRUE(cache.Get("token-a"));
  EXPECT_EQ(cache.Get("token-a")->user, allowed.user);
  EXPECT_EQ(cache.Get("token-b")->outcome, Outcome::kForbidden);
  EXPECT_FALSE(cache.Get("token-c"));
  env.Advance(10s);
  EXPECT_FALSE(cache.Get("token-b")) << "a refusal outlived its 10 s";
  EXPECT_TRUE(cache.Get("token-a"));
  env.Advance(50s);
  EXPECT_FALSE(cache.Get("token-a")) << "an allowance outlived its 60 s";
  EXPECT_EQ(cache.size(), 0u);
  cache.Put("token-d", allowed, 0s);
  EXPECT_FALSE(cache.Get("token-d")) << "a zero time to live keeps nothing";
}

TEST(AccessDecisionCache, IsBoundedDroppingExpiredThenSoonestToExpire) {
  testsupport::FakeEnv env;
  runtime::AccessDecisionCache cache(env, 3);
  runtime::AccessDecision d;
  cache.Put("short", d, 5s);
  cache.Put("long", d, 60s);
  cache.Put("middle", d, 30s);
  cache.Put("new", d, 60s);  // full: "short" expires soonest and goes
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Get("short"));
  EXPECT_TRUE(cache.Get("long"));
  EXPECT_TRUE(cache.Get("middle"));
  EXPECT_TRUE(cache.Get("new"));
  cache.Put("middle", d, 60s);  // a key already held replaces its entry, dropping nothing
  EXPECT_EQ(cache.size(), 3u);
  env.Advance(61s);
  for (int i = 0; i < 100; ++i) cache.Put("token-" + std::to_string(i), d, 60s);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(MetricsAuthorizer, ReviewsTheTokenThenTheUsersAccessToTheMetricsPath) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ReviewingClient>();
  client->users["reader-token"] = {{"username", "system:serviceaccount:monitoring:prometheus"},
                                   {"uid", "1234"},
                                   {"groups", {"system:serviceaccounts", "system:authenticated"}},
                                   {"extra", {{"authentication.kubernetes.io/pod-name", {"prometheus-0"}}}}};
  client->allowed.insert("system:serviceaccount:monitoring:prometheus");
  runtime::MetricsAuthOptions o;
  o.env = &env;
  runtime::MetricsAuthorizer auth(client, o);

  const auto d = auth.Authorize("Bearer reader-token");
  EXPECT_EQ(d.outcome, Outcome::kAllowed) << d.reason;
  EXPECT_EQ(d.HttpStatus(), 200);
  EXPECT_EQ(d.user, "system:serviceaccount:monitoring:prometheus");
  ASSERT_EQ(client->reviews.size(), 2u);
  EXPECT_EQ(client->reviews[0]["kind"], "TokenReview");
  EXPECT_EQ(client->reviews[0]["spec"]["token"], "reader-token");
  const auto& sar = client->reviews[1];
  EXPECT_EQ(sar["apiVersion"], "authorization.k8s.io/v1");
  EXPECT_EQ(sar["kind"], "SubjectAccessReview");
  EXPECT_EQ(sar["spec"]["user"], "system:serviceaccount:monitoring:prometheus");
  EXPECT_EQ(sar["spec"]["uid"], "1234");
  EXPECT_EQ(sar["spec"]["groups"], nlohmann::json({"system:serviceaccounts", "system:authenticated"}));
  EXPECT_EQ(sar["spec"]["extra"]["authentication.kubernetes.io/pod-name"], nlohmann::json({"prometheus-0"}));
  EXPECT_EQ(sar["spec"]["nonResourceAttributes"], nlohmann::json({{"path", "/metrics"}, {"verb", "get"}}));
  EXPECT_FALSE(sar["spec"].contains("resourceAttributes"));
}

TEST(MetricsAuthorizer, AScrapeEvery15sCostsTwoReviewsAMinute) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ReviewingClient>();
  client->users["reader-token"] = {{"username", "reader"}};
  client->allowed.insert("reader");
  runtime::MetricsAuthOptions o;
  o.env = &env;
  runtime::MetricsAuthorizer auth(client, o);
  for (int scrape = 0; scrape < 8; ++scrape) {  // two minutes
    EXPECT_EQ(auth.Authorize("Bearer reader-token").outcome, Outcome::kAllowed);
    env.Advance(15s);
  }
  EXPECT_EQ(client->review_count(), 4u);
  EXPECT_EQ(auth.reviews_sent(), 4u);
}

TEST(MetricsAuthorizer, RefusesWithoutTokenUnknownTokenAndUnauthorizedUser) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ReviewingClient>();
  client->users["other-token"] = {{"username", "system:serviceaccount:default:other"}};
  runtime::MetricsAuthOptions o;
  o.env = &env;
  runtime::MetricsAuthorizer auth(client, o);

  auto d = auth.Authorize("");
  EXPECT_EQ(d.outcome, Outcome::kUnauthenticated);
  EXPECT_EQ(d.HttpStatus(), 401);
  EXPECT_EQ(auth.Authorize("Basic dXNlcjpwYXNz").HttpStatus(), 401);
  EXPECT_EQ(client->review_count(), 0u) << "no review without a bearer token";

  d = auth.Authorize("Bearer forged-token");
  EXPECT_EQ(d.HttpStatus(), 401);
  // The apiserver's "invalid bearer token", without the word the logger redacts values for.
  EXPECT_NE(d.reason.find("(TokenReview: invalid token)"), std::string::npos) << d.reason;
  EXPECT_EQ(runtime::RedactValue("reason", d.reason), d.reason);
  EXPECT_EQ(d.reason.find("forged-token"), std::string::npos) << "the reason must not carry the token";
  EXPECT_EQ(client->review_count(), 1u) << "an unknown token is not worth a SubjectAccessReview";

  d = auth.Authorize("Bearer other-token");
  EXPECT_EQ(d.outcome, Outcome::kForbidden);
  EXPECT_EQ(d.HttpStatus(), 403);
  EXPECT_EQ(d.user, "system:serviceaccount:default:other");
  EXPECT_NE(d.reason.find("get /metrics"), std::string::npos) << d.reason;
  EXPECT_EQ(client->review_count(), 3u);

  // A refusal is kept 10 s: a RoleBinding added meanwhile takes effect after that.
  client->allowed.insert("system:serviceaccount:default:other");
  EXPECT_EQ(auth.Authorize("Bearer other-token").outcome, Outcome::kForbidden);
  EXPECT_EQ(client->review_count(), 3u);
  env.Advance(10s);
  EXPECT_EQ(auth.Authorize("Bearer other-token").outcome, Outcome::kAllowed);
  EXPECT_EQ(client->review_count(), 5u);
}

TEST(MetricsAuthorizer, AnUnreachableApiserverAnswers503AndIsNotRemembered) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ReviewingClient>();
  client->users["reader-token"] = {{"username", "reader"}};
  client->allowed.insert("reader");
  client->unreachable = true;
  runtime::MetricsAuthOptions o;
  o.env = &env;
  runtime::MetricsAuthorizer auth(client, o);
  auto d = auth.Authorize("Bearer reader-token");
  EXPECT_EQ(d.outcome, Outcome::kUnavailable);
  EXPECT_EQ(d.HttpStatus(), 503);
  EXPECT_NE(d.reason.find("TokenReview failed"), std::string::npos) << d.reason;
  client->unreachable = false;
  EXPECT_EQ(auth.Authorize("Bearer reader-token").outcome, Outcome::kAllowed);
}

}  // namespace
