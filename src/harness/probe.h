#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"

namespace harness {

// A container probe (core/v1 Probe) with Kubernetes defaults filled in.
struct ProbeSpec {
  enum class Kind { kHttpGet, kTcpSocket, kExec };
  Kind kind = Kind::kTcpSocket;
  std::string host;  // empty = the pod IP
  int port = 0;
  std::string path = "/";
  std::string scheme = "HTTP";
  std::vector<std::pair<std::string, std::string>> http_headers;
  std::vector<std::string> command;  // exec
  int initial_delay_seconds = 0;
  int period_seconds = 10;
  int timeout_seconds = 1;
  int success_threshold = 1;
  int failure_threshold = 3;
};

// Reads container.<field> ("readinessProbe", "livenessProbe"); nullopt when absent.
// A named port is resolved against the container's ports. On an unusable probe
// (no handler, unknown port name) returns nullopt and sets *error.
std::optional<ProbeSpec> ParseProbe(const nlohmann::json& container, const std::string& field,
                                    std::string* error);

// The result of one probe attempt.
struct ProbeOutcome {
  bool success = false;
  std::string message;  // why it failed
};

// Kubelet's per-probe result with thresholds: the reported result flips only after
// successThreshold consecutive successes or failureThreshold consecutive failures.
class ProbeTracker {
 public:
  // initial: the result before any probe (kubelet: false for readiness, true for liveness).
  ProbeTracker(int success_threshold, int failure_threshold, bool initial)
      : success_threshold_(success_threshold),
        failure_threshold_(failure_threshold),
        result_(initial),
        initial_(initial) {}

  // Records one attempt; returns true when the reported result changed.
  bool Observe(bool success);
  // Back to the initial result (a restarted container).
  void Reset();
  bool result() const { return result_; }
  int consecutive() const { return run_; }

 private:
  int success_threshold_;
  int failure_threshold_;
  bool result_;
  bool initial_;
  bool last_ = false;
  int run_ = 0;
};

// Runs one probe against pod_ip, within timeoutSeconds. exec runs the command as a
// local process with `env`, and kills it once timeoutSeconds have passed on `clock`
// (the TCP and HTTP probes' timeouts are their sockets'). Blocks the calling thread for
// at most the timeout.
ProbeOutcome RunProbe(const ProbeSpec& probe, const std::string& pod_ip,
                      const std::vector<std::string>& env, base::Env& clock);

}  // namespace harness
