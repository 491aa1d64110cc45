#include "runtime/manager.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/duration.h"
#include "runtime/fenced_client.h"
#include "runtime/memory.h"
#include "runtime/request_metrics.h"

namespace runtime {

std::string ManagerFlagsUsage() {
  return "  --metrics-bind-address=ADDR        /metrics address (default :8443, 0 disables)\n"
         "  --metrics-secure[=true|false]      /metrics over HTTPS, each request's bearer token checked by a\n"
         "                                     TokenReview and a SubjectAccessReview (get /metrics); false:\n"
         "                                     plain HTTP without authentication (default true)\n"
         "  --metrics-cert-dir=DIR             tls.crt and tls.key for /metrics, read again when they\n"
         "                                     change (default: a self-signed certificate made at start)\n"
         "  --health-probe-bind-address=ADDR   /healthz,/readyz address (default :8081, 0 disables)\n"
         "  --leader-elect[=true|false]        leader election on a Lease (default false)\n"
         "  --leader-election-id=NAME          Lease name (default failover-operator-leader)\n"
         "  --leader-election-namespace=NS     Lease namespace (default $POD_NAMESPACE or the kubeconfig's)\n"
         "  --leader-elect-lease-duration=D    default 15s, whole seconds (D: a duration, e.g. 500ms, 15s, 1m30s)\n"
         "  --leader-elect-renew-deadline=D    default 10s (may be sub-second)\n"
         "  --leader-elect-retry-period=D      default 2s\n"
         "  --cache-sync-timeout=D             first list of every watched kind (default 2m)\n"
         "  --log-format=json|text             default json\n"
         "  --log-level=debug|info|warn|error  default info\n";
}

void AddManagerFlags(base::FlagSet& flags, ManagerOptions* o) {
  for (auto [name, dst] : {std::pair{"--metrics-bind-address", &o->metrics_bind_address},
                           std::pair{"--health-probe-bind-address", &o->health_probe_bind_address}}) {
    flags.Value(name, [dst](const std::string& v) {
      auto parsed = ParseBindAddress(v);
      if (!parsed.ok()) return parsed.status().message();
      *dst = v;
      return std::string();
    });
  }
  flags.Bool("--metrics-secure", &o->metrics_secure);
  flags.String("--metrics-cert-dir", &o->metrics_cert_dir);
  flags.Bool("--leader-elect", &o->leader_elect);
  flags.String("--leader-election-id", &o->leader_election_id);
  flags.String("--leader-election-namespace", &o->leader_election_namespace);
  // A zero lease, deadline or timeout would make the elector or the cache wait spin.
  constexpr std::chrono::milliseconds kShortest{1};
  // The Lease carries leaseDuration as whole seconds (leaseDurationSeconds), which the
  // other replicas wait for: anything else would be published as something else (a 500ms
  // lease as 0, expired for every reader), so it is refused here, naming the flag.
  flags.Value("--leader-elect-lease-duration", [o](const std::string& v) {
    auto d = base::ParseDuration(v);
    if (!d) return "\"" + v + "\" is not a duration: a number with a unit (ms, s, m, h), e.g. 15s";
    if (*d < std::chrono::seconds(1) || *d % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
      return "\"" + v + "\" is not a whole number of seconds (at least 1s): the Lease stores "
             "leaseDurationSeconds as an integer";
    }
    o->lease_duration = *d;
    return std::string();
  });
  flags.Duration("--leader-elect-renew-deadline", &o->renew_deadline, kShortest);
  flags.Duration("--leader-elect-retry-period", &o->retry_period, kShortest);
  flags.Duration("--cache-sync-timeout", &o->cache_sync_timeout, kShortest);
  flags.Value("--log-format", [o](const std::string& v) {
    return ParseLogFormat(v, &o->log_format) ? std::string() : "\"" + v + "\" is not json or text";
  });
  flags.Value("--log-level", [o](const std::string& v) {
    return ParseLogLevel(v, &o->log_level) ? std::string()
                                           : "\"" + v + "\" is not debug, info, warn or error";
  });
}

kube::Status ParseManagerFlags(int argc, const char* const* argv, ManagerOptions* o,
                               std::vector<std::string>* rest) {
  base::FlagSet flags;
  AddManagerFlags(flags, o);
  auto parsed = flags.Parse(argc, argv, base::FlagSet::Unknown::kKeep);
  if (!parsed.ok()) return kube::Status(kube::Reason::kInvalidArgument, parsed.error);
  if (rest) rest->insert(rest->end(), parsed.rest.begin(), parsed.rest.end());
  return kube::Status::OK();
}

Manager::Manager(std::shared_ptr<kube::Client> client, ManagerOptions options)
    : raw_client_(std::move(client)),
      client_(raw_client_),
      options_(std::move(options)),
      metrics_(std::make_shared<RuntimeMetrics>(options_.metrics_registry)),
      log_("manager") {
  options_.metrics_registry = metrics_->registry();
  identity_ = options_.leader_identity.empty() ? DefaultLeaderIdentity() : options_.leader_identity;
  client_->SetObserver(std::make_shared<RequestMetrics>(metrics_));
  if (options_.leader_elect) {
    client_ = std::make_shared<FencedClient>(
        raw_client_, [this] { return IsLeader(); }, [this] { return LeaseDeadline(); });
  }
  EventRecorder::Options eo;
  eo.component = options_.component;
  eo.env = options_.env;
  events_ = std::make_unique<EventRecorder>(client_, eo);
  if (options_.leader_elect) events_->SetWriteGuard([this] { return IsLeader(); });
}

Manager::~Manager() { RequestStop(); }

Informer& Manager::GetInformer(const InformerOptions& o) {
  const std::string key = o.resource.Name() + "|" + o.ns + "|" + o.label_selector + "|" +
                          o.field_selector;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [k, inf] : informers_) {
    if (k == key) return *inf;
  }
  InformerOptions with_clock = o;
  with_clock.env = options_.env;
  with_clock.metrics = metrics_;
  informers_.emplace_back(key, std::make_unique<Informer>(client_, with_clock));
  return *informers_.back().second;
}

Controller& Manager::AddController(ControllerOptions o, std::shared_ptr<Reconciler> r) {
  std::lock_guard<std::mutex> lock(mu_);
  o.env = options_.env;
  o.metrics = metrics_;
  controllers_.push_back(std::make_unique<Controller>(std::move(o), std::move(r)));
  return *controllers_.back();
}

void Manager::AddHealthzCheck(const std::string& name, HealthCheck check) {
  std::lock_guard<std::mutex> lock(mu_);
  healthz_.emplace_back(name, check);
  if (health_server_) health_server_->AddHealthzCheck(name, std::move(check));
}

void Manager::AddReadyzCheck(const std::string& name, HealthCheck check) {
  std::lock_guard<std::mutex> lock(mu_);
  readyz_.emplace_back(name, check);
  if (health_server_) health_server_->AddReadyzCheck(name, std::move(check));
}

bool Manager::IsLeader() const {
  if (!options_.leader_elect) return true;
  const LeaderElector* e = elector_view_.load(std::memory_order_acquire);
  return e && e->IsLeader();
}

Clock::time_point Manager::LeaseDeadline() const {
  if (!options_.leader_elect) return Clock::time_point::max();
  const LeaderElector* e = elector_view_.load(std::memory_order_acquire);
  return e ? e->LeaseDeadline() : Clock::time_point::min();
}

void Manager::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  cv_.notify_all();
}

int Manager::metrics_port() const { return metrics_port_.load(); }

std::shared_ptr<MetricsAuthorizer> Manager::metrics_authorizer() const {
  std::lock_guard<std::mutex> lock(auth_mu_);
  return metrics_auth_;
}
int Manager::health_port() const { return health_port_.load(); }

void Manager::StartControllers() {
  base::Env& env = *options_.env;
  const auto deadline = env.Now() + options_.cache_sync_timeout;
  for (auto& [key, inf] : informers_) {
    while (!inf->WaitForSync(std::min(deadline, env.Now() + std::chrono::milliseconds(200)))) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_requested_) return;
      }
      if (env.Now() >= deadline) {
        log_.Error("caches did not sync in time; not starting controllers",
                   {{"informer", key}});
        RequestStop();
        return;
      }
    }
  }
  for (auto& c : controllers_) c->Start();
  log_.Info("controllers started", {{"controllers", controllers_.size()}});
}

int Manager::Run() {
  running_.store(true);
  ConfigureLogging(options_.log_format, options_.log_level);

  auto metrics_addr = ParseBindAddress(options_.metrics_bind_address);
  auto health_addr = ParseBindAddress(options_.health_probe_bind_address);
  if (!metrics_addr.ok() || !health_addr.ok()) {
    log_.Error("bad bind address", {{"error", (!metrics_addr.ok() ? metrics_addr.status()
                                                                   : health_addr.status()).message()}});
    running_.store(false);
    return 1;
  }
  if (!metrics_addr->disabled && options_.metrics_secure) {
    auto st = MakeSecureMetricsServer();
    if (!st.ok()) {
      log_.Error("cannot serve metrics securely", {{"error", st.message()}});
      running_.store(false);
      return 1;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!metrics_addr->disabled && !options_.metrics_secure) {
      metrics_server_ = std::make_unique<HttpServer>(*options_.env);
      metrics_server_->ServeMetrics(options_.metrics_registry);
    }
    if (!health_addr->disabled) {
      health_server_ = std::make_unique<HttpServer>(*options_.env);
      health_server_->ServeHealth();
      health_server_->AddHealthzCheck("ping", [] { return std::string(); });
      health_server_->AddReadyzCheck("informers-synced", [this]() -> std::string {
        std::string missing;
        for (auto& [key, inf] : informers_) {
          if (inf->HasSynced()) continue;
          const std::string& ns = inf->options().ns;
          missing += (missing.empty() ? "" : ", ") + inf->options().resource.Name() + (ns.empty() ? "" : " in " + ns);
        }
        return missing.empty() ? "" : "not synced: " + missing;
      });
      for (auto& [n, c] : healthz_) health_server_->AddHealthzCheck(n, c);
      for (auto& [n, c] : readyz_) health_server_->AddReadyzCheck(n, c);
    }
  }
  if (metrics_server_) {
    auto st = metrics_server_->Start(*metrics_addr);
    if (!st.ok()) {
      log_.Error("cannot serve metrics", {{"error", st.message()}});
      running_.store(false);
      return 1;
    }
    metrics_port_.store(metrics_server_->port());
    log_.Info("serving metrics", {{"address", options_.metrics_bind_address},
                                  {"port", metrics_server_->port()},
                                  {"secure", options_.metrics_secure}});
  }
  if (health_server_) {
    auto st = health_server_->Start(*health_addr);
    if (!st.ok()) {
      log_.Error("cannot serve health probes", {{"error", st.message()}});
      if (metrics_server_) metrics_server_->Stop();
      running_.store(false);
      return 1;
    }
    health_port_.store(health_server_->port());
    log_.Info("serving health probes", {{"address", options_.health_probe_bind_address},
                                        {"port", health_server_->port()}});
  }

  events_->Start();
  for (auto& [key, inf] : informers_) inf->Start();

  if (options_.leader_elect) {
    LeaderElectionOptions le;
    le.env = options_.env;
    le.metrics = metrics_;
    le.lease_name = options_.leader_election_id;
    le.lease_namespace = options_.leader_election_namespace;
    if (le.lease_namespace.empty()) {
      const char* pod_ns = std::getenv("POD_NAMESPACE");
      le.lease_namespace = pod_ns && *pod_ns ? pod_ns : raw_client_->config().default_namespace;
    }
    le.identity = identity_;
    le.lease_duration = options_.lease_duration;
    le.renew_deadline = options_.renew_deadline;
    le.retry_period = options_.retry_period;
    if (auto st = LeaderElector::Validate(le); !st.ok()) {
      log_.Error("bad leader election settings", {{"error", st.message()}});
      Shutdown();
      return 1;
    }
    LeaderElector::Callbacks cb;
    cb.on_started_leading = [this] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        leading_ = true;
      }
      cv_.notify_all();
    };
    cb.on_stopped_leading = [this] {
      if (options_.on_leadership_lost) {
        options_.on_leadership_lost();
        return;
      }
      // Writes already stopped (IsLeader is false); Run returns 1 at once and the
      // program ends without waiting for reconciles that can no longer write.
      log_.Error("leader election lost; exiting");
      {
        std::lock_guard<std::mutex> lock(mu_);
        lost_leadership_ = true;
      }
      cv_.notify_all();
    };
    cb.on_new_leader = [this](const std::string& id) {
      if (id != identity_) log_.Info("new leader observed", {{"leader", id}});
    };
    std::shared_ptr<kube::Client> le_client = options_.leader_election_client;
    if (!le_client) {
      kube::RestConfig rc = raw_client_->config();
      rc.timeout = std::min(rc.timeout, le.renew_deadline);
      if (rc.qps > 0) {
        const double retry_s = std::chrono::duration<double>(le.retry_period).count();
        rc.qps = std::max(rc.qps, 8.0 / retry_s);
        rc.burst = std::max(rc.burst, 4);
      }
      auto made = kube::Client::Create(rc);
      if (!made.ok()) {
        log_.Error("cannot make the leader election client", {{"error", made.status().message()}});
        Shutdown();
        return 1;
      }
      le_client = std::move(*made);
      le_client->SetObserver(std::make_shared<RequestMetrics>(metrics_));
    }
    elector_ = std::make_unique<LeaderElector>(le_client, le, cb);
    elector_view_.store(elector_.get(), std::memory_order_release);
    elector_->Start();
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    leading_ = true;
  }

  base::Env& env = *options_.env;
  auto next_trim = env.Now() + options_.memory_trim_interval;
  for (;;) {
    if (options_.memory_trim_interval.count() > 0 && env.Now() >= next_trim) {
      ReleaseFreeMemory();
      next_trim = env.Now() + options_.memory_trim_interval;
    }
    bool start_controllers = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      env.WaitUntil(lock, cv_, env.Deadline(std::chrono::milliseconds(100)));
      if (lost_leadership_) {
        running_.store(false);
        return 1;
      }
      if (stop_requested_) break;
      if (leading_ && !controllers_started_) {
        controllers_started_ = true;
        start_controllers = true;
      }
    }
    if (start_controllers) StartControllers();
  }
  const bool clean = Shutdown();
  running_.store(false);
  return clean ? 0 : 1;
}

kube::Status Manager::MakeSecureMetricsServer() {
  base::Env& env = *options_.env;
  std::shared_ptr<ServingCertSource> certs;
  std::string source;
  if (!options_.metrics_cert_dir.empty()) {
    auto from_dir = ServingCertSource::FromDir(options_.metrics_cert_dir, env);
    if (!from_dir.ok()) return from_dir.status();
    certs = std::move(*from_dir);
    source = options_.metrics_cert_dir + " (read again when it changes)";
  } else {
    auto made = GenerateSelfSignedCert(DefaultServingHosts(), env.WallNow());
    if (!made.ok()) return made.status();
    auto fixed = ServingCertSource::Fixed(*made);
    if (!fixed.ok()) return fixed.status();
    certs = std::move(*fixed);
    source = "self-signed, made at start";
  }
  auto server = HttpServer::WithTls(env, std::move(certs));
  if (!server.ok()) return server.status();
  MetricsAuthOptions auth_options = options_.metrics_auth;
  auth_options.env = &env;
  // Reviews are not writes: the raw client, so a standby replica (fenced) answers too.
  auto authorizer = std::make_shared<MetricsAuthorizer>(raw_client_, auth_options);
  Logger metrics_log("metrics");
  (*server)->ServeMetrics(options_.metrics_registry, [authorizer, metrics_log](const std::string& authorization,
                                                                        const std::string& remote) {
    const AccessDecision d = authorizer->Authorize(authorization);
    const LogFields fields = {{"remote", remote}, {"user", d.user}, {"reason", d.reason},
                              {"code", d.HttpStatus()}};
    switch (d.outcome) {
      case AccessDecision::Outcome::kAllowed:
        metrics_log.Debug("metrics request allowed", {{"remote", remote}, {"user", d.user}});
        return GuardAnswer{};
      case AccessDecision::Outcome::kUnauthenticated:
        metrics_log.Warn("metrics request refused: not authenticated", fields);
        return GuardAnswer{401, "Unauthorized: " + d.reason + "\n"};
      case AccessDecision::Outcome::kForbidden:
        metrics_log.Warn("metrics request refused: not authorized", fields);
        return GuardAnswer{403, "Forbidden: user \"" + d.user + "\" " + d.reason + "\n"};
      case AccessDecision::Outcome::kUnavailable:
        metrics_log.Error("metrics request not decided: the apiserver could not be asked", fields);
        return GuardAnswer{503, "Service Unavailable: " + d.reason + "\n"};
    }
    return GuardAnswer{500, "Internal Server Error\n"};
  });
  log_.Info("metrics served over HTTPS with TokenReview and SubjectAccessReview",
            {{"certificate", source}, {"path", auth_options.path}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    metrics_server_ = std::move(*server);
  }
  std::lock_guard<std::mutex> lock(auth_mu_);
  metrics_auth_ = authorizer;
  return kube::Status::OK();
}

bool Manager::Shutdown() {
  base::Env& env = *options_.env;
  const auto deadline = env.Now() + options_.graceful_shutdown_timeout;
  // The steps run on a thread of their own so that a step stuck past the bound cannot hold
  // the program: Run returns 1 and main ends the process, the stuck step with it.
  struct Progress {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool clean = true;
  };
  auto progress = std::make_shared<Progress>();
  std::thread steps([this, deadline, progress] {
    const bool clean = ShutdownSteps(deadline);
    std::lock_guard<std::mutex> lock(progress->mu);
    progress->done = true;
    progress->clean = clean;
    progress->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(progress->mu);
  if (!env.WaitUntil(lock, progress->cv, deadline + std::chrono::seconds(1), [&] { return progress->done; })) {
    log_.Error("graceful shutdown exceeded its bound; exiting");
    steps.detach();
    return false;
  }
  lock.unlock();
  steps.join();
  return progress->clean;
}

bool Manager::ShutdownSteps(Clock::time_point deadline) {
  bool drained = true;
  for (auto& c : controllers_) drained = c->Stop(deadline) && drained;
  if (!drained) {
    // A reconcile may still write: keep the lease (it expires) rather than hand it over.
    log_.Error("reconciles did not finish within the shutdown bound; exiting without "
               "releasing the lease");
    return false;
  }
  // What the reconciles used (their pools), last registered first.
  for (auto it = runnables_.rbegin(); it != runnables_.rend(); ++it) {
    if (it->second) it->second();
  }
  if (elector_) elector_->Stop();  // releases the lease
  for (auto& [key, inf] : informers_) inf->Stop();
  events_->Stop(std::min(deadline, options_.env->Now() + std::chrono::seconds(5)));
  if (health_server_) health_server_->Stop();
  if (metrics_server_) metrics_server_->Stop();
  log_.Info("shutdown complete");
  return true;
}

void Manager::AddStopStep(std::string name, std::function<void()> stop) {
  std::lock_guard<std::mutex> lock(mu_);
  runnables_.emplace_back(std::move(name), std::move(stop));
}

}  // namespace runtime
