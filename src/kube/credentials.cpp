#include "kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/rfc3339.h"
#include "kube/tls.h"

extern char** environ;

namespace kube {
namespace {

using json = nlohmann::json;

std::string ExecName(const ExecConfig& exec) { return "exec plugin \"" + exec.command + "\""; }

std::string ExecInfo(const ExecConfig& exec, const RestConfig& cluster) {
  json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    json c = {{"server", cluster.server}};
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    if (!cluster.ca_pem.empty()) c["certificate-authority-data"] = tls::Base64Encode(cluster.ca_pem);
    spec["cluster"] = std::move(c);
  }
  json info = {{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  return info.dump();
}

std::string Tail(const std::string& s, size_t n) {
  std::string t = s.size() > n ? "..." + s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& text) {
  auto t = base::ParseRfc3339(text);
  if (!t) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: far-future times are clamped (year 2255).
  constexpr std::chrono::seconds kLatest{9'000'000'000};
  if (t->time_since_epoch() > kLatest) return std::chrono::system_clock::time_point{kLatest};
  return std::chrono::system_clock::time_point{t->time_since_epoch()};
}

Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const RestConfig& cluster,
                                     std::chrono::seconds timeout) {
  auto fail = [&](const std::string& what) {
    return Status(Reason::kConfigError, ExecName(exec) + ": " + what);
  };
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (key == "KUBERNETES_EXEC_INFO" || exec.env.count(key) > 0) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : exec.env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("KUBERNETES_EXEC_INFO=" + ExecInfo(exec, cluster));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{exec.command};
  argv_strings.insert(argv_strings.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, exec.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return fail(std::string("cannot run: ") + std::strerror(rc) +
                (rc == ENOENT ? " (not found; is it installed and in PATH?)" : ""));
  }
  out_w.Close();
  err_w.Close();

  std::string out, err;
  base::Env& clock = *cluster.env;
  const auto deadline = clock.Deadline(timeout);
  bool timed_out = false;
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    // poll waits in real time; the deadline is on the client's clock.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? out : err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        (i == 0 ? out_r : err_r).Close();
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return fail("no answer within " + std::to_string(timeout.count()) + "s; killed");
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::string how = WIFEXITED(wstatus)
                          ? "exited with status " + std::to_string(WEXITSTATUS(wstatus))
                          : "killed by signal " + std::to_string(WTERMSIG(wstatus));
    return fail(how + (err.empty() ? "" : ": " + Tail(err, 1000)));
  }

  json doc = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail("printed something that is not a JSON ExecCredential: " + Tail(out, 200));
  }
  if (doc.value("kind", "") != "ExecCredential") return fail("output: kind: expected ExecCredential");
  if (doc.value("apiVersion", "") != exec.api_version) {
    return fail("output: apiVersion: expected " + exec.api_version + ", got \"" +
                doc.value("apiVersion", "") + "\"");
  }
  auto st = doc.find("status");
  if (st == doc.end() || !st->is_object()) return fail("output: status: missing");
  ExecCredential cred;
  cred.token = st->value("token", "");
  std::string cert = st->value("clientCertificateData", "");
  std::string key = st->value("clientKeyData", "");
  if (cert.empty() != key.empty()) {
    return fail("output: status: clientCertificateData and clientKeyData go together");
  }
  if (cred.token.empty() && cert.empty()) {
    return fail("output: status: neither token nor clientCertificateData is set");
  }
  if (!cert.empty()) {
    auto c = tls::CertificateFromPem(cert);
    if (!c.ok()) return fail("output: status.clientCertificateData: " + c.status().message());
    auto k = tls::PrivateKeyFromPem(key);
    if (!k.ok()) return fail("output: status.clientKeyData: " + k.status().message());
    cred.client_cert_pem = std::move(cert);
    cred.client_key_pem = std::move(key);
  }
  if (auto ts = st->find("expirationTimestamp"); ts != st->end() && !ts->is_null()) {
    if (!ts->is_string()) return fail("output: status.expirationTimestamp: expected a string");
    cred.expiry = ParseRfc3339(ts->get<std::string>());
    if (!cred.expiry) {
      return fail("output: status.expirationTimestamp: \"" + ts->get<std::string>() +
                  "\" is not an RFC 3339 time");
    }
  }
  return cred;
}

Credentials::Credentials(const RestConfig& config, std::chrono::seconds file_period)
    : config_(config), file_period_(file_period), token_(config.bearer_token),
      file_read_at_(config.env->Now()) {}

void Credentials::RereadFileLocked(base::Env::SteadyTime now) {
  file_read_at_ = now;
  std::ifstream in(config_.bearer_token_file, std::ios::binary);
  if (!in) return;  // keep the last good token, as client-go does
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (!t.empty()) token_ = std::move(t);
}

Status Credentials::RefreshExecLocked() {
  auto cred = RunExecPlugin(*config_.exec, config_);
  if (!cred.ok()) return cred.status();
  token_ = std::move(cred->token);
  exec_expiry_ = cred->expiry;
  exec_valid_ = true;
  if (cred->client_cert_pem != identity_.cert_pem || cred->client_key_pem != identity_.key_pem) {
    identity_.cert_pem = std::move(cred->client_cert_pem);
    identity_.key_pem = std::move(cred->client_key_pem);
    ++identity_.generation;
  }
  return Status::OK();
}

Result<std::string> Credentials::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  if (config_.exec) {
    const bool expired = exec_expiry_ && config_.env->WallNow() >= *exec_expiry_;
    if (!exec_valid_ || expired) {
      Status s = RefreshExecLocked();
      if (!s.ok()) return s;
    }
    return token_;
  }
  if (!config_.bearer_token_file.empty()) {
    const auto now = config_.env->Now();
    if (now - file_read_at_ >= file_period_) RereadFileLocked(now);
  }
  return token_;
}

bool Credentials::OnUnauthorized(const std::string& used) {
  std::lock_guard<std::mutex> lock(mu_);
  if (used != token_) return true;  // another request already refreshed it
  if (config_.exec) {
    uint64_t generation = identity_.generation;
    if (!RefreshExecLocked().ok()) {
      exec_valid_ = false;
      return false;
    }
    return token_ != used || identity_.generation != generation;
  }
  if (!config_.bearer_token_file.empty()) {
    RereadFileLocked(config_.env->Now());
    return token_ != used;
  }
  return false;
}

Credentials::Identity Credentials::ExecIdentity() {
  std::lock_guard<std::mutex> lock(mu_);
  return identity_;
}

}  // namespace kube
