#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "harness/node_agent.h"
#include "harness/node_agent_internal.h"
#include "harness/process.h"

// A process pod's worker thread: starts its demo-app containers, probes them, restarts
// them by restartPolicy with crash back-off, stops them on deletion or when the agent
// stops, and writes the pod's status as it changes.

namespace harness {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using node_agent_internal::Log;

// A demo-app container's process and probe state.
struct NodeAgent::ContainerRuntime {
  ContainerView view;
  pid_t pid = 0;
  base::Env::SteadyTime started{};
  base::Env::SteadyTime next_start{};
  base::Env::SteadyTime next_readiness{};
  base::Env::SteadyTime next_liveness{};
  int crashes = 0;
  bool ever_started = false;
  std::optional<ProbeTracker> readiness;
  std::optional<ProbeTracker> liveness;
};

namespace {

milliseconds CrashBackoff(int crashes) {
  if (crashes <= 1) return milliseconds(0);
  int64_t ms = 500LL << std::min(crashes - 2, 6);
  return milliseconds(std::min<int64_t>(ms, 16000));
}

void WritePidFile(const std::string& path, pid_t pid) {
  std::ofstream f(path, std::ios::trunc);
  f << pid << "\n";
}

}  // namespace

void NodeAgent::PodWorker(std::shared_ptr<PodRecord> rec) {
  const std::string dir = PodDir(*rec);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  PodSpec spec;
  {
    std::lock_guard<std::mutex> lock(rec->mu);
    spec = rec->spec;
  }
  std::vector<ContainerRuntime> containers(spec.containers.size());
  for (size_t i = 0; i < containers.size(); ++i) {
    auto& c = containers[i];
    c.view.name = spec.containers[i].name;
    c.view.image = spec.containers[i].image;
    c.view.reason = "ContainerCreating";
    if (auto prior = spec.containers[i].status_restart_count) {
      c.view.restart_count = *prior;
      c.ever_started = true;
    }
  }
  auto stop_all = [&](milliseconds grace, const char* why) {
    for (auto& c : containers) {
      if (c.pid <= 0) continue;
      Log(env_, "pod %s/%s: stopping container (%s)", rec->ns, rec->name, why);
      ExitInfo info = StopProcess(c.pid, grace, env_);
      c.pid = 0;
      c.view.state = ContainerView::State::kTerminated;
      c.view.exit_code = info.exit_code;
      c.view.reason = info.exit_code == 0 ? "Completed" : "Error";
      c.view.finished_at = NowRfc3339(env_);
      c.view.ready = false;
      c.view.started = false;
      std::filesystem::remove(dir + "/" + c.view.name + ".pid", ec);
    }
  };
  auto handle_exit = [&](ContainerRuntime& c, const ContainerSpec& cs, const ExitInfo& info,
                         const std::string& why) {
    c.pid = 0;
    std::filesystem::remove(dir + "/" + cs.name + ".pid", ec);
    json term = {{"exitCode", info.exit_code},
                 {"reason", why.empty() ? (info.exit_code == 0 ? "Completed" : "Error") : why},
                 {"startedAt", c.view.started_at},
                 {"finishedAt", NowRfc3339(env_)}};
    c.view.ready = false;
    c.view.started = false;
    if (c.readiness) c.readiness->Reset();
    if (c.liveness) c.liveness->Reset();
    bool restart = spec.restart_policy == "Always" ||
                   (spec.restart_policy == "OnFailure" && info.exit_code != 0);
    if (env_.Now() - c.started >= seconds(30)) c.crashes = 0;
    ++c.crashes;
    Log(env_, "pod %s/%s: container exited with code %s", rec->ns, rec->name,
        std::to_string(info.exit_code));
    if (restart) {
      milliseconds delay = CrashBackoff(c.crashes);
      c.view.state = ContainerView::State::kWaiting;
      c.view.reason = delay.count() > 0 ? "CrashLoopBackOff" : "ContainerCreating";
      c.view.message = delay.count() > 0 ? "back-off " + std::to_string(delay.count()) +
                                               "ms restarting failed container=" + cs.name +
                                               " pod=" + rec->name + "_" + rec->ns
                                         : "";
      c.view.last_state = json{{"terminated", term}};
      c.next_start = env_.Now() + delay;
    } else {
      c.view.state = ContainerView::State::kTerminated;
      c.view.exit_code = info.exit_code;
      c.view.reason = term["reason"].get<std::string>();
      c.view.finished_at = term["finishedAt"].get<std::string>();
    }
  };

  bool deletion_done = false;
  while (true) {
    bool gone;
    {
      std::lock_guard<std::mutex> lock(rec->mu);
      spec = rec->spec;
      gone = rec->gone;
    }
    if (stopping_) {
      stop_all(milliseconds(2000), "node agent stopping");
      break;
    }
    if (gone) {
      stop_all(milliseconds(2000), "pod deleted");
      break;
    }
    if (spec.deleting && !deletion_done) {
      int64_t grace = spec.deletion_grace_seconds.value_or(spec.termination_grace_seconds);
      grace = std::max<int64_t>(0, std::min(grace, spec.termination_grace_seconds));
      stop_all(milliseconds(grace * 1000), "pod deletion");
      for (auto& c : containers) {
        if (c.view.state != ContainerView::State::kTerminated) {
          c.view.state = ContainerView::State::kTerminated;
          c.view.exit_code = 0;
          c.view.reason = "Completed";
          c.view.finished_at = NowRfc3339(env_);
          c.view.ready = false;
        }
      }
      deletion_done = true;
    }
    auto now = env_.Now();
    base::Env::SteadyTime wake = now + milliseconds(100);
    if (!spec.deleting) {
      for (size_t i = 0; i < containers.size() && i < spec.containers.size(); ++i) {
        auto& c = containers[i];
        const ContainerSpec& cs = spec.containers[i];
        if (cs.kind == ImageKind::kVirtual) {
          c.view.state = ContainerView::State::kRunning;
          c.view.started_at = rec->start_time;
          c.view.started = true;
          c.view.ready = spec.ready_annotation != "false";
          c.view.reason.clear();
          continue;
        }
        if (c.pid > 0) {
          if (auto info = TryReap(c.pid)) {
            handle_exit(c, cs, *info, "");
            continue;
          }
          if (cs.liveness && now >= c.next_liveness) {
            if (!c.liveness) c.liveness.emplace(cs.liveness->success_threshold, cs.liveness->failure_threshold, true);
            auto container_env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
            ProbeOutcome out = RunProbe(*cs.liveness, rec->pod_ip, container_env, env_);
            c.next_liveness = env_.Now() + seconds(cs.liveness->period_seconds);
            if (c.liveness->Observe(out.success) && !c.liveness->result()) {
              Log(env_, "pod %s/%s: liveness probe failed (%s); restarting", rec->ns, rec->name, out.message);
              int64_t grace = std::max<int64_t>(0, spec.termination_grace_seconds);
              ExitInfo info = StopProcess(c.pid, milliseconds(grace * 1000), env_);
              handle_exit(c, cs, info, "Error");
              continue;
            }
          }
          if (cs.readiness && now >= c.next_readiness) {
            if (!c.readiness) c.readiness.emplace(cs.readiness->success_threshold, cs.readiness->failure_threshold, false);
            auto container_env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
            ProbeOutcome out = RunProbe(*cs.readiness, rec->pod_ip, container_env, env_);
            c.next_readiness = env_.Now() + seconds(cs.readiness->period_seconds);
            if (c.readiness->Observe(out.success)) {
              Log(env_, "pod %s/%s: readiness now %s", rec->ns, rec->name,
                  c.readiness->result() ? "true" : "false (" + out.message + ")");
            }
          }
          c.view.ready = cs.readiness ? (c.readiness && c.readiness->result()) : true;
          if (cs.readiness) wake = std::min(wake, c.next_readiness);
          if (cs.liveness) wake = std::min(wake, c.next_liveness);
          continue;
        }
        if (c.view.state == ContainerView::State::kWaiting && now >= c.next_start) {
          std::vector<std::string> argv{options_.demo_app_path};
          argv.insert(argv.end(), cs.args.begin(), cs.args.end());
          auto env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
          auto pid = StartProcess(argv, env, dir + "/" + cs.name + ".log");
          if (!pid.ok()) {
            c.view.reason = "RunContainerError";
            c.view.message = pid.status().message();
            ++c.crashes;
            c.next_start = now + std::max(CrashBackoff(c.crashes), milliseconds(1000));
            continue;
          }
          c.pid = *pid;
          WritePidFile(dir + "/" + cs.name + ".pid", c.pid);
          if (c.ever_started) ++c.view.restart_count;
          c.ever_started = true;
          c.started = env_.Now();
          c.view.state = ContainerView::State::kRunning;
          c.view.started_at = NowRfc3339(env_);
          c.view.started = true;
          c.view.reason.clear();
          c.view.message.clear();
          c.view.ready = !cs.readiness;
          if (cs.readiness) c.next_readiness = c.started + seconds(cs.readiness->initial_delay_seconds);
          if (cs.liveness) c.next_liveness = c.started + seconds(cs.liveness->initial_delay_seconds);
          Log(env_, "pod %s/%s: started pid %s", rec->ns, rec->name, std::to_string(c.pid));
          wake = std::min(wake, now + milliseconds(50));
        } else if (c.view.state == ContainerView::State::kWaiting) {
          wake = std::min(wake, c.next_start);
        }
      }
    }
    PodView view;
    view.pod_ip = rec->pod_ip;
    view.host_ip = options_.node_ip;
    view.start_time = rec->start_time;
    for (const auto& c : containers) view.containers.push_back(c.view);
    view.phase = PodPhase(view.containers, spec.restart_policy);
    if (spec.deleting) {
      bool failed = false;
      for (const auto& c : containers) failed = failed || c.view.exit_code != 0;
      view.phase = failed ? "Failed" : "Succeeded";
    }
    if (!spec.containers.empty() && !containers.empty() &&
        spec.containers[0].probe_error.size() > 0) {
      view.message = spec.containers[0].probe_error;
    }
    bool written = WriteStatus(*rec, view);
    if (spec.deleting && written) FinishDeletion(*rec);
    std::unique_lock<std::mutex> lock(rec->mu);
    env_.WaitUntil(lock, rec->cv, std::max(wake, env_.Now() + milliseconds(10)),
                   [&] { return rec->gone || stopping_.load(); });
  }
  std::lock_guard<std::mutex> lock(mu_);
  rec->finished = true;
  cv_.notify_all();
}

}  // namespace harness
