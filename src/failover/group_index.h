#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "failover/types.h"

namespace failover {

// Which groups care about which pods and Services: the reverse index that turns a pod or
// Service watch event into the keys of the groups to reconcile. Thread-safe.
//
// A pod event must not cost a scan of every group in the namespace (10,000 groups times
// 30,000 pods at the first list): each member selector is filed under one of its
// matchLabels pairs (whichever pair has the fewest selectors filed under it when the group
// is filed), so a pod's candidates are the selectors filed under one of its own labels,
// plus the few selectors made of matchExpressions alone. Services are filed by name.
class GroupIndex {
 public:
  // Files (or refiles) a group from its object; a spec that does not parse is filed with
  // whatever parsed.
  void Upsert(const nlohmann::json& group);
  void Remove(const std::string& key);
  // Groups whose member selectors select the pod, plus the group its failover.io/group
  // label names.
  std::vector<std::string> GroupsForPod(const nlohmann::json& pod) const;
  // Groups that list the Service in spec.services.
  std::vector<std::string> GroupsForService(const nlohmann::json& service) const;

 private:
  struct Entry {
    std::vector<LabelSelector> selectors;
    std::vector<std::string> filed_under;  // per selector: its "key=value", "" = unindexed
    std::set<std::string> services;
  };
  struct NsIndex {
    std::map<std::string, Entry> groups;                         // key -> entry
    std::map<std::string, std::map<std::string, int>> by_label;  // "k=v" -> key -> selectors
    std::map<std::string, int> unindexed;                        // key -> selectors
    std::map<std::string, std::set<std::string>> by_service;     // Service -> keys
  };
  void RemoveLocked(NsIndex& ns, const std::string& key);

  mutable std::mutex mu_;
  std::map<std::string, NsIndex> by_ns_;
};

}  // namespace failover
