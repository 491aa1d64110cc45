#pragma once

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
struct Observed {
  GroupMeta group;
  std::vector<PodObservation> pods;
  std::vector<ServiceObservation> services;
};

}  // namespace failover
