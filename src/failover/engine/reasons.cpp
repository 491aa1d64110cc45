#include "failover/engine/reasons.h"

namespace failover::engine {

const char* SwitchReasonName(SwitchReason r) {
  switch (r) {
    case SwitchReason::kInitial: return "Initial";
    case SwitchReason::kPrimaryUnhealthy: return "PrimaryUnhealthy";
    case SwitchReason::kFailback: return "Failback";
    case SwitchReason::kSwitchover: return "Switchover";
    case SwitchReason::kMemberRemoved: return "MemberRemoved";
    case SwitchReason::kMemberUnhealthy: return "MemberUnhealthy";
    case SwitchReason::kMemberRecovered: return "MemberRecovered";
  }
  return "Unknown";
}

std::optional<SwitchReason> ParseSwitchReason(std::string_view name) {
  for (SwitchReason r : {SwitchReason::kInitial, SwitchReason::kPrimaryUnhealthy, SwitchReason::kFailback,
                         SwitchReason::kSwitchover, SwitchReason::kMemberRemoved, SwitchReason::kMemberUnhealthy,
                         SwitchReason::kMemberRecovered}) {
    if (name == SwitchReasonName(r)) return r;
  }
  return std::nullopt;
}

bool IsAutomatic(SwitchReason r) { return r == SwitchReason::kPrimaryUnhealthy || r == SwitchReason::kFailback; }

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kPending: return "Pending";
    case Phase::kHealthy: return "Healthy";
    case Phase::kDegraded: return "Degraded";
    case Phase::kFailingOver: return "FailingOver";
    case Phase::kFailingBack: return "FailingBack";
    case Phase::kFailedOver: return "FailedOver";
    case Phase::kPaused: return "Paused";
    case Phase::kInvalid: return "Invalid";
  }
  return "Unknown";
}

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::kSwitching: return "Switching";
    case Reason::kNoActiveMember: return "NoActiveMember";
    case Reason::kActiveUnhealthy: return "ActiveUnhealthy";
    case Reason::kServiceMissing: return "ServiceMissing";
    case Reason::kActiveHealthy: return "ActiveHealthy";
    case Reason::kFailoverBudgetExhausted: return "FailoverBudgetExhausted";
    case Reason::kNoHealthyMember: return "NoHealthyMember";
    case Reason::kMembersUnhealthy: return "MembersUnhealthy";
    case Reason::kAllHealthy: return "AllHealthy";
    case Reason::kElecting: return "Electing";
    case Reason::kSwitchTimedOut: return "SwitchTimedOut";
    case Reason::kStandbyReady: return "StandbyReady";
    case Reason::kStandbyLagging: return "StandbyLagging";
    case Reason::kNoHealthyStandby: return "NoHealthyStandby";
    case Reason::kFailoverArmed: return "Armed";
    case Reason::kUnhealthyForNotElapsed: return "UnhealthyForNotElapsed";
    case Reason::kNodeLeaseUnconfirmed: return "NodeLeaseUnconfirmed";
    case Reason::kNodeStormHold: return "NodeStormHold";
    case Reason::kZoneLost: return "ZoneLost";
    case Reason::kValid: return "Valid";
    case Reason::kInvalidSpec: return "InvalidSpec";
    case Reason::kMemberUnfenced: return "MemberUnfenced";
    case Reason::kSwitchCancelled: return "SwitchCancelled";
    case Reason::kSwitchRedirected: return "SwitchRedirected";
    case Reason::kSwitchoverRefused: return "SwitchoverRefused";
    case Reason::kSwitchoverSkipped: return "SwitchoverSkipped";
    case Reason::kSwitchoverForced: return "SwitchoverForced";
    case Reason::kMemberRemoved: return "MemberRemoved";
    case Reason::kMemberRestored: return "MemberRestored";
    case Reason::kSelectorDriftCorrected: return "SelectorDriftCorrected";
    case Reason::kSwitchRecordUnreadable: return "SwitchRecordUnreadable";
    case Reason::kActiveMemberElected: return "ActiveMemberElected";
    case Reason::kFailoverStarted: return "FailoverStarted";
    case Reason::kFailbackStarted: return "FailbackStarted";
    case Reason::kSwitchoverStarted: return "SwitchoverStarted";
    case Reason::kFailoverCompleted: return "FailoverCompleted";
    case Reason::kFailbackCompleted: return "FailbackCompleted";
    case Reason::kSwitchoverCompleted: return "SwitchoverCompleted";
    case Reason::kRecovered: return "Recovered";
    case Reason::kPaused: return "Paused";
    case Reason::kFinalized: return "Finalized";
    case Reason::kDryRun: return "DryRun";
    case Reason::kLagUnknown: return "LagUnknown";
    case Reason::kServiceReleased: return "ServiceReleased";
    case Reason::kServiceNotRestored: return "ServiceNotRestored";
  }
  return "Unknown";
}

const char* EventTypeName(EventType t) { return t == EventType::kWarning ? "Warning" : "Normal"; }

}  // namespace failover::engine
