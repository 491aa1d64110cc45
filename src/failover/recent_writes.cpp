#include "failover/recent_writes.h"

#include <cstdlib>

#include "failover/object_fields.h"

namespace failover {
namespace {

using json = nlohmann::json;

// resourceVersion a is known to be at least b.
bool AtLeast(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  char* ea = nullptr;
  char* eb = nullptr;
  const unsigned long long na = std::strtoull(a.c_str(), &ea, 10);
  const unsigned long long nb = std::strtoull(b.c_str(), &eb, 10);
  if (*ea != '\0' || *eb != '\0') return false;
  return na >= nb;
}

}  // namespace

std::string RecentKey(const char* kind, const std::string& object_key) { return std::string(kind) + "|" + object_key; }
std::string RecentPodKey(const std::string& ns, const std::string& name) {
  return RecentKey("pod", runtime::ObjectKey(ns, name));
}
std::string RecentServiceKey(const std::string& ns, const std::string& name) {
  return RecentKey("svc", runtime::ObjectKey(ns, name));
}
std::string RecentGroupKey(const std::string& group_key) { return RecentKey("fg", group_key); }

void RecentWrites::SweepLocked(Clock::time_point now) {
  if (now - last_sweep_ < ttl_) return;
  last_sweep_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.at > ttl_ ? entries_.erase(it) : std::next(it);
  }
}

void RecentWrites::Remember(const std::string& key, json obj) {
  const Clock::time_point now = env_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  entries_[key] = {std::make_shared<const json>(std::move(obj)), now};
}

runtime::ObjectPtr RecentWrites::Resolve(const std::string& key, runtime::ObjectPtr cached) {
  const Clock::time_point now = env_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  auto it = entries_.find(key);
  if (it == entries_.end()) return cached;
  if (!cached || AtLeast(ResourceVersionOf(*cached), ResourceVersionOf(*it->second.obj)) ||
      now - it->second.at > ttl_) {
    entries_.erase(it);
    return cached;
  }
  return it->second.obj;
}

void RecentWrites::Observe(const std::string& key, const json& cached) {
  const Clock::time_point now = env_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  auto it = entries_.find(key);
  if (it != entries_.end() && AtLeast(ResourceVersionOf(cached), ResourceVersionOf(*it->second.obj))) {
    entries_.erase(it);
  }
}

void RecentWrites::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

size_t RecentWrites::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace failover
