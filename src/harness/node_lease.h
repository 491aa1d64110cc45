#pragma once
// The node Lease as the kubelet keeps it (its node lease controller): one Lease per node,
// kube-node-lease/<node>, holderIdentity = the node's name, leaseDurationSeconds 40, an
// owner reference to the Node (so it goes with the Node), renewTime (a MicroTime) set anew
// every leaseDurationSeconds / 4 = 10 s. The node lifecycle controller and the operator's
// node-lease detection read it.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace harness {

inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";
inline constexpr int kNodeLeaseDurationSeconds = 40;
// The kubelet renews at a quarter of the duration (nodeLeaseRenewIntervalFraction 0.25).
inline constexpr std::chrono::milliseconds kNodeLeaseRenewInterval{kNodeLeaseDurationSeconds * 1000 / 4};
// A renewal that fails is tried again at once this many times in all, then at the next
// interval (the kubelet's maxUpdateRetries).
inline constexpr int kNodeLeaseUpdateAttempts = 5;

// The Lease to write for node `node` at `renew_time` (RFC 3339 with microseconds): from
// `current` (the Lease as read, its resourceVersion kept for an optimistic update; null to
// create one) with the holder, duration and renewTime set, and the owner reference to the
// Node when its uid is known and the Lease has none.
nlohmann::json NodeLeaseRenewal(const nlohmann::json& current, const std::string& node, const std::string& node_uid,
                                const std::string& renew_time);

}  // namespace harness
