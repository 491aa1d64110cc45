#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "harness/service_table.h"
#include "kube/client.h"
#include "kube/list_watch.h"

namespace harness {

struct ServiceProxyOptions {
  std::string bind_address = "127.0.0.1";
  std::string admin_address;  // host:port for GET /backends, /healthz; empty = none
  int max_connections = 1024;  // concurrent relayed connections; more are refused
  bool log_connections = true;
};

// The kube-proxy stand-in: for each NodePort Service listens on bind_address:nodePort
// and relays every TCP connection to one ready endpoint, round robin, using the
// endpoint set current when the connection is accepted. Its log lines and waits are on
// env's clocks. Run() blocks until Stop().
class ServiceProxy {
 public:
  ServiceProxy(std::shared_ptr<kube::Client> client, ServiceProxyOptions options, base::Env& env);
  ~ServiceProxy();

  void Run();
  void Stop();  // thread-safe

  // {"services": {"ns/name": {"ports": [...], ...}}, "backends": {"ip:port": counters}}
  nlohmann::json Snapshot();

 private:
  struct Listener;
  struct Counters {
    uint64_t connections = 0;
    uint64_t failures = 0;
    int64_t active = 0;
    uint64_t bytes = 0;
    std::string pod;
  };

  // Follows Services (services) or EndpointSlices into table_, rebuilding the routes
  // after each change.
  std::unique_ptr<kube::ListWatch> MakeWatch(const kube::Resource& res, bool services);
  void Rebuild();
  void AcceptLoop();
  void Relay(int client_fd, int node_port, std::string client_addr);
  bool PickBackend(int node_port, size_t attempt, Backend* out, std::string* service);

  std::shared_ptr<kube::Client> client_;
  ServiceProxyOptions options_;
  base::Env& env_;
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};
  std::unique_ptr<kube::ListWatch> services_watch_;
  std::unique_ptr<kube::ListWatch> slices_watch_;

  std::mutex mu_;
  std::condition_variable cv_;
  ServiceTable table_;
  std::map<int, Route> routes_;
  std::map<int, size_t> next_;                     // round-robin cursor per node port
  std::map<int, int> listeners_;                   // node port -> listening fd
  std::map<int, std::string> listen_errors_;       // node port -> why it is not listening
  std::map<std::string, Counters> counters_;       // backend "ip:port"
  int active_ = 0;
};

}  // namespace harness
