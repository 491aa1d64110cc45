#pragma once

#include <nlohmann/json.hpp>

#include "failover/observed.h"

namespace failover {

using json = nlohmann::json;

// Observations from API objects as the apiserver returns them. Lenient: an absent or
// mistyped field reads as empty (the apiserver's objects are not the user's to fix).
PodObservation PodFromObject(const json& pod);
ServiceObservation ServiceFromObject(const json& service);
GroupMeta GroupMetaFromObject(const json& group);

}  // namespace failover
