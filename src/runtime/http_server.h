#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/env.h"
#include "kube/status.h"
#include "runtime/serving_cert.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Registry;
}

namespace runtime {

// A parsed --*-bind-address: ":8080" (all interfaces), "127.0.0.1:9000", "0" (disabled).
struct BindAddress {
  bool disabled = false;
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = any free port
};
kube::Result<BindAddress> ParseBindAddress(const std::string& text);

// A named check for /healthz or /readyz: returns an empty string when it passes,
// otherwise why it fails.
using HealthCheck = std::function<std::string()>;

// What a guarded path answers before its handler runs: status 200 lets the request
// through; any other status is sent with `body` instead.
struct GuardAnswer {
  int status = 200;
  std::string body;
};
// Decides on one request from its Authorization header ("" when absent) and the
// client's address.
using RequestGuard = std::function<GuardAnswer(const std::string& authorization, const std::string& remote)>;

// Serves /metrics (a registry given), /healthz and /readyz on one address, from
// its own threads, over plain HTTP or (WithTls) HTTPS only. /readyz fails (500) until every ready check passes; ?verbose lists
// each check. Checks may be added while serving.
// Start and Stop wait for the serving thread on env's clock (short polls: the server
// library has no notification for it).
class HttpServer {
 public:
  explicit HttpServer(base::Env& env);
  // Serves HTTPS only (TLS 1.2 or newer), each handshake with the certificate `certs` has
  // then (so a rotated one is presented without a restart); a plain HTTP request on its
  // port gets no answer. An error when the certificate or key cannot be used.
  static kube::Result<std::unique_ptr<HttpServer>> WithTls(base::Env& env,
                                                           std::shared_ptr<ServingCertSource> certs);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // /metrics serves `registry` in the Prometheus text format (null = an empty page), to
  // requests `guard` lets through (none: to every request).
  void ServeMetrics(std::shared_ptr<const prometheus::Registry> registry, RequestGuard guard = nullptr);
  void ServeHealth();
  void AddHealthzCheck(const std::string& name, HealthCheck check);
  void AddReadyzCheck(const std::string& name, HealthCheck check);

  // Binds and starts serving; the port is known when this returns.
  kube::Status Start(const BindAddress& address);
  void Stop();
  int port() const { return port_.load(); }

 private:
  HttpServer(base::Env& env, std::unique_ptr<httplib::Server> server);
  void HandleChecks(bool ready, const std::string& query_verbose, int* code, std::string* body);

  base::Env& env_;
  std::shared_ptr<ServingCertSource> certs_;  // with TLS; outlives server_ (its handshakes)
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_done_{false};
  std::atomic<int> port_{0};
  std::mutex mu_;
  std::vector<std::pair<std::string, HealthCheck>> healthz_;
  std::vector<std::pair<std::string, HealthCheck>> readyz_;
};

}  // namespace runtime
