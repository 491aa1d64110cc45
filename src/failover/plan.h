#pragma once
// What the decision engine hands the reconciler: a Plan of writes in stages, the status
// after it, Events and metric observations. Plain values; their JSON forms (the apiserver's
// merge patches, failover-replay's output) are in plan_json.h.

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "failover/types.h"

namespace failover {

// ---- writes: what the reconciler applies, stage by stage --------------------------------
// Plan::writes are split into stages (Plan::stage_ends). The reconciler issues the writes
// of one stage at once, waits for all of them, and stops after the first stage in which
// one failed (then requeues with backoff); every write is idempotent, so re-applying a
// plan, or the next plan computed from a fresher view, is always safe whatever subset of
// a stage landed. A PatchPodLabels or DeletePod whose pod is gone (404) counts as done.
// Within a stage: no write depends on another, at most one writes the group object
// (its resourceVersion chains the group writes), and a CallHook is alone.

// Merge-patch metadata.labels of one pod: set these, remove those.
struct PatchPodLabels {
  std::string name;
  std::string uid;
  Labels set;
  std::vector<std::string> remove;
};

// Delete one pod (DeletePods fencing); uid is the precondition.
struct DeletePod {
  std::string name;
  std::string uid;
};

// Merge-patch a Service: spec.selector becomes exactly `selector` (the keys in
// remove_selector_keys are nulled) and these annotations are set.
struct PatchService {
  std::string name;
  Labels selector;
  std::vector<std::string> remove_selector_keys;
  Labels annotations;
  std::vector<std::string> remove_annotations = {};
  Labels labels = {};  // metadata.labels to set
  std::vector<std::string> remove_labels = {};
  // The Service's resourceVersion the plan was decided from: a Service changed since is a
  // conflict (409), never overwritten. Empty: unconditional.
  std::string resource_version = {};
};

// Merge-patch the group's metadata.annotations (remove = set to null).
struct PatchGroupAnnotations {
  Labels set;
  std::vector<std::string> remove;
};

// Replace metadata.finalizers; resource_version makes it a conditional write.
struct PatchGroupFinalizers {
  std::vector<std::string> finalizers;
  std::string resource_version;
};

// Merge-patch the status subresource with the whole status (MergePatchBody).
struct UpdateStatus {
  Status status;
};

enum class HookPhase { kPrePromote, kPostPromote };

// POST {group, namespace, from, to, reason} to hook.url with the hook's timeout and
// retries. On final failure: failurePolicy Abort = treat as a failed write (stop here),
// Ignore = report it and continue. Hooks run at least once per switch (a restart
// mid-switch may call them again).
struct CallHook {
  HookPhase phase = HookPhase::kPrePromote;
  Hook hook;
  std::string from;
  std::string to;
  std::string reason;
  // When the switch whose hook this is started (its record's startedAt): the call's
  // switchId and switchStartedAt, whether the record is in this plan, in the status or on
  // the Services (a switch resumed after a restart).
  Time started_at{};
};

using Write = std::variant<PatchPodLabels, DeletePod, PatchService, PatchGroupAnnotations,
                           PatchGroupFinalizers, UpdateStatus, CallHook>;

// One line for logs, dry-run reports and tests: "pod db-a-0: set failover.io/role=fenced".
std::string Describe(const Write& write);

// A write to the group itself (its status, annotations or finalizers): the writes that carry
// the group's resourceVersion.
bool IsGroupWrite(const Write& write);

// ---- what else a plan reports ------------------------------------------------------------

struct Event {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
  size_t after_writes = 0;  // emit once writes[0, after_writes) have succeeded
  bool if_stopped = false;  // only when the plan stops before its last write (a switch cut short)
};

// Metrics to record once every write of the plan has succeeded.
struct MetricObservation {
  enum class Kind {
    kFailover,          // failover_group_failovers_total{from,to,reason} += 1
    kDetectionLatency,  // observe `seconds`
    kSwitchDuration,    // observe (the reconciler's clock after the last write) - started_at
  };
  Kind kind = Kind::kFailover;
  std::string from;
  std::string to;
  std::string reason;
  double seconds = 0;
  Time started_at{};
};

struct Plan {
  std::vector<std::string> active_members;  // the target; empty = none yet
  std::vector<Write> writes;                // stage after stage; includes UpdateStatus
  // Stage k is writes[stage_ends[k-1], stage_ends[k]) (stage 0 starts at 0); writes after
  // the last end are one stage each.
  std::vector<size_t> stage_ends;
  Status status;                            // the status after the plan
  bool status_changed = false;              // status differs from the previous one
  std::vector<Event> events;
  std::vector<MetricObservation> metrics;
  std::optional<Duration> requeue_after;    // look again then, even without an event
  // The switch this plan books has its role labels on once writes[0, roles_done_after)
  // landed: the executor stamps that time (Transition::roles_done_at) into the status it
  // books the switch with. Unset: no switch booked after its roles in this plan.
  std::optional<size_t> roles_done_after = {};
  std::vector<Write> withheld;              // dryRun: the writes it would have made
};

// A stage of a plan: writes[begin, end).
struct StageRange {
  size_t begin = 0;
  size_t end = 0;
};
std::vector<StageRange> Stages(const Plan& plan);

}  // namespace failover
