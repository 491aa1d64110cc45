#include "harness/pod_status.h"

#include "base/rfc3339.h"

namespace harness {

using nlohmann::json;

std::string Rfc3339(long long unix_seconds) {
  return base::FormatRfc3339(base::WallTime{std::chrono::seconds(unix_seconds)}, base::Fraction::kNone);
}

std::string NowRfc3339(const base::Env& env) {
  return base::FormatRfc3339(std::chrono::floor<std::chrono::seconds>(env.WallNow()), base::Fraction::kNone);
}

void ConditionClock::Seed(const json& conditions) {
  if (!conditions.is_array()) return;
  for (const auto& c : conditions) {
    std::string type = c.value("type", "");
    if (type.empty()) continue;
    entries_[type] = Entry{c.value("status", ""), c.value("lastTransitionTime", "")};
  }
}

std::string ConditionClock::Transition(const std::string& type, const std::string& status,
                                       const std::string& now) {
  auto it = entries_.find(type);
  if (it != entries_.end() && it->second.status == status && !it->second.since.empty()) {
    return it->second.since;
  }
  entries_[type] = Entry{status, now};
  return now;
}

std::string PodPhase(const std::vector<ContainerView>& containers,
                     const std::string& restart_policy) {
  if (containers.empty()) return "Pending";
  int running = 0, waiting = 0, succeeded = 0, failed = 0, never_started = 0;
  for (const auto& c : containers) {
    switch (c.state) {
      case ContainerView::State::kRunning:
        ++running;
        break;
      case ContainerView::State::kWaiting:
        ++waiting;
        if (!c.last_state.contains("terminated")) ++never_started;
        break;
      case ContainerView::State::kTerminated:
        if (c.exit_code == 0) ++succeeded; else ++failed;
        break;
    }
  }
  if (never_started > 0) return "Pending";
  if (running > 0 || waiting > 0) return "Running";
  // All terminated and none will be restarted.
  if (restart_policy == "Always") return "Running";
  if (failed > 0) return "Failed";
  return "Succeeded";
}

namespace {

json ContainerStatusJson(const ContainerView& c) {
  json state;
  switch (c.state) {
    case ContainerView::State::kRunning:
      state["running"] = {{"startedAt", c.started_at}};
      break;
    case ContainerView::State::kWaiting: {
      json w = json::object();
      if (!c.reason.empty()) w["reason"] = c.reason;
      if (!c.message.empty()) w["message"] = c.message;
      state["waiting"] = w;
      break;
    }
    case ContainerView::State::kTerminated: {
      json t = {{"exitCode", c.exit_code}};
      if (!c.reason.empty()) t["reason"] = c.reason;
      if (!c.message.empty()) t["message"] = c.message;
      if (!c.started_at.empty()) t["startedAt"] = c.started_at;
      if (!c.finished_at.empty()) t["finishedAt"] = c.finished_at;
      state["terminated"] = t;
      break;
    }
  }
  return json{{"name", c.name},
              {"image", c.image},
              {"imageID", "failover-harness://" + c.image},
              {"ready", c.ready},
              {"started", c.started},
              {"restartCount", c.restart_count},
              {"state", state},
              {"lastState", c.last_state}};
}

}  // namespace

json RenderPodStatus(const PodView& pod, ConditionClock* clock, const std::string& now) {
  json s = json::object();
  s["phase"] = pod.phase;
  s["reason"] = pod.reason.empty() ? json(nullptr) : json(pod.reason);
  s["message"] = pod.message.empty() ? json(nullptr) : json(pod.message);
  if (!pod.host_ip.empty()) s["hostIP"] = pod.host_ip;
  if (!pod.pod_ip.empty()) {
    s["podIP"] = pod.pod_ip;
    s["podIPs"] = json::array({{{"ip", pod.pod_ip}}});
  }
  if (!pod.start_time.empty()) s["startTime"] = pod.start_time;
  // qosClass is the apiserver's to set at creation and immutable since (1.3x); a
  // kubelet computes the same class, so the harness leaves it alone.

  json statuses = json::array();
  std::vector<std::string> unready;
  for (const auto& c : pod.containers) {
    statuses.push_back(ContainerStatusJson(c));
    if (!c.ready) unready.push_back(c.name);
  }
  s["containerStatuses"] = statuses;

  bool all_ready = unready.empty() && !pod.containers.empty();
  if (pod.phase == "Succeeded" || pod.phase == "Failed") all_ready = false;
  std::string names;
  for (const auto& n : unready) names += (names.empty() ? "" : " ") + n;
  auto condition = [&](const std::string& type, bool value, const std::string& reason,
                       const std::string& message) {
    std::string status = value ? "True" : "False";
    json c = {{"type", type},
              {"status", status},
              {"lastProbeTime", nullptr},
              {"lastTransitionTime", clock->Transition(type, status, now)}};
    if (!value && !reason.empty()) c["reason"] = reason;
    if (!value && !message.empty()) c["message"] = message;
    return c;
  };
  std::string why = pod.phase == "Succeeded" || pod.phase == "Failed" ? "PodCompleted"
                                                                        : "ContainersNotReady";
  std::string msg = why == "PodCompleted" ? "" : "containers with unready status: [" + names + "]";
  s["conditions"] = json::array({condition("Initialized", true, "", ""),
                                 condition("Ready", all_ready, why, msg),
                                 condition("ContainersReady", all_ready, why, msg),
                                 condition("PodScheduled", true, "", "")});
  return s;
}

json StatusPatch(const std::string& uid, const json& status) {
  return json{{"metadata", {{"uid", uid}}}, {"status", status}};
}

}  // namespace harness
