#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plugin {

using json = nlohmann::json;

// Where a switchover (or failback) request to one member stands, judged from the group
// and its Services as read after the request (docs/api.md: the operator consumes the
// annotation failover.io/switchover-to whatever the outcome, moves the Services first
// with their switch record failover.io/switch, then books the switch in the status).
struct SwitchOutcome {
  enum class Kind {
    kPending,  // not taken yet, or taken and under way
    kDone,     // the target is the active member and nothing is left to book
    kRefused,  // taken, and another member is active with nothing under way toward the target
  };
  Kind kind = Kind::kPending;
  // kPending: what is awaited ("the operator to take the request", "the switch a -> b to
  // be booked"); kDone: the switch ("a -> b (Switchover) completed 2026-..."); kRefused:
  // why, as far as the group tells (given up at switchTimeout, invalid, another request).
  std::string message;
};

// `services`: the Services of spec.services that exist, read after `group`. Needed only
// once the request is taken (NeedsServices); pass none before.
SwitchOutcome JudgeSwitch(const json& group, const std::vector<json>& services, const std::string& target);

// Whether JudgeSwitch needs the group's Services to judge `group` (the request is no
// longer on the group).
bool NeedsServices(const json& group);

// Whether the operator has seen the group at `generation` (or later) and reports it
// paused (`paused`) or no longer paused.
bool PauseObserved(const json& group, int64_t generation, bool paused);

// The newest Event of `events` (an EventList of the group) that explains a refused or
// given-up switch (SwitchoverRefused, SwitchCancelled, SwitchRedirected, SwitchTimedOut,
// InvalidSpec), last seen at or after `since`: "SwitchoverRefused: member b is not
// healthy ...". Empty when there is none.
std::string RefusalEvent(const json& events, std::chrono::system_clock::time_point since);

// How long --wait waits without --timeout: for a switch, the group's
// spec.promotion.switchTimeout (default 5m) plus a minute, so that a switch the operator
// gives up is reported as given up rather than as a timeout; for pause and resume, 1m.
std::chrono::milliseconds DefaultSwitchWait(const json& group);
inline constexpr std::chrono::minutes kDefaultPauseWait{1};

}  // namespace plugin
