#pragma once
// The words the engine decides with. Inside the engine every reason and phase is one of
// these enums; the status, the Events and the metrics carry their names (the API's
// strings), written only where a stage hands its result to the Plan.

#include <optional>
#include <string_view>

namespace failover::engine {

// Why the serving member(s) changed: SwitchRecord.reason, Transition.reason, the reason
// label of the failover metrics.
enum class SwitchReason {
  kInitial,           // the first election
  kPrimaryUnhealthy,  // automatic failover
  kFailback,          // automatic return to a more preferred member
  kSwitchover,        // a user asked (failover.io/switchover-to)
  kMemberRemoved,     // the active member left the spec
  kMemberUnhealthy,   // ActiveActive: a member taken out of service
  kMemberRecovered,   // ActiveActive: a member serving again
};
const char* SwitchReasonName(SwitchReason r);
// nullopt for a name this engine never writes.
std::optional<SwitchReason> ParseSwitchReason(std::string_view name);
// Switches the antiFlap budget counts: the ones no user asked for.
bool IsAutomatic(SwitchReason r);

// status.phase.
enum class Phase { kPending, kHealthy, kDegraded, kFailingOver, kFailingBack, kFailedOver, kPaused, kInvalid };
const char* PhaseName(Phase p);

// The reason of a condition or an Event (a Degraded condition's reason is also the reason
// of the Warning that reports it).
enum class Reason {
  // Ready
  kSwitching,
  kNoActiveMember,
  kActiveUnhealthy,
  kServiceMissing,
  kActiveHealthy,
  // Degraded (with kNoActiveMember, kActiveUnhealthy, kServiceMissing and the standby reasons)
  kFailoverBudgetExhausted,
  kNoHealthyMember,
  kMembersUnhealthy,
  kAllHealthy,
  kElecting,  // False: no member active yet, the election waits for a preferred member
  // A switch did not finish within promotion.switchTimeout (also the Warning when one is
  // finished on its target without its remaining steps)
  kSwitchTimedOut,
  // StandbyAvailable
  kStandbyReady,
  kStandbyLagging,
  kNoHealthyStandby,
  // FailoverReady (with kSwitching, kSwitchTimedOut, kFailoverBudgetExhausted,
  // kNoActiveMember, kElecting, the standby reasons, kPaused, kDryRun and kInvalidSpec):
  // True: an automatic failover would happen when one is needed (kFailoverArmed);
  // False: why the group is not failing over now.
  kFailoverArmed,
  kUnhealthyForNotElapsed,  // the active member is unhealthy, not yet for unhealthyFor
  kNodeLeaseUnconfirmed,    // a node Lease of the active member looks expired, unconfirmed live
  kNodeStormHold,           // too many nodes silent at once: node-lease verdicts held
  kZoneLost,                // the only standbys sit in a lost zone
  // InvalidSpec
  kValid,
  kInvalidSpec,
  // Events only
  kMemberUnfenced,
  kSwitchCancelled,
  kSwitchRedirected,
  kSwitchoverRefused,
  kSwitchoverSkipped,
  kSwitchoverForced,
  kMemberRemoved,
  kMemberRestored,
  kSelectorDriftCorrected,
  kActiveMemberElected,
  kFailoverStarted,
  kFailbackStarted,
  kSwitchoverStarted,
  kFailoverCompleted,
  kFailbackCompleted,
  kSwitchoverCompleted,
  kRecovered,
  kPaused,
  kFinalized,
  kDryRun,
  kLagUnknown,
  kServiceReleased,
  kServiceNotRestored,
  kSwitchRecordUnreadable,  // a Service's failover.io/switch is not a switch record
};
const char* ReasonName(Reason r);

enum class EventType { kNormal, kWarning };
const char* EventTypeName(EventType t);

// Condition types the engine writes.
inline constexpr const char* kConditionReady = "Ready";
inline constexpr const char* kConditionDegraded = "Degraded";
inline constexpr const char* kConditionStandbyAvailable = "StandbyAvailable";
inline constexpr const char* kConditionInvalidSpec = "InvalidSpec";
// Always answers "why is this group not failing over right now" (BuildStatus).
inline constexpr const char* kConditionFailoverReady = "FailoverReady";

}  // namespace failover::engine
