#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>

#include "failover/engine.h"
#include "failover/plan_json.h"
#include "failover/validate.h"
#include "world.h"

namespace failover {
namespace {

using namespace std::chrono_literals;
using testing::T;
using testing::World;

const std::vector<std::string> kMembers = {"a", "b", "c"};

Spec RandomSpec(std::mt19937& rng, Mode mode, std::optional<SwitchStrategy> strategy) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  Spec s;
  s.mode = mode;
  for (const auto& m : kMembers) {
    Member member;
    member.name = m;
    member.selector.match_labels = {{"app", "db"}, {"site", m}};
    member.min_ready = m == "a" ? 1 + pick(2) : 1;
    if (pick(4) == 0) member.priority = pick(3);
    s.members.push_back(member);
  }
  s.services = {{"db"}, {"db-ro"}};
  s.detection.unhealthy_for = std::vector<Duration>{0s, 1s, 5s}[static_cast<size_t>(pick(3))];
  s.strategy = strategy ? *strategy
                        : (pick(2) ? SwitchStrategy::kBreakBeforeMake : SwitchStrategy::kMakeBeforeBreak);
  s.failback.policy = pick(2) ? FailbackPolicy::kAutomatic : FailbackPolicy::kManual;
  s.failback.stabilization_window = std::vector<Duration>{0s, 3s, 10s}[static_cast<size_t>(pick(3))];
  s.anti_flap.max_failovers = 1 + pick(4);
  s.anti_flap.window = 60s;
  s.fencing = std::vector<FencingPolicy>{FencingPolicy::kNone, FencingPolicy::kLabel,
                                         FencingPolicy::kDeletePods}[static_cast<size_t>(pick(3))];
  if (pick(3) == 0) s.max_lag = MaxLag{10.0, std::nullopt};
  if (pick(4) == 0) s.pre_promote = Hook{"http://hooks/pre", 5s, 0, HookFailurePolicy::kAbort};
  if (pick(4) == 0) s.post_promote = Hook{"http://hooks/post", 5s, 0, HookFailurePolicy::kIgnore};
  return s;
}

World RandomWorld() {
  World w;
  for (const char* p : {"a-0", "a-1", "b-0", "b-1", "c-0"}) {
    w.AddPod(p, {{"app", "db"}, {"site", std::string(1, p[0])}}, true, T(-1000));
    w.pods.at(p).annotations[keys::kLagSeconds] = "1";
  }
  w.AddService("db", {{"app", "db"}, {"site", "a"}});
  w.AddService("db-ro", {{"app", "db"}, {"site", "a"}});
  w.group.created_at = T(0);  // created with the run: the first election may wait (initialWait)
  return w;
}

struct Oracle {
  const Spec& spec;
  const World& world;

  int Ready(const std::string& member) const {
    int n = 0;
    for (const auto& [name, p] : world.pods) {
      if (p.labels.count("site") && p.labels.at("site") == member && p.ready && !p.terminating) ++n;
    }
    return n;
  }
  bool Healthy(const std::string& member) const {
    return Ready(member) >= spec.members[static_cast<size_t>(spec.MemberIndex(member))].min_ready;
  }
  bool LagOk(const std::string& member) const {
    if (!spec.max_lag) return true;
    bool known = false;
    for (const auto& [name, p] : world.pods) {
      if (!p.labels.count("site") || p.labels.at("site") != member || !p.ready || p.terminating) continue;
      auto it = p.annotations.find(keys::kLagSeconds);
      if (it == p.annotations.end()) continue;
      known = true;
      if (std::stod(it->second) > *spec.max_lag->seconds) return false;
    }
    return known;
  }
  // Not healthy, and the group or the latest of its pods created less than initialWait
  // ago: the first election may wait for it.
  bool Starting(const std::string& member, Time now) const {
    if (Healthy(member)) return false;
    Time newest = world.group.created_at;
    for (const auto& [name, p] : world.pods) {
      if (!p.labels.count("site") || p.labels.at("site") != member || p.terminating) continue;
      newest = std::max(newest, p.created_at);
    }
    return now < newest + spec.detection.initial_wait;
  }
  // A switch given up at promotion.switchTimeout holds automatic switches for as long again.
  bool TimeoutHold(Time now) const {
    const auto& t = world.status.timed_out_switch;
    return t && now < t->timed_out_at + spec.switch_timeout;
  }
  bool BudgetLeft(Time now) const {
    int n = 0;
    for (Time t : world.status.recent_failovers) n += (t > now - spec.anti_flap.window) ? 1 : 0;
    return n < spec.anti_flap.max_failovers;
  }
};

// One random change to the world (what kubelet, controllers and users do).
void Mutate(std::mt19937& rng, World& w, Time now) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::vector<std::string> names;
  for (const auto& [name, p] : w.pods) names.push_back(name);
  const std::string& pod = names[static_cast<size_t>(pick(static_cast<int>(names.size())))];
  switch (pick(10)) {
    case 0:
    case 1:
    case 2:
      w.pods.at(pod).ready = !w.pods.at(pod).ready;
      break;
    case 3: {  // a whole member goes down or comes back
      std::string m = kMembers[static_cast<size_t>(pick(3))];
      bool ready = pick(2) == 0;
      for (auto& [name, p] : w.pods) {
        if (name[0] == m[0]) p.ready = ready;
      }
      break;
    }
    case 4:
      w.pods.at(pod).terminating = true;
      break;
    case 5:
      w.pods.at(pod).annotations[keys::kLagSeconds] = std::to_string(pick(2) ? 1 : 30);
      break;
    case 6:
      if (pick(3) == 0) {
        w.group.annotations[keys::kSwitchoverTo] = pick(5) == 0 ? "nope" : kMembers[static_cast<size_t>(pick(3))];
      }
      break;
    case 7:
      if (pick(4) == 0) {  // someone edits a Service selector (never to more pods than one member's)
        auto& sel = w.services.at(pick(2) ? "db" : "db-ro").selector;
        if (pick(2)) {
          sel.erase(keys::kEligible);
        } else {
          sel[keys::kMember] = kMembers[static_cast<size_t>(pick(3))];
        }
      }
      break;
    default:
      break;
  }
  // Terminating pods go away after a while and their controller recreates them.
  for (auto& name : names) {
    auto& p = w.pods.at(name);
    if (p.terminating && pick(3) == 0) {
      std::string site = p.labels.at("site");
      w.pods.erase(name);
      w.AddPod(name, {{"app", "db"}, {"site", site}}, pick(2) == 0, now);
      w.pods.at(name).uid = "uid-" + name + "-" + std::to_string(now.time_since_epoch().count());
    }
  }
}

bool ChangesPodsOrServices(const Write& w) {
  return std::holds_alternative<PatchPodLabels>(w) || std::holds_alternative<DeletePod>(w) ||
         std::holds_alternative<PatchService>(w);
}

// Stages the reconciler may issue in parallel: one group write at most (its resourceVersion
// chains them), a hook alone; prePromote before every pod or Service change and after the
// intent, postPromote after them.
void CheckStages(const Plan& plan, const Status& previous, const std::string& ctx) {
  std::vector<StageRange> stages = Stages(plan);
  size_t total = 0;
  std::optional<size_t> pre, post, first_change, last_change, intent;
  for (size_t k = 0; k < stages.size(); ++k) {
    const StageRange& st = stages[k];
    ASSERT_LT(st.begin, st.end) << ctx;
    ASSERT_EQ(st.begin, total) << ctx;
    total = st.end;
    int group_writes = 0;
    for (size_t i = st.begin; i < st.end; ++i) {
      const Write& w = plan.writes[i];
      group_writes += IsGroupWrite(w) ? 1 : 0;
      if (auto* h = std::get_if<CallHook>(&w)) {
        ASSERT_EQ(st.end - st.begin, 1u) << ctx << ": a hook shares its stage";
        (h->phase == HookPhase::kPrePromote ? pre : post) = k;
      }
      if (ChangesPodsOrServices(w)) {
        if (!first_change) first_change = k;
        last_change = k;
      }
      auto* u = std::get_if<UpdateStatus>(&w);
      if (u && u->status.switch_record && !intent) intent = k;
    }
    ASSERT_LE(group_writes, 1) << ctx << ": two group writes in stage " << k;
  }
  ASSERT_EQ(total, plan.writes.size()) << ctx;
  if (pre) {
    ASSERT_TRUE(previous.switch_record || (intent && *intent < *pre)) << ctx << ": prePromote before the intent is recorded";
    ASSERT_TRUE(!first_change || *pre < *first_change) << ctx << ": prePromote after a change";
  }
  if (post) {
    ASSERT_TRUE(!last_change || *last_change < *post) << ctx << ": postPromote before a change";
  }
}

// The plan ends a switch at promotion.switchTimeout (given up, or finished on its target).
bool HasSwitchTimedOut(const Plan& plan, const Status& previous) {
  if (plan.status.timed_out_switch && plan.status.timed_out_switch != previous.timed_out_switch) return true;
  for (const auto& e : plan.events) {
    if (e.reason == "SwitchTimedOut") return true;
  }
  return false;
}

struct RunStats {
  int steps = 0;
  int switches = 0;
  int crashes = 0;
  int partial_stages = 0;  // crashes inside a stage of several writes
  int writes = 0;
  int timeouts = 0;  // switches that reached promotion.switchTimeout
};

// Runs `steps` random steps; checks every invariant after every write.
void RunSequence(uint32_t seed, Mode mode, std::optional<SwitchStrategy> strategy, int steps, RunStats& stats) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  Spec spec = RandomSpec(rng, mode, strategy);
  // Short enough that a switch cut short several plans in a row times out (taken from the
  // seed, not the generator, so that the sequences stay what they were).
  spec.switch_timeout = std::vector<Duration>{15s, 30s, 5min}[seed % 3];
  ASSERT_TRUE(Validate(spec).empty());
  World world = RandomWorld();
  Time now = T(0);
  const bool check_single_active =
      mode == Mode::kActivePassive && spec.strategy == SwitchStrategy::kBreakBeforeMake;
  std::string ctx = "seed " + std::to_string(seed);

  for (int step = 0; step < steps; ++step) {
    ++stats.steps;
    now += Duration(pick(8000));
    int changes = pick(3);
    for (int i = 0; i < changes; ++i) Mutate(rng, world, now);
    if (pick(60) == 0) spec.paused = !spec.paused;
    if (pick(60) == 0) spec.dry_run = !spec.dry_run;

    Observed observed = world.Observe();
    Plan plan = Decide(spec, observed, world.status, now);

    // Same inputs, same plan (whatever order the cache lists things in).
    Observed shuffled = observed;
    std::shuffle(shuffled.pods.begin(), shuffled.pods.end(), rng);
    std::shuffle(shuffled.services.begin(), shuffled.services.end(), rng);
    Status stored = ParseStatus(StatusToJson(world.status));
    ASSERT_EQ(PlanToJson(plan).dump(), PlanToJson(Decide(spec, shuffled, stored, now)).dump())
        << ctx << " step " << step;

    if (spec.paused || spec.dry_run) {
      for (const auto& w : plan.writes) {
        ASSERT_TRUE(std::holds_alternative<UpdateStatus>(w)) << ctx << ": paused/dryRun wrote " << Describe(w);
      }
    }
    CheckStages(plan, world.status, ctx + " step " + std::to_string(step));
    if (::testing::Test::HasFatalFailure()) return;
    // The writes of a stage land in any order; a crash (or a failed write) stops the plan
    // after any subset of one stage, every earlier stage complete.
    const std::vector<StageRange> stages = Stages(plan);
    bool crash = pick(3) == 0 && plan.writes.size() > 1;
    size_t crash_stage = crash ? static_cast<size_t>(pick(static_cast<int>(stages.size()))) : stages.size();
    std::vector<size_t> order;
    for (size_t k = 0; k < stages.size() && k <= crash_stage; ++k) {
      std::vector<size_t> stage;
      for (size_t i = stages[k].begin; i < stages[k].end; ++i) stage.push_back(i);
      std::shuffle(stage.begin(), stage.end(), rng);
      if (k == crash_stage) stage.resize(static_cast<size_t>(pick(static_cast<int>(stage.size()))));
      order.insert(order.end(), stage.begin(), stage.end());
    }
    stats.crashes += crash ? 1 : 0;
    stats.partial_stages += crash && stages[crash_stage].end - stages[crash_stage].begin > 1 ? 1 : 0;
    stats.switches += static_cast<int>(plan.metrics.size() > 0);
    stats.timeouts += static_cast<int>(HasSwitchTimedOut(plan, world.status));
    const bool check_never_empty = mode == Mode::kActivePassive &&
                                   spec.strategy == SwitchStrategy::kMakeBeforeBreak &&
                                   !world.ServedMembers().empty();
    // MakeBeforeBreak: role=active is on the new member's pods before it leaves the old's.
    const bool check_role_kept = mode == Mode::kActivePassive &&
                                 spec.strategy == SwitchStrategy::kMakeBeforeBreak &&
                                 !world.LabelledActive().empty();
    for (size_t i : order) {
      world.Apply(plan.writes[i]);
      ++stats.writes;
      if (mode == Mode::kActivePassive) {
        // Whatever the strategy: an ActivePassive Service selects pods of one member. (The
        // Services of a group move in one stage: for that moment one may point at the new
        // member and another still at the old.)
        for (const char* svc : {"db", "db-ro"}) {
          ASSERT_LE(world.ServedMembers(svc).size(), 1u)
              << ctx << " step " << step << " Service " << svc << " after write " << i << ": "
              << Describe(plan.writes[i]);
        }
      }
      if (check_role_kept) {
        ASSERT_FALSE(world.LabelledActive().empty())
            << ctx << " step " << step << " MakeBeforeBreak left no pod with role=active after write " << i
            << ": " << Describe(plan.writes[i]);
      }
      if (check_never_empty) {
        ASSERT_FALSE(world.ServedMembers().empty())
            << ctx << " step " << step << " MakeBeforeBreak left no endpoint after write " << i << ": "
            << Describe(plan.writes[i]);
      }
      if (check_single_active) {
        ASSERT_LE(world.LabelledActive().size(), 1u)
            << ctx << " step " << step << " after write " << i << ": " << Describe(plan.writes[i]);
      }
    }
    if (crash || spec.paused || spec.dry_run) continue;

    Oracle o{spec, world};
    if (mode == Mode::kActivePassive) {
      // Never a Service left on an unhealthy member when a healthy one may take over.
      const auto& sel = world.services.at("db").selector;
      std::string active = sel.count(keys::kMember) ? sel.at(keys::kMember) : "";
      bool some_healthy = false, some_takeover = false, some_starting = false;
      for (const auto& m : kMembers) {
        some_healthy |= o.Healthy(m);
        some_takeover |= m != active && o.Healthy(m) && o.LagOk(m);
        some_starting |= o.Starting(m, now);
      }
      if (active.empty()) {
        ASSERT_TRUE(!some_healthy || (some_starting && world.status.phase == "Pending"))
            << ctx << " step " << step << ": no Service target with a healthy member and none starting";
      } else if (!o.Healthy(active) && some_takeover) {
        const MemberStatus* ms = world.status.FindMember(active);
        ASSERT_NE(ms, nullptr);
        bool window_open = now - ms->since < spec.detection.unhealthy_for;
        ASSERT_TRUE(window_open || !o.BudgetLeft(now) || o.TimeoutHold(now))
            << ctx << " step " << step << ": Service on unhealthy " << active << " since "
            << FormatTime(ms->since) << " at " << FormatTime(now);
      }
      // Once a member is elected the operator steers both Services alike; before that they are
      // still their owner's (an edit to one of them is left alone).
      if (!world.status.active_member.empty()) {
        ASSERT_EQ(world.services.at("db-ro").selector, world.services.at("db").selector) << ctx;
      }
    } else {
      std::set<std::string> served = world.ServedMembers();
      bool some_healthy = false, healthy_served = false;
      for (const auto& m : kMembers) {
        some_healthy |= o.Healthy(m);
        healthy_served |= o.Healthy(m) && served.count(m);
      }
      ASSERT_TRUE(!some_healthy || healthy_served) << ctx << " step " << step;
    }
    // No stale label: pods outside every member carry none; roles match the status.
    for (const auto& [name, p] : world.pods) {
      if (p.terminating) continue;
      const std::string& member = p.labels.at("site");
      const MemberStatus* ms = world.status.FindMember(member);
      ASSERT_NE(ms, nullptr);
      ASSERT_EQ(p.labels.count(keys::kRole) ? p.labels.at(keys::kRole) : "", RoleLabel(ms->role))
          << ctx << " step " << step << " pod " << name;
    }
    // The world converges: the next plan at the same instant changes at most the status.
    Plan again = Decide(spec, world.Observe(), world.status, now);
    bool failback = !again.metrics.empty() && again.metrics.front().reason == "Failback";
    for (const auto& w : again.writes) {
      // Allowed: a request left for after a resumed switch; a failback due at once (window 0).
      if (world.group.annotations.count(keys::kSwitchoverTo) || failback) break;
      ASSERT_TRUE(std::holds_alternative<UpdateStatus>(w))
          << ctx << " step " << step << ": " << Describe(w) << "\nplan: " << PlanToJson(plan).dump(1)
          << "\nagain: " << PlanToJson(again).dump(1);
    }
    world.Apply(again);
  }
}

TEST(Property, ActivePassiveBreakBeforeMakeNeverTwoActive) {
  RunStats stats;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    RunSequence(seed, Mode::kActivePassive, SwitchStrategy::kBreakBeforeMake, 300, stats);
    if (HasFatalFailure()) return;
  }
  std::cout << "steps " << stats.steps << ", switches " << stats.switches << ", crashes " << stats.crashes
            << " (inside a parallel stage " << stats.partial_stages << "), writes " << stats.writes
            << ", switch timeouts " << stats.timeouts << "\n";
  EXPECT_GT(stats.switches, 100) << "the sequences must exercise failovers";
  EXPECT_GT(stats.timeouts, 0) << "and switches that time out";
  EXPECT_GT(stats.crashes, 100);
  EXPECT_GT(stats.partial_stages, 50);
}

// Either strategy; MakeBeforeBreak never leaves the Services without a pod.
TEST(Property, ActivePassiveEitherStrategy) {
  RunStats stats;
  for (uint32_t seed = 1001; seed <= 1020; ++seed) {
    RunSequence(seed, Mode::kActivePassive, std::nullopt, 300, stats);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(stats.switches, 50);
}

TEST(Property, ActiveActiveHealthyMembersServe) {
  RunStats stats;
  for (uint32_t seed = 2001; seed <= 2020; ++seed) {
    RunSequence(seed, Mode::kActiveActive, std::nullopt, 300, stats);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(stats.switches, 20);
}

}  // namespace
}  // namespace failover
