#pragma once
// Test clean-up shared by the cluster fixtures: what a stopped operator leaves behind.

#include <string>

#include <nlohmann/json.hpp>

#include "kube/client.h"

namespace testsupport {

// Clears the finalizers of every FailoverGroup left in namespace `ns`. Call it once no
// operator runs for the namespace: a group still carrying the operator's finalizer then
// holds the namespace in Terminating for good, and with it any later deletion of the CRD.
inline void ReleaseFailoverGroups(kube::Client& client, const std::string& ns) {
  auto groups = client.ListAll(kube::resources::kFailoverGroups, ns);
  if (!groups.ok()) return;
  for (const auto& g : groups->value("items", nlohmann::json::array())) {
    const auto& meta = g.value("metadata", nlohmann::json::object());
    if (meta.value("finalizers", nlohmann::json::array()).empty()) continue;
    (void)client.Patch(kube::resources::kFailoverGroups, ns, meta.value("name", ""), kube::PatchType::kMerge,
                       R"({"metadata":{"finalizers":null}})");
  }
}

}  // namespace testsupport
