#include "failover/status_json.h"

#include <algorithm>

#include "failover/lenient_fields.h"
#include "failover/time_text.h"

namespace failover {
namespace {

using lenient::BoolOr;
using lenient::NumberOr;
using lenient::StringOr;
using lenient::TimeOr;

// in_list: an entry of history (the list is replaced whole: unset fields are left out);
// else lastTransition, merged into the one before it (unset fields are null: removed).
json TransitionToJson(const Transition& t, bool in_list) {
  json j = {{"from", t.from}, {"to", t.to}, {"reason", t.reason},
            {"detectedAt", FormatTime(t.detected_at)}, {"completedAt", FormatTime(t.completed_at)}};
  auto optional_time = [&](const char* key, const std::optional<Time>& at) {
    if (at) {
      j[key] = FormatTime(*at);
    } else if (!in_list) {
      j[key] = nullptr;
    }
  };
  if (t.seq > 0) {
    j["seq"] = t.seq;
  } else if (!in_list) {
    j["seq"] = nullptr;
  }
  optional_time("decidedAt", t.decided_at);
  optional_time("trafficMovedAt", t.traffic_moved_at);
  optional_time("rolesDoneAt", t.roles_done_at);
  return j;
}

std::optional<Time> OptionalTime(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  Time at = TimeOr(j, key);
  if (at == Time{}) return std::nullopt;
  return at;
}

Transition TransitionFromJson(const json& j) {
  Transition t;
  if (!j.is_object()) return t;
  t.from = StringOr(j, "from");
  t.to = StringOr(j, "to");
  t.reason = StringOr(j, "reason");
  t.detected_at = TimeOr(j, "detectedAt");
  t.completed_at = TimeOr(j, "completedAt");
  t.seq = NumberOr<int64_t>(j, "seq", 0);
  t.decided_at = OptionalTime(j, "decidedAt");
  t.traffic_moved_at = OptionalTime(j, "trafficMovedAt");
  t.roles_done_at = OptionalTime(j, "rolesDoneAt");
  return t;
}

// The apiserver (seen on 1.20) reads "" in a merge patch as null and rejects it for a string field:
// empty strings become null (= remove) in objects the patch merges, and are left out of
// objects inside lists (a list is replaced whole, so leaving out is exact).
void DropEmptyStrings(json& j, bool in_list) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_string() && it->get_ref<const std::string&>().empty()) {
        if (in_list) {
          it = j.erase(it);
          continue;
        }
        *it = nullptr;
      } else {
        DropEmptyStrings(*it, false);
      }
      ++it;
    }
  } else if (j.is_array()) {
    for (auto& item : j) DropEmptyStrings(item, true);
  }
}

}  // namespace

json SelectorToJson(const LabelSelector& selector) {
  json out = json::object();
  if (!selector.match_labels.empty()) out["matchLabels"] = selector.match_labels;
  if (!selector.match_expressions.empty()) {
    json exprs = json::array();
    for (const auto& e : selector.match_expressions) {
      json ej = {{"key", e.key}, {"operator", OperatorName(e.op)}};
      if (!e.values.empty()) ej["values"] = e.values;
      exprs.push_back(ej);
    }
    out["matchExpressions"] = exprs;
  }
  return out;
}

json SwitchRecordToJson(const SwitchRecord& w) {
  json j = {{"from", w.from},
            {"to", w.to},
            {"reason", w.reason},
            {"step", w.step},
            {"detectedAt", FormatTime(w.detected_at)},
            {"startedAt", FormatTime(w.started_at)}};
  if (w.seq != 0) j["seq"] = w.seq;
  if (!w.fence_pods.empty()) j["fencePods"] = w.fence_pods;
  return j;
}

SwitchRecord SwitchRecordFromJson(const json& j) {
  SwitchRecord w;
  w.from = StringOr(j, "from");
  w.to = StringOr(j, "to");
  w.reason = StringOr(j, "reason");
  w.step = StringOr(j, "step");
  w.detected_at = TimeOr(j, "detectedAt");
  w.started_at = TimeOr(j, "startedAt");
  w.seq = NumberOr<int64_t>(j, "seq", 0);
  for (const auto& uid : lenient::ArrayOr(j, "fencePods")) {
    if (uid.is_string()) w.fence_pods.push_back(uid.get<std::string>());
  }
  std::sort(w.fence_pods.begin(), w.fence_pods.end());
  return w;
}

json StatusToJson(const Status& s) {
  json j;
  j["phase"] = s.phase.empty() ? json(nullptr) : json(s.phase);
  j["activeMember"] = s.active_member.empty() ? json(nullptr) : json(s.active_member);
  j["activeMembers"] = s.active_members.empty() ? json(nullptr) : json(s.active_members);
  j["healthy"] = s.healthy.empty() ? json(nullptr) : json(s.healthy);
  j["healthyMembers"] = s.healthy_members;
  j["observedGeneration"] = s.observed_generation;
  j["failoverCount"] = s.failover_count;
  j["switchSeq"] = s.switch_seq;
  json members = json::array();
  for (const auto& m : s.members) {
    json mj = {{"name", m.name},           {"role", RoleName(m.role)}, {"healthy", m.healthy},
               {"readyPods", m.ready_pods}, {"pods", m.pods},          {"since", FormatTime(m.since)},
               {"eligible", m.eligible}};
    if (m.unhealthy_since) mj["unhealthySince"] = FormatTime(*m.unhealthy_since);
    if (m.lag_seconds) mj["lagSeconds"] = *m.lag_seconds;
    if (m.lag_bytes) mj["lagBytes"] = *m.lag_bytes;
    if (!m.message.empty()) mj["message"] = m.message;
    members.push_back(mj);
  }
  j["members"] = members.empty() ? json(nullptr) : members;
  json services = json::array();
  for (const auto& sv : s.services) {
    services.push_back({{"name", sv.name}, {"exists", sv.exists}, {"member", sv.member},
                        {"inSync", sv.in_sync}});
  }
  j["services"] = services.empty() ? json(nullptr) : services;
  if (s.switch_record) {
    j["switch"] = SwitchRecordToJson(*s.switch_record);
    // null, not left out: a merge patch keeps a key it does not name.
    if (!j["switch"].contains("fencePods")) j["switch"]["fencePods"] = nullptr;
  } else {
    j["switch"] = nullptr;
  }
  if (s.timed_out_switch) {
    const auto& t = *s.timed_out_switch;
    j["timedOutSwitch"] = {{"from", t.from},
                           {"to", t.to},
                           {"reason", t.reason},
                           {"stuckAt", t.stuck_at},
                           {"startedAt", FormatTime(t.started_at)},
                           {"timedOutAt", FormatTime(t.timed_out_at)},
                           {"observedGeneration", t.generation}};
  } else {
    j["timedOutSwitch"] = nullptr;
  }
  j["lastTransition"] = s.last_transition ? TransitionToJson(*s.last_transition, false) : json(nullptr);
  json history = json::array();
  for (const auto& t : s.history) history.push_back(TransitionToJson(t, true));
  j["history"] = history.empty() ? json(nullptr) : history;
  json recent = json::array();
  for (const auto& t : s.recent_failovers) recent.push_back(FormatTime(t));
  j["recentFailovers"] = recent.empty() ? json(nullptr) : recent;
  j["plannedActions"] = s.planned_actions.empty() ? json(nullptr) : json(s.planned_actions);
  json conditions = json::array();
  for (const auto& c : s.conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", c.status},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"lastTransitionTime", FormatTime(c.last_transition_time)},
                          {"observedGeneration", c.observed_generation}});
  }
  j["conditions"] = conditions.empty() ? json(nullptr) : conditions;
  DropEmptyStrings(j, false);
  return j;
}

Status ParseStatus(const json& j) {
  Status s;
  if (!j.is_object()) return s;
  s.phase = StringOr(j, "phase");
  s.active_member = StringOr(j, "activeMember");
  if (auto it = j.find("activeMembers"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) s.active_members.push_back(v.get<std::string>());
    }
  }
  s.healthy = StringOr(j, "healthy");
  s.healthy_members = NumberOr<int>(j, "healthyMembers", 0);
  s.observed_generation = NumberOr<int64_t>(j, "observedGeneration", 0);
  s.failover_count = NumberOr<int64_t>(j, "failoverCount", 0);
  s.switch_seq = NumberOr<int64_t>(j, "switchSeq", 0);
  if (auto it = j.find("members"); it != j.end() && it->is_array()) {
    for (const auto& mj : *it) {
      if (!mj.is_object()) continue;
      MemberStatus m;
      m.name = StringOr(mj, "name");
      std::string role = StringOr(mj, "role");
      m.role = role == "Active" ? Role::kActive : role == "Fenced" ? Role::kFenced : Role::kStandby;
      m.healthy = BoolOr(mj, "healthy");
      m.ready_pods = NumberOr<int>(mj, "readyPods", 0);
      m.pods = NumberOr<int>(mj, "pods", 0);
      m.since = TimeOr(mj, "since");
      if (auto u = mj.find("unhealthySince"); u != mj.end() && u->is_string()) {
        if (auto t = ParseTime(u->get<std::string>())) m.unhealthy_since = *t;
      }
      if (auto l = mj.find("lagSeconds"); l != mj.end() && l->is_number()) m.lag_seconds = l->get<double>();
      if (auto l = mj.find("lagBytes"); l != mj.end() && l->is_number()) m.lag_bytes = l->get<int64_t>();
      m.eligible = BoolOr(mj, "eligible");
      m.message = StringOr(mj, "message");
      s.members.push_back(std::move(m));
    }
  }
  if (auto it = j.find("services"); it != j.end() && it->is_array()) {
    for (const auto& sj : *it) {
      if (!sj.is_object()) continue;
      s.services.push_back({StringOr(sj, "name"), BoolOr(sj, "exists"), StringOr(sj, "member"),
                            BoolOr(sj, "inSync")});
    }
  }
  if (auto it = j.find("switch"); it != j.end() && it->is_object()) s.switch_record = SwitchRecordFromJson(*it);
  if (auto it = j.find("timedOutSwitch"); it != j.end() && it->is_object()) {
    TimedOutSwitch t;
    t.from = StringOr(*it, "from");
    t.to = StringOr(*it, "to");
    t.reason = StringOr(*it, "reason");
    t.stuck_at = StringOr(*it, "stuckAt");
    t.started_at = TimeOr(*it, "startedAt");
    t.timed_out_at = TimeOr(*it, "timedOutAt");
    t.generation = NumberOr<int64_t>(*it, "observedGeneration", 0);
    s.timed_out_switch = t;
  }
  if (auto it = j.find("lastTransition"); it != j.end() && it->is_object()) {
    s.last_transition = TransitionFromJson(*it);
  }
  if (auto it = j.find("history"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) s.history.push_back(TransitionFromJson(t));
  }
  if (auto it = j.find("recentFailovers"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) {
        if (auto parsed = ParseTime(t.get<std::string>())) s.recent_failovers.push_back(*parsed);
      }
    }
  }
  if (auto it = j.find("plannedActions"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) s.planned_actions.push_back(a.get<std::string>());
    }
  }
  if (auto it = j.find("conditions"); it != j.end() && it->is_array()) {
    for (const auto& cj : *it) {
      if (!cj.is_object()) continue;
      Condition c;
      c.type = StringOr(cj, "type");
      c.status = StringOr(cj, "status");
      c.reason = StringOr(cj, "reason");
      c.message = StringOr(cj, "message");
      c.last_transition_time = TimeOr(cj, "lastTransitionTime");
      c.observed_generation = NumberOr<int64_t>(cj, "observedGeneration", 0);
      s.conditions.push_back(std::move(c));
    }
  }
  return s;
}

}  // namespace failover
