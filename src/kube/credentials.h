#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "kube/config.h"
#include "kube/status.h"

namespace kube {

// What an exec credential plugin printed (an ExecCredential's status).
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Runs the plugin of `exec` with KUBERNETES_EXEC_INFO set (cluster info from `cluster`,
// the client's config, when provideClusterInfo is on) and decodes its stdout. A plugin
// that fails, hangs past `timeout` (on cluster.env's clock) or prints something that is
// not an ExecCredential gives kConfigError naming the command and, for failures, its
// exit status and stderr.
Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const RestConfig& cluster,
                                     std::chrono::seconds timeout = std::chrono::seconds(60));

// base::ParseRfc3339 on the system clock ("2006-01-02T15:04:05Z", fractions and offsets
// allowed); times past the clock's range (year 2262) read as year 2255.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& text);

// The bearer token (and exec-provided client certificate) for one client, as client-go's
// cached token sources keep it: a token file is re-read at most every `file_period` and
// after a 401; an exec credential is cached until its expirationTimestamp and re-run
// after a 401. Both on config.env's clocks (monotonic for the period, wall for the
// expiry). Thread-safe.
class Credentials {
 public:
  explicit Credentials(const RestConfig& config,
                       std::chrono::seconds file_period = std::chrono::seconds(60));

  // The token to send now; "" when the config has none.
  Result<std::string> Token();
  // A request sent with `used` got 401: drops that credential. True when a different
  // one is now available, so the request is worth one retry.
  bool OnUnauthorized(const std::string& used);

  // Client certificate from an exec plugin, if it gave one; `generation` changes with it.
  struct Identity {
    std::string cert_pem;
    std::string key_pem;
    uint64_t generation = 0;
  };
  Identity ExecIdentity();
  bool has_exec() const { return config_.exec.has_value(); }

 private:
  Status RefreshExecLocked();
  void RereadFileLocked(base::Env::SteadyTime now);

  const RestConfig config_;
  const std::chrono::seconds file_period_;
  std::mutex mu_;
  std::string token_;
  base::Env::SteadyTime file_read_at_;
  bool exec_valid_ = false;
  std::optional<std::chrono::system_clock::time_point> exec_expiry_;
  Identity identity_;
};

}  // namespace kube
