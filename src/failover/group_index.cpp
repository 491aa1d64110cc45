#include "failover/group_index.h"

#include <algorithm>

#include "failover/object_fields.h"
#include "failover/parse.h"
#include "runtime/store.h"

namespace failover {

using json = nlohmann::json;

void GroupIndex::Upsert(const json& group) {
  const std::string ns = NamespaceOf(group);
  const std::string key = runtime::ObjectKey(ns, group.value("metadata", json::object()).value("name", ""));
  SpecParse parsed = ParseSpec(group.value("spec", json::object()));
  Entry e;
  for (const auto& m : parsed.spec.members) {
    if (!m.selector.Empty()) e.selectors.push_back(m.selector);
  }
  for (const auto& s : parsed.spec.services) e.services.insert(s.name);

  std::lock_guard<std::mutex> lock(mu_);
  NsIndex& n = by_ns_[ns];
  RemoveLocked(n, key);
  for (const auto& sel : e.selectors) {
    std::string under;
    size_t fewest = 0;
    for (const auto& [k, v] : sel.match_labels) {
      const std::string pair = k + "=" + v;
      auto it = n.by_label.find(pair);
      const size_t filed = it == n.by_label.end() ? 0 : it->second.size();
      if (under.empty() || filed < fewest) {
        under = pair;
        fewest = filed;
      }
    }
    if (under.empty()) {
      n.unindexed[key]++;
    } else {
      n.by_label[under][key]++;
    }
    e.filed_under.push_back(under);
  }
  for (const auto& svc : e.services) n.by_service[svc].insert(key);
  n.groups[key] = std::move(e);
}

void GroupIndex::RemoveLocked(NsIndex& n, const std::string& key) {
  auto it = n.groups.find(key);
  if (it == n.groups.end()) return;
  auto drop = [&key](std::map<std::string, int>& counts) {
    auto c = counts.find(key);
    if (c != counts.end() && --c->second <= 0) counts.erase(c);
  };
  for (const auto& under : it->second.filed_under) {
    if (under.empty()) {
      drop(n.unindexed);
      continue;
    }
    auto bucket = n.by_label.find(under);
    if (bucket == n.by_label.end()) continue;
    drop(bucket->second);
    if (bucket->second.empty()) n.by_label.erase(bucket);
  }
  for (const auto& svc : it->second.services) {
    auto bucket = n.by_service.find(svc);
    if (bucket == n.by_service.end()) continue;
    bucket->second.erase(key);
    if (bucket->second.empty()) n.by_service.erase(bucket);
  }
  n.groups.erase(it);
}

void GroupIndex::Remove(const std::string& key) {
  std::string ns, name;
  runtime::SplitObjectKey(key, &ns, &name);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return;
  RemoveLocked(it->second, key);
  if (it->second.groups.empty()) by_ns_.erase(it);
}

std::vector<std::string> GroupIndex::GroupsForPod(const json& pod) const {
  std::vector<std::string> out;
  const std::string ns = NamespaceOf(pod);
  const Labels labels = LabelsOf(pod);
  auto owner = labels.find(keys::kGroup);
  if (owner != labels.end()) out.push_back(runtime::ObjectKey(ns, owner->second));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return out;
  const NsIndex& n = it->second;
  auto consider = [&](const std::string& key) {
    if (std::find(out.begin(), out.end(), key) != out.end()) return;
    auto g = n.groups.find(key);
    if (g == n.groups.end()) return;
    for (const auto& sel : g->second.selectors) {
      if (sel.Matches(labels)) {
        out.push_back(key);
        return;
      }
    }
  };
  for (const auto& [k, v] : labels) {
    auto bucket = n.by_label.find(k + "=" + v);
    if (bucket == n.by_label.end()) continue;
    for (const auto& [key, count] : bucket->second) consider(key);
  }
  for (const auto& [key, count] : n.unindexed) consider(key);
  return out;
}

std::vector<std::string> GroupIndex::GroupsForService(const json& service) const {
  std::vector<std::string> out;
  const std::string ns = NamespaceOf(service);
  const std::string name = service.value("metadata", json::object()).value("name", "");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return out;
  auto bucket = it->second.by_service.find(name);
  if (bucket == it->second.by_service.end()) return out;
  out.assign(bucket->second.begin(), bucket->second.end());
  return out;
}

}  // namespace failover
