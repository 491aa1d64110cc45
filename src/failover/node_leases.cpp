#include "failover/node_leases.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "failover/engine/classify.h"
#include "failover/object_observations.h"

namespace failover {

namespace {

Detection WithTimeout(Duration timeout) {
  Detection d;
  d.node_lease_timeout = timeout;
  return d;
}

}  // namespace

NodeLeases::NodeLeases(Options options) : options_(std::move(options)) {
  if (options_.enqueue && options_.env) timer_ = std::thread([this] { TimerLoop(); });
}

NodeLeases::NodeLeases(kube::Client* client, std::function<Time()> now)
    : NodeLeases(Options{client, std::move(now), nullptr, &base::RealEnv()}) {}

NodeLeases::~NodeLeases() { Stop(); }

void NodeLeases::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void NodeLeases::Wake(const std::vector<std::string>& keys) {
  if (!options_.enqueue) return;
  std::set<std::string> once(keys.begin(), keys.end());
  for (const auto& key : once) options_.enqueue(key);
}

void NodeLeases::RescheduleLocked(const std::string& node, Entry& e) {
  if (e.deadline) deadlines_.erase({*e.deadline, node});
  e.deadline.reset();
  if (!e.lease || !e.lease->lease_found) return;
  for (const auto& [timeout, w] : e.waiters) {
    if (w.reported) continue;
    e.deadline = e.lease->heard_at + engine::NodeLeaseBound(WithTimeout(timeout), *e.lease);
    break;
  }
  if (!e.deadline) return;
  const bool earliest = deadlines_.empty() || *e.deadline < deadlines_.begin()->first;
  deadlines_.insert({*e.deadline, node});
  if (earliest) cv_.notify_all();
}

void NodeLeases::FireNodeLocked(const std::string& node, Entry& e, Time now, std::vector<std::string>* wake) {
  if (e.lease && e.lease->lease_found) {
    for (auto& [timeout, w] : e.waiters) {
      if (w.reported) continue;
      if (now - e.lease->heard_at < engine::NodeLeaseBound(WithTimeout(timeout), *e.lease)) break;
      w.reported = true;
      if (wake) wake->insert(wake->end(), w.groups.begin(), w.groups.end());
    }
  }
  RescheduleLocked(node, e);
}

void NodeLeases::PruneLocked(const std::string& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.lease || !it->second.waiters.empty() || !it->second.zone.empty()) return;
  if (it->second.deadline) deadlines_.erase({*it->second.deadline, node});
  nodes_.erase(it);
}

std::optional<Duration> NodeLeases::RecordLocked(const NodeObservation& seen, Time now,
                                                 std::vector<std::string>& wake) {
  Entry& e = nodes_[seen.name];
  std::optional<Duration> silence;
  // A first Lease starts the timer thread's storm checks.
  if (!e.lease && !storm_checked_at_) cv_.notify_all();
  if (e.lease) {
    // An older renewTime (a live read that raced a newer watch event) changes nothing.
    if (seen.renew_time <= e.lease->renew_time) return std::nullopt;
    silence = now - e.lease->heard_at;
  }
  e.lease = seen;
  e.lease->heard_at = now;
  e.lease->read_live = false;
  e.lease->live_read_error.clear();
  // The silence, if it was reported to anyone, is over: they look again.
  for (auto& [timeout, w] : e.waiters) {
    if (!w.reported) continue;
    w.reported = false;
    wake.insert(wake.end(), w.groups.begin(), w.groups.end());
  }
  RescheduleLocked(seen.name, e);
  return silence;
}

std::optional<Duration> NodeLeases::Saw(const nlohmann::json& lease) {
  NodeObservation seen = NodeLeaseFromObject(lease);
  if (seen.name.empty()) return std::nullopt;
  const Time now = options_.now();
  std::vector<std::string> wake;
  std::optional<Duration> silence;
  {
    std::lock_guard<std::mutex> lock(mu_);
    silence = RecordLocked(seen, now, wake);
  }
  Wake(wake);
  return silence;
}

void NodeLeases::Gone(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  it->second.lease.reset();
  it->second.read_live_at.reset();
  RescheduleLocked(node, it->second);
  PruneLocked(node);
}

NodeObservation NodeLeases::OutLocked(const Entry& e) const {
  NodeObservation out = *e.lease;
  if (storm_.held) out.storm_hold = StormTextLocked();
  out.zone = e.zone;
  if (!e.zone.empty() && lost_zones_.count(e.zone)) {
    out.zone_lost = "zone " + e.zone + " is lost (half or more of its nodes' Leases silent)";
  }
  return out;
}

void NodeLeases::SetZone(const std::string& node, const std::string& zone) {
  std::lock_guard<std::mutex> lock(mu_);
  if (zone.empty()) {
    auto it = nodes_.find(node);
    if (it == nodes_.end()) return;
    it->second.zone.clear();
    PruneLocked(node);
    return;
  }
  nodes_[node].zone = zone;
}

std::set<std::string> NodeLeases::LostZones() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_zones_;
}

std::optional<NodeObservation> NodeLeases::Cached(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.lease) return std::nullopt;
  return OutLocked(it->second);
}

NodeObservation NodeLeases::ReadLive(const std::string& node) {
  const Time asked = options_.now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(node);
    if (it != nodes_.end() && it->second.lease && it->second.read_live_at &&
        asked - *it->second.read_live_at < kLiveReadReuse) {
      NodeObservation out = OutLocked(it->second);
      out.read_live = true;
      return out;
    }
  }
  auto got = options_.client->Get(kube::resources::kLeases, kNodeLeaseNamespace, node);
  const Time now = options_.now();
  std::vector<std::string> wake;
  NodeObservation out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!got.ok() && got.status().IsNotFound()) {
      auto it = nodes_.find(node);
      if (it != nodes_.end()) {
        it->second.lease.reset();
        it->second.read_live_at.reset();
        RescheduleLocked(node, it->second);
        PruneLocked(node);
      }
      out.name = node;
      out.read_live = true;
      return out;
    }
    if (!got.ok()) {
      auto it = nodes_.find(node);
      if (it != nodes_.end() && it->second.lease) out = *it->second.lease;
      out.name = node;
      out.read_live = false;
      out.live_read_error = got.status().ToString();
      return out;
    }
    NodeObservation seen = NodeLeaseFromObject(*got);
    seen.name = node;
    RecordLocked(seen, now, wake);
    Entry& e = nodes_[node];
    e.read_live_at = now;
    out = OutLocked(e);
    out.read_live = true;
  }
  Wake(wake);
  return out;
}

void NodeLeases::Track(const std::string& group_key, const std::set<std::string>& nodes, Duration timeout) {
  const Time now = options_.now();
  std::lock_guard<std::mutex> lock(mu_);
  const std::set<std::string> none;
  const bool on = timeout > Duration{0};
  const std::set<std::string>& wanted = on ? nodes : none;
  auto prev = groups_.find(group_key);
  if (prev != groups_.end()) {
    const Tracked& was = prev->second;
    for (const auto& node : was.nodes) {
      if (was.timeout == timeout && wanted.count(node)) continue;
      auto it = nodes_.find(node);
      if (it == nodes_.end()) continue;
      auto w = it->second.waiters.find(was.timeout);
      if (w != it->second.waiters.end()) {
        w->second.groups.erase(group_key);
        if (w->second.groups.empty()) it->second.waiters.erase(w);
      }
      RescheduleLocked(node, it->second);
      PruneLocked(node);
    }
  }
  if (wanted.empty()) {
    if (prev != groups_.end()) groups_.erase(prev);
    return;
  }
  for (const auto& node : wanted) {
    Entry& e = nodes_[node];
    auto [w, added] = e.waiters.try_emplace(timeout);
    if (added && e.lease && e.lease->lease_found) {
      // Already overdue: this group is deciding now and sees it; others join at the renewal.
      w->second.reported = now - e.lease->heard_at >= engine::NodeLeaseBound(WithTimeout(timeout), *e.lease);
    }
    if (w->second.groups.insert(group_key).second) RescheduleLocked(node, e);
  }
  groups_[group_key] = Tracked{wanted, timeout};
}

size_t NodeLeases::FireDue(Time now) {
  std::vector<std::string> wake;
  std::optional<Storm> storm;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const std::string node = deadlines_.begin()->second;
      FireNodeLocked(node, nodes_[node], now, &wake);
    }
    storm = EvaluateStormLocked(now, wake);
  }
  if (storm && options_.on_storm) options_.on_storm(*storm);
  std::set<std::string> once(wake.begin(), wake.end());
  Wake(wake);
  return once.size();
}

std::optional<NodeLeases::Storm> NodeLeases::EvaluateStormLocked(Time now, std::vector<std::string>& wake) {
  storm_checked_at_ = now;
  Storm s;
  std::map<std::string, std::pair<int, int>> zones;  // zone -> (known, silent)
  for (const auto& [name, e] : nodes_) {
    if (!e.lease || !e.lease->lease_found) continue;
    ++s.known;
    const int duration_s = e.lease->lease_duration_seconds > 0 ? e.lease->lease_duration_seconds : 40;
    const Duration renew_interval{duration_s * 1000 / 4};
    const bool silent = now - e.lease->heard_at >= renew_interval + kStormSlack;
    if (silent) ++s.silent;
    if (!e.zone.empty()) {
      auto& [known, quiet] = zones[e.zone];
      ++known;
      quiet += silent ? 1 : 0;
    }
  }
  std::set<std::string> lost;
  for (const auto& [zone, counts] : zones) {
    if (counts.second > 0 && 2 * counts.second >= counts.first) lost.insert(zone);
  }
  if (lost != lost_zones_) {
    // Every group on a node of a zone lost or back decides again (its members' standing).
    std::set<std::string> changed;
    std::set_symmetric_difference(lost.begin(), lost.end(), lost_zones_.begin(), lost_zones_.end(),
                                  std::inserter(changed, changed.begin()));
    for (const auto& [name, e] : nodes_) {
      if (e.zone.empty() || !changed.count(e.zone)) continue;
      for (const auto& [timeout, w] : e.waiters) wake.insert(wake.end(), w.groups.begin(), w.groups.end());
    }
    lost_zones_ = std::move(lost);
  }
  s.held = options_.storm_share > 0 && s.silent >= std::max(options_.storm_min_nodes, 1) &&
           static_cast<double>(s.silent) >= options_.storm_share * static_cast<double>(s.known);
  s.lost_zones = static_cast<int>(lost_zones_.size());
  const bool changed = s.held != storm_.held || s.silent != storm_.silent || s.known != storm_.known ||
                       s.lost_zones != storm_.lost_zones;
  if (s.held != storm_.held) {
    // The groups deciding on a silent node decide again: held now, or free to act.
    for (const auto& [name, e] : nodes_) {
      for (const auto& [timeout, w] : e.waiters) {
        if (w.reported) wake.insert(wake.end(), w.groups.begin(), w.groups.end());
      }
    }
  }
  storm_ = s;
  if (!changed) return std::nullopt;
  return s;
}

NodeLeases::Storm NodeLeases::CurrentStorm() const {
  std::lock_guard<std::mutex> lock(mu_);
  return storm_;
}

std::string NodeLeases::StormText() const {
  std::lock_guard<std::mutex> lock(mu_);
  return StormTextLocked();
}

std::string NodeLeases::StormTextLocked() const {
  char share[16];
  std::snprintf(share, sizeof share, "%.0f%%", options_.storm_share * 100);
  return std::string("a node storm holds node-lease failovers (") + share + " or more of the nodes' Leases, and " +
         std::to_string(options_.storm_min_nodes) + " or more, silent at once)";
}

std::optional<Time> NodeLeases::NextDeadline() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void NodeLeases::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // The storm (and the zones) are looked at every kStormCheck while any node is known.
    std::optional<Time> storm_due;
    if (!nodes_.empty()) {
      storm_due = storm_checked_at_ ? *storm_checked_at_ + kStormCheck : options_.now();
    }
    if (deadlines_.empty() && !storm_due) {
      options_.env->WaitUntil(lock, cv_, base::Env::SteadyTime::max());
      continue;
    }
    Time due = deadlines_.empty() ? *storm_due : deadlines_.begin()->first;
    if (storm_due) due = std::min(due, *storm_due);
    const Time now = options_.now();
    if (due > now) {
      options_.env->WaitUntil(lock, cv_, options_.env->Deadline(due - now));
      continue;
    }
    lock.unlock();
    FireDue(now);
    lock.lock();
  }
}

}  // namespace failover
