// Builders shared by the engine stage tests (classify, decide, writes, build_status,
// assemble): pods, their labels, recorded members, and the two-member group they start from.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "failover/engine/classify.h"
#include "failover/engine/decision.h"
#include "world.h"

namespace failover::testing {

// A pod `name` (uid "uid-<name>") with `labels`, ready unless told otherwise.
inline PodObservation Pod(const std::string& name, Labels labels, bool ready = true) {
  PodObservation p;
  p.name = name;
  p.uid = "uid-" + name;
  p.labels = std::move(labels);
  p.ready = ready;
  return p;
}

// The labels TwoMembers() selects member `site` by; given a role (active, standby, fenced)
// also the group, member, role and eligible labels the engine writes for group "db".
inline Labels Site(const std::string& site, const std::string& role = "") {
  Labels l{{"app", "db"}, {"site", site}};
  if (!role.empty()) {
    l[keys::kGroup] = "db";
    l[keys::kMember] = site;
    l[keys::kRole] = role;
    l[keys::kEligible] = role == "fenced" ? "false" : "true";
  }
  return l;
}

// A member as the previous status recorded it.
inline MemberStatus Recorded(const std::string& name, Role role, Time since, bool healthy = true) {
  MemberStatus m;
  m.name = name;
  m.role = role;
  m.healthy = healthy;
  m.since = since;
  return m;
}

// Group "db" with `pods`.
inline Observed Group(std::vector<PodObservation> pods) {
  Observed o;
  o.group.name = "db";
  o.pods = std::move(pods);
  return o;
}

// The two-member group of TwoMembers() as group "db", with the decision a active, b standby.
// No pods until AddMemberPods(); each test file's Fixture adds what its stage needs.
struct StageFixture {
  Spec spec = TwoMembers();
  Observed observed;
  Status previous;
  engine::Decision decision;

  StageFixture() {
    observed.group.name = "db";
    decision.active = {0};
    decision.roles = {Role::kActive, Role::kStandby};
  }

  // One ready pod "<member>-0" per member of the spec, labelled Site(member); `settled`:
  // also with the group, member and role labels of decision.roles, as the engine left them.
  void AddMemberPods(bool settled = false) {
    for (size_t i = 0; i < spec.members.size(); ++i) {
      const std::string& m = spec.members[i].name;
      observed.pods.push_back(Pod(m + "-0", settled ? Site(m, RoleLabel(decision.roles.at(i))) : Site(m)));
    }
  }
  // The pods of `member` turn unready.
  void Down(const std::string& member) {
    for (auto& p : observed.pods) {
      if (p.labels.at("site") == member) p.ready = false;
    }
  }
  engine::Inputs In(Time now, bool acting = true) const { return {spec, observed, previous, now, acting}; }
  engine::Classification Classified(Time now) const { return engine::Classify(spec, observed, previous, now); }
};

}  // namespace failover::testing
