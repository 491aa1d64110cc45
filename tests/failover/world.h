#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "failover/engine.h"
#include "failover/parse.h"

namespace failover::testing {

// A simulated namespace: pods, Services and one group, to which plan writes apply the
// way the apiserver would apply them.
struct World {
  GroupMeta group{"db", "shop", "uid-db", "1", 1, {}, {}, false};
  std::map<std::string, PodObservation> pods;
  std::map<std::string, ServiceObservation> services;
  std::map<std::string, NodeObservation> nodes;  // the nodes' Leases as the reconciler hands them
  Status status;  // as stored (round-tripped through JSON)

  void AddPod(const std::string& name, Labels labels, bool ready = true, Time created = Time{}) {
    PodObservation p;
    p.name = name;
    p.uid = "uid-" + name;
    p.labels = std::move(labels);
    p.ready = ready;
    p.created_at = created;
    pods[name] = p;
  }
  void AddService(const std::string& name, Labels selector = {{"app", "db"}}) {
    services[name] = ServiceObservation{name, true, std::move(selector), {}, {}, "1"};
  }
  void SetReady(const std::string& pod, bool ready) { pods.at(pod).ready = ready; }

  Observed Observe() const {
    Observed o;
    o.group = group;
    for (const auto& [name, p] : pods) o.pods.push_back(p);
    for (const auto& [name, s] : services) o.services.push_back(s);
    o.nodes = nodes;
    return o;
  }

  void Apply(const Write& write) {
    if (auto* w = std::get_if<PatchPodLabels>(&write)) {
      auto it = pods.find(w->name);
      if (it == pods.end()) return;
      for (const auto& [k, v] : w->set) it->second.labels[k] = v;
      for (const auto& k : w->remove) it->second.labels.erase(k);
    } else if (auto* d = std::get_if<DeletePod>(&write)) {
      auto it = pods.find(d->name);
      if (it != pods.end() && it->second.uid == d->uid) it->second.terminating = true;
    } else if (auto* s = std::get_if<PatchService>(&write)) {
      auto it = services.find(s->name);
      if (it == services.end() || !it->second.exists) return;
      // As the apiserver: a write decided from another version is a conflict (nothing
      // changes), and every write makes a new version.
      if (!s->resource_version.empty() && s->resource_version != it->second.resource_version) return;
      it->second.resource_version = std::to_string(std::stoll("0" + it->second.resource_version) + 1);
      for (const auto& k : s->remove_selector_keys) it->second.selector.erase(k);
      for (const auto& [k, v] : s->selector) it->second.selector[k] = v;
      for (const auto& [k, v] : s->annotations) it->second.annotations[k] = v;
      for (const auto& k : s->remove_annotations) it->second.annotations.erase(k);
      for (const auto& [k, v] : s->labels) it->second.labels[k] = v;
      for (const auto& k : s->remove_labels) it->second.labels.erase(k);
    } else if (auto* a = std::get_if<PatchGroupAnnotations>(&write)) {
      for (const auto& [k, v] : a->set) group.annotations[k] = v;
      for (const auto& k : a->remove) group.annotations.erase(k);
    } else if (auto* f = std::get_if<PatchGroupFinalizers>(&write)) {
      group.finalizers = f->finalizers;
    } else if (auto* u = std::get_if<UpdateStatus>(&write)) {
      status = ParseStatus(StatusToJson(u->status));
    }
  }

  // Applies the first `count` writes (all by default); returns how many were applied.
  size_t Apply(const Plan& plan, size_t count = SIZE_MAX) {
    size_t n = std::min(count, plan.writes.size());
    for (size_t i = 0; i < n; ++i) Apply(plan.writes[i]);
    return n;
  }

  // Members with at least one pod labelled role=active for this group.
  std::set<std::string> LabelledActive() const {
    std::set<std::string> out;
    for (const auto& [name, p] : pods) {
      auto g = p.labels.find(keys::kGroup);
      auto r = p.labels.find(keys::kRole);
      auto m = p.labels.find(keys::kMember);
      if (g != p.labels.end() && g->second == group.name && r != p.labels.end() &&
          r->second == "active" && m != p.labels.end()) {
        out.insert(m->second);
      }
    }
    return out;
  }

  // Members (by failover.io/member label, else the test's "site" label) of the pods some
  // Service (or only `service`, when named) selects.
  std::set<std::string> ServedMembers(const std::string& service = "") const {
    std::set<std::string> out;
    for (const auto& [sname, s] : services) {
      if (!s.exists || s.selector.empty() || (!service.empty() && sname != service)) continue;
      for (const auto& [pname, p] : pods) {
        bool match = true;
        for (const auto& [k, v] : s.selector) {
          auto it = p.labels.find(k);
          if (it == p.labels.end() || it->second != v) match = false;
        }
        if (!match) continue;
        auto m = p.labels.find(keys::kMember);
        auto site = p.labels.find("site");
        if (m != p.labels.end()) {
          out.insert(m->second);
        } else {
          out.insert(site != p.labels.end() ? site->second : "?" + pname);
        }
      }
    }
    return out;
  }
};

inline Time T(int64_t seconds) { return Time{} + std::chrono::seconds(1'800'000'000 + seconds); }

// The standard two-member ActivePassive group: a (preferred) and b, one Service "db".
inline Spec TwoMembers() {
  Spec s;
  s.mode = Mode::kActivePassive;
  Member a;
  a.name = "a";
  a.selector.match_labels = {{"app", "db"}, {"site", "a"}};
  Member b;
  b.name = "b";
  b.selector.match_labels = {{"app", "db"}, {"site", "b"}};
  s.members = {a, b};
  s.services = {{"db"}};
  return s;
}

inline World TwoMemberWorld() {
  World w;
  w.AddPod("a-0", {{"app", "db"}, {"site", "a"}});
  w.AddPod("a-1", {{"app", "db"}, {"site", "a"}});
  w.AddPod("b-0", {{"app", "db"}, {"site", "b"}});
  w.AddService("db");
  return w;
}

}  // namespace failover::testing
