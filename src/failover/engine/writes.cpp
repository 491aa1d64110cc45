#include "failover/engine/writes.h"

#include "failover/engine/text.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

bool HasLabel(const Labels& labels, const char* key, const std::string& value) {
  auto it = labels.find(key);
  return it != labels.end() && it->second == value;
}

PatchPodLabels Unlabel(const PodObservation& p) {
  PatchPodLabels patch{p.name, p.uid, {}, {}};
  for (const char* k : {keys::kGroup, keys::kMember, keys::kRole}) {
    if (p.labels.count(k)) patch.remove.push_back(k);
  }
  return patch;
}

}  // namespace

WriteSets PodWrites(const Inputs& in, const Classification& c, const Decision& d) {
  WriteSets w;
  for (const PodState& ps : c.pods) {
    const PodObservation& p = ps.pod;
    const bool now_active = HasLabel(p.labels, keys::kRole, "active");
    if (ps.owner == PodOwner::kStray) {
      (now_active ? w.demotions : w.neutral).push_back(Unlabel(p));
      continue;
    }
    if (ps.owner != PodOwner::kMember) continue;
    const std::string& member = c.members[static_cast<size_t>(ps.member)].name;
    const Role role = d.roles[static_cast<size_t>(ps.member)];
    Labels desired{{keys::kGroup, in.observed.group.name}, {keys::kMember, member}, {keys::kRole, RoleLabel(role)}};
    PatchPodLabels patch{p.name, p.uid, {}, {}};
    for (const auto& [k, v] : desired) {
      if (!HasLabel(p.labels, k.c_str(), v)) patch.set[k] = v;
    }
    const bool want_active = role == Role::kActive;
    if (!patch.set.empty()) {
      if (now_active && (!want_active || !HasLabel(p.labels, keys::kMember, member))) {
        w.demotions.push_back(patch);
      } else if (!p.terminating) {
        (want_active ? w.promotions : w.neutral).push_back(patch);
      }
    }
    if (d.delete_uids.count(p.uid) && !p.terminating) {
      w.deletes.push_back(DeletePod{p.name, p.uid});
    }
  }
  return w;
}

ServicePlan ServiceWrites(const Inputs& in, const Decision& d) {
  ServicePlan out;
  std::vector<std::string> names;
  for (int i : d.active) names.push_back(in.spec.members[static_cast<size_t>(i)].name);
  const std::string member_value = Join(names, ",");
  Labels desired{{keys::kGroup, in.observed.group.name}, {keys::kRole, "active"}};
  if (in.spec.mode == Mode::kActivePassive && !names.empty()) desired[keys::kMember] = names.front();

  for (const auto& ref : in.spec.services) {
    const ServiceObservation* seen = nullptr;
    for (const auto& s : in.observed.services) {
      if (s.name == ref.name) seen = &s;
    }
    ServiceStatus st{ref.name, seen && seen->exists, "", false};
    if (!st.exists) {
      out.statuses.push_back(st);
      continue;
    }
    auto a = seen->annotations.find(keys::kActiveMember);
    const std::string annotated = a != seen->annotations.end() ? a->second : "";
    const bool selector_ok = seen->selector == desired;
    if (!in.acting || names.empty()) {
      st.member = annotated;
      st.in_sync = !names.empty() && selector_ok && annotated == member_value;
      out.statuses.push_back(st);
      continue;
    }
    auto since = seen->annotations.find(keys::kActiveSince);
    const bool keep_since = annotated == member_value && since != seen->annotations.end();
    if (!selector_ok || !keep_since) {
      PatchService patch;
      patch.name = ref.name;
      patch.selector = desired;
      for (const auto& [k, v] : seen->selector) {
        if (!desired.count(k)) patch.remove_selector_keys.push_back(k);
      }
      patch.annotations[keys::kActiveMember] = member_value;
      patch.annotations[keys::kActiveSince] = keep_since ? since->second : FormatTime(in.now);
      out.writes.push_back(patch);
      if (!selector_ok && annotated == member_value && !d.switching) {
        out.notices.push_back(Warning(Reason::kSelectorDriftCorrected,
                                      "Service " + ref.name + " selector was " + SelectorText(seen->selector) +
                                          "; set back to " + SelectorText(desired)));
      }
    }
    st.member = member_value;
    st.in_sync = true;
    out.statuses.push_back(st);
  }
  return out;
}

}  // namespace failover::engine
