#include "failover/cache_trim.h"

#include <initializer_list>
#include <string>

namespace failover {
namespace {

using json = nlohmann::json;

const char* const kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// Keeps only these keys of obj (an object; anything else is left alone).
void KeepOnly(json& obj, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return;
  json kept = json::object();
  for (const char* k : keys) {
    if (obj.contains(k)) kept[k] = std::move(obj[k]);
  }
  obj = std::move(kept);
}

// obj[key] when obj is an object holding an object there, else null.
json* ObjectAt(json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return nullptr;
  json& v = obj[key];
  return v.is_object() ? &v : nullptr;
}

void DropLastApplied(json& meta) {
  if (json* ann = ObjectAt(meta, "annotations")) {
    ann->erase(kLastApplied);
    if (ann->empty()) meta.erase("annotations");
  }
}

void TrimMetadata(json& obj) {
  json* meta = ObjectAt(obj, "metadata");
  if (meta == nullptr) return;
  KeepOnly(*meta, {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                   "deletionTimestamp", "labels", "annotations", "finalizers"});
  DropLastApplied(*meta);
}

}  // namespace

void TrimPod(json& pod) {
  if (!pod.is_object()) return;
  KeepOnly(pod, {"apiVersion", "kind", "metadata", "spec", "status"});
  TrimMetadata(pod);
  if (json* spec = ObjectAt(pod, "spec")) {
    KeepOnly(*spec, {"nodeName"});
    if (spec->empty()) pod.erase("spec");
  }
  json* st = ObjectAt(pod, "status");
  if (st == nullptr) return;
  json ready;
  if (st->contains("conditions") && (*st)["conditions"].is_array()) {
    for (const json& c : (*st)["conditions"]) {
      if (c.is_object() && c.value("type", "") == "Ready") {
        ready = json{{"type", "Ready"}, {"status", c.value("status", "")}};
      }
    }
  }
  KeepOnly(*st, {"phase", "podIP"});
  if (!ready.is_null()) (*st)["conditions"] = json::array({std::move(ready)});
}

void TrimService(json& service) {
  if (!service.is_object()) return;
  KeepOnly(service, {"apiVersion", "kind", "metadata", "spec"});
  TrimMetadata(service);
  if (json* spec = ObjectAt(service, "spec")) KeepOnly(*spec, {"selector"});
}

void TrimLease(json& lease) {
  if (!lease.is_object()) return;
  KeepOnly(lease, {"apiVersion", "kind", "metadata", "spec"});
  TrimMetadata(lease);
  if (json* spec = ObjectAt(lease, "spec")) KeepOnly(*spec, {"holderIdentity", "leaseDurationSeconds", "renewTime"});
}

void TrimNode(json& node, const std::string& zone_label) {
  if (!node.is_object()) return;
  KeepOnly(node, {"apiVersion", "kind", "metadata"});
  json* meta = ObjectAt(node, "metadata");
  if (meta == nullptr) return;
  KeepOnly(*meta, {"name", "uid", "resourceVersion", "labels"});
  if (json* labels = ObjectAt(*meta, "labels")) {
    KeepOnly(*labels, {zone_label.c_str()});
    if (labels->empty()) meta->erase("labels");
  }
}

void TrimGroup(json& group) {
  json* meta = ObjectAt(group, "metadata");
  if (meta == nullptr) return;
  meta->erase("managedFields");
  DropLastApplied(*meta);
}

}  // namespace failover
