#include "harness/node_lease.h"

namespace harness {

using json = nlohmann::json;

json NodeLeaseRenewal(const json& current, const std::string& node, const std::string& node_uid,
                      const std::string& renew_time) {
  json lease = current.is_object() ? current : json::object();
  lease["apiVersion"] = "coordination.k8s.io/v1";
  lease["kind"] = "Lease";
  json& meta = lease["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta["name"] = node;
  meta["namespace"] = kNodeLeaseNamespace;
  const bool owned = meta.contains("ownerReferences") && meta["ownerReferences"].is_array() &&
                     !meta["ownerReferences"].empty();
  if (!owned && !node_uid.empty()) {
    meta["ownerReferences"] = json::array(
        {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}, {"uid", node_uid}}});
  }
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  spec["holderIdentity"] = node;
  spec["leaseDurationSeconds"] = kNodeLeaseDurationSeconds;
  spec["renewTime"] = renew_time;
  return lease;
}

}  // namespace harness
