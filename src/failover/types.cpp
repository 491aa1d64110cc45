#include "failover/types.h"

#include <algorithm>

namespace failover {

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& [key, value] : match_labels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const auto& req : match_expressions) {
    auto it = labels.find(req.key);
    bool has = it != labels.end();
    bool listed = has && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    switch (req.op) {
      case SelectorOperator::kIn:
        if (!listed) return false;
        break;
      case SelectorOperator::kNotIn:
        if (listed) return false;
        break;
      case SelectorOperator::kExists:
        if (!has) return false;
        break;
      case SelectorOperator::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

HealthSource Detection::EffectiveSource() const {
  if (source) return *source;
  return probe ? HealthSource::kReadinessAndProbe : HealthSource::kReadiness;
}

int Spec::MemberIndex(const std::string& name) const {
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const MemberStatus* Status::FindMember(const std::string& name) const {
  for (const auto& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const Condition* Status::FindCondition(const std::string& type) const {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

const char* ModeName(Mode m) {
  return m == Mode::kActivePassive ? "ActivePassive" : "ActiveActive";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kActive: return "Active";
    case Role::kStandby: return "Standby";
    case Role::kFenced: return "Fenced";
  }
  return "Standby";
}

const char* RoleLabel(Role r) {
  switch (r) {
    case Role::kActive: return "active";
    case Role::kStandby: return "standby";
    case Role::kFenced: return "fenced";
  }
  return "standby";
}

const char* StrategyName(SwitchStrategy s) {
  return s == SwitchStrategy::kBreakBeforeMake ? "BreakBeforeMake" : "MakeBeforeBreak";
}

const char* FencingName(FencingPolicy f) {
  switch (f) {
    case FencingPolicy::kNone: return "None";
    case FencingPolicy::kLabel: return "Label";
    case FencingPolicy::kDeletePods: return "DeletePods";
  }
  return "Label";
}

const char* FailbackName(FailbackPolicy f) {
  return f == FailbackPolicy::kManual ? "Manual" : "Automatic";
}

const char* HealthSourceName(HealthSource s) {
  switch (s) {
    case HealthSource::kReadiness: return "Readiness";
    case HealthSource::kProbe: return "Probe";
    case HealthSource::kReadinessAndProbe: return "ReadinessAndProbe";
  }
  return "Readiness";
}

const char* OperatorName(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::kIn: return "In";
    case SelectorOperator::kNotIn: return "NotIn";
    case SelectorOperator::kExists: return "Exists";
    case SelectorOperator::kDoesNotExist: return "DoesNotExist";
  }
  return "In";
}

}  // namespace failover
