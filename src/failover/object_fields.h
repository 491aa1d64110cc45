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

inline Labels LabelsOf(const nlohmann::json& obj) {
  Labels out;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return out;
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

}  // namespace failover
