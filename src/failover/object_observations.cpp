#include "failover/object_observations.h"

#include "failover/lenient_fields.h"

namespace failover {

using lenient::ArrayOr;
using lenient::NumberOr;
using lenient::ObjectOr;
using lenient::Present;
using lenient::StringMapOr;
using lenient::StringOr;
using lenient::TimeOr;

PodObservation PodFromObject(const json& pod) {
  PodObservation p;
  const json& meta = ObjectOr(pod, "metadata");
  p.name = StringOr(meta, "name");
  p.uid = StringOr(meta, "uid");
  p.labels = StringMapOr(meta, "labels");
  p.annotations = StringMapOr(meta, "annotations");
  p.terminating = Present(meta, "deletionTimestamp");
  p.created_at = TimeOr(meta, "creationTimestamp");
  p.node_name = StringOr(ObjectOr(pod, "spec"), "nodeName");
  const json& status = ObjectOr(pod, "status");
  p.pod_ip = StringOr(status, "podIP");
  for (const auto& c : ArrayOr(status, "conditions")) {
    if (c.is_object() && StringOr(c, "type") == "Ready") p.ready = StringOr(c, "status") == "True";
  }
  return p;
}

ServiceObservation ServiceFromObject(const json& service) {
  ServiceObservation s;
  const json& meta = ObjectOr(service, "metadata");
  s.name = StringOr(meta, "name");
  s.exists = true;
  s.annotations = StringMapOr(meta, "annotations");
  s.labels = StringMapOr(meta, "labels");
  s.resource_version = StringOr(meta, "resourceVersion");
  s.selector = StringMapOr(ObjectOr(service, "spec"), "selector");
  return s;
}

NodeObservation NodeLeaseFromObject(const json& lease) {
  NodeObservation n;
  n.name = StringOr(ObjectOr(lease, "metadata"), "name");
  n.lease_found = true;
  const json& spec = ObjectOr(lease, "spec");
  n.renew_time = TimeOr(spec, "renewTime");
  n.lease_duration_seconds = NumberOr<int>(spec, "leaseDurationSeconds", 0);
  n.holder = StringOr(spec, "holderIdentity");
  return n;
}

GroupMeta GroupMetaFromObject(const json& group) {
  GroupMeta g;
  const json& meta = ObjectOr(group, "metadata");
  g.name = StringOr(meta, "name");
  g.namespace_ = StringOr(meta, "namespace");
  g.uid = StringOr(meta, "uid");
  g.resource_version = StringOr(meta, "resourceVersion");
  g.generation = NumberOr<int64_t>(meta, "generation", 0);
  g.created_at = TimeOr(meta, "creationTimestamp");
  g.annotations = StringMapOr(meta, "annotations");
  for (const auto& v : ArrayOr(meta, "finalizers")) {
    if (v.is_string()) g.finalizers.push_back(v.get<std::string>());
  }
  g.deleting = Present(meta, "deletionTimestamp");
  return g;
}

}  // namespace failover
