#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "failover/observed.h"
#include "failover/recent_writes.h"
#include "failover/types.h"
#include "runtime/store.h"

namespace failover {

// What observation gathering reads: pods and Services as this process sees them. The
// reconciler's reader is the informer caches overlaid with the process's own recent
// writes (CachedObjects); tests give a fixed set of objects.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Pods of namespace ns carrying every label in `labels` (every pod of ns when empty).
  virtual std::vector<runtime::ObjectPtr> Pods(const std::string& ns, const Labels& labels) const = 0;
  // The Service ns/name, or null.
  virtual runtime::ObjectPtr Service(const std::string& ns, const std::string& name) const = 0;
  // Services of namespace ns carrying every label in `labels`.
  virtual std::vector<runtime::ObjectPtr> Services(const std::string& ns, const Labels& labels) const = 0;
};

// The informer stores, each object replaced by what this process wrote to it when the
// cache has not caught up with that write yet (read-your-writes).
class CachedObjects : public ObjectReader {
 public:
  CachedObjects(const runtime::Store* pods, const runtime::Store* services, RecentWrites* recent)
      : pods_(pods), services_(services), recent_(recent) {}
  std::vector<runtime::ObjectPtr> Pods(const std::string& ns, const Labels& labels) const override;
  runtime::ObjectPtr Service(const std::string& ns, const std::string& name) const override;
  std::vector<runtime::ObjectPtr> Services(const std::string& ns, const Labels& labels) const override;

 private:
  const runtime::Store* pods_;
  const runtime::Store* services_;
  RecentWrites* recent_;
};

// The operator-side probe verdict for a pod of the group (by uid); unset = not probed.
using ProbeVerdict = std::function<std::optional<bool>(const std::string& uid)>;

// The nodes' Leases (kube-node-lease) as this process sees them. The reconciler's reader is
// the Lease informer's view (NodeLeaseTracker) with live reads from the apiserver; tests
// give fixed answers.
class NodeLeaseReader {
 public:
  virtual ~NodeLeaseReader() = default;
  // The Lease of node `node` as last seen (cache or a recent live read); nullopt = none seen.
  virtual std::optional<NodeObservation> Cached(const std::string& node) const = 0;
  // The Lease as the apiserver has it now (read_live = true; lease_found = false when it has
  // none), or the cached one with read_live = false and live_read_error when it cannot say.
  virtual NodeObservation ReadLive(const std::string& node) = 0;
};

// What gathering adds to the cached objects; each part may be left empty.
struct GatherExtras {
  ProbeVerdict probe;       // the thresholded verdict per pod uid
  ProbeVerdict probe_last;  // the latest attempt's outcome per pod uid
  NodeLeaseReader* leases = nullptr;
  Time now{};  // the decision's time: which cached Leases look expired and are read live
};

// Everything the engine needs to see of group ns/name besides its own object: the pods
// each member selector selects plus the pods labelled failover.io/group=<name> (each
// once), every Service in spec.services (one with exists = false when absent), and every
// other Service labelled failover.io/group=<name> (steered before, to be given back).
// observed.group is left for the caller (it comes from the group object). probe may be
// empty (no probing).
Observed GatherObserved(const ObjectReader& reader, const std::string& ns, const std::string& name,
                        const Spec& spec, const ProbeVerdict& probe);

// The same, and for every node that runs a gathered pod its Lease (observed.nodes): the
// cached one, or, when that looks expired under spec.detection at extras.now
// (engine::ReadNodeLease), a live read of it, so a decision never rests on a silence the
// cache alone shows.
Observed GatherObserved(const ObjectReader& reader, const std::string& ns, const std::string& name,
                        const Spec& spec, const GatherExtras& extras);

}  // namespace failover
