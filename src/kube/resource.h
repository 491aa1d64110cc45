#pragma once

#include <string>

namespace kube {

// Names one REST resource: group ("" for core), version, plural resource name, and
// whether it is namespaced. Works the same for built-in kinds and custom resources.
struct Resource {
  std::string group;
  std::string version;
  std::string resource;
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>".
  std::string GroupVersionPath() const;
  // Collection path: ns empty -> across all namespaces (or cluster-scoped).
  std::string CollectionPath(const std::string& ns) const;
  // Object path, with an optional subresource ("status").
  std::string ObjectPath(const std::string& ns, const std::string& name,
                         const std::string& subresource = "") const;
  // "pods", "leases.coordination.k8s.io": for messages and metrics.
  std::string Name() const;
};

namespace resources {
inline const Resource kPods{"", "v1", "pods", true};
inline const Resource kServices{"", "v1", "services", true};
inline const Resource kEvents{"", "v1", "events", true};
inline const Resource kNamespaces{"", "v1", "namespaces", false};
inline const Resource kNodes{"", "v1", "nodes", false};
inline const Resource kServiceAccounts{"", "v1", "serviceaccounts", true};
inline const Resource kSecrets{"", "v1", "secrets", true};
inline const Resource kConfigMaps{"", "v1", "configmaps", true};
inline const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};
inline const Resource kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices", true};
inline const Resource kCustomResourceDefinitions{"apiextensions.k8s.io", "v1",
                                                 "customresourcedefinitions", false};
inline const Resource kFailoverGroups{"failover.io", "v1alpha1", "failovergroups", true};
}  // namespace resources

}  // namespace kube
