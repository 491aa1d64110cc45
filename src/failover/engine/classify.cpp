#include "failover/engine/classify.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "failover/engine/text.h"
#include "failover/time_text.h"

namespace failover::engine {
namespace {

// A lag annotation: a non-negative number, else unknown.
std::optional<double> ParseLag(const Labels& annotations, const char* key) {
  auto it = annotations.find(key);
  if (it == annotations.end() || it->second.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end != it->second.c_str() + it->second.size() || v < 0) return std::nullopt;
  return v;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool Counts(const PodObservation& p, HealthSource source) {
  switch (source) {
    case HealthSource::kReadiness: return p.ready;
    case HealthSource::kProbe: return p.probe_ok.value_or(p.ready);
    case HealthSource::kReadinessAndProbe: return p.ready && p.probe_ok.value_or(true);
  }
  return false;
}

PodState Place(const PodObservation& pod, const Spec& spec, const std::string& group) {
  PodState out{pod, PodOwner::kNone, -1};
  auto g = pod.labels.find(keys::kGroup);
  if (g != pod.labels.end() && g->second != group) {
    out.owner = PodOwner::kOtherGroup;
    return out;
  }
  for (size_t i = 0; i < spec.members.size(); ++i) {
    if (spec.members[i].selector.Matches(pod.labels)) {
      out.owner = PodOwner::kMember;
      out.member = static_cast<int>(i);
      return out;
    }
  }
  if (g != pod.labels.end()) out.owner = PodOwner::kStray;
  return out;
}

void Count(MemberState& m, const PodObservation& p, HealthSource source) {
  if (p.terminating) return;
  auto role = p.labels.find(keys::kRole);
  if (role != p.labels.end() && role->second == "active") m.labelled_active = true;
  ++m.total;
  if (!Counts(p, source)) return;
  ++m.ready;
  if (auto s = ParseLag(p.annotations, keys::kLagSeconds)) {
    m.lag_seconds = std::max(m.lag_seconds.value_or(0), *s);
  }
  if (auto b = ParseLag(p.annotations, keys::kLagBytes)) {
    m.lag_bytes = std::max(m.lag_bytes.value_or(0), static_cast<int64_t>(*b));
  }
}

// lag_ok and lag_message against spec.maxLag: an unknown lag is not within the bound.
void CheckLag(MemberState& m, const MaxLag& max) {
  std::vector<std::string> why;
  if (max.seconds) {
    if (!m.lag_seconds) {
      why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagSeconds);
    } else if (*m.lag_seconds > *max.seconds) {
      why.push_back("lag " + FormatNumber(*m.lag_seconds) + "s over maxLag.seconds " + FormatNumber(*max.seconds));
    }
  }
  if (max.bytes) {
    if (!m.lag_bytes) {
      why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagBytes);
    } else if (*m.lag_bytes > *max.bytes) {
      why.push_back("lag " + std::to_string(*m.lag_bytes) + " bytes over maxLag.bytes " +
                    std::to_string(*max.bytes));
    }
  }
  m.lag_ok = why.empty();
  m.lag_message = Join(why, "; ");
}

}  // namespace

std::vector<int> RankOrder(const Spec& spec) {
  std::vector<int> order;
  for (size_t i = 0; i < spec.members.size(); ++i) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&spec](int a, int b) {
    return spec.members[static_cast<size_t>(a)].priority.value_or(0) >
           spec.members[static_cast<size_t>(b)].priority.value_or(0);
  });
  return order;
}

Classification Classify(const Spec& spec, const Observed& observed, const Status& previous, Time now) {
  Classification c;
  const size_t n = spec.members.size();
  c.members.resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.members[i].name = spec.members[i].name;
    c.members[i].min_ready = spec.members[i].min_ready;
  }
  c.rank_order = RankOrder(spec);
  for (size_t r = 0; r < n; ++r) c.members[static_cast<size_t>(c.rank_order[r])].rank = static_cast<int>(r);

  std::vector<const PodObservation*> pods;
  std::set<std::string> seen;
  for (const auto& p : observed.pods) {
    if (seen.insert(p.name).second) pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });

  const HealthSource source = spec.detection.EffectiveSource();
  for (const PodObservation* p : pods) {
    PodState placed = Place(*p, spec, observed.group.name);
    if (placed.owner == PodOwner::kMember) Count(c.members[static_cast<size_t>(placed.member)], *p, source);
    c.pods.push_back(std::move(placed));
  }

  for (auto& m : c.members) {
    m.healthy = m.ready >= m.min_ready;
    const MemberStatus* before = previous.FindMember(m.name);
    m.since = (before && before->healthy == m.healthy && before->since != Time{}) ? before->since : now;
    if (before) m.previous_role = before->role == Role::kActive ? Role::kStandby : before->role;
    if (spec.max_lag) CheckLag(m, *spec.max_lag);
  }
  return c;
}

Ineligibility WhyIneligible(const MemberState& member, Role role) {
  if (!member.healthy) return Ineligibility::kUnhealthy;
  if (!member.lag_ok) return Ineligibility::kLagging;
  if (role == Role::kFenced) return Ineligibility::kFenced;
  return Ineligibility::kNone;
}

std::string IneligibilityMessage(const MemberState& member, Role role, const Spec& spec) {
  switch (WhyIneligible(member, role)) {
    case Ineligibility::kUnhealthy:
      return "unhealthy: " + std::to_string(member.ready) + "/" + std::to_string(member.min_ready) +
             " ready pods needed";
    case Ineligibility::kLagging: return member.lag_message;
    case Ineligibility::kFenced:
      return "fenced until healthy for " + FormatDuration(spec.failback.stabilization_window);
    case Ineligibility::kNone: break;
  }
  return "";
}

}  // namespace failover::engine
