#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "failover/types.h"

namespace failover {

using json = nlohmann::json;

// A problem with one field of a user's object: "spec.members[1].minReady", "must be ...".
struct FieldError {
  std::string path;
  std::string message;

  std::string ToString() const { return path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};

// spec (the object's .spec) -> Spec. Defaults apply to absent fields exactly as the CRD
// schema defaults them; every wrong field gives one FieldError and parsing continues.
// Durations are read with base::ParseDuration, the grammar of the CRD's pattern.
struct SpecParse {
  Spec spec;
  std::vector<FieldError> errors;
  bool ok() const { return errors.empty(); }
};
SpecParse ParseSpec(const json& spec);

}  // namespace failover
