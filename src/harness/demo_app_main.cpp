// failover-demo-app: a small HTTP server standing in for a workload.
//   GET /         {"pod":..., "namespace":..., "ip":..., "requests":N} (text/plain with ?format=text)
//   GET /ready    200 normally, 503 after POST /fail until POST /recover
//   GET /healthz  200 while the process serves (liveness)
//   POST /fail, POST /recover
// Flags: --address A --port P --pod-name N (env POD_IP, PORT, POD_NAME / HOSTNAME otherwise).
// SIGTERM/SIGINT stop the server gracefully.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/flags.h"

namespace harness {
namespace {

struct DemoOptions {
  std::string address = "0.0.0.0";
  int port = 8080;
  std::string pod_name;
  std::string pod_namespace;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void Usage() {
  std::fprintf(stderr,
               "usage: failover-demo-app [--address A] [--port P] [--pod-name N]\n"
               "  env fallbacks: POD_IP, PORT, POD_NAME (or HOSTNAME), POD_NAMESPACE\n");
}

bool ParseOptions(int argc, char** argv, DemoOptions* out) {
  std::string address = Env("POD_IP");
  std::string port = Env("PORT");
  std::string pod = Env("POD_NAME");
  if (pod.empty()) pod = Env("HOSTNAME");
  if (pod.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) pod = host;
  }
  base::FlagSet flags;
  flags.String("--address", &address);
  flags.String("--port", &port);  // checked below with the PORT fallback
  flags.String("--pod-name", &pod);
  if (auto exit_code = base::ReadProgramFlags(flags, argc, argv, "failover-demo-app", Usage)) {
    std::exit(*exit_code);
  }
  if (!address.empty()) out->address = address;
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) {
      std::fprintf(stderr, "failover-demo-app: --port must be 1..65535, got %s\n", port.c_str());
      return false;
    }
    out->port = static_cast<int>(p);
  }
  out->pod_name = pod;
  out->pod_namespace = Env("POD_NAMESPACE");
  return true;
}

httplib::Server* g_server = nullptr;

extern "C" void OnStopSignal(int) {
  if (g_server != nullptr) g_server->stop();
}

int Run(int argc, char** argv) {
  DemoOptions opts;
  if (!ParseOptions(argc, argv, &opts)) {
    Usage();
    return 2;
  }
  std::atomic<bool> failing{false};
  std::atomic<long long> requests{0};
  httplib::Server server;

  server.Get("/", [&](const httplib::Request& req, httplib::Response& res) {
    long long n = ++requests;
    if (req.has_param("format") && req.get_param_value("format") == "text") {
      res.set_content("pod=" + opts.pod_name + " requests=" + std::to_string(n) + "\n",
                      "text/plain");
      return;
    }
    nlohmann::json body = {{"pod", opts.pod_name},
                           {"namespace", opts.pod_namespace},
                           {"ip", opts.address},
                           {"port", opts.port},
                           {"requests", n},
                           {"ready", !failing.load()}};
    res.set_content(body.dump() + "\n", "application/json");
  });
  server.Get("/ready", [&](const httplib::Request&, httplib::Response& res) {
    if (failing.load()) {
      res.status = 503;
      res.set_content("not ready (failed by POST /fail)\n", "text/plain");
    } else {
      res.set_content("ready\n", "text/plain");
    }
  });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Post("/fail", [&](const httplib::Request&, httplib::Response& res) {
    failing = true;
    std::fprintf(stderr, "demo-app %s: failing readiness\n", opts.pod_name.c_str());
    res.set_content("failing\n", "text/plain");
  });
  server.Post("/recover", [&](const httplib::Request&, httplib::Response& res) {
    failing = false;
    std::fprintf(stderr, "demo-app %s: recovered readiness\n", opts.pod_name.c_str());
    res.set_content("recovered\n", "text/plain");
  });

  g_server = &server;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (!server.bind_to_port(opts.address.c_str(), opts.port)) {
    std::fprintf(stderr, "failover-demo-app: cannot listen on %s:%d\n", opts.address.c_str(),
                 opts.port);
    return 1;
  }
  std::fprintf(stderr, "demo-app %s listening on %s:%d\n", opts.pod_name.c_str(),
               opts.address.c_str(), opts.port);
  server.listen_after_bind();
  std::fprintf(stderr, "demo-app %s: stopped after %lld requests\n", opts.pod_name.c_str(),
               requests.load());
  return 0;
}

}  // namespace
}  // namespace harness

int main(int argc, char** argv) { return harness::Run(argc, argv); }
