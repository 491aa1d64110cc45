#pragma once

#include <functional>
#include <optional>
#include <string>

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
class PlanExecutor {
 public:
  struct Deps {
    kube::Client* client = nullptr;
    RecentWrites* recent = nullptr;
    HookRunner* hooks = nullptr;  // may be null when no plan calls a hook
    std::function<bool()> may_write;  // leader-election guard; empty = always
    std::function<void(const nlohmann::json& group, const Event& event)> emit;  // may be empty
  };
  struct Result {
    kube::Status status;        // the first failed write of the failed stage, annotated
    bool conflict = false;      // every failure of that stage was a 409: re-read and decide again
    bool waiting_hook = false;  // stopped at a running hook
  };

  explicit PlanExecutor(Deps deps) : deps_(std::move(deps)) {}

  // group is the object the plan was decided from.
  Result Apply(const nlohmann::json& group, const Plan& plan);

 private:
  kube::Status ApplyWrite(const Write& write, const std::string& ns, const std::string& name,
                          std::string* group_rv, std::optional<Time>* switch_started,
                          const nlohmann::json& group, bool* waiting_hook);
  kube::Status CallHookWrite(const CallHook& w, const std::string& ns, const std::string& name,
                             const std::optional<Time>& switch_started, const nlohmann::json& group,
                             bool* waiting_hook);
  void Emit(const nlohmann::json& group, const Event& event);

  Deps deps_;
};

}  // namespace failover
