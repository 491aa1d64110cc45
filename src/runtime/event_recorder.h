#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "kube/client.h"
#include "runtime/logger.h"

namespace runtime {

// The parts of an Event that make two occurrences "the same".
struct EventKey {
  std::string object_kind, object_namespace, object_name, object_uid;
  std::string type, reason, message;
  bool operator<(const EventKey& o) const;
};

// What to send for one occurrence: a new Event, or a bump of an existing one.
struct EventAction {
  enum class Kind { kCreate, kBump, kDrop } kind = Kind::kCreate;
  std::string event_name;  // metadata.name of the Event
  int count = 1;
  std::string first_timestamp;
  std::string last_timestamp;
};

// Aggregates repeats (same object + type + reason + message -> one Event whose count and
// lastTimestamp grow) and rate-limits each object with a token bucket (burst, then
// refill_interval per token), as client-go's EventCorrelator. Remembers at most
// max_entries keys (least recently used forgotten). Not thread-safe; the recorder
// serialises calls.
class EventAggregator {
 public:
  struct Options {
    size_t max_entries = 4096;
    int burst = 25;
    std::chrono::milliseconds refill_interval{300000};  // one token per 5 minutes
  };
  EventAggregator();
  explicit EventAggregator(Options options);

  // wall: the Event's timestamps (whole seconds) and, for a new Event, its name's suffix
  // (the nanoseconds since the epoch, as client-go's, and a sequence number); now: for
  // the rate limit. Both from the caller's clock.
  EventAction Observe(const EventKey& key, base::Env::WallTime wall, base::Env::SteadyTime now);
  // The Event named in a kBump no longer exists: the next occurrence creates one.
  void Forget(const EventKey& key);
  // The object kind ns/name was deleted: every key and the rate-limit bucket of it (any uid)
  // are dropped, so objects that come and go do not fill the max_entries keys.
  void ForgetObject(const std::string& kind, const std::string& ns, const std::string& name);
  // Keys remembered (at most max_entries).
  size_t entries() const { return entries_.size(); }
  // Objects with a rate-limit bucket. A bucket that has refilled to the burst is the same as
  // none and is dropped (swept as the map doubles), so objects that come and go (groups
  // created and deleted) leave nothing behind.
  size_t buckets() const { return buckets_.size(); }

 private:
  struct Entry {
    std::string name;
    int count = 0;
    std::string first;
    std::list<EventKey>::iterator lru;
  };
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  Options options_;
  std::map<EventKey, Entry> entries_;
  std::list<EventKey> lru_;
  std::map<std::string, Bucket> buckets_;  // per object
  size_t next_sweep_ = 64;                  // sweep buckets_ when it reaches this size
  uint64_t sequence_ = 0;

  void SweepFullBuckets(base::Env::SteadyTime now);
};

// Records core/v1 Events about objects. Event() never blocks: occurrences go to a
// bounded queue that a background thread sends (dropped, and counted, when full).
// A write guard (e.g. LeaderElector::IsLeader) can withhold sends.
class EventRecorder {
 public:
  struct Options {
    std::string component = "failover-operator";  // source.component
    std::string host;
    size_t queue_capacity = 1000;
    EventAggregator::Options aggregation;
    // Event timestamps (wall), aggregation windows and the stop deadline (monotonic).
    base::Env* env = &base::RealEnv();
  };

  EventRecorder(std::shared_ptr<kube::Client> client, Options options);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void SetWriteGuard(std::function<bool()> may_write);

  // type: "Normal" | "Warning"; obj: the involved object (kind, metadata). Non-blocking.
  void Event(const nlohmann::json& obj, const std::string& type, const std::string& reason,
             const std::string& message);
  // The object was deleted: once the occurrences queued before this call are sent, the
  // aggregation state of kind ns/name is dropped (EventAggregator::ForgetObject). Non-blocking.
  void ForgetObject(const std::string& kind, const std::string& ns, const std::string& name);

  void Start();
  // Sends what is queued until the deadline (on options.env's clock; 5 s from now when
  // not given), then stops.
  void Stop();
  void Stop(std::chrono::steady_clock::time_point deadline);
  uint64_t dropped() const;

 private:
  struct Pending {
    EventKey key;
    nlohmann::json involved;
    bool forget_object = false;  // not an occurrence: ForgetObject of key's object
  };
  void Run();
  void Send(const Pending& p);

  std::shared_ptr<kube::Client> client_;
  Options options_;
  Logger log_;
  EventAggregator aggregator_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};
  uint64_t dropped_ = 0;
  std::function<bool()> may_write_;
  std::thread thread_;
};

}  // namespace runtime
