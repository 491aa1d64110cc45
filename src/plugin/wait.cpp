#include "plugin/wait.h"

#include <algorithm>
#include <array>

#include "base/duration.h"
#include "base/rfc3339.h"
#include "failover/types.h"

namespace plugin {
namespace {

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

std::string Str(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t Int(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::string Annotation(const json& obj, const char* key) {
  return Str(Field(Field(obj, "metadata"), "annotations"), key);
}

bool HasAnnotation(const json& obj, const char* key) {
  return Field(Field(Field(obj, "metadata"), "annotations"), key).is_string();
}

// The switch record on a Service (failover.io/switch, JSON {seq, from, to, ...}); null when
// absent or unreadable (the operator ignores those too).
json SwitchRecord(const json& service) {
  const std::string text = Annotation(service, failover::keys::kSwitch);
  if (text.empty()) return nullptr;
  json rec = json::parse(text, nullptr, false);
  if (!rec.is_object() || Int(rec, "seq") < 1 || Str(rec, "to").empty()) return nullptr;
  return rec;
}

std::string Switch(const json& t) {
  std::string s = (Str(t, "from").empty() ? "<none>" : Str(t, "from")) + " -> " + Str(t, "to");
  if (!Str(t, "reason").empty()) s += " (" + Str(t, "reason") + ")";
  return s;
}

}  // namespace

bool NeedsServices(const json& group) { return !HasAnnotation(group, failover::keys::kSwitchoverTo); }

SwitchOutcome JudgeSwitch(const json& group, const std::vector<json>& services, const std::string& target) {
  using Kind = SwitchOutcome::Kind;
  const json& status = Field(group, "status");
  if (Str(status, "phase") == "Invalid") {
    return {Kind::kRefused, "the group is invalid (status.conditions InvalidSpec): the operator acts on no request"};
  }
  if (HasAnnotation(group, failover::keys::kSwitchoverTo)) {
    const std::string pending = Annotation(group, failover::keys::kSwitchoverTo);
    if (pending != target) {
      return {Kind::kRefused, "another request replaced this one: " + std::string(failover::keys::kSwitchoverTo) +
                                  "=" + pending};
    }
    return {Kind::kPending, "the operator to take the request (" + std::string(failover::keys::kSwitchoverTo) + "=" +
                                target + (Field(Field(group, "spec"), "paused") == true ? "; the group is paused" : "") +
                                ")"};
  }
  // The request is taken. A switch toward the target under way: in status.switch (a switch
  // with a prePromote hook), or on a Service and not booked yet.
  const json& sw = Field(status, "switch");
  if (sw.is_object() && Str(sw, "to") == target) {
    return {Kind::kPending, "the switch " + Switch(sw) + " to finish (step " + Str(sw, "step") + ")"};
  }
  const int64_t booked = Int(status, "switchSeq");
  for (const auto& s : services) {
    const json rec = SwitchRecord(s);
    if (!rec.is_null() && Int(rec, "seq") > booked) {
      return {Kind::kPending, "the switch " + Switch(rec) + " to be booked in the status"};
    }
  }
  const std::string active = Str(status, "activeMember");
  if (active == target && !sw.is_object()) {
    const json& last = Field(status, "lastTransition");
    std::string what = target + " is the active member";
    if (Str(last, "to") == target) what += ": " + Switch(last) + " completed " + Str(last, "completedAt");
    return {Kind::kDone, what};
  }
  const json& timed_out = Field(status, "timedOutSwitch");
  if (timed_out.is_object() && Str(timed_out, "to") == target) {
    return {Kind::kRefused, "the switch " + Switch(timed_out) + " was given up at " + Str(timed_out, "timedOutAt") +
                                " (stuck at " + Str(timed_out, "stuckAt") + ")"};
  }
  if (sw.is_object()) {
    return {Kind::kRefused, "the operator switches to " + Str(sw, "to") + " instead (" + Switch(sw) + ")"};
  }
  return {Kind::kRefused, (active.empty() ? std::string("no member") : active) + " is active"};
}

bool PauseObserved(const json& group, int64_t generation, bool paused) {
  const json& status = Field(group, "status");
  if (Int(status, "observedGeneration") < generation) return false;
  return (Str(status, "phase") == "Paused") == paused;
}

std::string RefusalEvent(const json& events, std::chrono::system_clock::time_point since) {
  static const std::array<const char*, 5> kReasons = {"SwitchoverRefused", "SwitchCancelled", "SwitchRedirected",
                                                      "SwitchTimedOut", "InvalidSpec"};
  const json& items = Field(events, "items");
  if (!items.is_array()) return "";
  // Event times have a resolution of a second: one in the request's second counts.
  const auto floor = std::chrono::floor<std::chrono::seconds>(since);
  std::string best;
  std::chrono::system_clock::time_point best_time;
  for (const auto& e : items) {
    const std::string reason = Str(e, "reason");
    if (std::find(kReasons.begin(), kReasons.end(), reason) == kReasons.end()) continue;
    std::string when = Str(e, "lastTimestamp");
    if (when.empty()) when = Str(e, "eventTime");
    auto t = base::ParseRfc3339(when);
    if (!t || *t < floor) continue;
    if (best.empty() || *t >= best_time) {
      best = reason + ": " + Str(e, "message");
      best_time = *t;
    }
  }
  return best;
}

std::chrono::milliseconds DefaultSwitchWait(const json& group) {
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  const std::string text = Str(Field(Field(group, "spec"), "promotion"), "switchTimeout");
  if (auto d = base::ParseDuration(text)) timeout = *d;
  return timeout + std::chrono::minutes(1);
}

}  // namespace plugin
