#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "runtime/store.h"

namespace failover {

// Objects this process wrote, kept until the informer cache has caught up with them, so
// that a reconcile right after a write reads its own writes (a stale cache would
// otherwise redo writes or compute a status from an older one). An entry is dropped as
// soon as the cache shows the same resourceVersion or a newer one (Observe, called from
// the informers' event handlers, or Resolve; resourceVersions are compared as numbers when
// both are, as etcd's are, otherwise only equality counts), when the cache no longer has
// the object, or once older than `ttl` (swept on every call at most once per ttl). The
// caller stores what the cache would hold (the trimmed object), so that an entry costs no
// more than a cached object and a steady state holds none. Ages are on env's monotonic
// clock. Thread-safe.
class RecentWrites {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RecentWrites(std::chrono::milliseconds ttl = std::chrono::seconds(10),
                        base::Env* env = &base::RealEnv())
      : ttl_(ttl), env_(env), last_sweep_(env_->Now()) {}

  void Remember(const std::string& key, nlohmann::json obj);
  // The fresher of the cached object and what this process wrote.
  runtime::ObjectPtr Resolve(const std::string& key, runtime::ObjectPtr cached);
  // The cache now holds `cached` for this key: the entry goes if the cache caught up.
  void Observe(const std::string& key, const nlohmann::json& cached);
  void Forget(const std::string& key);
  size_t size();

 private:
  struct Entry {
    runtime::ObjectPtr obj;
    Clock::time_point at;
  };
  void SweepLocked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  base::Env* env_;
  std::mutex mu_;
  Clock::time_point last_sweep_;
  std::map<std::string, Entry> entries_;
};

// RecentWrites keys: the kind ("pod", "svc", "fg"), then the object's key.
std::string RecentKey(const char* kind, const std::string& object_key);
std::string RecentPodKey(const std::string& ns, const std::string& name);
std::string RecentServiceKey(const std::string& ns, const std::string& name);
std::string RecentGroupKey(const std::string& group_key);

}  // namespace failover
