// failover-service-proxy: the kube-proxy stand-in of the local cluster.
//   failover-service-proxy --kubeconfig K --bind-address IP [--admin-address HOST:PORT]
//                          [--max-connections N] [--quiet]
// The admin endpoint (GET /backends, /healthz) defaults to <bind-address>:10249;
// --admin-address "" turns it off.
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>

#include <httplib.h>

#include "base/env.h"
#include "base/flags.h"
#include "harness/service_proxy.h"
#include "kube/client.h"
#include "kube/config.h"

namespace harness {
namespace {

// kube-proxy's metrics port; the admin endpoint defaults to <bind-address>:10249.
constexpr int kDefaultAdminPort = 10249;

void Usage() {
  std::fprintf(stderr,
               "usage: failover-service-proxy --kubeconfig K --bind-address IP "
               "[--admin-address HOST:PORT] [--max-connections N] [--quiet]\n");
}

int Run(int argc, char** argv) {
  std::string kubeconfig;
  ServiceProxyOptions opts;
  bool admin_set = false;
  bool quiet = false;
  base::FlagSet flags;
  flags.Value("--admin-address", [&](const std::string& v) {
    opts.admin_address = v;
    admin_set = true;
    return std::string();
  });
  flags.String("--kubeconfig", &kubeconfig);
  flags.String("--bind-address", &opts.bind_address);
  flags.Int("--max-connections", &opts.max_connections, 1);
  flags.Bool("--quiet", &quiet);
  if (auto exit_code = base::ReadProgramFlags(flags, argc, argv, "failover-service-proxy", Usage)) {
    return *exit_code;
  }
  if (quiet) opts.log_connections = false;
  if (!admin_set) opts.admin_address = opts.bind_address + ":" + std::to_string(kDefaultAdminPort);
  std::string admin_host;
  int admin_port = 0;
  if (!opts.admin_address.empty()) {
    auto colon = opts.admin_address.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "failover-service-proxy: --admin-address wants HOST:PORT\n");
      return 2;
    }
    admin_host = opts.admin_address.substr(0, colon);
    admin_port = std::atoi(opts.admin_address.c_str() + colon + 1);
  }
  auto config = kube::LoadConfig(kubeconfig);
  if (!config.ok()) {
    std::fprintf(stderr, "failover-service-proxy: %s\n", config.status().ToString().c_str());
    return 1;
  }
  // The process's clocks, for the client and the proxy alike.
  base::Env& env = base::RealEnv();
  config->env = &env;
  config->user_agent = "failover-service-proxy";
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "failover-service-proxy: %s\n", client.status().ToString().c_str());
    return 1;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ServiceProxy proxy(*client, opts, env);
  httplib::Server admin;
  std::thread admin_thread;
  if (admin_port > 0) {
    admin.Get("/backends", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(proxy.Snapshot().dump(2) + "\n", "application/json");
    });
    admin.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    if (!admin.bind_to_port(admin_host.c_str(), admin_port)) {
      std::fprintf(stderr, "failover-service-proxy: cannot listen on --admin-address %s\n",
                   opts.admin_address.c_str());
      return 1;
    }
    admin_thread = std::thread([&] { admin.listen_after_bind(); });
  }
  std::fprintf(stderr, "failover-service-proxy: node ports on %s, admin %s\n",
               opts.bind_address.c_str(), opts.admin_address.empty() ? "off" : opts.admin_address.c_str());
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0) std::fprintf(stderr, "failover-service-proxy: signal %d, stopping\n", sig);
    proxy.Stop();
  });
  proxy.Run();
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  if (admin_thread.joinable()) {
    admin.stop();
    admin_thread.join();
  }
  return 0;
}

}  // namespace
}  // namespace harness

int main(int argc, char** argv) { return harness::Run(argc, argv); }
