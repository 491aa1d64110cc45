#include "failover/gather.h"

#include <set>

#include "failover/engine/classify.h"
#include "failover/object_fields.h"
#include "failover/parse.h"

namespace failover {

std::vector<runtime::ObjectPtr> CachedObjects::Pods(const std::string& ns, const Labels& labels) const {
  std::vector<runtime::ObjectPtr> cached =
      labels.empty() ? pods_->ListNamespace(ns) : pods_->ListByLabels(ns, labels);
  std::vector<runtime::ObjectPtr> out;
  out.reserve(cached.size());
  for (auto& pod : cached) {
    const std::string name = pod->value("metadata", nlohmann::json::object()).value("name", "");
    if (auto fresh = recent_->Resolve(RecentPodKey(ns, name), std::move(pod))) out.push_back(std::move(fresh));
  }
  return out;
}

runtime::ObjectPtr CachedObjects::Service(const std::string& ns, const std::string& name) const {
  return recent_->Resolve(RecentServiceKey(ns, name), services_->Get(ns, name));
}

std::vector<runtime::ObjectPtr> CachedObjects::Services(const std::string& ns, const Labels& labels) const {
  std::vector<runtime::ObjectPtr> out;
  for (auto& svc : services_->ListByLabels(ns, labels)) {
    const std::string name = svc->value("metadata", nlohmann::json::object()).value("name", "");
    auto fresh = recent_->Resolve(RecentServiceKey(ns, name), std::move(svc));
    // Our own write may have taken the label off since the cache listed it.
    if (fresh && runtime::MatchLabels(*fresh, labels)) out.push_back(std::move(fresh));
  }
  return out;
}

Observed GatherObserved(const ObjectReader& reader, const std::string& ns, const std::string& name,
                        const Spec& spec, const ProbeVerdict& probe) {
  GatherExtras extras;
  extras.probe = probe;
  return GatherObserved(reader, ns, name, spec, extras);
}

Observed GatherObserved(const ObjectReader& reader, const std::string& ns, const std::string& name,
                        const Spec& spec, const GatherExtras& extras) {
  const ProbeVerdict& probe = extras.probe;
  Observed obs;
  std::set<std::string> seen;
  // A pod is re-checked against the selector after the read: the reader filters on
  // matchLabels only, matchExpressions are the selector's own.
  auto add = [&](const runtime::ObjectPtr& pod, const LabelSelector* selector) {
    if (!pod) return;
    if (selector && !selector->Matches(LabelsOf(*pod))) return;
    const std::string pod_name = pod->value("metadata", nlohmann::json::object()).value("name", "");
    if (!seen.insert(pod_name).second) return;
    PodObservation p = PodFromObject(*pod);
    if (probe && spec.detection.probe) p.probe_ok = probe(p.uid);
    if (extras.probe_last && spec.detection.probe) p.probe_last_ok = extras.probe_last(p.uid);
    obs.pods.push_back(std::move(p));
  };
  for (const auto& m : spec.members) {
    if (m.selector.Empty()) continue;
    for (const auto& pod : reader.Pods(ns, m.selector.match_labels)) add(pod, &m.selector);
  }
  for (const auto& pod : reader.Pods(ns, {{keys::kGroup, name}})) add(pod, nullptr);
  if (extras.leases && spec.detection.node_lease_timeout > Duration{0}) {
    for (const auto& p : obs.pods) {
      if (p.node_name.empty() || obs.nodes.count(p.node_name)) continue;
      std::optional<NodeObservation> cached = extras.leases->Cached(p.node_name);
      if (!cached) continue;
      if (engine::ReadNodeLease(spec.detection, *cached, extras.now) != engine::NodeLease::kNoVerdict) {
        cached = extras.leases->ReadLive(p.node_name);
      }
      obs.nodes[p.node_name] = *cached;
    }
  }
  std::set<std::string> services;
  for (const auto& ref : spec.services) {
    services.insert(ref.name);
    if (runtime::ObjectPtr svc = reader.Service(ns, ref.name)) {
      obs.services.push_back(ServiceFromObject(*svc));
    } else {
      ServiceObservation missing;
      missing.name = ref.name;
      obs.services.push_back(missing);
    }
  }
  for (const auto& svc : reader.Services(ns, {{keys::kGroup, name}})) {
    ServiceObservation s = ServiceFromObject(*svc);
    if (services.insert(s.name).second) obs.services.push_back(std::move(s));
  }
  return obs;
}

}  // namespace failover
