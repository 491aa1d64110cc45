#include "failover/engine.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>

#include "failover/validate.h"

namespace failover {
namespace {

constexpr size_t kAllWrites = std::numeric_limits<size_t>::max();
constexpr size_t kPlannedActionsLimit = 20;
constexpr int kStray = -1;    // carries our group label, selected by no member
constexpr int kIgnored = -2;  // belongs to another group, or not ours at all

const char* kReasonInitial = "Initial";
const char* kReasonPrimaryUnhealthy = "PrimaryUnhealthy";
const char* kReasonFailback = "Failback";
const char* kReasonSwitchover = "Switchover";
const char* kReasonMemberRemoved = "MemberRemoved";
const char* kReasonMemberUnhealthy = "MemberUnhealthy";
const char* kReasonMemberRecovered = "MemberRecovered";

std::string Seconds(Duration d) { return FormatDuration(d); }

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string SelectorText(const Labels& sel) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : sel) parts.push_back(k + "=" + v);
  return "{" + Join(parts, ",") + "}";
}

std::optional<double> ParseNumber(const Labels& annotations, const char* key) {
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

bool IsAutomatic(const std::string& reason) {
  return reason == kReasonPrimaryUnhealthy || reason == kReasonFailback;
}

struct MemberView {
  const Member* spec = nullptr;
  std::vector<const PodObservation*> pods;
  int ready = 0;
  int total = 0;
  bool healthy = false;
  Time since{};
  std::optional<double> lag_seconds;
  std::optional<int64_t> lag_bytes;
  bool lag_ok = true;
  std::string lag_message;
  Role prev_role = Role::kStandby;
};

// Categorised writes, assembled in strategy order at the end.
struct WriteSets {
  std::vector<Write> demotions;
  std::vector<Write> deletes;
  std::vector<Write> neutral;
  std::vector<Write> promotions;
  std::vector<Write> services;
};

class Decider {
 public:
  Decider(const Spec& spec, const Observed& observed, const Status& previous, Time now)
      : spec_(spec), obs_(observed), prev_(previous), now_(now) {
    Classify();
  }

  // acting = false: observe and report only (paused, and the status half of dryRun).
  Plan Run(bool acting);

 private:
  void Classify();
  std::string AdoptActivePassive() const;
  std::vector<std::string> AdoptActiveActive() const;
  int Rank(int member) const;
  bool Eligible(int i, const std::vector<Role>& roles) const;
  int BestStandby(const std::vector<Role>& roles, const std::set<int>& exclude) const;
  std::string Ineligibility(int i, const std::vector<Role>& roles) const;
  std::vector<Time> RecentFailovers() const;
  bool BudgetExhausted() const;

  void DecideActivePassive(bool acting);
  void DecideActiveActive(bool acting);
  void PodWrites(WriteSets& w) const;
  void ServiceWrites(WriteSets& w, bool acting);
  Status BuildStatus(bool acting) const;
  void ConditionEvents(const Status& next);
  Plan Assemble(bool acting);

  void Requeue(Time at) {
    if (at > now_ && (!requeue_at_ || at < *requeue_at_)) requeue_at_ = at;
  }
  void AddEvent(const char* type, std::string reason, std::string message, size_t after = kAllWrites) {
    events_.push_back({type, std::move(reason), std::move(message), after});
  }

  const Spec& spec_;
  const Observed& obs_;
  const Status& prev_;
  const Time now_;

  std::vector<MemberView> members_;
  std::vector<int> rank_order_;            // member indices, most preferred first
  std::vector<std::pair<const PodObservation*, int>> pods_;  // pod, member index / kStray
  std::set<std::string> claimed_elsewhere_;

  // The decision.
  std::vector<int> active_;                 // target active members (indices, spec order)
  std::vector<Role> roles_;                 // target role per member
  std::optional<SwitchRecord> switch_;      // a switch this plan performs (AP)
  std::set<int> delete_from_;               // members whose older pods DeletePods fences
  Time delete_before_{};
  bool hold_ = false;                       // antiFlap budget stops an automatic switch
  std::string hold_message_;
  bool clear_switchover_ = false;
  std::vector<Transition> transitions_;     // completed by this plan
  int64_t failovers_added_ = 0;
  std::vector<Time> recent_;
  std::vector<Event> events_;
  std::vector<MetricObservation> metrics_;
  std::optional<Time> requeue_at_;
  std::vector<ServiceStatus> service_status_;
};

void Decider::Classify() {
  const std::string& group = obs_.group.name;
  members_.resize(spec_.members.size());
  for (size_t i = 0; i < spec_.members.size(); ++i) members_[i].spec = &spec_.members[i];

  std::vector<const PodObservation*> pods;
  std::set<std::string> seen;
  for (const auto& p : obs_.pods) {
    if (seen.insert(p.name).second) pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });

  HealthSource source = spec_.detection.EffectiveSource();
  for (const PodObservation* p : pods) {
    auto g = p->labels.find(keys::kGroup);
    if (g != p->labels.end() && g->second != group) {
      claimed_elsewhere_.insert(p->name);
      pods_.push_back({p, kIgnored});
      continue;
    }
    int member = kIgnored;
    for (size_t i = 0; i < spec_.members.size(); ++i) {
      if (spec_.members[i].selector.Matches(p->labels)) {
        member = static_cast<int>(i);
        break;
      }
    }
    if (member == kIgnored && g != p->labels.end()) member = kStray;
    pods_.push_back({p, member});
    if (member < 0) continue;
    MemberView& m = members_[static_cast<size_t>(member)];
    m.pods.push_back(p);
    if (p->terminating) continue;
    ++m.total;
    bool counted = false;
    switch (source) {
      case HealthSource::kReadiness: counted = p->ready; break;
      case HealthSource::kProbe: counted = p->probe_ok.value_or(p->ready); break;
      case HealthSource::kReadinessAndProbe: counted = p->ready && p->probe_ok.value_or(true); break;
    }
    if (!counted) continue;
    ++m.ready;
    if (auto s = ParseNumber(p->annotations, keys::kLagSeconds)) {
      m.lag_seconds = std::max(m.lag_seconds.value_or(0), *s);
    }
    if (auto b = ParseNumber(p->annotations, keys::kLagBytes)) {
      auto bytes = static_cast<int64_t>(*b);
      m.lag_bytes = std::max(m.lag_bytes.value_or(0), bytes);
    }
  }

  for (auto& m : members_) {
    m.healthy = m.ready >= m.spec->min_ready;
    const MemberStatus* before = prev_.FindMember(m.spec->name);
    m.since = (before && before->healthy == m.healthy && before->since != Time{}) ? before->since : now_;
    if (before) m.prev_role = before->role == Role::kActive ? Role::kStandby : before->role;
    if (spec_.max_lag) {
      std::vector<std::string> why;
      if (spec_.max_lag->seconds) {
        if (!m.lag_seconds) {
          why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagSeconds);
        } else if (*m.lag_seconds > *spec_.max_lag->seconds) {
          why.push_back("lag " + FormatNumber(*m.lag_seconds) + "s over maxLag.seconds " +
                        FormatNumber(*spec_.max_lag->seconds));
        }
      }
      if (spec_.max_lag->bytes) {
        if (!m.lag_bytes) {
          why.push_back(std::string("lag unknown: no ready pod publishes ") + keys::kLagBytes);
        } else if (*m.lag_bytes > *spec_.max_lag->bytes) {
          why.push_back("lag " + std::to_string(*m.lag_bytes) + " bytes over maxLag.bytes " +
                        std::to_string(*spec_.max_lag->bytes));
        }
      }
      m.lag_ok = why.empty();
      m.lag_message = Join(why, "; ");
    }
  }

  for (size_t i = 0; i < spec_.members.size(); ++i) rank_order_.push_back(static_cast<int>(i));
  std::stable_sort(rank_order_.begin(), rank_order_.end(), [this](int a, int b) {
    return spec_.members[static_cast<size_t>(a)].priority.value_or(0) >
           spec_.members[static_cast<size_t>(b)].priority.value_or(0);
  });
  recent_ = RecentFailovers();
}

int Decider::Rank(int member) const {
  for (size_t r = 0; r < rank_order_.size(); ++r) {
    if (rank_order_[r] == member) return static_cast<int>(r);
  }
  return static_cast<int>(rank_order_.size());
}

std::string Decider::AdoptActivePassive() const {
  for (const auto& ref : spec_.services) {
    for (const auto& s : obs_.services) {
      if (s.name != ref.name || !s.exists) continue;
      auto a = s.annotations.find(keys::kActiveMember);
      if (a != s.annotations.end() && spec_.MemberIndex(a->second) >= 0) return a->second;
    }
  }
  std::set<std::string> labelled;
  for (const auto& [p, member] : pods_) {
    if (member < 0 || p->terminating) continue;
    auto r = p->labels.find(keys::kRole);
    if (r != p->labels.end() && r->second == "active") labelled.insert(spec_.members[static_cast<size_t>(member)].name);
  }
  return labelled.size() == 1 ? *labelled.begin() : "";
}

std::vector<std::string> Decider::AdoptActiveActive() const {
  std::set<std::string> labelled;
  for (const auto& [p, member] : pods_) {
    if (member < 0 || p->terminating) continue;
    auto r = p->labels.find(keys::kRole);
    if (r != p->labels.end() && r->second == "active") labelled.insert(spec_.members[static_cast<size_t>(member)].name);
  }
  return {labelled.begin(), labelled.end()};
}

bool Decider::Eligible(int i, const std::vector<Role>& roles) const {
  const MemberView& m = members_[static_cast<size_t>(i)];
  return m.healthy && m.lag_ok && roles[static_cast<size_t>(i)] != Role::kFenced;
}

// The most preferred eligible member outside `exclude`; failing that, a healthy fenced
// one within the lag bound (better than no member at all); -1 when none.
int Decider::BestStandby(const std::vector<Role>& roles, const std::set<int>& exclude) const {
  for (int i : rank_order_) {
    if (!exclude.count(i) && Eligible(i, roles)) return i;
  }
  for (int i : rank_order_) {
    const MemberView& m = members_[static_cast<size_t>(i)];
    if (!exclude.count(i) && m.healthy && m.lag_ok) return i;
  }
  return -1;
}

std::string Decider::Ineligibility(int i, const std::vector<Role>& roles) const {
  const MemberView& m = members_[static_cast<size_t>(i)];
  if (!m.healthy) {
    return "unhealthy: " + std::to_string(m.ready) + "/" + std::to_string(m.spec->min_ready) +
           " ready pods needed";
  }
  if (!m.lag_ok) return m.lag_message;
  if (roles[static_cast<size_t>(i)] == Role::kFenced) {
    return "fenced until healthy for " + Seconds(spec_.failback.stabilization_window);
  }
  return "";
}

std::vector<Time> Decider::RecentFailovers() const {
  std::vector<Time> out;
  for (Time t : prev_.recent_failovers) {
    if (t > now_ - spec_.anti_flap.window && t <= now_) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool Decider::BudgetExhausted() const {
  return static_cast<int>(recent_.size()) >= spec_.anti_flap.max_failovers;
}

void Decider::DecideActivePassive(bool acting) {
  const size_t n = members_.size();
  roles_.assign(n, Role::kStandby);
  for (size_t i = 0; i < n; ++i) roles_[i] = members_[i].prev_role;

  std::string current_name = prev_.active_member;
  if (prev_.active_members.size() > 1) {
    // The group was ActiveActive: keep the most preferred of its serving members.
    current_name.clear();
    for (int i : rank_order_) {
      const std::string& name = spec_.members[static_cast<size_t>(i)].name;
      bool served = std::find(prev_.active_members.begin(), prev_.active_members.end(), name) !=
                    prev_.active_members.end();
      if (served && (current_name.empty() || members_[static_cast<size_t>(i)].healthy)) {
        current_name = name;
        if (members_[static_cast<size_t>(i)].healthy) break;
      }
    }
  }
  if (current_name.empty()) current_name = AdoptActivePassive();
  int current = spec_.MemberIndex(current_name);

  std::optional<SwitchRecord> sw;
  if (prev_.switch_record && spec_.MemberIndex(prev_.switch_record->to) >= 0) sw = prev_.switch_record;

  // Unfence members that have been healthy for the stabilization window.
  for (size_t i = 0; i < n; ++i) {
    if (roles_[i] != Role::kFenced || !members_[i].healthy) continue;
    Time at = members_[i].since + spec_.failback.stabilization_window;
    if (now_ >= at) {
      if (acting) {
        roles_[i] = Role::kStandby;
        AddEvent("Normal", "MemberUnfenced",
                 "member " + members_[i].spec->name + " healthy for " +
                     Seconds(spec_.failback.stabilization_window) + ": standby again");
      }
    } else {
      Requeue(at);
    }
  }

  int target = current;
  std::string reason;
  Time detected = now_;
  std::set<int> exclude;
  if (current >= 0) exclude.insert(current);

  if (!acting) {
    // Observe only: keep what is, but still say when a decision would become due.
    if (current >= 0 && !members_[static_cast<size_t>(current)].healthy) {
      Requeue(members_[static_cast<size_t>(current)].since + spec_.detection.unhealthy_for);
    }
  } else if (sw) {
    int to = spec_.MemberIndex(sw->to);
    target = to;
    reason = sw->reason;
    detected = sw->detected_at;
    if (!members_[static_cast<size_t>(to)].healthy) {
      int alt = BestStandby(roles_, {to});
      if (alt >= 0 && alt == current) {
        AddEvent("Warning", "SwitchCancelled",
                 "switch target " + sw->to + " became unhealthy and " + current_name +
                     " is healthy: staying on " + current_name);
        target = alt;
      } else if (alt >= 0) {
        AddEvent("Warning", "SwitchRedirected",
                 "switch target " + sw->to + " became unhealthy; switching to " +
                     spec_.members[static_cast<size_t>(alt)].name + " instead");
        target = alt;
        sw.reset();
      }
    }
  } else {
    auto ann = obs_.group.annotations.find(keys::kSwitchoverTo);
    bool decided = false;
    if (ann != obs_.group.annotations.end()) {
      clear_switchover_ = true;
      const std::string& want = ann->second;
      int idx = spec_.MemberIndex(want);
      std::vector<std::string> names;
      for (const auto& m : spec_.members) names.push_back(m.name);
      if (idx < 0) {
        AddEvent("Warning", "SwitchoverRefused",
                 "no member named \"" + want + "\"; members: " + Join(names, ", "));
      } else if (idx == current) {
        AddEvent("Normal", "SwitchoverSkipped", "member " + want + " is already active");
      } else if (!members_[static_cast<size_t>(idx)].healthy) {
        AddEvent("Warning", "SwitchoverRefused",
                 "member " + want + " is not healthy (" + std::to_string(members_[static_cast<size_t>(idx)].ready) +
                     "/" + std::to_string(spec_.members[static_cast<size_t>(idx)].min_ready) +
                     " ready pods needed); nothing changed");
      } else {
        target = idx;
        reason = kReasonSwitchover;
        detected = now_;
        decided = true;
        if (!members_[static_cast<size_t>(idx)].lag_ok) {
          AddEvent("Warning", "SwitchoverForced",
                   "switching to " + want + " on request although " + members_[static_cast<size_t>(idx)].lag_message);
        }
      }
    }
    if (!decided && current < 0) {
      if (!current_name.empty()) {
        // The active member left the spec: its pods are no longer ours.
        int best = BestStandby(roles_, {});
        target = best >= 0 ? best : (n ? rank_order_.front() : -1);
        reason = kReasonMemberRemoved;
      } else {
        int best = -1;
        for (int i : rank_order_) {
          if (members_[static_cast<size_t>(i)].healthy) {
            best = i;
            break;
          }
        }
        target = best;
        reason = kReasonInitial;
      }
    } else if (!decided && !members_[static_cast<size_t>(current)].healthy) {
      const MemberView& cur = members_[static_cast<size_t>(current)];
      Time due = cur.since + spec_.detection.unhealthy_for;
      if (now_ >= due) {
        int cand = BestStandby(roles_, exclude);
        if (cand >= 0) {
          if (BudgetExhausted()) {
            hold_ = true;
            hold_message_ = "active member " + cur.spec->name + " is unhealthy but " +
                            std::to_string(recent_.size()) + " automatic failovers within " +
                            Seconds(spec_.anti_flap.window) + " used the antiFlap budget (maxFailovers " +
                            std::to_string(spec_.anti_flap.max_failovers) + "); holding until " +
                            FormatTime(recent_.front() + spec_.anti_flap.window);
            Requeue(recent_.front() + spec_.anti_flap.window);
          } else {
            target = cand;
            reason = kReasonPrimaryUnhealthy;
            detected = cur.since;
          }
        }
      } else {
        Requeue(due);
      }
    } else if (!decided && spec_.failback.policy == FailbackPolicy::kAutomatic &&
               !(prev_.last_transition && prev_.last_transition->reason == kReasonSwitchover)) {
      // A member chosen by a switchover stays until asked again: failback follows failures only.
      int cur_rank = Rank(current);
      for (int i : rank_order_) {
        if (Rank(i) >= cur_rank) break;
        const MemberView& m = members_[static_cast<size_t>(i)];
        if (!m.healthy || !m.lag_ok) continue;
        Time stable = m.since + spec_.failback.stabilization_window;
        if (now_ < stable) {
          Requeue(stable);
          break;
        }
        if (BudgetExhausted()) {
          hold_ = true;
          hold_message_ = "failback to " + m.spec->name + " held: " + std::to_string(recent_.size()) +
                          " automatic failovers within " + Seconds(spec_.anti_flap.window) +
                          " used the antiFlap budget (maxFailovers " +
                          std::to_string(spec_.anti_flap.max_failovers) + ")";
          Requeue(recent_.front() + spec_.anti_flap.window);
        } else {
          target = i;
          reason = kReasonFailback;
          detected = stable;
        }
        break;
      }
    }
  }

  if (acting && target >= 0 && target != current) {
    if (!sw || sw->to != spec_.members[static_cast<size_t>(target)].name) {
      SwitchRecord rec;
      rec.from = current_name;
      rec.to = spec_.members[static_cast<size_t>(target)].name;
      rec.reason = reason.empty() ? kReasonPrimaryUnhealthy : reason;
      rec.detected_at = detected;
      rec.started_at = now_;
      if (sw) {
        rec.from = sw->from;
        rec.reason = sw->reason;
        rec.detected_at = sw->detected_at;
        rec.started_at = sw->started_at;
      }
      sw = rec;
    }
  } else if (acting && target == current && sw) {
    sw.reset();
  }

  if (acting && target >= 0) {
    if (sw) {
      int from = spec_.MemberIndex(sw->from);
      if (from >= 0 && from != target) {
        const MemberView& old = members_[static_cast<size_t>(from)];
        bool recovered = old.healthy && now_ >= old.since + spec_.failback.stabilization_window;
        bool fence = sw->reason == kReasonPrimaryUnhealthy && spec_.fencing != FencingPolicy::kNone && !recovered;
        roles_[static_cast<size_t>(from)] = fence ? Role::kFenced : Role::kStandby;
        if (sw->reason == kReasonPrimaryUnhealthy && spec_.fencing == FencingPolicy::kDeletePods) {
          delete_from_.insert(from);
          delete_before_ = sw->started_at;
        }
      }
    }
    roles_[static_cast<size_t>(target)] = Role::kActive;
    active_ = {target};
    switch_ = sw;
  } else if (current >= 0) {
    roles_[static_cast<size_t>(current)] = Role::kActive;
    active_ = {current};
    if (!acting) switch_ = prev_.switch_record;
  } else if (!acting) {
    switch_ = prev_.switch_record;
  }
}

void Decider::DecideActiveActive(bool acting) {
  const size_t n = members_.size();
  roles_.assign(n, Role::kStandby);
  for (size_t i = 0; i < n; ++i) roles_[i] = members_[i].prev_role;

  std::vector<std::string> before = prev_.active_members;
  if (before.empty()) before = AdoptActiveActive();
  std::set<int> was;
  for (const auto& name : before) {
    int idx = spec_.MemberIndex(name);
    if (idx >= 0) was.insert(idx);
  }

  if (obs_.group.annotations.count(keys::kSwitchoverTo) && acting) {
    clear_switchover_ = true;
    AddEvent("Warning", "SwitchoverRefused",
             "switchover applies to ActivePassive groups; in ActiveActive every healthy member serves");
  }

  std::set<int> next = was;
  if (acting) {
    bool any_healthy_active = false;
    for (int i : was) any_healthy_active |= members_[static_cast<size_t>(i)].healthy;
    std::vector<int> joins, removals;
    for (size_t i = 0; i < n; ++i) {
      const MemberView& m = members_[i];
      int idx = static_cast<int>(i);
      if (was.count(idx)) {
        if (!m.healthy) {
          Time due = m.since + spec_.detection.unhealthy_for;
          if (now_ >= due) {
            removals.push_back(idx);
          } else {
            Requeue(due);
          }
        }
      } else if (m.healthy) {
        Time stable = m.since + spec_.failback.stabilization_window;
        if (was.empty() || !any_healthy_active || now_ >= stable) {
          joins.push_back(idx);
        } else {
          Requeue(stable);
        }
      }
    }
    for (int i : joins) next.insert(i);
    std::set<int> after = next;
    for (int i : removals) after.erase(i);
    if (!after.empty()) {
      next = after;
      for (int i : removals) {
        const MemberView& m = members_[static_cast<size_t>(i)];
        roles_[static_cast<size_t>(i)] = spec_.fencing == FencingPolicy::kNone ? Role::kStandby : Role::kFenced;
        if (spec_.fencing == FencingPolicy::kDeletePods) {
          delete_from_.insert(i);
          delete_before_ = now_;
        }
        transitions_.push_back({m.spec->name, "", kReasonMemberUnhealthy, m.since, now_});
        ++failovers_added_;
        AddEvent("Warning", "MemberRemoved",
                 "member " + m.spec->name + " unhealthy since " + FormatTime(m.since) +
                     " (" + std::to_string(m.ready) + "/" + std::to_string(m.spec->min_ready) +
                     " ready pods needed): taken out of service");
        metrics_.push_back({MetricObservation::Kind::kFailover, m.spec->name, "", kReasonMemberUnhealthy, 0, {}});
        metrics_.push_back({MetricObservation::Kind::kDetectionLatency, m.spec->name, "", kReasonMemberUnhealthy,
                            std::chrono::duration<double>(now_ - m.since).count(), {}});
      }
    }
    for (int i : joins) {
      const MemberView& m = members_[static_cast<size_t>(i)];
      if (!was.empty()) {
        transitions_.push_back({"", m.spec->name, kReasonMemberRecovered, m.since, now_});
        AddEvent("Normal", "MemberRestored", "member " + m.spec->name + " healthy since " +
                                                 FormatTime(m.since) + ": serving again");
      }
    }
  }
  for (int i : next) roles_[static_cast<size_t>(i)] = Role::kActive;
  for (size_t i = 0; i < n; ++i) {
    if (!next.count(static_cast<int>(i)) && roles_[i] == Role::kActive) roles_[i] = Role::kStandby;
  }
  active_.assign(next.begin(), next.end());
}

void Decider::PodWrites(WriteSets& w) const {
  const std::string& group = obs_.group.name;
  for (const auto& [p, member] : pods_) {
    if (member == kIgnored) continue;
    auto role_it = p->labels.find(keys::kRole);
    auto member_it = p->labels.find(keys::kMember);
    bool now_active = role_it != p->labels.end() && role_it->second == "active";
    if (member == kStray) {
      PatchPodLabels patch{p->name, p->uid, {}, {}};
      for (const char* k : {keys::kGroup, keys::kMember, keys::kRole}) {
        if (p->labels.count(k)) patch.remove.push_back(k);
      }
      (now_active ? w.demotions : w.neutral).push_back(patch);
      continue;
    }
    const std::string& mname = spec_.members[static_cast<size_t>(member)].name;
    Role role = roles_[static_cast<size_t>(member)];
    Labels desired{{keys::kGroup, group}, {keys::kMember, mname}, {keys::kRole, RoleLabel(role)}};
    PatchPodLabels patch{p->name, p->uid, {}, {}};
    for (const auto& [k, v] : desired) {
      auto it = p->labels.find(k);
      if (it == p->labels.end() || it->second != v) patch.set[k] = v;
    }
    bool want_active = role == Role::kActive;
    bool is_same_member = member_it != p->labels.end() && member_it->second == mname;
    if (!patch.set.empty()) {
      if (now_active && (!want_active || !is_same_member)) {
        w.demotions.push_back(patch);
      } else if (want_active) {
        if (!p->terminating) w.promotions.push_back(patch);
      } else if (!p->terminating) {
        w.neutral.push_back(patch);
      }
    }
    if (delete_from_.count(member) && !p->terminating && p->created_at < delete_before_) {
      w.deletes.push_back(DeletePod{p->name, p->uid});
    }
  }
}

void Decider::ServiceWrites(WriteSets& w, bool acting) {
  std::vector<std::string> names;
  for (int i : active_) names.push_back(spec_.members[static_cast<size_t>(i)].name);
  std::string member_value = Join(names, ",");
  Labels desired{{keys::kGroup, obs_.group.name}, {keys::kRole, "active"}};
  if (spec_.mode == Mode::kActivePassive && !names.empty()) desired[keys::kMember] = names.front();

  for (const auto& ref : spec_.services) {
    const ServiceObservation* seen = nullptr;
    for (const auto& s : obs_.services) {
      if (s.name == ref.name) seen = &s;
    }
    ServiceStatus st{ref.name, seen && seen->exists, "", false};
    if (!st.exists) {
      service_status_.push_back(st);
      continue;
    }
    auto a = seen->annotations.find(keys::kActiveMember);
    std::string annotated = a != seen->annotations.end() ? a->second : "";
    bool selector_ok = seen->selector == desired;
    if (!acting || names.empty()) {
      st.member = annotated;
      st.in_sync = !names.empty() && selector_ok && annotated == member_value;
      service_status_.push_back(st);
      continue;
    }
    auto since_it = seen->annotations.find(keys::kActiveSince);
    bool keep_since = annotated == member_value && since_it != seen->annotations.end();
    if (!selector_ok || !keep_since) {
      PatchService patch;
      patch.name = ref.name;
      patch.selector = desired;
      for (const auto& [k, v] : seen->selector) {
        if (!desired.count(k)) patch.remove_selector_keys.push_back(k);
      }
      patch.annotations[keys::kActiveMember] = member_value;
      patch.annotations[keys::kActiveSince] = keep_since ? since_it->second : FormatTime(now_);
      w.services.push_back(patch);
      if (!selector_ok && annotated == member_value && !switch_) {
        AddEvent("Warning", "SelectorDriftCorrected",
                 "Service " + ref.name + " selector was " + SelectorText(seen->selector) +
                     "; set back to " + SelectorText(desired));
      }
    }
    st.member = member_value;
    st.in_sync = true;
    service_status_.push_back(st);
  }
}

Condition MakeCondition(const Status& prev, const std::string& type, bool value, std::string reason,
                        std::string message, Time now, int64_t generation) {
  Condition c{type, value ? "True" : "False", std::move(reason), std::move(message), now, generation};
  if (const Condition* old = prev.FindCondition(type); old && old->status == c.status) {
    c.last_transition_time = old->last_transition_time;
  }
  return c;
}

Status Decider::BuildStatus(bool acting) const {
  Status s;
  s.observed_generation = obs_.group.generation;
  s.failover_count = prev_.failover_count + failovers_added_;
  s.last_transition = prev_.last_transition;
  s.history = prev_.history;
  for (const auto& t : transitions_) {
    s.last_transition = t;
    s.history.insert(s.history.begin(), t);
  }
  if (s.history.size() > Status::kHistoryLimit) s.history.resize(Status::kHistoryLimit);
  s.recent_failovers = recent_;
  s.switch_record = switch_;

  std::set<int> active(active_.begin(), active_.end());
  int healthy = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    const MemberView& m = members_[i];
    MemberStatus ms;
    ms.name = m.spec->name;
    ms.role = roles_[i];
    ms.healthy = m.healthy;
    ms.ready_pods = m.ready;
    ms.pods = m.total;
    ms.since = m.since;
    ms.lag_seconds = m.lag_seconds;
    ms.lag_bytes = m.lag_bytes;
    if (!active.count(static_cast<int>(i))) {
      ms.eligible = Eligible(static_cast<int>(i), roles_);
      ms.message = Ineligibility(static_cast<int>(i), roles_);
    } else if (!m.healthy) {
      ms.message = Ineligibility(static_cast<int>(i), roles_);
    }
    healthy += m.healthy ? 1 : 0;
    s.members.push_back(std::move(ms));
  }
  s.healthy_members = healthy;
  s.healthy = std::to_string(healthy) + "/" + std::to_string(members_.size());
  for (int i : active_) s.active_members.push_back(spec_.members[static_cast<size_t>(i)].name);
  s.active_member = Join(s.active_members, ",");
  s.services = service_status_;

  // Conditions.
  const int64_t gen = obs_.group.generation;
  std::vector<std::string> missing;
  for (const auto& sv : s.services) {
    if (!sv.exists) missing.push_back(sv.name);
  }
  bool active_healthy = !active_.empty();
  for (int i : active_) active_healthy &= members_[static_cast<size_t>(i)].healthy;
  bool all_healthy = healthy == static_cast<int>(members_.size());

  bool standby = false;
  std::string standby_reason = "NoHealthyStandby", standby_message;
  if (spec_.mode == Mode::kActivePassive) {
    std::vector<std::string> why;
    bool lagging = false;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (active.count(static_cast<int>(i))) continue;
      if (Eligible(static_cast<int>(i), roles_)) {
        if (!standby) standby_message = "member " + members_[i].spec->name + " can take over";
        standby = true;
      } else {
        if (members_[i].healthy && !members_[i].lag_ok) lagging = true;
        why.push_back(members_[i].spec->name + ": " + Ineligibility(static_cast<int>(i), roles_));
      }
    }
    if (standby) {
      standby_reason = "StandbyReady";
    } else {
      standby_reason = lagging ? "StandbyLagging" : "NoHealthyStandby";
      standby_message = why.empty() ? "no standby member" : "no standby can take over: " + Join(why, "; ");
    }
  } else {
    standby = healthy >= 2;
    standby_reason = standby ? "StandbyReady" : "NoHealthyStandby";
    standby_message = std::to_string(healthy) + " of " + std::to_string(members_.size()) + " members healthy";
  }

  bool degraded = true;
  std::string d_reason, d_message;
  if (hold_) {
    d_reason = "FailoverBudgetExhausted";
    d_message = hold_message_;
  } else if (active_.empty()) {
    d_reason = healthy == 0 ? "NoHealthyMember" : "NoActiveMember";
    d_message = healthy == 0 ? "no member has enough ready pods; Services left as they are"
                             : "no active member yet";
  } else if (spec_.mode == Mode::kActiveActive && !all_healthy) {
    std::vector<std::string> down;
    for (const auto& m : members_) {
      if (!m.healthy) down.push_back(m.spec->name);
    }
    d_reason = "MembersUnhealthy";
    d_message = "unhealthy: " + Join(down, ", ");
  } else if (!active_healthy) {
    const MemberView& cur = members_[static_cast<size_t>(active_.front())];
    if (!standby && healthy == 0) {
      d_reason = "NoHealthyMember";
      d_message = "every member is unhealthy, the active member " + cur.spec->name +
                  " too; Services left on " + cur.spec->name;
    } else if (!standby) {
      d_reason = standby_reason;
      d_message = "active member " + cur.spec->name + " is unhealthy and " + standby_message +
                  "; Services left on " + cur.spec->name;
    } else {
      d_reason = "ActiveUnhealthy";
      d_message = "active member " + cur.spec->name + " unhealthy since " + FormatTime(cur.since) +
                  "; failover after " + Seconds(spec_.detection.unhealthy_for);
    }
  } else if (!missing.empty()) {
    d_reason = "ServiceMissing";
    d_message = "Services not found: " + Join(missing, ", ");
  } else if (!standby && spec_.mode == Mode::kActivePassive) {
    d_reason = standby_reason;
    d_message = standby_message;
  } else {
    degraded = false;
    d_reason = "AllHealthy";
    d_message = s.healthy + " members healthy";
  }

  bool ready = active_healthy && missing.empty() && !switch_;
  std::string r_reason, r_message;
  if (switch_) {
    r_reason = "Switching";
    r_message = "switching from " + switch_->from + " to " + switch_->to + " (" + switch_->reason + ")";
  } else if (active_.empty()) {
    r_reason = "NoActiveMember";
    r_message = "no member is active";
  } else if (!active_healthy) {
    r_reason = "ActiveUnhealthy";
    r_message = "active member(s) " + s.active_member + " not healthy";
  } else if (!missing.empty()) {
    r_reason = "ServiceMissing";
    r_message = "Services not found: " + Join(missing, ", ");
  } else {
    r_reason = "ActiveHealthy";
    r_message = "Services point at " + s.active_member;
  }

  s.conditions.push_back(MakeCondition(prev_, "Ready", ready, r_reason, r_message, now_, gen));
  s.conditions.push_back(MakeCondition(prev_, "Degraded", degraded, d_reason, d_message, now_, gen));
  s.conditions.push_back(MakeCondition(prev_, "StandbyAvailable", standby, standby_reason, standby_message, now_, gen));
  s.conditions.push_back(MakeCondition(prev_, "InvalidSpec", false, "Valid", "spec is valid", now_, gen));

  if (!acting && spec_.paused) {
    s.phase = "Paused";
  } else if (switch_) {
    s.phase = (switch_->reason == kReasonFailback || switch_->reason == kReasonSwitchover) ? "FailingBack"
                                                                                          : "FailingOver";
  } else if (degraded) {
    s.phase = "Degraded";
  } else if (active_.empty()) {
    s.phase = "Pending";
  } else if (spec_.mode == Mode::kActivePassive && active_.front() != rank_order_.front()) {
    s.phase = "FailedOver";
  } else {
    s.phase = "Healthy";
  }
  return s;
}

void Decider::ConditionEvents(const Status& next) {
  const Condition* before = prev_.FindCondition("Degraded");
  const Condition* after = next.FindCondition("Degraded");
  if (!after) return;
  bool was = before && before->status == "True";
  if (after->status == "True" && (!was || before->reason != after->reason)) {
    AddEvent("Warning", after->reason, after->message);
  } else if (after->status == "False" && was) {
    AddEvent("Normal", "Recovered", after->message);
  }
  if (next.phase == "Paused" && prev_.phase != "Paused") {
    AddEvent("Normal", "Paused", "spec.paused is true: observing and reporting only");
  }
}

void AppendAll(std::vector<Write>& to, std::vector<Write>& from) {
  for (auto& w : from) to.push_back(std::move(w));
  from.clear();
}

Plan Decider::Assemble(bool acting) {
  Plan plan;
  WriteSets w;
  if (acting) PodWrites(w);
  ServiceWrites(w, acting);

  std::vector<Write>& out = plan.writes;
  auto end_stage = [&] {
    const size_t begun = plan.stage_ends.empty() ? 0 : plan.stage_ends.back();
    if (out.size() > begun) plan.stage_ends.push_back(out.size());
  };
  Status last_written = prev_;
  auto checkpoint = [&](const Status& s) {
    if (!(s == last_written)) {
      out.push_back(UpdateStatus{s});
      last_written = s;
    }
  };

  const bool bbm = spec_.strategy == SwitchStrategy::kBreakBeforeMake;
  if (acting && !obs_.group.deleting &&
      std::find(obs_.group.finalizers.begin(), obs_.group.finalizers.end(), keys::kFinalizer) ==
          obs_.group.finalizers.end()) {
    std::vector<std::string> f = obs_.group.finalizers;
    f.push_back(keys::kFinalizer);
    out.push_back(PatchGroupFinalizers{f, obs_.group.resource_version});
    end_stage();
  }

  // A switch records its intent first (once: a resumed switch has it already): alone
  // before a prePromote hook, otherwise in the same stage as the first changes (a restart
  // that finds no intent decides afresh from what it sees, and every stage keeps the
  // strategy's invariant whatever subset of it landed).
  const std::optional<SwitchRecord> sw = acting ? switch_ : std::nullopt;
  const bool initial = sw && sw->reason == kReasonInitial;
  const bool hooks = sw && !initial;
  const bool resumed = sw && prev_.switch_record && prev_.switch_record->to == sw->to;
  std::optional<size_t> started_after;
  if (sw && !initial && !resumed) {
    Status intent = BuildStatus(acting);
    intent.active_members.clear();
    intent.active_member = sw->from;
    if (!sw->from.empty()) intent.active_members = {sw->from};
    intent.switch_record->step = bbm ? "Demoting" : "Promoting";
    checkpoint(intent);
    started_after = out.size();
  }
  if (hooks && spec_.pre_promote) {
    end_stage();
    out.push_back(CallHook{HookPhase::kPrePromote, *spec_.pre_promote, sw->from, sw->to, sw->reason});
    end_stage();
  }
  if (bbm) {
    // A re-pointed Service selects nothing until the new member's pods carry role=active.
    AppendAll(out, w.services);
    AppendAll(out, w.demotions);
    AppendAll(out, w.deletes);
    AppendAll(out, w.neutral);
    end_stage();
    AppendAll(out, w.promotions);
  } else {
    AppendAll(out, w.promotions);
    AppendAll(out, w.neutral);
    end_stage();
    AppendAll(out, w.services);
    end_stage();
    AppendAll(out, w.demotions);
    AppendAll(out, w.deletes);
  }
  if (acting && clear_switchover_) out.push_back(PatchGroupAnnotations{{}, {keys::kSwitchoverTo}});
  end_stage();
  if (hooks && spec_.post_promote) {
    out.push_back(CallHook{HookPhase::kPostPromote, *spec_.post_promote, sw->from, sw->to, sw->reason});
    end_stage();
  }

  if (sw) {
    transitions_.push_back({sw->from, sw->to, sw->reason, sw->detected_at, now_});
    if (!initial) {
      ++failovers_added_;
      if (IsAutomatic(sw->reason)) {
        recent_.push_back(sw->started_at);
        std::sort(recent_.begin(), recent_.end());
        while (recent_.size() > static_cast<size_t>(spec_.anti_flap.max_failovers)) recent_.erase(recent_.begin());
      }
      metrics_.push_back({MetricObservation::Kind::kFailover, sw->from, sw->to, sw->reason, 0, {}});
      if (sw->reason == kReasonPrimaryUnhealthy) {
        metrics_.push_back({MetricObservation::Kind::kDetectionLatency, sw->from, sw->to, sw->reason,
                            std::chrono::duration<double>(sw->started_at - sw->detected_at).count(), {}});
      }
      metrics_.push_back({MetricObservation::Kind::kSwitchDuration, sw->from, sw->to, sw->reason, 0, sw->started_at});
    }
    const char* started = sw->reason == kReasonFailback     ? "FailbackStarted"
                          : sw->reason == kReasonSwitchover ? "SwitchoverStarted"
                                                            : "FailoverStarted";
    const char* completed = sw->reason == kReasonFailback     ? "FailbackCompleted"
                            : sw->reason == kReasonSwitchover ? "SwitchoverCompleted"
                                                              : "FailoverCompleted";
    const char* type = sw->reason == kReasonPrimaryUnhealthy ? "Warning" : "Normal";
    std::string what = (sw->from.empty() ? std::string("none") : sw->from) + " -> " + sw->to + " (" +
                       sw->reason + "), strategy " + StrategyName(spec_.strategy);
    if (initial) {
      AddEvent("Normal", "ActiveMemberElected", "member " + sw->to + " is active");
    } else {
      // One Event per switch: Completed; Started only explains a switch this plan leaves
      // unfinished (the plan that finishes it, resuming, reports Completed).
      if (!resumed) {
        events_.push_back({type, started, "switching " + what, *started_after, true});
      }
      AddEvent(type, completed, "switched " + what);
    }
    switch_.reset();
  }
  Status final_status = BuildStatus(acting);
  ConditionEvents(final_status);
  checkpoint(final_status);
  end_stage();

  for (auto& e : events_) {
    if (e.after_writes == kAllWrites || e.after_writes > out.size()) e.after_writes = out.size();
  }
  plan.events = events_;
  plan.metrics = metrics_;
  for (const auto& name : final_status.active_members) plan.active_members.push_back(name);
  plan.status = final_status;
  plan.status_changed = !(final_status == prev_);
  if (requeue_at_) plan.requeue_after = *requeue_at_ - now_;
  return plan;
}

Plan Decider::Run(bool acting) {
  if (spec_.mode == Mode::kActivePassive) {
    DecideActivePassive(acting);
  } else {
    DecideActiveActive(acting);
  }
  return Assemble(acting);
}

Plan Finalize(const Observed& obs) {
  Plan plan;
  const auto& f = obs.group.finalizers;
  if (std::find(f.begin(), f.end(), keys::kFinalizer) == f.end()) return plan;
  std::vector<const PodObservation*> pods;
  for (const auto& p : obs.pods) pods.push_back(&p);
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::set<std::string> seen;
  int cleaned = 0;
  for (const PodObservation* p : pods) {
    if (!seen.insert(p->name).second) continue;
    auto g = p->labels.find(keys::kGroup);
    if (g == p->labels.end() || g->second != obs.group.name) continue;
    PatchPodLabels patch{p->name, p->uid, {}, {}};
    for (const char* k : {keys::kGroup, keys::kMember, keys::kRole}) {
      if (p->labels.count(k)) patch.remove.push_back(k);
    }
    plan.writes.push_back(patch);
    ++cleaned;
  }
  if (!plan.writes.empty()) plan.stage_ends.push_back(plan.writes.size());
  std::vector<std::string> rest;
  for (const auto& x : f) {
    if (x != keys::kFinalizer) rest.push_back(x);
  }
  plan.writes.push_back(PatchGroupFinalizers{rest, obs.group.resource_version});
  plan.events.push_back({"Normal", "Finalized",
                         "removed failover.io labels from " + std::to_string(cleaned) +
                             " pods; Services left where they point",
                         plan.writes.size()});
  return plan;
}

json LabelsPatch(const Labels& set, const std::vector<std::string>& remove) {
  json labels = json::object();
  for (const auto& [k, v] : set) labels[k] = v;
  for (const auto& k : remove) labels[k] = nullptr;
  return labels;
}

}  // namespace

Plan Decide(const Spec& spec, const Observed& observed, const Status& previous, Time now) {
  if (observed.group.deleting) return Finalize(observed);
  if (spec.paused) return Decider(spec, observed, previous, now).Run(false);
  if (!spec.dry_run) return Decider(spec, observed, previous, now).Run(true);

  Plan would = Decider(spec, observed, previous, now).Run(true);
  Plan plan = Decider(spec, observed, previous, now).Run(false);
  std::vector<std::string> actions;
  for (const auto& w : would.writes) {
    if (std::holds_alternative<UpdateStatus>(w)) continue;
    plan.withheld.push_back(w);
    if (actions.size() < kPlannedActionsLimit) actions.push_back(Describe(w));
  }
  if (plan.withheld.size() > kPlannedActionsLimit) {
    actions.back() = "... and " + std::to_string(plan.withheld.size() - kPlannedActionsLimit + 1) + " more";
  }
  plan.status.planned_actions = actions;
  plan.active_members = would.active_members;
  plan.writes.clear();
  plan.stage_ends.clear();
  plan.status_changed = !(plan.status == previous);
  if (plan.status_changed) plan.writes.push_back(UpdateStatus{plan.status});
  for (auto& e : plan.events) e.after_writes = plan.writes.size();
  if (actions != previous.planned_actions && !actions.empty()) {
    plan.events.push_back({"Normal", "DryRun", "would: " + Join(actions, "; "), plan.writes.size()});
  }
  plan.metrics.clear();
  return plan;
}

Plan DecideInvalid(const std::vector<FieldError>& errors, const Observed& observed,
                   const Status& previous, Time now) {
  if (observed.group.deleting) return Finalize(observed);
  Plan plan;
  Status s = previous;
  std::vector<std::string> parts;
  for (const auto& e : errors) parts.push_back(e.ToString());
  std::string message = Join(parts, "; ");
  const int64_t gen = observed.group.generation;
  s.observed_generation = gen;
  s.phase = "Invalid";
  s.planned_actions.clear();
  auto set = [&](const std::string& type, bool value, const std::string& reason, const std::string& msg) {
    Condition c = MakeCondition(previous, type, value, reason, msg, now, gen);
    for (auto& old : s.conditions) {
      if (old.type == type) {
        old = c;
        return;
      }
    }
    s.conditions.push_back(c);
  };
  set("Ready", false, "InvalidSpec", "the spec is invalid; nothing is done until it is fixed");
  set("InvalidSpec", true, "InvalidSpec", message);
  plan.status = s;
  plan.status_changed = !(s == previous);
  if (plan.status_changed) plan.writes.push_back(UpdateStatus{s});
  const Condition* before = previous.FindCondition("InvalidSpec");
  if (!before || before->status != "True" || before->message != message) {
    plan.events.push_back({"Warning", "InvalidSpec", message, plan.writes.size()});
  }
  for (const auto& name : previous.active_members) plan.active_members.push_back(name);
  return plan;
}

Plan DecideObject(const json& group, Observed observed, Time now) {
  observed.group = GroupMetaFromObject(group);
  Status previous = ParseStatus(group.contains("status") ? group["status"] : json::object());
  if (observed.group.deleting) return Finalize(observed);
  SpecParse parsed = ParseSpec(group.contains("spec") ? group["spec"] : json());
  std::vector<FieldError> errors = parsed.errors;
  if (errors.empty()) errors = Validate(parsed.spec);
  if (errors.empty()) errors = ValidateServiceClaims(parsed.spec, observed.services, observed.group.name);
  if (!errors.empty()) return DecideInvalid(errors, observed, previous, now);
  return Decide(parsed.spec, observed, previous, now);
}

std::vector<StageRange> Stages(const Plan& plan) {
  std::vector<StageRange> out;
  size_t begin = 0;
  for (size_t end : plan.stage_ends) {
    end = std::min(end, plan.writes.size());
    if (end <= begin) continue;
    out.push_back({begin, end});
    begin = end;
  }
  for (; begin < plan.writes.size(); ++begin) out.push_back({begin, begin + 1});
  return out;
}

json MergePatchBody(const Write& write) {
  return std::visit(
      [](const auto& w) -> json {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          return {{"metadata", {{"labels", LabelsPatch(w.set, w.remove)}}}};
        } else if constexpr (std::is_same_v<T, PatchService>) {
          json selector = LabelsPatch(w.selector, w.remove_selector_keys);
          json annotations = LabelsPatch(w.annotations, {});
          return {{"metadata", {{"annotations", annotations}}}, {"spec", {{"selector", selector}}}};
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return {{"metadata", {{"annotations", LabelsPatch(w.set, w.remove)}}}};
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          json meta = {{"finalizers", w.finalizers}};
          if (!w.resource_version.empty()) meta["resourceVersion"] = w.resource_version;
          return {{"metadata", meta}};
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          return {{"status", StatusToJson(w.status)}};
        } else {
          return nullptr;
        }
      },
      write);
}

std::string Describe(const Write& write) {
  auto kv = [](const Labels& set, const std::vector<std::string>& remove) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : set) parts.push_back("set " + k + "=" + v);
    for (const auto& k : remove) parts.push_back("remove " + k);
    return Join(parts, ", ");
  };
  return std::visit(
      [&](const auto& w) -> std::string {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          return "pod " + w.name + ": " + kv(w.set, w.remove);
        } else if constexpr (std::is_same_v<T, DeletePod>) {
          return "pod " + w.name + ": delete (fencing)";
        } else if constexpr (std::is_same_v<T, PatchService>) {
          auto m = w.annotations.find(keys::kActiveMember);
          return "service " + w.name + ": selector " + SelectorText(w.selector) +
                 (m != w.annotations.end() ? " (member " + m->second + ")" : "");
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return "group: annotations " + kv(w.set, w.remove);
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          return "group: finalizers [" + Join(w.finalizers, ",") + "]";
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          std::string step = w.status.switch_record ? " step " + w.status.switch_record->step : "";
          return "status: phase " + w.status.phase + ", active " +
                 (w.status.active_member.empty() ? "none" : w.status.active_member) + step;
        } else {
          return std::string("hook ") + (w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote") +
                 ": POST " + w.hook.url + " (" + w.from + " -> " + w.to + ")";
        }
      },
      write);
}

json WriteToJson(const Write& write) {
  return std::visit(
      [&](const auto& w) -> json {
        using T = std::decay_t<decltype(w)>;
        json j;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          j = {{"kind", "PatchPodLabels"}, {"name", w.name}, {"set", w.set}, {"remove", w.remove}};
        } else if constexpr (std::is_same_v<T, DeletePod>) {
          j = {{"kind", "DeletePod"}, {"name", w.name}, {"uid", w.uid}};
        } else if constexpr (std::is_same_v<T, PatchService>) {
          j = {{"kind", "PatchService"}, {"name", w.name}, {"selector", w.selector},
               {"removeSelectorKeys", w.remove_selector_keys}, {"annotations", w.annotations}};
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          j = {{"kind", "PatchGroupAnnotations"}, {"set", w.set}, {"remove", w.remove}};
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          j = {{"kind", "PatchGroupFinalizers"}, {"finalizers", w.finalizers}};
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          j = {{"kind", "UpdateStatus"}, {"status", StatusToJson(w.status)}};
        } else {
          j = {{"kind", "CallHook"},
               {"phase", w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote"},
               {"url", w.hook.url}, {"from", w.from}, {"to", w.to}, {"reason", w.reason}};
        }
        return j;
      },
      write);
}

json PlanToJson(const Plan& plan) {
  json j;
  j["activeMembers"] = plan.active_members;
  j["writes"] = json::array();
  for (const auto& w : plan.writes) j["writes"].push_back(WriteToJson(w));
  j["stages"] = json::array();
  for (const auto& st : Stages(plan)) j["stages"].push_back({st.begin, st.end});
  j["withheld"] = json::array();
  for (const auto& w : plan.withheld) j["withheld"].push_back(WriteToJson(w));
  j["status"] = StatusToJson(plan.status);
  j["statusChanged"] = plan.status_changed;
  j["events"] = json::array();
  for (const auto& e : plan.events) {
    json ej = {{"type", e.type}, {"reason", e.reason}, {"message", e.message}, {"afterWrites", e.after_writes}};
    if (e.if_stopped) ej["ifStopped"] = true;
    j["events"].push_back(ej);
  }
  j["metrics"] = json::array();
  for (const auto& m : plan.metrics) {
    const char* kind = m.kind == MetricObservation::Kind::kFailover           ? "failover"
                       : m.kind == MetricObservation::Kind::kDetectionLatency ? "detectionLatency"
                                                                              : "switchDuration";
    json mj = {{"kind", kind}, {"from", m.from}, {"to", m.to}, {"reason", m.reason}, {"seconds", m.seconds}};
    if (m.kind == MetricObservation::Kind::kSwitchDuration) mj["startedAt"] = FormatTime(m.started_at);
    j["metrics"].push_back(mj);
  }
  j["requeueAfterMs"] = plan.requeue_after ? json(plan.requeue_after->count()) : json(nullptr);
  return j;
}

}  // namespace failover
