#pragma once

#include <nlohmann/json.hpp>

#include "failover/observed.h"

namespace failover {

using json = nlohmann::json;

// Observations from API objects as the apiserver returns them. Lenient: an absent or
// mistyped field reads as empty (the apiserver's objects are not the user's to fix).
PodObservation PodFromObject(const json& pod);
ServiceObservation ServiceFromObject(const json& service);
GroupMeta GroupMetaFromObject(const json& group);
// A node Lease (kube-node-lease/<node>): name, renewTime, leaseDurationSeconds and holder;
// heard_at and read_live are the reader's to fill in.
NodeObservation NodeLeaseFromObject(const json& lease);

}  // namespace failover
