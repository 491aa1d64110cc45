// failover-replay: runs the decision engine on recorded inputs, JSON in, JSON out.
//
//   failover-replay < input.json > plan.json
//
// input: {"group": <FailoverGroup object>, "pods": [<Pod>...], "services": [<Service>...],
//         "missingServices": ["name"...], "probes": {"<pod>": true|false}, "now": "<RFC 3339>"}
// output: the Plan (writes, stages as [begin, end) index pairs, status, events, metrics,
// requeueAfterMs).
#include <iostream>
#include <sstream>

#include "failover/engine.h"
#include "failover/object_observations.h"
#include "failover/plan_json.h"
#include "failover/time_text.h"

int main() {
  using failover::json;
  std::ostringstream text;
  text << std::cin.rdbuf();
  json in = json::parse(text.str(), nullptr, false);
  if (in.is_discarded() || !in.is_object() || !in.contains("group") || !in.contains("now")) {
    std::cerr << "failover-replay: stdin must be a JSON object with \"group\" and \"now\"\n";
    return 2;
  }
  auto now = failover::ParseTime(in["now"].get<std::string>());
  if (!now) {
    std::cerr << "failover-replay: \"now\" is not an RFC 3339 time\n";
    return 2;
  }
  failover::Observed observed;
  json probes = in.value("probes", json::object());
  for (const auto& pod : in.value("pods", json::array())) {
    failover::PodObservation p = failover::PodFromObject(pod);
    if (probes.contains(p.name) && probes[p.name].is_boolean()) p.probe_ok = probes[p.name].get<bool>();
    observed.pods.push_back(std::move(p));
  }
  for (const auto& svc : in.value("services", json::array())) {
    observed.services.push_back(failover::ServiceFromObject(svc));
  }
  for (const auto& name : in.value("missingServices", json::array())) {
    observed.services.push_back({name.get<std::string>(), false, {}, {}});
  }
  std::cout << failover::PlanToJson(failover::DecideObject(in["group"], observed, *now)).dump(2) << "\n";
  return 0;
}
