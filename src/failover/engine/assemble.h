#pragma once
// Stage 3 of the decision engine: a decision becomes a Plan. The writes go into stages in
// the order the switch strategy needs, with the switch's intent recorded first and its
// hooks around the changes; the switch is booked (history, failoverCount, the antiFlap
// budget, metrics, Events) and the status written last.

#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "failover/plan.h"

namespace failover::engine {

Plan Assemble(const Inputs& in, const Classification& c, const Decision& d);

}  // namespace failover::engine
