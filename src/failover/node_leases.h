#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "failover/gather.h"
#include "failover/observed.h"
#include "failover/types.h"
#include "kube/client.h"

namespace failover {

// The namespace of the kubelets' node Leases, one per node, named after it.
inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

// What this process has seen of the nodes' Leases. Per node: the Lease's fields and
// heard_at, when this process first saw its current spec.renewTime, on the decision clock
// (`now`). A Lease's silence is measured from heard_at, as the node lifecycle controller
// measures it from when it observed the renewal: the node's own clock never enters, and a
// Lease first seen (at a start, or a new leader's) counts as heard then.
//
// Fed by the Lease informer (Saw, Gone) and by live reads (ReadLive: a GET through
// `client`). A live read is reused by the decisions of the next kLiveReadReuse, so many
// groups on one silent node cost one read, and is taken together with what the informer
// has shown since (the newer renewal wins). Thread-safe.
class NodeLeases : public NodeLeaseReader {
 public:
  static constexpr Duration kLiveReadReuse = std::chrono::seconds(1);

  NodeLeases(kube::Client* client, std::function<Time()> now);

  // A Lease the informer delivered (trimmed or not). When it renewed the Lease (a renewTime
  // not seen before, on a Lease seen before), the silence that renewal ended; else nullopt.
  std::optional<Duration> Saw(const nlohmann::json& lease);
  // The informer saw the Lease deleted.
  void Gone(const std::string& node);

  std::optional<NodeObservation> Cached(const std::string& node) const override;
  NodeObservation ReadLive(const std::string& node) override;

 private:
  struct Entry {
    NodeObservation lease;
    std::optional<Time> read_live_at;  // the last successful live read (decision clock)
  };
  // Records a Lease seen at `now` under mu_; returns the silence a renewal ended.
  std::optional<Duration> RecordLocked(const NodeObservation& seen, Time now);

  kube::Client* client_;
  std::function<Time()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> nodes_;
};

}  // namespace failover
