#pragma once
// Fields of Kubernetes objects as the reconciler's parts read them (tolerant of missing or
// mistyped metadata: an absent field reads as empty).

#include <string>

#include <nlohmann/json.hpp>

#include "failover/types.h"

namespace failover {

inline std::string ResourceVersionOf(const nlohmann::json& obj) {
  return obj.value("metadata", nlohmann::json::object()).value("resourceVersion", "");
}

inline std::string NamespaceOf(const nlohmann::json& obj) {
  return obj.value("metadata", nlohmann::json::object()).value("namespace", "");
}

// Out of line: inlined into a caller that just checked a pointer, GCC 12 at -O2 reports a
// false -Wnull-dereference inside nlohmann's iterator.
Labels LabelsOf(const nlohmann::json& obj);

}  // namespace failover
