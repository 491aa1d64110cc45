#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "kube/client.h"

namespace runtime {

// What /metrics answers one request, and why.
struct AccessDecision {
  enum class Outcome {
    kAllowed,          // 200
    kUnauthenticated,  // 401: no bearer token, or the apiserver does not know it
    kForbidden,        // 403: a known user that may not get the path
    kUnavailable,      // 503: the apiserver could not be asked (nothing cached)
  };
  Outcome outcome = Outcome::kUnauthenticated;
  std::string user;    // the reviewed user's name, once authenticated
  std::string reason;  // why not, for the log and the response (never the token)

  int HttpStatus() const;
};
const char* OutcomeName(AccessDecision::Outcome outcome);

// The token of an Authorization header value "Bearer <token>" (the scheme in any case,
// spaces around the token ignored); nullopt for a missing or empty token or another scheme.
std::optional<std::string> BearerToken(std::string_view authorization);

// Decisions by bearer token, each for its own time to live, at most `capacity` of them:
// when full, expired entries go first, then the one that would expire soonest. Keys are
// SHA-256 digests, so no token is kept in memory. Thread-safe.
class AccessDecisionCache {
 public:
  AccessDecisionCache(base::Env& env, size_t capacity);

  std::optional<AccessDecision> Get(const std::string& token);
  void Put(const std::string& token, const AccessDecision& decision, std::chrono::milliseconds ttl);
  size_t size() const;

 private:
  struct Entry {
    AccessDecision decision;
    base::Env::SteadyTime expires;
  };
  base::Env& env_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

struct MetricsAuthOptions {
  // The nonResourceAttributes the SubjectAccessReview asks about.
  std::string path = "/metrics";
  std::string verb = "get";
  // How long a decision is reused for the same token: a scraper every 15 s costs one
  // TokenReview and one SubjectAccessReview a minute. A refusal is kept shorter, so a
  // RoleBinding just added takes effect soon. Errors are never kept.
  std::chrono::milliseconds allowed_ttl{60000};
  std::chrono::milliseconds denied_ttl{10000};
  size_t cache_capacity = 1024;
  base::Env* env = &base::RealEnv();
};

// Who may read /metrics, decided by the apiserver as controller-runtime's
// filters.WithAuthenticationAndAuthorization does: the request's bearer token goes to a
// TokenReview (authentication.k8s.io/v1); an authenticated user (name, uid, groups, extra)
// to a SubjectAccessReview (authorization.k8s.io/v1) for nonResourceAttributes
// {path, verb}. The client must be allowed to create both (cluster-scoped). Thread-safe.
class MetricsAuthorizer {
 public:
  MetricsAuthorizer(std::shared_ptr<kube::Client> client, MetricsAuthOptions options = {});

  // `authorization`: the request's Authorization header ("" when absent).
  AccessDecision Authorize(const std::string& authorization);

  // Reviews sent to the apiserver (TokenReviews and SubjectAccessReviews).
  uint64_t reviews_sent() const { return reviews_sent_.load(); }
  const AccessDecisionCache& cache() const { return cache_; }

 private:
  AccessDecision Review(const std::string& token);

  std::shared_ptr<kube::Client> client_;
  MetricsAuthOptions options_;
  AccessDecisionCache cache_;
  std::atomic<uint64_t> reviews_sent_{0};
};

}  // namespace runtime
