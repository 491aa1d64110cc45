#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "failover/types.h"

namespace failover {

// One pod as the informer cache shows it.
struct PodObservation {
  std::string name;
  std::string uid;
  Labels labels;
  Labels annotations;
  bool ready = false;        // the Ready condition is True
  bool terminating = false;  // metadata.deletionTimestamp is set
  std::string pod_ip;
  Time created_at{};
  std::optional<bool> probe_ok;  // operator-side probe verdict; unset = not probed (yet)
  std::string node_name = {};    // spec.nodeName ("" = not scheduled)
  // The outcome of the operator's latest probe attempt of the pod, before failureThreshold
  // is applied; unset = not probed (yet). What "the pod still answers" means.
  std::optional<bool> probe_last_ok = {};
};

// A node's heartbeat as the operator sees it: the kubelet's Lease kube-node-lease/<node>
// (coordination.k8s.io/v1), renewed every leaseDurationSeconds / 4 (10 s by default).
struct NodeObservation {
  std::string name;
  bool lease_found = false;  // false: no Lease seen (no verdict either way)
  // When this process last saw the Lease's spec.renewTime change, on the decision clock:
  // what the Lease's silence is measured from (the renewTime itself is the node's clock).
  Time heard_at{};
  Time renew_time{};               // spec.renewTime as written (for messages)
  int lease_duration_seconds = 0;  // spec.leaseDurationSeconds (0 = unset)
  std::string holder;              // spec.holderIdentity
  // Read from the apiserver for this decision (not only from the cache): a Lease is taken
  // as expired only then (the operator never acts on a cached silence alone).
  bool read_live = false;
  std::string live_read_error = {};  // why the live read failed, when it did
  // Set while a node storm holds node-lease verdicts (NodeLeases: too many nodes silent at
  // once to tell dead nodes from a partition): what the storm is ("4 of 6 nodes' Leases
  // silent ..."). A silence then counts for nothing, except that the member is no target.
  std::string storm_hold = {};
  // The node's zone (the operator's --zone-label on the Node; "" = none), and, while half
  // or more of that zone's nodes are silent, why it counts as lost.
  std::string zone = {};
  std::string zone_lost = {};
};

// One Service named in spec.services (exists = false when the cache has none).
struct ServiceObservation {
  std::string name;
  bool exists = false;
  Labels selector;
  Labels annotations;
  Labels labels = {};  // metadata.labels (failover.io/group: a group steers it)
  std::string resource_version = {};  // the precondition of the operator's write to it
};

// The FailoverGroup object's own metadata.
struct GroupMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  Labels annotations;
  std::vector<std::string> finalizers;
  bool deleting = false;  // metadata.deletionTimestamp is set
  Time created_at{};      // metadata.creationTimestamp
};

// Everything the engine looks at besides spec, previous status and the time.
// pods: every pod selected by a member selector plus every pod labelled
// failover.io/group=<name>, each once (order does not matter).
// nodes: the nodes the pods run on, by name (a node without an entry has no verdict).
struct Observed {
  GroupMeta group;
  std::vector<PodObservation> pods;
  std::vector<ServiceObservation> services;
  std::map<std::string, NodeObservation> nodes = {};
};

}  // namespace failover
