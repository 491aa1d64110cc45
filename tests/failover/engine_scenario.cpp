#include "engine_scenario.h"

namespace failover::testing {

std::vector<std::string> Describe(const std::vector<Write>& writes) {
  std::vector<std::string> out;
  for (const auto& w : writes) out.push_back(failover::Describe(w));
  return out;
}

std::vector<std::vector<std::string>> DescribeStages(const Plan& p) {
  std::vector<std::vector<std::string>> out;
  for (const StageRange& st : Stages(p)) {
    out.emplace_back();
    for (size_t i = st.begin; i < st.end; ++i) out.back().push_back(failover::Describe(p.writes[i]));
  }
  return out;
}

bool HasEvent(const Plan& p, const std::string& reason, const std::string& type) {
  for (const auto& e : p.events) {
    if (e.reason == reason && (type.empty() || e.type == type)) return true;
  }
  return false;
}

const Event* FindEvent(const Plan& p, const std::string& reason) {
  for (const auto& e : p.events) {
    if (e.reason == reason) return &e;
  }
  return nullptr;
}

const Condition& Cond(const Status& s, const std::string& type) {
  const Condition* c = s.FindCondition(type);
  EXPECT_NE(c, nullptr) << type;
  static Condition none;
  return c ? *c : none;
}

size_t CountKind(const Plan& p, size_t index) {
  size_t n = 0;
  for (const auto& w : p.writes) n += w.index() == index ? 1 : 0;
  return n;
}

Scenario Settled() {
  Scenario s;
  s.Step(T(0));
  s.Step(T(0));
  return s;
}

}  // namespace failover::testing
