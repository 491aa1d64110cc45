#include "harness/probe.h"
#include "harness/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <httplib.h>

#include "harness/pod_ip_allocator.h"

namespace harness {

using nlohmann::json;

namespace {

int IntField(const json& obj, const char* key, int fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return fallback;
  return it->get<int>();
}

// An IntOrString port: a number, a numeric string, or a containerPort name.
std::optional<int> ResolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (!port.is_string()) return std::nullopt;
  const std::string name = port.get<std::string>();
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoi(name);
  }
  for (const auto& p : container.value("ports", json::array())) {
    if (p.value("name", "") == name) return p.value("containerPort", 0);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProbeSpec> ParseProbe(const json& container, const std::string& field,
                                    std::string* error) {
  auto it = container.find(field);
  if (it == container.end() || !it->is_object()) return std::nullopt;
  const json& p = *it;
  ProbeSpec s;
  s.initial_delay_seconds = std::max(0, IntField(p, "initialDelaySeconds", 0));
  s.period_seconds = IntField(p, "periodSeconds", 10);
  if (s.period_seconds < 1) s.period_seconds = 10;
  s.timeout_seconds = IntField(p, "timeoutSeconds", 1);
  if (s.timeout_seconds < 1) s.timeout_seconds = 1;
  s.success_threshold = IntField(p, "successThreshold", 1);
  if (s.success_threshold < 1) s.success_threshold = 1;
  s.failure_threshold = IntField(p, "failureThreshold", 3);
  if (s.failure_threshold < 1) s.failure_threshold = 3;
  const std::string where = "container " + container.value("name", "") + " " + field;
  if (p.contains("httpGet")) {
    const json& h = p["httpGet"];
    s.kind = ProbeSpec::Kind::kHttpGet;
    auto port = ResolvePort(h.value("port", json()), container);
    if (!port) {
      *error = where + ".httpGet.port: " + h.value("port", json()).dump() +
               " is neither a number nor a named containerPort";
      return std::nullopt;
    }
    s.port = *port;
    s.host = h.value("host", "");
    s.path = h.value("path", "/");
    if (s.path.empty() || s.path[0] != '/') s.path = "/" + s.path;
    s.scheme = h.value("scheme", "HTTP");
    for (const auto& hdr : h.value("httpHeaders", json::array())) {
      s.http_headers.emplace_back(hdr.value("name", ""), hdr.value("value", ""));
    }
  } else if (p.contains("tcpSocket")) {
    const json& t = p["tcpSocket"];
    s.kind = ProbeSpec::Kind::kTcpSocket;
    auto port = ResolvePort(t.value("port", json()), container);
    if (!port) {
      *error = where + ".tcpSocket.port: " + t.value("port", json()).dump() +
               " is neither a number nor a named containerPort";
      return std::nullopt;
    }
    s.port = *port;
    s.host = t.value("host", "");
  } else if (p.contains("exec")) {
    s.kind = ProbeSpec::Kind::kExec;
    for (const auto& c : p["exec"].value("command", json::array())) {
      if (c.is_string()) s.command.push_back(c.get<std::string>());
    }
    if (s.command.empty()) {
      *error = where + ".exec.command: must not be empty";
      return std::nullopt;
    }
  } else {
    *error = where + ": needs one of httpGet, tcpSocket, exec (grpc is not supported here)";
    return std::nullopt;
  }
  return s;
}

bool ProbeTracker::Observe(bool success) {
  if (run_ > 0 && last_ == success) {
    ++run_;
  } else {
    last_ = success;
    run_ = 1;
  }
  int needed = success ? success_threshold_ : failure_threshold_;
  if (result_ != success && run_ >= needed) {
    result_ = success;
    return true;
  }
  return false;
}

void ProbeTracker::Reset() {
  result_ = initial_;
  run_ = 0;
}

namespace {

ProbeOutcome TcpProbe(const std::string& host, int port, int timeout_seconds) {
  auto ip = ParseIPv4(host);
  if (!ip) return {false, "tcp probe: bad host " + host};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {false, std::string("socket: ") + std::strerror(errno)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(*ip);
  ProbeOutcome out;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc == 0) {
    out.success = true;
  } else if (errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    int n = poll(&pfd, 1, timeout_seconds * 1000);
    if (n == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      out.success = err == 0;
      if (err != 0) out.message = "dial tcp " + host + ":" + std::to_string(port) + ": " + std::strerror(err);
    } else {
      out.message = "dial tcp " + host + ":" + std::to_string(port) + ": i/o timeout";
    }
  } else {
    out.message = "dial tcp " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
  }
  close(fd);
  return out;
}

ProbeOutcome HttpProbe(const ProbeSpec& p, const std::string& host) {
  if (p.scheme != "HTTP") {
    return {false, "httpGet scheme " + p.scheme + " is not supported here (HTTP only)"};
  }
  httplib::Client cli(host, p.port);
  cli.set_connection_timeout(p.timeout_seconds, 0);
  cli.set_read_timeout(p.timeout_seconds, 0);
  cli.set_write_timeout(p.timeout_seconds, 0);
  cli.set_keep_alive(false);
  cli.set_follow_location(false);
  // The kubelet sends kube-probe/<major>.<minor>; the harness is no particular release.
  httplib::Headers headers{{"User-Agent", "kube-probe/failover-harness"}};
  for (const auto& [k, v] : p.http_headers) headers.emplace(k, v);
  auto res = cli.Get(p.path, headers);
  if (!res) {
    return {false, "Get \"http://" + host + ":" + std::to_string(p.port) + p.path +
                       "\": " + httplib::to_string(res.error())};
  }
  if (res->status >= 200 && res->status < 400) return {true, ""};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(res->status)};
}

ProbeOutcome ExecProbe(const ProbeSpec& p, const std::vector<std::string>& env, base::Env& clock) {
  std::vector<char*> argv;
  for (const auto& a : p.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return {false, std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    if (!EnterPodNetworkNamespace()) _exit(127);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  const auto deadline = clock.Deadline(std::chrono::seconds(p.timeout_seconds));
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (clock.Now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {false, "command timed out after " + std::to_string(p.timeout_seconds) + "s"};
    }
    clock.SleepFor(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
  return {false, "command exited with " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))};
}

}  // namespace

ProbeOutcome RunProbe(const ProbeSpec& probe, const std::string& pod_ip,
                      const std::vector<std::string>& env, base::Env& clock) {
  const std::string host = probe.host.empty() ? pod_ip : probe.host;
  switch (probe.kind) {
    case ProbeSpec::Kind::kTcpSocket:
      return TcpProbe(host, probe.port, probe.timeout_seconds);
    case ProbeSpec::Kind::kHttpGet:
      return HttpProbe(probe, host);
    case ProbeSpec::Kind::kExec:
      return ExecProbe(probe, env, clock);
  }
  return {false, "unknown probe"};
}

}  // namespace harness
