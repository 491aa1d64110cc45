#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "kube/status.h"

namespace kube {

// A client-go "exec" credential plugin (client.authentication.k8s.io/v1 or v1beta1).
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 | v1beta1
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never | IfAvailable | Always (we never prompt)
};

// Everything needed to talk to one apiserver as one user. PEM material is held
// inline; *_file fields are kept so rotating files can be re-read.
struct RestConfig {
  std::string server;  // https://host:port (no trailing slash)
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string ca_pem;              // trusted CA bundle; empty = system roots
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string bearer_token;        // static token
  std::string bearer_token_file;   // re-read periodically when set (bound SA tokens rotate)
  std::optional<ExecConfig> exec;
  std::string default_namespace = "default";
  std::string source;  // where this came from, for messages ("kubeconfig /x (context y)")

  // Transport tuning.
  double qps = 50;    // <= 0 disables client-side rate limiting
  int burst = 100;
  std::chrono::milliseconds timeout{30000};  // per ordinary request
  std::string user_agent;                    // default failover-operator/<version>

  // The client's clock: the rate limiter, exec credentials' expiry and timeout, token
  // file re-reads, request and watch timing. Outlives the client.
  base::Env* env = &base::RealEnv();
};

// Loads kubeconfig files (several are merged as kubectl merges KUBECONFIG: the first
// file to set a map entry or current-context wins). context empty = current-context.
// Errors name the file, the key and what is wrong.
Result<RestConfig> LoadKubeconfig(const std::vector<std::string>& paths,
                                  const std::string& context = "");
// Parses one kubeconfig document held in memory; `origin` names it in errors and is
// the base for relative file paths.
Result<RestConfig> ParseKubeconfig(const std::string& yaml_text, const std::string& origin,
                                   const std::string& context = "");
// In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service-account files under `sa_dir`.
Result<RestConfig> InClusterConfig(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// controller-runtime's order: the --kubeconfig flag, KUBECONFIG, in-cluster, ~/.kube/config.
Result<RestConfig> LoadConfig(const std::string& kubeconfig_flag = "",
                              const std::string& context = "");

}  // namespace kube
