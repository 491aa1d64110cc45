#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "kube/status.h"

namespace harness {

// The network namespace pods run in: a path such as /run/netns/NAME (`ip netns add`).
// Opened once by the node agent at start; every process started for a pod afterwards
// (containers, exec probes) enters it before exec. Pod IPs then live in that namespace
// as on a real node, not on the host's loopback, which EndpointSlices refuse (1.2x+).
kube::Status SetPodNetworkNamespace(const std::string& path);
// In a forked child: enter the pod namespace if one is set. False (errno set) on failure.
bool EnterPodNetworkNamespace();

// Starts `argv` with exactly `env`, stdout and stderr appended to log_path. The child
// dies with the thread that started it (PR_SET_PDEATHSIG), so start it from a thread
// that outlives it. Returns the pid.
kube::Result<pid_t> StartProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env,
                                 const std::string& log_path);

// How a reaped child ended.
struct ExitInfo {
  int exit_code = 0;  // 128 + signal when killed by a signal
  int signal = 0;
};

// Reaps pid when it has exited; nullopt while it runs.
std::optional<ExitInfo> TryReap(pid_t pid);

// SIGTERM, then SIGKILL once `grace` has passed on `clock`; waits for the exit and reaps.
ExitInfo StopProcess(pid_t pid, std::chrono::milliseconds grace, base::Env& clock);

// Directory of the running executable (/proc/self/exe), without a trailing slash.
std::string ExecutableDir();

}  // namespace harness
