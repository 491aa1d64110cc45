// What the engine's scenario tests (tests/failover/engine_*_test.cpp, one binary
// failover_engine_test) share: Decide run against a simulated World (world.h), step by
// step, each plan's writes applied, and readers for the plans it made. The functions are
// defined in engine_scenario.cpp, out of line: inlined into a test, FindEvent's null
// return would trip -Wnull-dereference where a test reads FindEvent(...)->field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "failover/engine.h"
#include "failover/plan_json.h"
#include "failover/validate.h"
#include "world.h"

namespace failover::testing {

// Drives Decide against a simulated world, applying each plan's writes.
struct Scenario {
  Spec spec = TwoMembers();
  World world = TwoMemberWorld();
  Plan plan;

  Plan& Step(Time now, size_t apply = SIZE_MAX) {
    EXPECT_TRUE(Validate(spec).empty());
    plan = Decide(spec, world.Observe(), world.status, now);
    world.Apply(plan, apply);
    return plan;
  }
  void MemberReady(const std::string& member, bool ready) {
    for (auto& [name, p] : world.pods) {
      if (name.rfind(member + "-", 0) == 0) p.ready = ready;
    }
  }
  std::string ServiceMember(const std::string& svc = "db") const {
    const auto& sel = world.services.at(svc).selector;
    auto it = sel.find(keys::kMember);
    return it == sel.end() ? "" : it->second;
  }
  std::string Role(const std::string& pod) const {
    const auto& l = world.pods.at(pod).labels;
    auto it = l.find(keys::kRole);
    return it == l.end() ? "" : it->second;
  }
};

// Describe (plan_json.h) of each write.
std::vector<std::string> Describe(const std::vector<Write>& writes);

// The writes stage by stage.
std::vector<std::vector<std::string>> DescribeStages(const Plan& p);

// Whether the plan has an Event with `reason` (and `type`, unless empty).
bool HasEvent(const Plan& p, const std::string& reason, const std::string& type = "");

// The plan's first Event with `reason`, or null.
const Event* FindEvent(const Plan& p, const std::string& reason);

// The status's condition `type`; a failed expectation (and an empty one) when absent.
const Condition& Cond(const Status& s, const std::string& type);

// How many of the plan's writes are of the kind at `index` of the Write variant.
size_t CountKind(const Plan& p, size_t index);

// Write variant indexes for CountKind.
inline constexpr size_t kPodLabels = 0, kDelete = 1, kService = 2, kAnnotations = 3, kStatus = 5;

// An elected, settled group: a active, b standby, at T(0).
Scenario Settled();

}  // namespace failover::testing
