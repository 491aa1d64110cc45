#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace plugin {

using json = nlohmann::json;

// The member a failback returns to: highest spec priority (absent = 0), ties broken by
// list order. Empty when the group has no members.
std::string PreferredMember(const json& group);

// True when `member` is one of spec.members[].name.
bool HasMember(const json& group, const std::string& member);

// "site-a, site-b": the member names, for error messages.
std::string MemberNames(const json& group);

// The `status` table for a FailoverGroupList's items (or one group in a list of one):
// NAMESPACE (with_namespace), NAME, MODE, ACTIVE, HEALTHY, PHASE, LAST TRANSITION.
std::string StatusTable(const json& items, bool with_namespace,
                        std::chrono::system_clock::time_point now);

// The `history` table of one group: status.history (newest first), or the last
// transition alone when there is no history.
std::string HistoryTable(const json& group, std::chrono::system_clock::time_point now);

// The summary `status -o json|yaml` prints (docs/plugin.md, "Output"):
// {kind: FailoverGroupStatusList, items: [...]}, an item per group in the order given:
// {namespace, name, mode, phase, paused, dryRun, activeMember,
// activeMembers, healthyMembers, totalMembers, members[{name, priority, role, healthy,
// readyPods, pods}], ready, degraded{reason, message}, switch{from, to, reason, step,
// startedAt}, timedOutSwitch{...}, failoverCount, lastTransition{...}}. A field the status
// does not have yet is null, never left out, so the keys are the same for every group.
json StatusSummary(const json& items);

// The summary `history -o json|yaml` prints: {kind: FailoverGroupHistory, namespace,
// name, transitions[{from, to,
// reason, detectedAt, completedAt}]}, newest first (as HistoryTable).
json HistorySummary(const json& group);

// "45s", "3m", "2h", "5d": kubectl's age style; "" when the timestamp does not parse.
std::string Age(const std::string& rfc3339, std::chrono::system_clock::time_point now);

}  // namespace plugin
