#include "failover/engine/writes.h"

#include <nlohmann/json.hpp>

#include "failover/engine/text.h"
#include "failover/status_json.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

bool HasLabel(const Labels& labels, const char* key, const std::string& value) {
  auto it = labels.find(key);
  return it != labels.end() && it->second == value;
}

bool HasOperatorKeys(const Labels& selector) {
  for (const auto& [k, v] : selector) {
    if (k.rfind("failover.io/", 0) == 0) return true;
  }
  return false;
}

// The selector recorded when the group took the Service over, if it is one to give back.
std::optional<Labels> OriginalSelector(const ServiceObservation& s) {
  auto it = s.annotations.find(keys::kOriginalSelector);
  if (it == s.annotations.end()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_object() || j.empty()) return std::nullopt;
  Labels out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return std::nullopt;
    out[k] = v.get<std::string>();
  }
  if (HasOperatorKeys(out)) return std::nullopt;
  return out;
}

// A value as a JSON string (escaped, invalid UTF-8 replaced), at most 200 bytes of it.
std::string Quoted(const std::string& value) {
  return nlohmann::json(value.substr(0, 200)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PatchPodLabels Unlabel(const PodObservation& p) {
  PatchPodLabels patch{p.name, p.uid, {}, {}};
  for (const char* k : {keys::kGroup, keys::kMember, keys::kRole, keys::kEligible}) {
    if (p.labels.count(k)) patch.remove.push_back(k);
  }
  return patch;
}

}  // namespace

WriteSets PodWrites(const Inputs& in, const Classification& c, const Decision& d) {
  WriteSets w;
  // ActivePassive: the member the Services are to select.
  const int serving = in.spec.mode == Mode::kActivePassive && !d.active.empty() ? d.active.front() : -1;
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
    Labels desired{{keys::kGroup, in.observed.group.name},
                   {keys::kMember, member},
                   {keys::kRole, RoleLabel(role)},
                   {keys::kEligible, role == Role::kFenced ? "false" : "true"}};
    PatchPodLabels patch{p.name, p.uid, {}, {}};
    for (const auto& [k, v] : desired) {
      if (!HasLabel(p.labels, k.c_str(), v)) patch.set[k] = v;
    }
    if (ps.member == serving && !p.terminating) {
      // What the selector needs goes ahead of the Service write; the role follows it.
      PatchPodLabels ahead{p.name, p.uid, {}, {}};
      for (const char* k : {keys::kGroup, keys::kMember, keys::kEligible}) {
        auto it = patch.set.find(k);
        if (it == patch.set.end()) continue;
        ahead.set.insert(*it);
        patch.set.erase(it);
      }
      if (!ahead.set.empty()) w.prerequisites.push_back(ahead);
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
  const bool ap = in.spec.mode == Mode::kActivePassive;
  Labels desired{{keys::kGroup, in.observed.group.name}};
  if (ap) {
    if (!names.empty()) desired[keys::kMember] = names.front();
    desired[keys::kEligible] = "true";
  } else {
    desired[keys::kRole] = "active";
  }
  // The switch that moves the Services carries its record with them.
  std::optional<SwitchRecord> record;
  if (ap && d.switching && !names.empty() && d.switching->to == names.front()) record = ServiceRecordOf(*d.switching);

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
    const bool labelled = HasLabel(seen->labels, keys::kGroup, in.observed.group.name);
    // Its switch record: this plan's switch's, else none that names another member.
    const std::optional<SwitchRecord> has = ServiceSwitchRecord(*seen);
    const bool record_ok = record ? has == record : (!has || (ap && has->seq > 0 && has->to == member_value));
    if (!selector_ok || !keep_since || !labelled || !record_ok) {
      PatchService patch;
      patch.name = ref.name;
      patch.resource_version = seen->resource_version;
      patch.selector = desired;
      if (record) {
        patch.annotations[keys::kSwitch] = SwitchRecordToJson(*record).dump();
      } else if (!record_ok) {
        patch.remove_annotations.push_back(keys::kSwitch);
      }
      if (has && has->seq == 0) {
        out.notices.push_back(Warning(Reason::kSwitchRecordUnreadable,
                                      "Service " + ref.name + " has " + keys::kSwitch + "=" +
                                          Quoted(seen->annotations.at(keys::kSwitch)) +
                                          ", not a switch record (JSON with seq >= 1 and to): ignored, " +
                                          (record ? "replaced by this switch's" : "removed")));
      }
      for (const auto& [k, v] : seen->selector) {
        if (!desired.count(k)) patch.remove_selector_keys.push_back(k);
      }
      patch.annotations[keys::kActiveMember] = member_value;
      patch.annotations[keys::kActiveSince] = keep_since ? since->second : FormatTime(in.now);
      // Taking it over: what to give back, and a label to find it by once out of the spec.
      if (!labelled) patch.labels[keys::kGroup] = in.observed.group.name;
      if (!seen->annotations.count(keys::kOriginalSelector) && !seen->selector.empty() &&
          !HasOperatorKeys(seen->selector)) {
        nlohmann::json original(seen->selector);
        patch.annotations[keys::kOriginalSelector] = original.dump();
      }
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
  // Services this group steered that left spec.services are given back.
  if (in.acting) {
    for (const auto& s : in.observed.services) {
      bool listed = false;
      for (const auto& ref : in.spec.services) listed |= ref.name == s.name;
      if (listed) continue;
      Release r = ReleaseService(s, &in.spec, in.observed.group.name);
      if (r.patch) out.writes.push_back(*r.patch);
      if (r.notice) out.notices.push_back(*r.notice);
    }
  }
  return out;
}

Release ReleaseService(const ServiceObservation& s, const Spec* spec, const std::string& group) {
  Release out;
  // Ours: labelled so, or (taken over before Services were labelled) selecting our pods.
  if (!s.exists || (!HasLabel(s.labels, keys::kGroup, group) && !HasLabel(s.selector, keys::kGroup, group))) {
    return out;
  }
  std::optional<Labels> back = OriginalSelector(s);
  std::string how = "its original selector";
  if (!back && spec) {
    // No original to give back: the selector of the member that serves, when a Service
    // selector can say it (matchLabels only).
    auto a = s.annotations.find(keys::kActiveMember);
    const int idx = a != s.annotations.end() ? spec->MemberIndex(a->second) : -1;
    if (idx >= 0) {
      const LabelSelector& sel = spec->members[static_cast<size_t>(idx)].selector;
      if (sel.match_expressions.empty() && !sel.match_labels.empty()) {
        back = sel.match_labels;
        how = "member " + a->second + "'s selector";
      }
    }
  }
  PatchService patch;
  patch.name = s.name;
  for (const char* k : {keys::kActiveMember, keys::kActiveSince, keys::kOriginalSelector, keys::kSwitch}) {
    if (s.annotations.count(k)) patch.remove_annotations.push_back(k);
  }
  if (!back) {
    // Nothing known selects the serving pods without the group's labels: the Service keeps
    // following the group's active pods (and stays labelled, so that deleting the group
    // leaves those pods their labels).
    const Labels kept{{keys::kGroup, group}, {keys::kRole, "active"}};
    for (const auto& [k, v] : s.selector) {
      if (!kept.count(k)) patch.remove_selector_keys.push_back(k);
    }
    if (s.selector != kept) patch.selector = kept;
    if (patch.remove_annotations.empty() && patch.remove_selector_keys.empty() && patch.selector.empty()) return out;
    out.patch = patch;
    out.notice = Warning(Reason::kServiceNotRestored,
                         "Service " + s.name + " has no original selector recorded and no member selector of " +
                             "matchLabels only to fall back on: it keeps selecting " +
                             SelectorText(kept) +
                             "; set its selector to release it");
    out.kept = true;
    return out;
  }
  patch.selector = *back;
  for (const auto& [k, v] : s.selector) {
    if (!back->count(k)) patch.remove_selector_keys.push_back(k);
  }
  if (s.labels.count(keys::kGroup)) patch.remove_labels.push_back(keys::kGroup);
  out.patch = patch;
  out.notice = Normal(Reason::kServiceReleased, "Service " + s.name + " released: selector " +
                                                    SelectorText(s.selector) + " back to " + how + " " +
                                                    SelectorText(*back));
  return out;
}

}  // namespace failover::engine
