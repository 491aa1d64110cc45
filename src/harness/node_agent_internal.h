#pragma once

// What the node agent's files share; not part of its interface (node_agent.h). The agent
// is split by job: node_agent.cpp (the pod table, the watch on this node's pods, the
// threads), node_agent_worker.cpp (a process pod's containers: start, probe, restart,
// stop), node_agent_status.cpp (pod status writes, deletion, pods without a process, the
// Node heartbeat and Lease), node_agent_pod_spec.cpp (reading a Pod object).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/env.h"
#include "harness/node_agent.h"
#include "harness/pod_status.h"

namespace harness {
namespace node_agent_internal {

// One log line, stamped with env's wall clock; each "%s" in fmt takes the next argument.
void Log(const base::Env& env, const std::string& fmt, const std::string& a = "", const std::string& b = "",
         const std::string& c = "");

}  // namespace node_agent_internal

// One pod bound to this node. spec/gone are written by the watch thread under mu.
struct NodeAgent::PodRecord {
  std::mutex mu;
  std::condition_variable cv;
  PodSpec spec;
  bool gone = false;      // the apiserver no longer has it
  bool finished = false;  // its worker is done; the sync loop may forget it
  bool process_pod = false;
  bool terminal = false;  // found Succeeded/Failed: never run again, only finish deletion
  std::string pod_ip;
  std::string ip_error;
  std::string start_time;
  ConditionClock clock;
  std::string last_written;  // the status JSON last written
  base::Env::SteadyTime retry_at{};
  std::thread worker;
  std::string ns, name, uid;
  base::Env::SteadyTime delete_sent{};
};

}  // namespace harness
