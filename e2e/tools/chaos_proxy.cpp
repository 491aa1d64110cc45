// failover-chaos-proxy: a TCP proxy that injects faults between a client (the operator)
// and a server (the kube-apiserver). Bytes pass through untouched (TLS included).
//
//   failover-chaos-proxy --upstream 127.0.0.1:6443 [--listen 127.0.0.1:0]
//       [--admin 127.0.0.1:0] [--seed N] [--cut-every-ms N] [--port-file F]
//
// Admin endpoint (GET or POST): /cut (close every open connection), /blackhole/on and
// /blackhole/off (accept, read and drop everything: open connections stay open and go
// silent both ways, a close from either side is not passed on either, as behind a lost
// route or NAT entry; new connections are accepted and never reach the upstream; after
// /blackhole/off the connections accepted before resume, those accepted during it stay
// dead), /delay?ms=N (delay every forwarded
// chunk), /random?every_ms=N (cut one random connection at exponentially distributed
// intervals with this mean; 0 = off), /stats (JSON counters).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

bool ParseHostPort(const std::string& text, HostPort* out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  out->host = text.substr(0, colon);
  try {
    out->port = std::stoi(text.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return !out->host.empty() && out->port >= 0 && out->port < 65536;
}

sockaddr_in Address(const HostPort& hp) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(hp.port));
  inet_pton(AF_INET, hp.host.c_str(), &a.sin_addr);
  return a;
}

// One proxied connection: two sockets and the two pumps between them.
struct Connection {
  int client = -1;
  int upstream = -1;
  std::atomic<int> pumps_left{2};
  ~Connection() {
    if (client >= 0) close(client);
    if (upstream >= 0) close(upstream);
  }
  void Cut() {
    shutdown(client, SHUT_RDWR);
    if (upstream >= 0) shutdown(upstream, SHUT_RDWR);
  }
};

class Proxy {
 public:
  Proxy(HostPort upstream, uint64_t seed) : upstream_(std::move(upstream)), rng_(seed) {}

  void Serve(int listener) {
    while (!stopping_) {
      int fd = accept(listener, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      accepted_++;
      auto conn = std::make_shared<Connection>();
      conn->client = fd;
      if (!blackhole_) {
        int up = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = Address(upstream_);
        if (connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
          close(up);
          upstream_failures_++;
          continue;  // conn's destructor closes the client socket
        }
        int one = 1;
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn->upstream = up;
      }
      uint64_t id;
      {
        std::lock_guard<std::mutex> lock(mu_);
        id = next_id_++;
        open_[id] = conn;
      }
      std::thread([this, conn, id] { Pump(conn, id, conn->client, conn->upstream); }).detach();
      if (conn->upstream >= 0) {
        std::thread([this, conn, id] { Pump(conn, id, conn->upstream, conn->client); }).detach();
      } else {
        conn->pumps_left--;
      }
    }
  }

  int CutAll() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (auto& [id, weak] : open_) {
      if (auto c = weak.lock()) {
        c->Cut();
        n++;
      }
    }
    cuts_ += n;
    return n;
  }

  bool CutRandom() {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_.empty()) return false;
    std::uniform_int_distribution<size_t> pick(0, open_.size() - 1);
    auto it = std::next(open_.begin(), static_cast<long>(pick(rng_)));
    if (auto c = it->second.lock()) {
      c->Cut();
      cuts_++;
      return true;
    }
    return false;
  }

  // Cuts one random connection at exponentially distributed intervals (mean every_ms_).
  void RandomCutter() {
    std::unique_lock<std::mutex> lock(cutter_mu_);
    while (!stopping_) {
      int mean = every_ms_;
      if (mean <= 0) {
        cutter_cv_.wait_for(lock, std::chrono::milliseconds(200));
        continue;
      }
      double wait_ms;
      {
        std::lock_guard<std::mutex> g(mu_);
        wait_ms = std::exponential_distribution<double>(1.0 / mean)(rng_);
      }
      cutter_cv_.wait_for(lock, std::chrono::microseconds(static_cast<int64_t>(wait_ms * 1000)));
      if (!stopping_ && every_ms_ > 0) {
        lock.unlock();
        CutRandom();
        lock.lock();
      }
    }
  }

  void SetRandom(int every_ms) {
    every_ms_ = every_ms;
    cutter_cv_.notify_all();
  }
  void SetBlackhole(bool on) { blackhole_ = on; }
  void SetDelay(int ms) { delay_ms_ = ms; }
  void Stop() {
    stopping_ = true;
    cutter_cv_.notify_all();
  }

  nlohmann::json Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {{"accepted", accepted_.load()},        {"open", open_.size()},
            {"cuts", cuts_.load()},                {"bytes", bytes_.load()},
            {"upstreamFailures", upstream_failures_.load()},
            {"blackhole", blackhole_.load()},      {"delayMs", delay_ms_.load()},
            {"randomEveryMs", every_ms_.load()}};
  }

 private:
  void Pump(const std::shared_ptr<Connection>& conn, uint64_t id, int from, int to) {
    char buf[16384];
    while (true) {
      ssize_t n = recv(from, buf, sizeof buf, 0);
      if (n <= 0) {
        // In a black hole the other side learns nothing, its close included: it stays
        // open and silent until it gives up by itself (its pump then cuts both).
        if (blackhole_ && to >= 0) {
          if (--conn->pumps_left == 0) {
            std::lock_guard<std::mutex> lock(mu_);
            open_.erase(id);
          }
          return;
        }
        break;
      }
      if (blackhole_ || to < 0) continue;
      if (int d = delay_ms_; d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) break;
        off += w;
      }
      if (off < n) break;
      bytes_ += static_cast<uint64_t>(n);
    }
    conn->Cut();
    if (--conn->pumps_left == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      open_.erase(id);
    }
  }

  HostPort upstream_;
  std::mt19937_64 rng_;
  std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<Connection>> open_;
  uint64_t next_id_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> blackhole_{false};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> every_ms_{0};
  std::atomic<uint64_t> accepted_{0}, cuts_{0}, bytes_{0}, upstream_failures_{0};
  std::mutex cutter_mu_;
  std::condition_variable cutter_cv_;
};

int Listen(const HostPort& hp, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = Address(hp);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
    std::perror("chaos-proxy: listen");
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int Usage() {
  std::cerr << "usage: failover-chaos-proxy --upstream HOST:PORT [--listen 127.0.0.1:0]\n"
               "       [--admin 127.0.0.1:0] [--seed N] [--cut-every-ms N] [--port-file F]\n";
  return 2;
}

std::atomic<bool> g_signalled{false};

}  // namespace

int main(int argc, char** argv) {
  HostPort upstream, listen_at{"127.0.0.1", 0}, admin_at{"127.0.0.1", 0};
  uint64_t seed = 1;
  int every_ms = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    try {
      if (a == "--upstream") {
        if (!ParseHostPort(next(), &upstream)) return Usage();
      } else if (a == "--listen") {
        if (!ParseHostPort(next(), &listen_at)) return Usage();
      } else if (a == "--admin") {
        if (!ParseHostPort(next(), &admin_at)) return Usage();
      } else if (a == "--seed") {
        seed = std::stoull(next());
      } else if (a == "--cut-every-ms") {
        every_ms = std::stoi(next());
      } else if (a == "--port-file") {
        port_file = next();
      } else {
        return Usage();
      }
    } catch (...) {
      return Usage();
    }
  }
  if (upstream.port == 0) return Usage();

  int listen_port = 0;
  int listener = Listen(listen_at, &listen_port);
  if (listener < 0) return 1;
  Proxy proxy(upstream, seed);
  proxy.SetRandom(every_ms);

  httplib::Server admin;
  auto handle = [&admin](const char* path, const httplib::Server::Handler& h) {
    admin.Get(path, h);
    admin.Post(path, h);
  };
  auto text = [](httplib::Response& res, const std::string& body) {
    res.set_content(body + "\n", "text/plain");
  };
  auto int_param = [](const httplib::Request& req, const char* key) {
    return req.has_param(key) ? std::atoi(req.get_param_value(key).c_str()) : 0;
  };
  handle("/cut", [&](const httplib::Request&, httplib::Response& res) {
    text(res, std::to_string(proxy.CutAll()) + " cut");
  });
  handle("/blackhole/on", [&](const httplib::Request&, httplib::Response& res) {
    proxy.SetBlackhole(true);
    text(res, "blackhole on");
  });
  handle("/blackhole/off", [&](const httplib::Request&, httplib::Response& res) {
    proxy.SetBlackhole(false);
    text(res, "blackhole off");
  });
  handle("/delay", [&](const httplib::Request& req, httplib::Response& res) {
    proxy.SetDelay(int_param(req, "ms"));
    text(res, "delay " + std::to_string(int_param(req, "ms")) + "ms");
  });
  handle("/random", [&](const httplib::Request& req, httplib::Response& res) {
    proxy.SetRandom(int_param(req, "every_ms"));
    text(res, "random cut every " + std::to_string(int_param(req, "every_ms")) + "ms");
  });
  handle("/stats", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(proxy.Stats().dump() + "\n", "application/json");
  });
  int admin_port = admin_at.port;
  if (admin_at.port == 0) {
    admin_port = admin.bind_to_any_port(admin_at.host);
  } else if (!admin.bind_to_port(admin_at.host, admin_at.port)) {
    admin_port = -1;
  }
  if (admin_port <= 0) {
    std::cerr << "chaos-proxy: cannot bind the admin endpoint\n";
    return 1;
  }
  std::thread admin_thread([&] { admin.listen_after_bind(); });

  std::string ports = "listen=" + std::to_string(listen_port) + " admin=" +
                      std::to_string(admin_port) + "\n";
  std::cout << "failover-chaos-proxy " << ports << std::flush;
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << ports;
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }

  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { g_signalled = true; });
  std::signal(SIGINT, [](int) { g_signalled = true; });
  std::thread serve([&] { proxy.Serve(listener); });
  std::thread cutter([&] { proxy.RandomCutter(); });
  while (!g_signalled) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  proxy.Stop();
  shutdown(listener, SHUT_RDWR);
  close(listener);
  proxy.CutAll();
  admin.stop();
  admin_thread.join();
  serve.join();
  cutter.join();
  return 0;
}
