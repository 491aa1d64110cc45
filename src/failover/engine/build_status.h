#pragma once
// Stage 4 of the decision engine: the status a plan writes, and the Events its Degraded
// condition and phase call for.

#include <string>
#include <vector>

#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "failover/engine/reasons.h"
#include "failover/types.h"

namespace failover::engine {

// The conditions and the phase, before they become the status's strings.
struct Assessment {
  bool ready = false;
  Reason ready_reason = Reason::kNoActiveMember;
  std::string ready_message;
  bool degraded = true;
  Reason degraded_reason = Reason::kNoActiveMember;
  std::string degraded_message;
  bool standby = false;
  Reason standby_reason = Reason::kNoHealthyStandby;
  std::string standby_message;
  // FailoverReady: whether an automatic failover would happen now if one were needed, and
  // if not, why not (FailoverReadiness in build_status.cpp).
  bool failover_ready = false;
  Reason failover_reason = Reason::kNoActiveMember;
  std::string failover_message;
  Phase phase = Phase::kPending;
};

struct StatusReport {
  Status status;
  Assessment assessment;
};

// The status after the decision, with `services` as ServiceWrites reports them and the
// switches booked in `ledger` (which also says whether a switch is under way).
StatusReport BuildStatus(const Inputs& in, const Classification& c, const Decision& d,
                         const std::vector<ServiceStatus>& services, const Ledger& ledger);

// The Events a new status calls for next to the previous one: a Warning when the group
// becomes Degraded or is degraded for another reason, Recovered when it no longer is,
// Paused when it starts observing only.
std::vector<Notice> ConditionNotices(const Status& previous, const Assessment& a);
// A Warning (LagUnknown) for each garbled lag annotation the previous status did not
// report yet: said once, not on every look.
std::vector<Notice> LagNotices(const Status& previous, const Classification& c);

// A condition that keeps its lastTransitionTime while its status stays the same.
Condition MakeCondition(const Status& previous, const char* type, bool value, Reason reason, std::string message,
                        Time now, int64_t generation);

}  // namespace failover::engine
