#pragma once
// Stage 3a of the decision engine: the writes that bring the pods and the Services to the
// decision, sorted by kind; Assemble (assemble.h) puts them into stages in the order the
// switch strategy needs.

#include <optional>
#include <string>
#include <vector>

#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "failover/plan.h"

namespace failover::engine {

struct WriteSets {
  // ActivePassive: the labels the Services' selector needs (group, member, eligible=true) on
  // pods of the member to serve that lack them (a fenced member promoted for want of
  // another, a new pod, a group met for the first time): they land before a Service moves.
  std::vector<Write> prerequisites;
  std::vector<Write> demotions;   // pods that carry role=active and must not (or not for this member)
  std::vector<Write> deletes;     // DeletePods fencing
  std::vector<Write> neutral;     // label changes that neither take nor give role=active
  std::vector<Write> promotions;  // pods that must carry role=active
  std::vector<Write> services;
};

// Every pod of the group (and every stray one) labelled as the decision wants: group,
// member, role and eligible ("true" unless fenced); strays lose the labels. Terminating pods
// are demoted but not promoted.
WriteSets PodWrites(const Inputs& in, const Classification& c, const Decision& d);

struct ServicePlan {
  std::vector<Write> writes;            // PatchService, one per Service out of step
  std::vector<ServiceStatus> statuses;  // status.services, in spec order
  std::vector<Notice> notices;          // a selector edited by someone else, put back
};

// Acting with a target: every Service selects the pods of the group that may serve:
// ActivePassive {group, member: <active>, eligible: "true"} (so one write moves it, and it
// never selects two members' pods), ActiveActive {group, role: active}; annotated with the
// active member(s), since when, and (ActivePassive, the plan switching) the switch record
// (keys::kSwitch). Each write carries the Service's resourceVersion as observed. Otherwise (observing, or no member to point at) Services are left as they
// are and only reported.
// Also gives back (ReleaseService) every observed Service labelled with this group that is
// no longer in spec.services.
ServicePlan ServiceWrites(const Inputs& in, const Decision& d);

// How a Service the group steered is let go.
struct Release {
  std::optional<PatchService> patch;  // none: not ours, or nothing left to change
  std::optional<Notice> notice;
  bool kept = false;  // it still selects the group's active pods (nothing to give back)
};
// A Service labelled failover.io/group=<group> is given back: the selector recorded when
// the group took it over (failover.io/original-selector), else the serving member's
// selector when it has matchLabels only (spec may be null: not known), else it keeps
// following the group's active pods (kept). Given back, it loses the group's label and
// annotations.
Release ReleaseService(const ServiceObservation& s, const Spec* spec, const std::string& group);

}  // namespace failover::engine
