#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "failover/engine.h"
#include "failover/hook_client.h"
#include "failover/recent_writes.h"
#include "kube/client.h"

namespace failover {

// Applies a plan stage by stage: the writes of a stage are issued at once (one thread
// each; the kube client is thread-safe) and all are waited for; the plan stops after a
// stage in which one failed, or at a hook that is still running. Every write is checked
// against the leader-election guard first. Group writes carry the resourceVersion the
// previous group write returned (the first, the object's), so a group changed by anyone
// else in between is a conflict, never an overwrite. Events are emitted once the writes
// before them succeeded (checked at the end of each stage; an if_stopped Event only when
// the plan stops early). Every object written is remembered in RecentWrites as the cache
// would hold it.
//
// Fenced on the state it was decided from: no write that moves traffic or roles (Service,
// pod labels, pod deletion, hook) goes out until the group is known unchanged on the server
// since the decision: a group write earlier in the plan (it carries the resourceVersion; in a
// stage that also moves traffic it goes alone, first) or, in a plan without one, a read of
// the group compared by resourceVersion. A changed or deleted group is a conflict (the
// reconciler re-reads and decides again); nothing moved.
class PlanExecutor {
 public:
  struct Deps {
    kube::Client* client = nullptr;
    RecentWrites* recent = nullptr;
    HookRunner* hooks = nullptr;  // may be null when no plan calls a hook
    std::function<bool()> may_write;  // leader-election guard; empty = always
    std::function<void(const nlohmann::json& group, const Event& event)> emit;  // may be empty
    // Stop a switch's plan once its Services moved (the stage of Service writes carrying the
    // switch record), leaving the role labels and the status to the next reconcile, which
    // finishes the switch from the record (see Result::handed_off). Plans that call a hook
    // run through.
    bool hand_off_after_traffic = true;
    // The clock the phases of a switch are stamped with (Transition's traffic_moved_at and
    // roles_done_at in the status that books it, Result::booked); unset = none stamped.
    std::function<Time()> now = nullptr;
  };
  struct Result {
    kube::Status status;        // the first failed write of the failed stage, annotated
    bool conflict = false;      // every failure of that stage was a 409: re-read and decide again
    bool waiting_hook = false;  // stopped at a running hook
    // Stopped, on purpose, right after the stage that moved traffic: requeue the group at
    // once (behind the groups already waiting, whose traffic moves first in a storm).
    bool handed_off = false;
    // The switch this plan booked, as its status was written (phases stamped), and when
    // that status write landed (Deps::now); unset when the plan booked none or stopped.
    std::optional<Transition> booked = {};
    Time status_written_at{};
  };

  explicit PlanExecutor(Deps deps) : deps_(std::move(deps)) {}

  // group is the object the plan was decided from.
  Result Apply(const nlohmann::json& group, const Plan& plan);
  // The group is gone: what was remembered of its switch in flight is dropped.
  void Forget(const std::string& group_key);

 private:
  kube::Status ApplyWrite(const Write& write, const std::string& ns, const std::string& name,
                          std::string* group_rv, const nlohmann::json& group, bool* waiting_hook);
  kube::Status CallHookWrite(const CallHook& w, const std::string& ns, const std::string& name,
                             const nlohmann::json& group, bool* waiting_hook);
  // OK when group ns/name on the server still has resourceVersion group_rv; a conflict
  // when it changed or is gone.
  kube::Status CheckGroupFresh(const std::string& ns, const std::string& name, const std::string& group_rv);
  void Emit(const nlohmann::json& group, const Event& event);
  // A copy of a status write with the phases known of the switch its lastTransition books
  // (seq > 0) filled in where unset: traffic moved (this plan's Service writes, or a plan
  // that handed off), roles done (this plan's marker). nullopt: nothing to add.
  std::optional<UpdateStatus> Stamped(const std::string& group_key, const UpdateStatus& w,
                                      const std::optional<std::pair<int64_t, Time>>& traffic,
                                      const std::optional<Time>& roles_done);

  Deps deps_;
  // When the Services of a group's switch (by its number) moved, kept from the plan that
  // moved them to the plan that books the switch (the fast path's hand-off).
  std::mutex mu_;
  std::map<std::string, std::pair<int64_t, Time>> traffic_moved_;
};

}  // namespace failover
