#include "runtime/event_recorder.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "base/rfc3339.h"

namespace runtime {
namespace {

// metav1.Time: whole seconds.
std::string TimeRfc3339(base::Env::WallTime t) {
  return base::FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(t), base::Fraction::kNone);
}

}  // namespace

bool EventKey::operator<(const EventKey& o) const {
  return std::tie(object_kind, object_namespace, object_name, object_uid, type, reason, message) <
         std::tie(o.object_kind, o.object_namespace, o.object_name, o.object_uid, o.type, o.reason,
                  o.message);
}

EventAggregator::EventAggregator() : EventAggregator(Options{}) {}
EventAggregator::EventAggregator(Options options) : options_(options) {}

void EventAggregator::SweepFullBuckets(base::Env::SteadyTime now) {
  if (options_.refill_interval.count() <= 0) return;
  const double per_token = std::chrono::duration<double>(options_.refill_interval).count();
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed / per_token >= options_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  next_sweep_ = std::max<size_t>(64, 2 * buckets_.size());
}

EventAction EventAggregator::Observe(const EventKey& key, base::Env::WallTime wall, base::Env::SteadyTime now) {
  if (buckets_.size() >= next_sweep_) SweepFullBuckets(now);
  EventAction action;
  const std::string now_wall = TimeRfc3339(wall);
  const std::string object = key.object_kind + "/" + key.object_namespace + "/" +
                             key.object_name + "/" + key.object_uid;
  auto [bit, fresh] = buckets_.try_emplace(object, Bucket{static_cast<double>(options_.burst), now});
  Bucket& b = bit->second;
  if (!fresh && options_.refill_interval.count() > 0) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    const double per_token = std::chrono::duration<double>(options_.refill_interval).count();
    b.tokens = std::min<double>(options_.burst, b.tokens + elapsed / per_token);
  }
  b.last = now;
  if (b.tokens < 1) {
    action.kind = EventAction::Kind::kDrop;
    return action;
  }
  b.tokens -= 1;

  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    e.count++;
    lru_.erase(e.lru);
    lru_.push_front(key);
    e.lru = lru_.begin();
    action.kind = EventAction::Kind::kBump;
    action.event_name = e.name;
    action.count = e.count;
    action.first_timestamp = e.first;
    action.last_timestamp = now_wall;
    return action;
  }
  Entry e;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%llx%04llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count()),
                static_cast<unsigned long long>(sequence_++ & 0xffff));
  e.name = key.object_name + "." + suffix;
  e.count = 1;
  e.first = now_wall;
  lru_.push_front(key);
  e.lru = lru_.begin();
  entries_.emplace(key, e);
  while (entries_.size() > options_.max_entries) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  action.kind = EventAction::Kind::kCreate;
  action.event_name = e.name;
  action.count = 1;
  action.first_timestamp = now_wall;
  action.last_timestamp = now_wall;
  return action;
}

void EventAggregator::Forget(const EventKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void EventAggregator::ForgetObject(const std::string& kind, const std::string& ns, const std::string& name) {
  const EventKey first{kind, ns, name, "", "", "", ""};
  for (auto it = entries_.lower_bound(first); it != entries_.end() && it->first.object_kind == kind &&
                                               it->first.object_namespace == ns && it->first.object_name == name;) {
    lru_.erase(it->second.lru);
    it = entries_.erase(it);
  }
  const std::string prefix = kind + "/" + ns + "/" + name + "/";
  for (auto it = buckets_.lower_bound(prefix); it != buckets_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = buckets_.erase(it);
  }
}

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, Options options)
    : client_(std::move(client)),
      options_(std::move(options)),
      log_("events", {{"component", options_.component}}),
      aggregator_(options_.aggregation) {}

EventRecorder::~EventRecorder() { Stop(options_.env->Now()); }

void EventRecorder::Stop() { Stop(options_.env->Now() + std::chrono::seconds(5)); }

void EventRecorder::SetWriteGuard(std::function<bool()> may_write) {
  std::lock_guard<std::mutex> lock(mu_);
  may_write_ = std::move(may_write);
}

void EventRecorder::Event(const nlohmann::json& obj, const std::string& type,
                          const std::string& reason, const std::string& message) {
  Pending p;
  const nlohmann::json meta = obj.value("metadata", nlohmann::json::object());
  p.key.object_kind = obj.value("kind", std::string());
  p.key.object_namespace = meta.value("namespace", std::string());
  p.key.object_name = meta.value("name", std::string());
  p.key.object_uid = meta.value("uid", std::string());
  p.key.type = type;
  p.key.reason = reason;
  p.key.message = message.size() > 1024 ? message.substr(0, 1024) : message;
  p.involved = {{"kind", p.key.object_kind},
                {"namespace", p.key.object_namespace},
                {"name", p.key.object_name},
                {"uid", p.key.object_uid},
                {"apiVersion", obj.value("apiVersion", std::string())},
                {"resourceVersion", meta.value("resourceVersion", std::string())}};
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    dropped_++;
    return;
  }
  queue_.push_back(std::move(p));
  cv_.notify_one();
}

void EventRecorder::ForgetObject(const std::string& kind, const std::string& ns, const std::string& name) {
  Pending p;
  p.key.object_kind = kind;
  p.key.object_namespace = ns;
  p.key.object_name = name;
  p.forget_object = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  queue_.push_back(std::move(p));  // never dropped for capacity: it frees, and it is small
  cv_.notify_one();
}

uint64_t EventRecorder::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void EventRecorder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void EventRecorder::Stop(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = deadline;
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::Run() {
  for (;;) {
    Pending p;
    std::function<bool()> guard;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && options_.env->Now() >= stop_deadline_) {
        dropped_ += queue_.size();
        queue_.clear();
        return;
      }
      p = std::move(queue_.front());
      queue_.pop_front();
      guard = may_write_;
    }
    if (p.forget_object) {
      aggregator_.ForgetObject(p.key.object_kind, p.key.object_namespace, p.key.object_name);
      continue;
    }
    if (guard && !guard()) continue;
    Send(p);
  }
}

void EventRecorder::Send(const Pending& p) {
  const base::Env::WallTime now = options_.env->WallNow();
  EventAction action = aggregator_.Observe(p.key, now, options_.env->Now());
  if (action.kind == EventAction::Kind::kDrop) {
    log_.Debug("event rate-limited", {{"reason", p.key.reason}, {"name", p.key.object_name}});
    return;
  }
  const std::string ns = p.key.object_namespace.empty() ? std::string("default") : p.key.object_namespace;
  if (action.kind == EventAction::Kind::kBump) {
    const nlohmann::json patch = {{"count", action.count}, {"lastTimestamp", action.last_timestamp}};
    auto r = client_->Patch(kube::resources::kEvents, ns, action.event_name, kube::PatchType::kMerge,
                            patch.dump());
    if (r.ok()) return;
    if (!r.status().IsNotFound()) {
      log_.Warn("cannot update event", {{"error", r.status().ToString()}, {"event", action.event_name}});
      return;
    }
    aggregator_.Forget(p.key);
    action = aggregator_.Observe(p.key, now, options_.env->Now());
    if (action.kind == EventAction::Kind::kDrop) return;
  }
  nlohmann::json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", action.event_name}, {"namespace", ns}}},
      {"involvedObject", p.involved},
      {"type", p.key.type},
      {"reason", p.key.reason},
      {"message", p.key.message},
      {"source", {{"component", options_.component}}},
      {"reportingComponent", options_.component},
      {"count", action.count},
      {"firstTimestamp", action.first_timestamp},
      {"lastTimestamp", action.last_timestamp}};
  if (!options_.host.empty()) ev["source"]["host"] = options_.host;
  auto r = client_->Create(kube::resources::kEvents, ns, ev);
  if (!r.ok()) {
    log_.Warn("cannot create event", {{"error", r.status().ToString()}, {"reason", p.key.reason}});
  }
}

}  // namespace runtime
