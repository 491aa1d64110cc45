// failover-node-agent: the kubelet stand-in for one node of the local cluster.
//   failover-node-agent --kubeconfig K --node-name NAME --node-ip IP --pod-cidr CIDR
//                       [--state-dir DIR] [--demo-app PATH] [--no-register-node]
//                       [--kube-api-qps Q] [--kube-api-burst B] [--schedule]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/env.h"
#include "base/flags.h"
#include "harness/node_agent.h"
#include "harness/process.h"
#include "kube/client.h"
#include "kube/config.h"

namespace harness {
namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: failover-node-agent --kubeconfig K --node-name NAME --node-ip IP "
               "--pod-cidr CIDR [--pod-netns NAME|PATH] [--state-dir DIR] [--demo-app PATH]\n"
               "  [--no-register-node]\n"
               "       [--kube-api-qps Q (500; <= 0 unlimited)] [--kube-api-burst B (1000)]\n"
               "       [--schedule (bind unscheduled pods that fit this node)]\n");
}

int Run(int argc, char** argv) {
  std::string kubeconfig;
  double qps = 500;
  int burst = 1000;
  NodeAgentOptions opts;
  std::string pod_netns;
  bool no_register_node = false;
  base::FlagSet flags;
  flags.String("--kubeconfig", &kubeconfig);
  flags.String("--node-name", &opts.node_name);
  flags.String("--node-ip", &opts.node_ip);
  flags.String("--pod-cidr", &opts.pod_cidr);
  flags.String("--state-dir", &opts.state_dir);
  flags.String("--demo-app", &opts.demo_app_path);
  flags.Double("--kube-api-qps", &qps);
  flags.Int("--kube-api-burst", &burst, 1);
  flags.String("--pod-netns", &pod_netns);
  flags.Bool("--no-register-node", &no_register_node);
  flags.Bool("--schedule", &opts.schedule);
  if (auto exit_code = base::ReadProgramFlags(flags, argc, argv, "failover-node-agent", Usage)) {
    return *exit_code;
  }
  if (no_register_node) opts.register_node = false;
  if (opts.node_name.empty() || opts.node_ip.empty() || opts.pod_cidr.empty()) {
    std::fprintf(stderr, "failover-node-agent: --node-name, --node-ip and --pod-cidr are required\n");
    Usage();
    return 2;
  }
  if (opts.demo_app_path.empty()) opts.demo_app_path = ExecutableDir() + "/failover-demo-app";
  if (opts.state_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    opts.state_dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/failover-node-agent/" + opts.node_name + "-" + opts.node_ip;
  }
  if (!pod_netns.empty()) {
    if (pod_netns.find('/') == std::string::npos) pod_netns = "/run/netns/" + pod_netns;
    if (auto s = SetPodNetworkNamespace(pod_netns); !s.ok()) {
      std::fprintf(stderr, "failover-node-agent: %s\n", s.message().c_str());
      return 2;
    }
  }
  auto allocator = PodIPAllocator::Create(opts.pod_cidr, opts.node_ip);
  if (!allocator.ok()) {
    std::fprintf(stderr, "failover-node-agent: %s\n", allocator.status().message().c_str());
    return 2;
  }
  auto config = kube::LoadConfig(kubeconfig);
  if (!config.ok()) {
    std::fprintf(stderr, "failover-node-agent: %s\n", config.status().ToString().c_str());
    return 1;
  }
  // The process's clocks, for the client and the agent alike.
  base::Env& env = base::RealEnv();
  config->env = &env;
  config->user_agent = "failover-node-agent/" + opts.node_name;
  config->qps = qps;
  config->burst = burst;
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "failover-node-agent: %s\n", client.status().ToString().c_str());
    return 1;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  NodeAgent agent(*client, opts, std::move(*allocator), env);
  std::fprintf(stderr, "failover-node-agent: node %s ip %s pod CIDR %s state %s demo app %s\n",
               opts.node_name.c_str(), opts.node_ip.c_str(), opts.pod_cidr.c_str(),
               opts.state_dir.c_str(), opts.demo_app_path.c_str());
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0) std::fprintf(stderr, "failover-node-agent: signal %d, stopping\n", sig);
    agent.Stop();
  });
  agent.Run();
  // Run() also returns when the agent stops by itself; wake the signal thread.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return 0;
}

}  // namespace
}  // namespace harness

int main(int argc, char** argv) { return harness::Run(argc, argv); }
