#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace failover {

// What the operator's informer caches keep of each object: only the fields the reconciler,
// the index and the prober read (PodFromObject, ServiceFromObject, GroupMetaFromObject,
// ParseSpec, ParseStatus). A cached pod of a few KiB shrinks to a few hundred bytes, which
// is what keeps the operator small in a namespace of tens of thousands of pods.

// metadata: name, namespace, uid, resourceVersion, generation, creation and deletion
// timestamps, labels, annotations (without kubectl's last-applied copy); spec.nodeName;
// status: phase, podIP and the Ready condition's type and status.
void TrimPod(nlohmann::json& pod);
// A node Lease (kube-node-lease): the same metadata; spec.holderIdentity,
// leaseDurationSeconds and renewTime.
void TrimLease(nlohmann::json& lease);
// A Node as the zone tracking reads it: name, uid, resourceVersion and the one label
// `zone_label` (the rest of a Node, its status above all, is large and unread).
void TrimNode(nlohmann::json& node, const std::string& zone_label);
// The same metadata; spec.selector only.
void TrimService(nlohmann::json& service);
// Drops metadata.managedFields and kubectl's last-applied annotation; keeps spec and status.
void TrimGroup(nlohmann::json& group);

}  // namespace failover
