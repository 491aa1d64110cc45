#pragma once
// The decision engine: a pure function of its arguments (no I/O, no clock) from a group's
// spec, what the cache shows and the status last written, to a Plan (plan.h). The
// stages it is made of are in failover/engine/; the Plan's JSON forms in plan_json.h.

#include <vector>

#include <nlohmann/json.hpp>

#include "failover/observed.h"
#include "failover/plan.h"
#include "failover/spec_parse.h"
#include "failover/types.h"

namespace failover {

// spec must have passed Validate. previous is the status as last written.
Plan Decide(const Spec& spec, const Observed& observed, const Status& previous, Time now);

// For a group whose spec failed ParseSpec/Validate: InvalidSpec condition, a Warning
// Event when the message changes, no write but the status (and deletion cleanup).
Plan DecideInvalid(const std::vector<FieldError>& errors, const Observed& observed,
                   const Status& previous, Time now);

// Parses and validates group (the object as the apiserver returns it), then Decide or
// DecideInvalid. observed.group is taken from the object.
Plan DecideObject(const nlohmann::json& group, Observed observed, Time now);

}  // namespace failover
