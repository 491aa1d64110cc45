#include "runtime/metrics_auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace runtime {
namespace {

const kube::Resource kTokenReviews{"authentication.k8s.io", "v1", "tokenreviews", false};
const kube::Resource kSubjectAccessReviews{"authorization.k8s.io", "v1", "subjectaccessreviews", false};

std::string Sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr) != 1) {
    // Not expected; a key that cannot collide with a digest still keeps tokens apart.
    return "\x01" + text;
  }
  return std::string(reinterpret_cast<const char*>(digest), n);
}

// The apiserver's TokenReview error ("[invalid bearer token, ...]") without the word
// "bearer": it carries no credential, but the logger redacts every value that has
// "bearer " in it (runtime/logger.h), and the refusal's log line would lose its reason.
std::string WithoutBearerWord(std::string text) {
  for (size_t i = 0; i + 7 <= text.size();) {
    std::string word = text.substr(i, 7);
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word == "bearer ") {
      text.erase(i, 7);
    } else {
      ++i;
    }
  }
  return text;
}

AccessDecision Decision(AccessDecision::Outcome outcome, std::string user, std::string reason) {
  AccessDecision d;
  d.outcome = outcome;
  d.user = std::move(user);
  d.reason = std::move(reason);
  return d;
}

}  // namespace

int AccessDecision::HttpStatus() const {
  switch (outcome) {
    case Outcome::kAllowed: return 200;
    case Outcome::kUnauthenticated: return 401;
    case Outcome::kForbidden: return 403;
    case Outcome::kUnavailable: return 503;
  }
  return 500;
}

const char* OutcomeName(AccessDecision::Outcome outcome) {
  switch (outcome) {
    case AccessDecision::Outcome::kAllowed: return "allowed";
    case AccessDecision::Outcome::kUnauthenticated: return "unauthenticated";
    case AccessDecision::Outcome::kForbidden: return "forbidden";
    case AccessDecision::Outcome::kUnavailable: return "unavailable";
  }
  return "unknown";
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_space(authorization.front())) authorization.remove_prefix(1);
  while (!authorization.empty() && is_space(authorization.back())) authorization.remove_suffix(1);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || !is_space(authorization[kScheme.size()])) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  // A token is one word (RFC 6750 b64token); anything with inner spaces is not one.
  if (token.empty() || std::any_of(token.begin(), token.end(), is_space)) return std::nullopt;
  return std::string(token);
}

AccessDecisionCache::AccessDecisionCache(base::Env& env, size_t capacity)
    : env_(env), capacity_(std::max<size_t>(capacity, 1)) {}

std::optional<AccessDecision> AccessDecisionCache::Get(const std::string& token) {
  const std::string key = Sha256(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (env_.Now() >= it->second.expires) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.decision;
}

void AccessDecisionCache::Put(const std::string& token, const AccessDecision& decision,
                              std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return;
  const std::string key = Sha256(token);
  const auto now = env_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.find(key) == entries_.end() && entries_.size() >= capacity_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now >= it->second.expires ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= capacity_) {
      auto soonest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.expires < b.second.expires;
      });
      entries_.erase(soonest);
    }
  }
  entries_[key] = Entry{decision, now + ttl};
}

size_t AccessDecisionCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

MetricsAuthorizer::MetricsAuthorizer(std::shared_ptr<kube::Client> client, MetricsAuthOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      cache_(*options_.env, options_.cache_capacity) {}

AccessDecision MetricsAuthorizer::Authorize(const std::string& authorization) {
  if (authorization.empty()) {
    return Decision(AccessDecision::Outcome::kUnauthenticated, "", "no Authorization header");
  }
  auto token = BearerToken(authorization);
  if (!token) {
    return Decision(AccessDecision::Outcome::kUnauthenticated, "", "the Authorization header is not \"Bearer <token>\"");
  }
  if (auto cached = cache_.Get(*token)) return *cached;
  AccessDecision decision = Review(*token);
  switch (decision.outcome) {
    case AccessDecision::Outcome::kAllowed:
      cache_.Put(*token, decision, options_.allowed_ttl);
      break;
    case AccessDecision::Outcome::kUnauthenticated:
    case AccessDecision::Outcome::kForbidden:
      cache_.Put(*token, decision, options_.denied_ttl);
      break;
    case AccessDecision::Outcome::kUnavailable:
      break;
  }
  return decision;
}

AccessDecision MetricsAuthorizer::Review(const std::string& token) {
  using Outcome = AccessDecision::Outcome;
  kube::json token_review = {{"apiVersion", "authentication.k8s.io/v1"},
                             {"kind", "TokenReview"},
                             {"spec", {{"token", token}}}};
  ++reviews_sent_;
  auto reviewed = client_->Create(kTokenReviews, "", token_review);
  if (!reviewed.ok()) {
    return Decision(Outcome::kUnavailable, "", "TokenReview failed: " + reviewed.status().message());
  }
  const kube::json status = reviewed->value("status", kube::json::object());
  if (!status.value("authenticated", false)) {
    std::string why = WithoutBearerWord(status.value("error", std::string()));
    return Decision(Outcome::kUnauthenticated, "",
                    "the token is not valid" + (why.empty() ? std::string() : " (TokenReview: " + why + ")"));
  }
  const kube::json user = status.value("user", kube::json::object());
  const std::string username = user.value("username", std::string());
  kube::json spec = {{"user", username},
                     {"nonResourceAttributes", {{"path", options_.path}, {"verb", options_.verb}}}};
  if (user.contains("uid")) spec["uid"] = user["uid"];
  if (user.contains("groups")) spec["groups"] = user["groups"];
  if (user.contains("extra")) spec["extra"] = user["extra"];
  kube::json access_review = {{"apiVersion", "authorization.k8s.io/v1"},
                              {"kind", "SubjectAccessReview"},
                              {"spec", spec}};
  ++reviews_sent_;
  auto answered = client_->Create(kSubjectAccessReviews, "", access_review);
  if (!answered.ok()) {
    return Decision(Outcome::kUnavailable, username, "SubjectAccessReview failed: " + answered.status().message());
  }
  const kube::json access = answered->value("status", kube::json::object());
  if (access.value("allowed", false) && !access.value("denied", false)) {
    return Decision(Outcome::kAllowed, username, "");
  }
  std::string why = access.value("reason", std::string());
  if (why.empty()) why = access.value("evaluationError", std::string());
  return Decision(Outcome::kForbidden, username,
                  "may not " + options_.verb + " " + options_.path + (why.empty() ? std::string() : " (" + why + ")"));
}

}  // namespace runtime
