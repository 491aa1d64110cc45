#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/flags.h"
#include "kube/client.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/http_server.h"
#include "runtime/informer.h"
#include "runtime/leader_election.h"
#include "runtime/logger.h"
#include "runtime/metrics.h"
#include "runtime/metrics_auth.h"

namespace runtime {

struct ManagerOptions {
  std::string metrics_bind_address = ":8443";       // "0" disables
  // /metrics over HTTPS, each request authenticated by a TokenReview and authorized by a
  // SubjectAccessReview (get on the non-resource path /metrics) against the apiserver, as
  // controller-runtime's secure metrics are (MetricsAuthorizer); the manager's client
  // must be allowed to create both. False: plain HTTP, open to whoever reaches the port.
  bool metrics_secure = true;
  // With metrics_secure: a directory holding tls.crt and tls.key (a kubernetes.io/tls
  // Secret mounted, e.g. from cert-manager), read at start and again when they change
  // (ServingCertSource). Empty: a self-signed certificate made in memory at start
  // (GenerateSelfSignedCert).
  std::string metrics_cert_dir;
  // With metrics_secure: the authorizer's cache and review settings (its env is the manager's).
  MetricsAuthOptions metrics_auth;
  std::string health_probe_bind_address = ":8081";  // "0" disables
  bool leader_elect = false;
  std::string leader_election_id = "failover-operator-leader";  // the Lease name
  std::string leader_election_namespace;  // empty = $POD_NAMESPACE, else the client's namespace
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::string leader_identity;  // empty = hostname_random
  // The leader elector's own client, so that renewals never queue behind the writes and
  // reads of the controllers (their QPS limiter and connections). Null = one made from
  // the manager's client's config: its own connections, its own QPS limiter (at least
  // the elector's own pace: two requests per retryPeriod/4), and a per-request timeout
  // no longer than renewDeadline.
  std::shared_ptr<kube::Client> leader_election_client = nullptr;
  std::chrono::milliseconds graceful_shutdown_timeout{30000};
  std::chrono::milliseconds cache_sync_timeout{120000};
  // How often the manager hands memory freed since back to the OS (ReleaseFreeMemory), as
  // Go's scavenger does; a burst of reconciles otherwise leaves its peak in RSS for good.
  // 0 disables.
  std::chrono::milliseconds memory_trim_interval{60000};
  std::string component = "failover-operator";  // Event source
  LogFormat log_format = LogFormat::kJson;
  LogLevel log_level = LogLevel::kInfo;
  // The one clock of everything the manager makes (informers, controllers, leader
  // election, Events) and of what the wiring makes from it (manager.options().env).
  base::Env* env = &base::RealEnv();
  // The registry /metrics serves, made by the program: the manager registers the runtime
  // families on it (RuntimeMetrics) for what it makes (controllers and their work queues,
  // informers, leader election, the client's requests), and the wiring adds its own
  // (FailoverMetrics). Null = a registry of this manager's own. No two managers share
  // series unless given the same registry.
  std::shared_ptr<prometheus::Registry> metrics_registry = nullptr;
  // Called when the lease is lost after having led. Default: log, and Run returns 1 at
  // once (the program must then end: see Run).
  std::function<void()> on_leadership_lost;
};

// Declares the manager's flags on `flags`, each writing into *options:
// --metrics-bind-address, --metrics-secure, --metrics-cert-dir,
// --health-probe-bind-address, --leader-elect,
// --leader-election-id, --leader-election-namespace,
// --leader-elect-lease-duration/-renew-deadline/-retry-period and --cache-sync-timeout
// (positive durations in the CRD's grammar: 15s, 500ms, 1m30s), --log-format=json|text,
// --log-level=debug|info|warn|error. A program adds its own flags to the same set and
// reads the command line once.
void AddManagerFlags(base::FlagSet& flags, ManagerOptions* options);
// Reads only the manager's flags from argv (argv[0] excluded); every other argument is
// appended to `rest`, in order, for the program to read. An error names the flag.
kube::Status ParseManagerFlags(int argc, const char* const* argv, ManagerOptions* options,
                               std::vector<std::string>* rest);
// The usage lines for those flags.
std::string ManagerFlagsUsage();

// Wires informers, controllers, leader election, events and the HTTP endpoints, and
// runs them until SIGTERM/SIGINT or RequestStop(): informers start at once, controllers
// only while this process leads (and once caches have synced). Shutdown is bounded by
// graceful_shutdown_timeout; a second signal exits at once.
class Manager {
 public:
  Manager(std::shared_ptr<kube::Client> client, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The client for everything the program wires. With leader election on, its writes are
  // fenced by the lease (fenced_client.h): none starts unless IsLeader(), and none is
  // sent or waited for past LeaseDeadline().
  std::shared_ptr<kube::Client> client() const { return client_; }
  // As given, with metrics_registry set (to the manager's own when none was given).
  const ManagerOptions& options() const { return options_; }
  // The registry /metrics serves (options().metrics_registry) and the runtime families on it.
  const std::shared_ptr<prometheus::Registry>& metrics_registry() const { return options_.metrics_registry; }
  const std::shared_ptr<RuntimeMetrics>& metrics() const { return metrics_; }

  // One shared informer per (resource, namespace, selectors); create before Run(). The
  // first caller's options win (a later caller's transform is not applied).
  Informer& GetInformer(const InformerOptions& options);
  Controller& AddController(ControllerOptions options, std::shared_ptr<Reconciler> reconciler);
  EventRecorder& events() { return *events_; }

  void AddHealthzCheck(const std::string& name, HealthCheck check);
  void AddReadyzCheck(const std::string& name, HealthCheck check);

  // The write guard: true when leader election is off, otherwise only while the lease is
  // held and renewed within renewDeadline. Call before every write.
  bool IsLeader() const;
  std::function<bool()> WriteGuard() const {
    return [this] { return IsLeader(); };
  }
  const std::string& identity() const { return identity_; }
  // The end of this process's claim on the lease (LeaderElector::LeaseDeadline):
  // time_point::max() when leader election is off, time_point::min() while not leading.
  Clock::time_point LeaseDeadline() const;

  // Blocks until stopped; 0 after a clean shutdown. 1 on a startup failure, a lost lease,
  // or a shutdown that did not finish within graceful_shutdown_timeout (reconciles that
  // did not drain keep the lease unreleased): then threads may still run, and the caller
  // must end the process at once (main: std::_Exit). The manager installs no signal
  // handler and never ends the process itself: main turns SIGTERM into RequestStop.
  int Run();
  // Thread-safe; also from a signal-watching thread.
  void RequestStop();

  // A step of the graceful shutdown, run after the controllers have drained and before
  // the lease is released and the informers stop; steps run last-added first. For what
  // the reconciles used: the hook and probe pools.
  void AddStopStep(std::string name, std::function<void()> stop);

  // The authorizer of /metrics (metrics_secure), null before Run has made it or without.
  std::shared_ptr<MetricsAuthorizer> metrics_authorizer() const;

  // Ports actually bound (useful with ":0"); 0 when disabled or not started.
  int metrics_port() const;
  int health_port() const;

 private:
  void StartControllers();
  kube::Status MakeSecureMetricsServer();
  bool Shutdown();  // false: not clean (see Run)
  bool ShutdownSteps(Clock::time_point deadline);

  std::shared_ptr<kube::Client> raw_client_;  // as given
  std::shared_ptr<kube::Client> client_;      // raw_client_, fenced when leader election is on
  ManagerOptions options_;
  std::shared_ptr<RuntimeMetrics> metrics_;
  Logger log_;
  std::string identity_;
  std::unique_ptr<EventRecorder> events_;
  std::vector<std::pair<std::string, std::unique_ptr<Informer>>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::unique_ptr<LeaderElector> elector_;
  // elector_ as the other threads read it (IsLeader, LeaseDeadline: the write fence, from any
  // thread): published once Run has made it, null before.
  std::atomic<LeaderElector*> elector_view_{nullptr};
  std::unique_ptr<HttpServer> metrics_server_;
  mutable std::mutex auth_mu_;
  std::shared_ptr<MetricsAuthorizer> metrics_auth_;  // with metrics_secure, once Run has begun; auth_mu_
  std::unique_ptr<HttpServer> health_server_;
  std::vector<std::pair<std::string, HealthCheck>> healthz_, readyz_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  bool lost_leadership_ = false;
  std::vector<std::pair<std::string, std::function<void()>>> runnables_;
  bool leading_ = false;
  bool controllers_started_ = false;
  std::atomic<bool> running_{false};
  std::atomic<int> metrics_port_{0};
  std::atomic<int> health_port_{0};
};

}  // namespace runtime
