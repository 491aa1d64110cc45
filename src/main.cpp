// failover-operator: flags and wiring only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/duration.h"
#include "base/flags.h"
#include "base/stop_signals.h"
#include "failover/reconciler.h"
#include "failover/validate.h"
#include "kube/client.h"
#include "kube/config.h"
#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "version.h"

namespace {

const char* const kServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

struct Flags {
  std::string kubeconfig;
  std::string context;
  std::vector<std::string> watch_namespaces;  // empty = all namespaces
  std::string pod_label_selector;
  int workers = 4;
  int hook_threads = 4;
  int probe_threads = 4;
  int hook_calls_per_group = 2;
  int probes_per_group = 2;
  // No client-side rate limit by default: the apiserver's API Priority and Fairness protects
  // it (as controller-runtime does since v0.21); a limit would throttle a failover storm and
  // the lease renewals queued behind it. See docs/install.md, "Operator flags".
  double qps = 0;
  int burst = 100;
  std::chrono::milliseconds watch_timeout{0};  // 0 = kube's default (see kSilentWatchBound)
  bool per_group_histograms = false;
  bool node_leases = true;
  double node_storm_share = 0.55;
  int node_storm_min_nodes = 3;
  std::string zone_label = "topology.kubernetes.io/zone";
  bool version = false;
  bool help = false;
};

std::string Usage() {
  return std::string("Usage: failover-operator [flags]\n\n"
                     "Keeps each FailoverGroup's Services pointed at a healthy member.\n\n"
                     "Flags:\n"
                     "  --kubeconfig=PATH                  kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
                     "  --context=NAME                     kubeconfig context (default: current-context)\n"
                     "  --namespace=NS[,NS...]             watch only these namespaces' groups, pods and Services;\n"
                     "                                     repeatable (default: all namespaces)\n"
                     "  --pod-label-selector=SELECTOR      cache only pods matching this label selector, e.g.\n"
                     "                                     failover.io/managed=true (default: every pod)\n"
                     "  --workers=N                        concurrent reconciles (default 4)\n"
                     "  --hook-threads=N                   threads calling prePromote/postPromote hooks (default 4)\n"
                     "  --hook-calls-per-group=N           hook calls of one group on those threads at once; its others\n"
                     "                                     wait their turn (default 2, 0 = unbounded)\n"
                     "  --probe-threads=N                  threads running detection.probe checks (default 4)\n"
                     "  --probes-per-group=N               probes of one group on those threads at once (default 2,\n"
                     "                                     0 = unbounded)\n"
                     "  --kube-api-qps=Q                   client-side rate limit in requests/s (default 0: none,\n"
                     "                                     the apiserver's API Priority and Fairness limits us)\n"
                     "  --kube-api-burst=N                 client-side burst, with --kube-api-qps > 0 (default 100)\n"
                     "  --watch-timeout=D                  the apiserver ends each watch after D (whole seconds); one\n"
                     "                                     still open 5s later is silent, cut and resumed (default:\n"
                     "                                     15-20s at random, so a silent watch is cut within 25s)\n"
                     "  --metrics-per-group-histograms     the latency histograms per group (18 series each), not per\n"
                     "                                     namespace (default false; docs/metrics.md, Cardinality)\n"
                     "  --node-leases=BOOL                 watch the nodes' Leases in kube-node-lease for\n"
                     "                                     detection.nodeLeaseTimeout (default true; needs list and\n"
                     "                                     watch on leases there; false: readiness only)\n"
                     "  --node-storm-share=F               hold node-lease failovers while this share of the nodes\n"
                     "                                     (and --node-storm-min-nodes or more) missed a Lease renewal\n"
                     "                                     at once (default 0.55; 0 = never hold; docs/api.md)\n"
                     "  --node-storm-min-nodes=N           the least number of silent nodes that is a storm (default 3)\n"
                     "  --zone-label=KEY                   the Node label naming its zone (default\n"
                     "                                     topology.kubernetes.io/zone; \"\" = no zones, no watch on\n"
                     "                                     Nodes): no member all in a lost zone is promoted\n") +
         runtime::ManagerFlagsUsage() +
         "  --version                          print the version and exit\n"
         "  --help                             this text\n";
}

// The operator's own flags, next to the manager's in one set (AddManagerFlags).
void AddOperatorFlags(base::FlagSet& set, Flags* f) {
  set.String("--kubeconfig", &f->kubeconfig);
  set.String("--context", &f->context);
  // Repeatable, and each value may list several: --namespace a --namespace b,c. An empty
  // value means every namespace (the default).
  set.Value("--namespace", [f](const std::string& v) {
    if (v.empty()) {  // --namespace= : every namespace, as without the flag
      f->watch_namespaces.clear();
      return std::string();
    }
    size_t start = 0;
    while (true) {
      const size_t comma = v.find(',', start);
      const std::string ns = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!failover::IsDnsLabel(ns)) {
        return "\"" + ns + "\" is not a namespace name (a DNS-1123 label: lower-case letters, digits and '-', "
               "at most 63)";
      }
      if (std::find(f->watch_namespaces.begin(), f->watch_namespaces.end(), ns) == f->watch_namespaces.end()) {
        f->watch_namespaces.push_back(ns);
      }
      if (comma == std::string::npos) return std::string();
      start = comma + 1;
    }
  });
  set.Value("--pod-label-selector", [f](const std::string& v) {
    if (std::string e = failover::CheckLabelSelector(v); !e.empty()) return "not a label selector: " + e;
    f->pod_label_selector = v;
    return std::string();
  });
  set.Int("--workers", &f->workers, 1, 256);
  set.Int("--hook-threads", &f->hook_threads, 1, 256);
  set.Int("--hook-calls-per-group", &f->hook_calls_per_group, 0, 256);
  set.Int("--probe-threads", &f->probe_threads, 1, 256);
  set.Int("--probes-per-group", &f->probes_per_group, 0, 256);
  set.Double("--kube-api-qps", &f->qps);
  set.Int("--kube-api-burst", &f->burst, 1);
  // Sent as timeoutSeconds, an integer.
  set.Value("--watch-timeout", [f](const std::string& v) {
    auto d = base::ParseDuration(v);
    if (!d || *d < std::chrono::seconds(1) || *d % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
      return "\"" + v + "\" is not a whole number of seconds (at least 1s), e.g. 20s";
    }
    f->watch_timeout = *d;
    return std::string();
  });
  set.Bool("--metrics-per-group-histograms", &f->per_group_histograms);
  set.Bool("--node-leases", &f->node_leases);
  set.Value("--node-storm-share", [f](const std::string& v) {
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end == nullptr || *end != '\0' || !(d >= 0 && d <= 1)) {
      return "\"" + v + "\" is not a share between 0 and 1, e.g. 0.55";
    }
    f->node_storm_share = d;
    return std::string();
  });
  set.Int("--node-storm-min-nodes", &f->node_storm_min_nodes, 1, 100000);
  set.Value("--zone-label", [f](const std::string& v) {
    if (!v.empty() && !failover::IsLabelKey(v)) {
      return "\"" + v + "\" is not a label key, e.g. topology.kubernetes.io/zone (\"\" = no zones)";
    }
    f->zone_label = v;
    return std::string();
  });
  set.Bool("--version", &f->version);
  set.Alias("-version", "--version");
  set.Bool("--help", &f->help);
  set.Alias("-help", "--help");
  set.Alias("-h", "--help");
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// $POD_NAMESPACE, else the in-cluster service-account namespace, else "default".
std::string DefaultLeaseNamespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') return ns;
  std::ifstream f(kServiceAccountNamespaceFile);
  std::string ns;
  if (f && std::getline(f, ns) && !ns.empty()) return ns;
  return "default";
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread inherits the blocked stop signals.
  base::StopSignals stop_signals;
  runtime::ManagerOptions mo;
  Flags flags;
  base::FlagSet flag_set;
  runtime::AddManagerFlags(flag_set, &mo);
  AddOperatorFlags(flag_set, &flags);
  auto parsed = flag_set.ParseFlagsOnly(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "failover-operator: %s (see --help)\n", parsed.error.c_str());
    return 2;
  }
  if (flags.help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (flags.version) {
    std::printf("failover-operator %s\n", FAILOVER_OPERATOR_VERSION);
    return 0;
  }
  if (mo.leader_election_namespace.empty()) mo.leader_election_namespace = DefaultLeaseNamespace();
  // mo.env (base::RealEnv()) is the process's one clock: logging, the client, the manager
  // and, through it, every part.
  runtime::SetLogClock(*mo.env);
  runtime::ConfigureLogging(mo.log_format, mo.log_level);

  auto config = kube::LoadConfig(flags.kubeconfig, flags.context);
  if (!config.ok()) {
    std::fprintf(stderr, "failover-operator: cannot load the cluster configuration: %s\n",
                 config.status().message().c_str());
    return 1;
  }
  config->env = mo.env;
  config->qps = flags.qps;
  config->burst = flags.burst;
  if (config->user_agent.empty()) config->user_agent = std::string("failover-operator/") + FAILOVER_OPERATOR_VERSION;
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "failover-operator: cannot create the API client for %s: %s\n", config->source.c_str(),
                 client.status().message().c_str());
    return 1;
  }

  // The one registry of this process, served at /metrics: the manager's families, the
  // failover_group_* ones (SetupFailoverController) and the build info.
  mo.metrics_registry = std::make_shared<prometheus::Registry>();
  runtime::PublishBuildInfo(*mo.metrics_registry, FAILOVER_OPERATOR_VERSION);
  runtime::Manager manager(*client, mo);
  failover::ReconcilerOptions ro;
  ro.watch_namespaces = flags.watch_namespaces;
  ro.pod_label_selector = flags.pod_label_selector;
  ro.per_group_histograms = flags.per_group_histograms;
  ro.workers = flags.workers;
  ro.hook_threads = flags.hook_threads;
  ro.probe_threads = flags.probe_threads;
  ro.hook_calls_per_group = flags.hook_calls_per_group;
  ro.probes_per_group = flags.probes_per_group;
  ro.watch_timeout_seconds = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(flags.watch_timeout).count());
  ro.node_leases = flags.node_leases;
  ro.node_storm_share = flags.node_storm_share;
  ro.node_storm_min_nodes = flags.node_storm_min_nodes;
  ro.zone_label = flags.zone_label;
  auto reconciler = failover::SetupFailoverController(manager, ro);
  runtime::Logger("setup").Info("starting failover-operator",
                                {{"version", FAILOVER_OPERATOR_VERSION},
                                 {"config", config->source},
                                 {"namespaces", flags.watch_namespaces.empty() ? "(all)" : Join(flags.watch_namespaces)},
                                 {"podLabelSelector", flags.pod_label_selector},
                                 {"workers", flags.workers},
                                 {"leaderElect", mo.leader_elect}});
  // The first SIGTERM/SIGINT starts the graceful shutdown; a second one ends the process
  // at once, as controller-runtime's signal handler does.
  stop_signals.Watch([&manager](int sig, int count) {
    if (count > 1) {
      std::fflush(nullptr);
      std::_Exit(1);
    }
    runtime::Logger("setup").Info("signal received; shutting down", {{"signal", sig}});
    manager.RequestStop();
  });
  const int rc = manager.Run();
  // The manager has drained the controllers, released the lease and flushed Events; a hook
  // or probe still waiting on a slow endpoint must not hold the exit.
  std::fflush(nullptr);
  std::_Exit(rc);
}
