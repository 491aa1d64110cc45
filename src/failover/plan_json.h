#pragma once
// The JSON forms of a plan: the merge-patch bodies the reconciler sends to the apiserver,
// and the whole Plan as failover-replay prints it (and tests compare it).

#include <nlohmann/json.hpp>

#include "failover/plan.h"

namespace failover {

using json = nlohmann::json;

// The JSON merge-patch body for the patch kinds; null for DeletePod and CallHook.
json MergePatchBody(const Write& write);

json WriteToJson(const Write& write);

// activeMembers, writes, stages as [begin, end) pairs, withheld, status, statusChanged,
// events, metrics, requeueAfterMs.
json PlanToJson(const Plan& plan);

}  // namespace failover
