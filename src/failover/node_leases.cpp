#include "failover/node_leases.h"

#include "failover/object_observations.h"

namespace failover {

NodeLeases::NodeLeases(kube::Client* client, std::function<Time()> now) : client_(client), now_(std::move(now)) {}

std::optional<Duration> NodeLeases::RecordLocked(const NodeObservation& seen, Time now) {
  auto it = nodes_.find(seen.name);
  if (it == nodes_.end()) {
    Entry e;
    e.lease = seen;
    e.lease.heard_at = now;
    e.lease.read_live = false;
    nodes_.emplace(seen.name, std::move(e));
    return std::nullopt;
  }
  NodeObservation& known = it->second.lease;
  // An older renewTime (a live read that raced a newer watch event) changes nothing.
  if (seen.renew_time <= known.renew_time) return std::nullopt;
  const Duration silence = now - known.heard_at;
  known = seen;
  known.heard_at = now;
  known.read_live = false;
  return silence;
}

std::optional<Duration> NodeLeases::Saw(const nlohmann::json& lease) {
  NodeObservation seen = NodeLeaseFromObject(lease);
  if (seen.name.empty()) return std::nullopt;
  const Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  return RecordLocked(seen, now);
}

void NodeLeases::Gone(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  nodes_.erase(node);
}

std::optional<NodeObservation> NodeLeases::Cached(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.lease;
}

NodeObservation NodeLeases::ReadLive(const std::string& node) {
  const Time asked = now_();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(node);
    if (it != nodes_.end() && it->second.read_live_at && asked - *it->second.read_live_at < kLiveReadReuse) {
      NodeObservation out = it->second.lease;
      out.read_live = true;
      return out;
    }
  }
  auto got = client_->Get(kube::resources::kLeases, kNodeLeaseNamespace, node);
  const Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  if (!got.ok() && got.status().IsNotFound()) {
    nodes_.erase(node);
    NodeObservation none;
    none.name = node;
    none.read_live = true;
    return none;
  }
  if (!got.ok()) {
    NodeObservation out;
    auto it = nodes_.find(node);
    if (it != nodes_.end()) out = it->second.lease;
    out.name = node;
    out.read_live = false;
    out.live_read_error = got.status().ToString();
    return out;
  }
  NodeObservation seen = NodeLeaseFromObject(*got);
  seen.name = node;
  RecordLocked(seen, now);
  Entry& e = nodes_[node];
  e.read_live_at = now;
  NodeObservation out = e.lease;
  out.read_live = true;
  return out;
}

}  // namespace failover
