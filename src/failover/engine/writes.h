#pragma once
// Stage 3a of the decision engine: the writes that bring the pods and the Services to the
// decision, sorted by kind; Assemble (assemble.h) puts them into stages in the order the
// switch strategy needs.

#include <vector>

#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "failover/plan.h"

namespace failover::engine {

struct WriteSets {
  std::vector<Write> demotions;   // pods that carry role=active and must not (or not for this member)
  std::vector<Write> deletes;     // DeletePods fencing
  std::vector<Write> neutral;     // label changes that neither take nor give role=active
  std::vector<Write> promotions;  // pods that must carry role=active
  std::vector<Write> services;
};

// Every pod of the group (and every stray one) labelled as the decision wants: group,
// member and role; strays lose the labels. Terminating pods are demoted but not promoted.
WriteSets PodWrites(const Inputs& in, const Classification& c, const Decision& d);

struct ServicePlan {
  std::vector<Write> writes;            // PatchService, one per Service out of step
  std::vector<ServiceStatus> statuses;  // status.services, in spec order
  std::vector<Notice> notices;          // a selector edited by someone else, put back
};

// Acting with a target: every Service selects role=active pods of the group (and, in
// ActivePassive, of the active member) and is annotated with the active member(s) and
// since when. Otherwise (observing, or no member to point at) Services are left as they
// are and only reported.
ServicePlan ServiceWrites(const Inputs& in, const Decision& d);

}  // namespace failover::engine
