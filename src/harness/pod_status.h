#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"

namespace harness {

// What the agent knows about one container, in kubelet's terms.
struct ContainerView {
  enum class State { kWaiting, kRunning, kTerminated };
  std::string name;
  std::string image;
  State state = State::kWaiting;
  std::string reason;   // waiting / terminated reason
  std::string message;
  int exit_code = 0;    // terminated
  std::string started_at;   // running / terminated (RFC 3339)
  std::string finished_at;  // terminated
  bool ready = false;
  bool started = false;
  int restart_count = 0;
  nlohmann::json last_state = nlohmann::json::object();  // {"terminated": {...}} or {}
};

// What the agent knows about one pod; rendered into core/v1 PodStatus by RenderPodStatus.
struct PodView {
  std::string phase = "Pending";  // Pending | Running | Succeeded | Failed
  std::string reason;             // pod-level reason (e.g. UnsupportedImage)
  std::string message;
  std::string pod_ip;
  std::string host_ip;
  std::string start_time;
  std::vector<ContainerView> containers;
};

// The last status and transition time the agent reported for each pod condition, so a
// lastTransitionTime changes only when that condition's status flips.
class ConditionClock {
 public:
  // Seeds from a pod's existing status.conditions (an agent restart keeps the times).
  void Seed(const nlohmann::json& conditions);
  // The transition time for `type` now being `status` ("True"/"False").
  std::string Transition(const std::string& type, const std::string& status,
                         const std::string& now);

 private:
  struct Entry {
    std::string status;
    std::string since;
  };
  std::map<std::string, Entry> entries_;
};

// Phase from the container states and restartPolicy (Always | OnFailure | Never), as
// kubelet computes it: Running while any container runs or will be restarted;
// Succeeded when all exited 0 and none restarts; Failed when all stopped, some failed,
// and none restarts.
std::string PodPhase(const std::vector<ContainerView>& containers, const std::string& restart_policy);

// core/v1 PodStatus JSON: phase, reason/message, podIP(s), hostIP, startTime,
// containerStatuses and the four conditions (PodScheduled, Initialized,
// ContainersReady, Ready). reason/message are null when empty so a merge patch clears
// them. Deterministic for the same inputs and clock state.
nlohmann::json RenderPodStatus(const PodView& pod, ConditionClock* clock, const std::string& now);

// A merge patch body writing `status` (lists replace whole; null fields are removed) to
// a pod; metadata.uid makes the apiserver refuse it for another pod reusing the name.
nlohmann::json StatusPatch(const std::string& uid, const nlohmann::json& status);

// RFC 3339 UTC with seconds ("2026-01-02T03:04:05Z") for a time_t, and for env's wall
// clock now.
std::string Rfc3339(long long unix_seconds);
std::string NowRfc3339(const base::Env& env);

}  // namespace harness
