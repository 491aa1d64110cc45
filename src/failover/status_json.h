#pragma once

#include <nlohmann/json.hpp>

#include "failover/types.h"

namespace failover {

using json = nlohmann::json;

// Status <-> JSON. StatusToJson writes every key it owns (null when empty), so a merge
// patch {"status": StatusToJson(s)} replaces the whole status. ParseStatus is lenient:
// a field it cannot read is left at its zero value (status is the operator's own).
json StatusToJson(const Status& status);
Status ParseStatus(const json& status);

// A switch record: status.switch and a Service's failover.io/switch annotation. The JSON
// leaves out empty fencePods and a zero seq; FromJson is lenient like ParseStatus.
json SwitchRecordToJson(const SwitchRecord& record);
SwitchRecord SwitchRecordFromJson(const json& record);

// A label selector as the API writes it (matchLabels, matchExpressions; empty parts left out).
json SelectorToJson(const LabelSelector& selector);

}  // namespace failover
