// A FailoverGroup object (spec, status, metadata: all fuzzed) through parse, validation
// and the decision engine against one fixed observed namespace.
// Properties: no crash; the same inputs give the same plan; ActivePassive never targets
// two active members; the plan's status survives a JSON round trip.
#include <string>

#include "common.h"
#include "failover/engine.h"
#include "failover/parse.h"
#include "failover/plan_json.h"
#include "failover/validate.h"

namespace {

using failover::json;

failover::PodObservation Pod(const std::string& name, failover::Labels labels, bool ready) {
  failover::PodObservation p;
  p.name = name;
  p.uid = "uid-" + name;
  p.labels = std::move(labels);
  p.ready = ready;
  p.pod_ip = "127.0.0.10";
  return p;
}

failover::Observed World() {
  failover::Observed o;
  o.pods.push_back(Pod("db-a-0", {{"app", "db"}, {"site", "a"}, {"failover.io/role", "active"}}, true));
  o.pods.push_back(Pod("db-a-1", {{"app", "db"}, {"site", "a"}}, false));
  o.pods.push_back(Pod("db-b-0", {{"app", "db"}, {"site", "b"}, {"failover.io/role", "standby"}}, true));
  o.pods.push_back(Pod("db-c-0", {{"app", "db"}, {"site", "c"}}, false));
  auto stray = Pod("stray-0", {{"app", "other"}, {"failover.io/role", "active"},
                               {"failover.io/group", "db"}}, true);
  o.pods.push_back(stray);
  auto lagging = Pod("db-b-1", {{"app", "db"}, {"site", "b"}}, true);
  lagging.annotations["failover.io/lag-seconds"] = "12";
  lagging.probe_ok = false;
  o.pods.push_back(lagging);
  o.services.push_back({"db", true, {{"app", "db"}, {"site", "a"}}, {}});
  o.services.push_back({"db-ro", false, {}, {}});
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json group = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (group.is_discarded() || !group.is_object()) return 0;
  static const failover::Time now = *failover::ParseTime("2026-01-01T00:10:00Z");

  failover::Plan plan = failover::DecideObject(group, World(), now);
  failover::Plan again = failover::DecideObject(group, World(), now);
  json first = failover::PlanToJson(plan);
  fuzz::Check(first == failover::PlanToJson(again), "same inputs gave different plans");

  const json& spec_json = group.contains("spec") ? group["spec"] : json();
  failover::SpecParse parsed = failover::ParseSpec(spec_json);
  bool valid = parsed.ok() && failover::Validate(parsed.spec).empty();
  if (valid && parsed.spec.mode == failover::Mode::kActivePassive) {
    fuzz::Check(plan.active_members.size() <= 1, "ActivePassive plan with two active members");
  }
  for (const auto& write : plan.writes) {
    (void)failover::Describe(write);
    (void)failover::MergePatchBody(write);
  }
  json status = failover::StatusToJson(plan.status);
  fuzz::Check(failover::StatusToJson(failover::ParseStatus(status)) == status,
              "status does not survive a JSON round trip");
  return 0;
}
