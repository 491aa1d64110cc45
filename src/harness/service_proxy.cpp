#include "harness/service_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "harness/list_watch_options.h"
#include "harness/pod_ip_allocator.h"
#include "harness/pod_status.h"

namespace harness {

using nlohmann::json;

namespace {

void Log(const base::Env& env, const std::string& line) {
  std::string out = NowRfc3339(env) + " service-proxy: " + line + "\n";
  std::fputs(out.c_str(), stderr);
}

int ListenTcp(const std::string& ip, int port, std::string* error) {
  auto addr_ip = ParseIPv4(ip);
  if (!addr_ip) {
    *error = "bad bind address " + ip;
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(*addr_ip);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 512) != 0) {
    *error = "listen " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

// Connects within timeout_ms; returns a blocking-mode-agnostic fd or -1 with *error.
int ConnectTcp(const Backend& b, int timeout_ms, std::string* error) {
  auto ip = ParseIPv4(b.ip);
  if (!ip) {
    *error = "bad endpoint address " + b.ip;
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(b.port));
  addr.sin_addr.s_addr = htonl(*ip);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      *error = std::strerror(errno);
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1) {
      *error = "connect timeout";
      close(fd);
      return -1;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      *error = std::strerror(err);
      close(fd);
      return -1;
    }
  }
  return fd;
}

std::string PeerName(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  return FormatIPv4(ntohl(addr.sin_addr.s_addr)) + ":" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace

ServiceProxy::ServiceProxy(std::shared_ptr<kube::Client> client, ServiceProxyOptions options, base::Env& env)
    : client_(std::move(client)), options_(std::move(options)), env_(env) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
  services_watch_ = MakeWatch(kube::resources::kServices, true);
  slices_watch_ = MakeWatch(kube::resources::kEndpointSlices, false);
}

ServiceProxy::~ServiceProxy() {
  Stop();
  for (auto& [port, fd] : listeners_) close(fd);
  if (wake_pipe_[0] >= 0) close(wake_pipe_[0]);
  if (wake_pipe_[1] >= 0) close(wake_pipe_[1]);
}

void ServiceProxy::Stop() {
  stopping_ = true;
  services_watch_->Stop();
  slices_watch_->Stop();
  cv_.notify_all();
  if (wake_pipe_[1] >= 0) {
    char c = 'x';
    ssize_t ignored = write(wake_pipe_[1], &c, 1);
    (void)ignored;
  }
}

void ServiceProxy::Run() {
  std::thread services([this] { services_watch_->Run(); });
  std::thread slices([this] { slices_watch_->Run(); });
  AcceptLoop();
  services.join();
  slices.join();
  std::unique_lock<std::mutex> lock(mu_);
  env_.WaitFor(lock, cv_, std::chrono::seconds(2), [this] { return active_ == 0; });
}

std::unique_ptr<kube::ListWatch> ServiceProxy::MakeWatch(const kube::Resource& res, bool services) {
  kube::ListWatchHandlers h;
  h.on_list = [this, services](json& items, const std::string&) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (services) table_.ClearServices(); else table_.ClearSlices();
      for (const auto& obj : items) {
        if (services) table_.UpsertService(obj); else table_.UpsertSlice(obj);
      }
    }
    Rebuild();
  };
  h.on_event = [this, services](kube::WatchEvent& ev) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ev.type == kube::WatchEvent::Type::kDeleted) {
        const json& meta = ev.object.value("metadata", json::object());
        if (services) {
          table_.RemoveService(meta.value("namespace", ""), meta.value("name", ""));
        } else {
          table_.RemoveSlice(meta.value("namespace", ""), meta.value("name", ""));
        }
      } else if (services) {
        table_.UpsertService(ev.object);
      } else {
        table_.UpsertSlice(ev.object);
      }
    }
    Rebuild();
  };
  h.on_error = [this, name = res.Name()](const kube::ListWatchError& e) {
    if (auto line = ListWatchErrorLine(name, e)) Log(env_, *line);
  };
  return std::make_unique<kube::ListWatch>(client_, HarnessListWatch(res, env_), std::move(h));
}

void ServiceProxy::Rebuild() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<int, Route> routes = table_.Routes();
  for (const auto& [port, route] : routes) {
    auto old = routes_.find(port);
    if (old == routes_.end() || old->second.backends != route.backends) {
      std::string list;
      for (const auto& b : route.backends) {
        list += (list.empty() ? "" : ", ") + b.Address() + (b.pod.empty() ? "" : " (" + b.pod + ")");
      }
      Log(env_, route.service + ":" + (route.port_name.empty() ? std::to_string(route.service_port) : route.port_name) +
          " nodePort " + std::to_string(port) + " -> [" + list + "]");
    }
    if (listeners_.count(port) == 0) {
      std::string error;
      int fd = ListenTcp(options_.bind_address, port, &error);
      if (fd >= 0) {
        listeners_[port] = fd;
        listen_errors_.erase(port);
        Log(env_, "listening on " + options_.bind_address + ":" + std::to_string(port) + " for " + route.service);
      } else if (listen_errors_[port] != error) {
        listen_errors_[port] = error;
        Log(env_, error);
      }
    }
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (routes.count(it->first) == 0) {
      Log(env_, "closing " + options_.bind_address + ":" + std::to_string(it->first));
      close(it->second);
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = listen_errors_.begin(); it != listen_errors_.end();) {
    if (routes.count(it->first) == 0) it = listen_errors_.erase(it); else ++it;
  }
  routes_ = std::move(routes);
  if (wake_pipe_[1] >= 0) {
    char c = 'r';
    ssize_t ignored = write(wake_pipe_[1], &c, 1);
    (void)ignored;
  }
}

bool ServiceProxy::PickBackend(int node_port, size_t attempt, Backend* out, std::string* service) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = routes_.find(node_port);
  if (it == routes_.end()) return false;
  *service = it->second.service + ":" +
             (it->second.port_name.empty() ? std::to_string(it->second.service_port) : it->second.port_name);
  const auto& backends = it->second.backends;
  if (backends.empty() || attempt >= std::min<size_t>(backends.size(), 3)) return false;
  size_t& cursor = next_[node_port];
  *out = backends[cursor % backends.size()];
  ++cursor;
  return true;
}

void ServiceProxy::AcceptLoop() {
  while (!stopping_) {
    std::vector<pollfd> fds;
    std::vector<int> ports;
    fds.push_back(pollfd{wake_pipe_[0], POLLIN, 0});
    ports.push_back(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [port, fd] : listeners_) {
        fds.push_back(pollfd{fd, POLLIN, 0});
        ports.push_back(port);
      }
    }
    int n = poll(fds.data(), fds.size(), 1000);
    if (n <= 0) continue;
    if (fds[0].revents != 0) {
      char buf[64];
      while (read(wake_pipe_[0], buf, sizeof(buf)) > 0) {
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      while (true) {
        int cfd;
        {
          // Hold the lock so Rebuild cannot close the listener under accept().
          std::lock_guard<std::mutex> lock(mu_);
          auto it = listeners_.find(ports[i]);
          if (it == listeners_.end() || it->second != fds[i].fd) break;
          cfd = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (cfd < 0) break;
          if (active_ >= options_.max_connections) {
            close(cfd);
            Log(env_, "refusing connection on nodePort " + std::to_string(ports[i]) + ": " +
                std::to_string(active_) + " connections open");
            continue;
          }
          ++active_;
        }
        std::string peer = PeerName(cfd);
        std::thread([this, cfd, port = ports[i], peer] { Relay(cfd, port, peer); }).detach();
      }
    }
  }
}

void ServiceProxy::Relay(int client_fd, int node_port, std::string client_addr) {
  Backend backend;
  std::string service;
  int backend_fd = -1;
  std::string error;
  for (size_t attempt = 0; PickBackend(node_port, attempt, &backend, &service); ++attempt) {
    backend_fd = ConnectTcp(backend, 1000, &error);
    std::lock_guard<std::mutex> lock(mu_);
    Counters& c = counters_[backend.Address()];
    c.pod = backend.pod;
    if (backend_fd >= 0) {
      ++c.connections;
      ++c.active;
      break;
    }
    ++c.failures;
  }
  if (backend_fd < 0) {
    if (options_.log_connections) {
      Log(env_, "connection " + client_addr + " -> nodePort " + std::to_string(node_port) + " (" + service +
          "): no reachable ready endpoint" + (error.empty() ? "" : " (last error: " + error + ")"));
    }
    close(client_fd);
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
    cv_.notify_all();
    return;
  }
  if (options_.log_connections) {
    Log(env_, "connection " + client_addr + " -> nodePort " + std::to_string(node_port) + " (" + service +
        ") -> " + backend.Address() + (backend.pod.empty() ? "" : " pod " + backend.pod));
  }
  int flags = fcntl(client_fd, F_GETFL);
  fcntl(client_fd, F_SETFL, flags | O_NONBLOCK);
  uint64_t bytes = 0;
  // fds[0] = client, fds[1] = backend; data read from i is written to 1 - i.
  int fdv[2] = {client_fd, backend_fd};
  bool read_open[2] = {true, true};
  std::vector<char> buf[2] = {std::vector<char>(), std::vector<char>()};
  char chunk[16384];
  while (!stopping_ && (read_open[0] || read_open[1] || !buf[0].empty() || !buf[1].empty())) {
    pollfd p[2];
    for (int i = 0; i < 2; ++i) {
      p[i].fd = fdv[i];
      p[i].events = 0;
      p[i].revents = 0;
      // Read from i only while its peer's send buffer is drained (back-pressure).
      if (read_open[i] && buf[i].empty()) p[i].events |= POLLIN;
      if (!buf[1 - i].empty()) p[i].events |= POLLOUT;
    }
    if (poll(p, 2, 1000) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool failed = false;
    for (int i = 0; i < 2 && !failed; ++i) {
      if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (read_open[i] && buf[i].empty()) {
          ssize_t r = read(fdv[i], chunk, sizeof(chunk));
          if (r > 0) {
            buf[i].assign(chunk, chunk + r);
            bytes += static_cast<uint64_t>(r);
          } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            read_open[i] = false;
            if (r < 0) failed = true;
          }
        } else if ((p[i].revents & POLLERR) != 0) {
          failed = true;
        }
      }
      int o = 1 - i;
      if (!buf[i].empty()) {
        ssize_t w = send(fdv[o], buf[i].data(), buf[i].size(), MSG_NOSIGNAL);
        if (w > 0) {
          buf[i].erase(buf[i].begin(), buf[i].begin() + w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          failed = true;
        }
      }
      if (!read_open[i] && buf[i].empty()) shutdown(fdv[o], SHUT_WR);
      // Hung up in both directions and nothing more to read: nobody can be written to.
      if ((p[i].revents & POLLHUP) != 0 && !read_open[i] && buf[i].empty()) failed = true;
    }
    if (failed) break;
  }
  close(client_fd);
  close(backend_fd);
  std::lock_guard<std::mutex> lock(mu_);
  Counters& c = counters_[backend.Address()];
  --c.active;
  c.bytes += bytes;
  --active_;
  cv_.notify_all();
}

json ServiceProxy::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  json services = json::object();
  for (const auto& [port, route] : routes_) {
    json eps = json::array();
    for (const auto& b : route.backends) {
      auto it = counters_.find(b.Address());
      eps.push_back({{"address", b.Address()},
                     {"ip", b.ip},
                     {"port", b.port},
                     {"pod", b.pod},
                     {"connections", it == counters_.end() ? 0 : it->second.connections}});
    }
    json entry = {{"nodePort", port},
                  {"port", route.service_port},
                  {"portName", route.port_name},
                  {"listening", listeners_.count(port) > 0},
                  {"endpoints", eps}};
    auto err = listen_errors_.find(port);
    if (err != listen_errors_.end()) entry["error"] = err->second;
    services[route.service]["ports"].push_back(entry);
  }
  json backends = json::object();
  for (const auto& [addr, c] : counters_) {
    backends[addr] = {{"pod", c.pod},
                      {"connections", c.connections},
                      {"failures", c.failures},
                      {"active", c.active},
                      {"bytes", c.bytes}};
  }
  return json{{"bindAddress", options_.bind_address},
              {"activeConnections", active_},
              {"services", services},
              {"backends", backends}};
}

}  // namespace harness
