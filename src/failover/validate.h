#pragma once

#include <string>
#include <vector>

#include "failover/observed.h"
#include "failover/spec_parse.h"
#include "failover/types.h"

namespace failover {

// Rules the CRD schema cannot express (or that a schema-less apply would bypass):
// member and Service names, uniqueness, at least two members in ActivePassive, bounds,
// non-empty selectors, a probe with exactly one of http/tcp. Empty = valid.
std::vector<FieldError> Validate(const Spec& spec);

// Rules against the cluster's state: a Service in spec.services whose selector already
// names another group (failover.io/group=<other>, written by that group's operator) is
// an error on spec.services[i].name; two groups steering one Service would undo each
// other's writes forever. `group` is this group's name. Empty = no conflict.
std::vector<FieldError> ValidateServiceClaims(const Spec& spec, const std::vector<ServiceObservation>& services,
                                              const std::string& group);

// True for a DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDnsLabel(const std::string& name);

// True for a label key: [prefix/]name, the prefix a DNS subdomain, the name a non-empty
// label value (at most 63 characters).
bool IsLabelKey(const std::string& key);

// A label selector in the text form the API takes (?labelSelector=): comma-separated
// requirements `key`, `!key`, `key=value`, `key==value`, `key!=value`,
// `key in (v1,v2)`, `key notin (v1,v2)`, `key>N`, `key<N` (kubernetes' labels.Parse).
// "" when valid (the empty selector selects everything), else what is wrong and where.
std::string CheckLabelSelector(const std::string& text);

}  // namespace failover
