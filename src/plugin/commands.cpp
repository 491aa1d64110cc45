#include "plugin/commands.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "base/rfc3339.h"
#include "failover/engine/classify.h"
#include "failover/spec_parse.h"

namespace plugin {
namespace {

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  // Through the object's map: GCC 12 at -O3 sees a possible null in json's own iterator.
  const auto& fields = j.get_ref<const json::object_t&>();
  auto it = fields.find(key);
  if (it == fields.end() || !it->second.is_string()) return "";
  return it->second.get_ref<const std::string&>();
}

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

// Columns padded to their widest cell, separated by three spaces (kubectl's look).
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string Transition(const json& t, std::chrono::system_clock::time_point now) {
  if (!t.is_object() || Str(t, "to").empty()) return "<none>";
  std::string from = Str(t, "from").empty() ? "<none>" : Str(t, "from");
  std::string s = from + " -> " + Str(t, "to");
  if (!Str(t, "reason").empty()) s += " (" + Str(t, "reason") + ")";
  std::string when = Str(t, "completedAt").empty() ? Str(t, "detectedAt") : Str(t, "completedAt");
  std::string age = Age(when, now);
  if (!age.empty()) s += ", " + age + " ago";
  return s;
}

// status.history (or the last transition alone when there is none), newest first whatever
// order the operator keeps.
std::vector<json> Transitions(const json& group) {
  const json& status = Field(group, "status");
  std::vector<json> entries;
  if (Field(status, "history").is_array()) {
    for (const auto& h : Field(status, "history")) entries.push_back(h);
  }
  if (entries.empty() && Field(status, "lastTransition").is_object()) {
    entries.push_back(Field(status, "lastTransition"));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
    return Str(a, "detectedAt") > Str(b, "detectedAt");
  });
  return entries;
}

// The value of `key` when it has the JSON type `want`, else null.
json Typed(const json& j, const char* key, json::value_t want) {
  const json& v = Field(j, key);
  if (v.type() == want) return v;
  if (want == json::value_t::number_integer && v.is_number_integer()) return v;
  return nullptr;
}

json StringOrNull(const json& j, const char* key) {
  return Str(j, key).empty() ? json(nullptr) : json(Str(j, key));
}

json TransitionSummary(const json& t) {
  if (!t.is_object() || Str(t, "to").empty()) return nullptr;
  return {{"from", StringOrNull(t, "from")},
          {"to", Str(t, "to")},
          {"reason", StringOrNull(t, "reason")},
          {"detectedAt", StringOrNull(t, "detectedAt")},
          {"completedAt", StringOrNull(t, "completedAt")}};
}

const json& Condition(const json& status, const std::string& type) {
  static const json kNull;
  const json& conditions = Field(status, "conditions");
  if (!conditions.is_array()) return kNull;
  for (const auto& c : conditions) {
    if (Str(c, "type") == type) return c;
  }
  return kNull;
}

bool Flag(const json& j, const char* key) {
  return Field(j, key).is_boolean() && Field(j, key).get<bool>();
}

json GroupSummary(const json& g) {
  const json& meta = Field(g, "metadata");
  const json& spec = Field(g, "spec");
  const json& status = Field(g, "status");

  json members = json::array();
  int64_t healthy = 0;
  const bool have_member_status = Field(status, "members").is_array();
  if (Field(spec, "members").is_array()) {
    for (const auto& m : Field(spec, "members")) {
      json ms;  // this member's entry in status.members, if any
      if (have_member_status) {
        for (const auto& s : Field(status, "members")) {
          if (Str(s, "name") == Str(m, "name")) ms = s;
        }
      }
      if (Flag(ms, "healthy")) ++healthy;
      members.push_back({{"name", Str(m, "name")},
                         {"priority", Field(m, "priority").is_number_integer() ? Field(m, "priority") : json(0)},
                         {"role", StringOrNull(ms, "role")},
                         {"healthy", Typed(ms, "healthy", json::value_t::boolean)},
                         {"readyPods", Typed(ms, "readyPods", json::value_t::number_integer)},
                         {"pods", Typed(ms, "pods", json::value_t::number_integer)}});
    }
  }
  json active_members = json::array();
  if (Field(status, "activeMembers").is_array()) {
    for (const auto& a : Field(status, "activeMembers")) {
      if (a.is_string()) active_members.push_back(a);
    }
  } else if (!Str(status, "activeMember").empty()) {
    active_members.push_back(Str(status, "activeMember"));
  }
  const json& ready = Condition(status, "Ready");
  const json& degraded = Condition(status, "Degraded");
  const json& sw = Field(status, "switch");
  const json& timed_out = Field(status, "timedOutSwitch");
  return {
      {"namespace", Str(meta, "namespace")},
      {"name", Str(meta, "name")},
      {"mode", Str(spec, "mode").empty() ? "ActivePassive" : Str(spec, "mode")},
      {"phase", StringOrNull(status, "phase")},
      {"paused", Flag(spec, "paused")},
      {"dryRun", Flag(spec, "dryRun")},
      {"activeMember", StringOrNull(status, "activeMember")},
      {"activeMembers", active_members},
      {"healthyMembers", have_member_status ? json(healthy) : json(nullptr)},
      {"totalMembers", members.size()},
      {"members", members},
      {"ready", ready.is_null() ? json(nullptr) : json(Str(ready, "status") == "True")},
      {"degraded", Str(degraded, "status") == "True"
                       ? json{{"reason", Str(degraded, "reason")}, {"message", Str(degraded, "message")}}
                       : json(nullptr)},
      {"switch", sw.is_object() ? json{{"from", StringOrNull(sw, "from")},
                                       {"to", StringOrNull(sw, "to")},
                                       {"reason", StringOrNull(sw, "reason")},
                                       {"step", StringOrNull(sw, "step")},
                                       {"startedAt", StringOrNull(sw, "startedAt")}}
                                : json(nullptr)},
      {"timedOutSwitch", timed_out.is_object() ? json{{"from", StringOrNull(timed_out, "from")},
                                                      {"to", StringOrNull(timed_out, "to")},
                                                      {"reason", StringOrNull(timed_out, "reason")},
                                                      {"stuckAt", StringOrNull(timed_out, "stuckAt")},
                                                      {"timedOutAt", StringOrNull(timed_out, "timedOutAt")}}
                                               : json(nullptr)},
      {"failoverCount", Typed(status, "failoverCount", json::value_t::number_integer)},
      {"lastTransition", TransitionSummary(Field(status, "lastTransition"))},
  };
}

}  // namespace

json StatusSummary(const json& items) {
  json out = json::array();
  if (items.is_array()) {
    for (const auto& g : items) out.push_back(GroupSummary(g));
  }
  return {{"kind", "FailoverGroupStatusList"}, {"items", out}};
}

json HistorySummary(const json& group) {
  json transitions = json::array();
  for (const auto& t : Transitions(group)) {
    json s = TransitionSummary(t);
    if (!s.is_null()) transitions.push_back(s);
  }
  const json& meta = Field(group, "metadata");
  return {{"kind", "FailoverGroupHistory"},
          {"namespace", Str(meta, "namespace")},
          {"name", Str(meta, "name")},
          {"transitions", transitions}};
}

std::string Age(const std::string& rfc3339, std::chrono::system_clock::time_point now) {
  auto t = base::ParseRfc3339(rfc3339);
  if (!t) return "";
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string PreferredMember(const json& group) {
  // The engine's own ranking, so the plugin can never name another member than the one
  // the operator fails back to.
  const failover::SpecParse parsed = failover::ParseSpec(Field(group, "spec"));
  const std::vector<int> order = failover::engine::RankOrder(parsed.spec);
  return order.empty() ? "" : parsed.spec.members[static_cast<size_t>(order.front())].name;
}

bool HasMember(const json& group, const std::string& member) {
  const json& members = Field(Field(group, "spec"), "members");
  if (!members.is_array()) return false;
  return std::any_of(members.begin(), members.end(),
                     [&](const json& m) { return Str(m, "name") == member; });
}

std::string MemberNames(const json& group) {
  std::string out;
  const json& members = Field(Field(group, "spec"), "members");
  if (!members.is_array()) return out;
  for (const auto& m : members) out += (out.empty() ? "" : ", ") + Str(m, "name");
  return out;
}

std::string StatusTable(const json& items, bool with_namespace,
                        std::chrono::system_clock::time_point now) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"NAME", "MODE", "ACTIVE", "HEALTHY", "PHASE", "LAST TRANSITION"};
  if (with_namespace) head.insert(head.begin(), "NAMESPACE");
  rows.push_back(head);
  for (const auto& g : items) {
    const json& spec = Field(g, "spec");
    const json& status = Field(g, "status");
    const json& spec_members = Field(spec, "members");
    size_t total = spec_members.is_array() ? spec_members.size() : 0;
    size_t healthy = 0;
    if (Field(status, "members").is_array()) {
      for (const auto& m : Field(status, "members")) {
        if (Field(m, "healthy").is_boolean() && Field(m, "healthy").get<bool>()) ++healthy;
      }
    }
    std::string active = Str(status, "activeMember");
    if (active.empty() && Field(status, "activeMembers").is_array()) {
      for (const auto& a : Field(status, "activeMembers")) {
        if (!a.is_string()) continue;
        if (!active.empty()) active += ',';
        active += a.get_ref<const std::string&>();
      }
    }
    std::string phase = Str(status, "phase");
    if (Field(spec, "paused").is_boolean() && Field(spec, "paused").get<bool>() && phase != "Paused") {
      phase += phase.empty() ? "Paused" : " (paused)";
    }
    std::vector<std::string> row = {
        Str(Field(g, "metadata"), "name"),
        Str(spec, "mode").empty() ? "ActivePassive" : Str(spec, "mode"),
        active.empty() ? "<none>" : active,
        Field(status, "members").is_array() ? std::to_string(healthy) + "/" + std::to_string(total)
                                            : "?/" + std::to_string(total),
        phase.empty() ? "<unknown>" : phase,
        Transition(Field(status, "lastTransition"), now)};
    if (with_namespace) row.insert(row.begin(), Str(Field(g, "metadata"), "namespace"));
    rows.push_back(row);
  }
  return Table(rows);
}

namespace {

// "detect 5s traffic 40ms roles 120ms book 30ms": how long each phase of a switch took, from
// the times status.lastTransition and history entries carry (docs/api.md); a phase with an
// end missing is left out, "-" when none is known.
std::string Phases(const json& t) {
  const char* const names[] = {"detect", "traffic", "roles", "book"};
  const char* const ends[] = {"detectedAt", "decidedAt", "trafficMovedAt", "rolesDoneAt", "completedAt"};
  std::string out;
  for (size_t i = 0; i < 4; ++i) {
    auto from = base::ParseRfc3339(Str(t, ends[i]));
    auto to = base::ParseRfc3339(Str(t, ends[i + 1]));
    if (!from || !to) continue;
    const auto ms = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(*to - *from).count());
    char took[32];
    if (ms < 1000) {
      std::snprintf(took, sizeof took, "%lldms", static_cast<long long>(ms));
    } else {
      std::snprintf(took, sizeof took, "%.1fs", static_cast<double>(ms) / 1000);
    }
    out += (out.empty() ? "" : " ") + std::string(names[i]) + " " + took;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string HistoryTable(const json& group, std::chrono::system_clock::time_point now) {
  const std::vector<json> entries = Transitions(group);
  if (entries.empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"DETECTED", "COMPLETED", "FROM", "TO", "REASON", "PHASES", "AGE"}};
  for (const auto& e : entries) {
    std::string when = Str(e, "completedAt").empty() ? Str(e, "detectedAt") : Str(e, "completedAt");
    std::string age = Age(when, now);
    rows.push_back({Str(e, "detectedAt").empty() ? "-" : Str(e, "detectedAt"),
                    Str(e, "completedAt").empty() ? "-" : Str(e, "completedAt"),
                    Str(e, "from").empty() ? "<none>" : Str(e, "from"), Str(e, "to"),
                    Str(e, "reason"), Phases(e), age.empty() ? "-" : age});
  }
  return Table(rows);
}

}  // namespace plugin
