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

// A FailoverGroup object (as the apiserver returns it) read once: its metadata, the
// status last written, its spec parsed and checked on its own (ParseSpec, Validate).
struct GroupInput {
  GroupMeta meta;
  Status previous;
  SpecParse parsed;
  std::vector<FieldError> errors;  // parse and Validate errors; empty = the spec is usable
};
GroupInput ReadGroup(const nlohmann::json& group);

// The one validity check of a group: the spec's own errors, else whether its Services are
// claimed by another group (ValidateServiceClaims, which needs the observed Services).
// Empty = valid. What the reconciler probes and what the engine decides both follow it.
std::vector<FieldError> CheckGroup(const GroupInput& input, const Observed& observed);

// Decide, DecideInvalid or the deletion cleanup, as CheckGroup says; observed.group is
// taken from input.meta.
Plan DecideGroup(const GroupInput& input, Observed observed, Time now);

// ReadGroup, then DecideGroup (for the replay tool, tests and the fuzzer).
Plan DecideObject(const nlohmann::json& group, Observed observed, Time now);

}  // namespace failover
