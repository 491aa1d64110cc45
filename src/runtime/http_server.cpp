#include "runtime/http_server.h"

#include <chrono>

#include <httplib.h>

#include "runtime/metrics.h"

namespace runtime {

kube::Result<BindAddress> ParseBindAddress(const std::string& text) {
  BindAddress out;
  if (text == "0") {
    out.disabled = true;
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "bind address \"" + text + "\": want [host]:port or 0 to disable");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty()) out.host = host;
  const std::string port = text.substr(colon + 1);
  try {
    size_t used = 0;
    out.port = std::stoi(port, &used);
    if (used != port.size() || out.port < 0 || out.port > 65535) throw std::out_of_range(port);
  } catch (const std::exception&) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "bind address \"" + text + "\": port must be 0..65535");
  }
  return out;
}

HttpServer::HttpServer(base::Env& env) : env_(env), server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::ServeMetrics(std::shared_ptr<const prometheus::Registry> registry) {
  server_->Get("/metrics", [registry = std::move(registry)](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry ? SerializeMetrics(*registry) : std::string(),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

void HttpServer::ServeHealth() {
  auto handler = [this](bool ready) {
    return [this, ready](const httplib::Request& req, httplib::Response& res) {
      int code = 200;
      std::string body;
      HandleChecks(ready, req.has_param("verbose") ? "1" : "", &code, &body);
      res.status = code;
      res.set_content(body, "text/plain; charset=utf-8");
    };
  };
  server_->Get("/healthz", handler(false));
  server_->Get("/readyz", handler(true));
}

void HttpServer::AddHealthzCheck(const std::string& name, HealthCheck check) {
  std::lock_guard<std::mutex> lock(mu_);
  healthz_.emplace_back(name, std::move(check));
}

void HttpServer::AddReadyzCheck(const std::string& name, HealthCheck check) {
  std::lock_guard<std::mutex> lock(mu_);
  readyz_.emplace_back(name, std::move(check));
}

void HttpServer::HandleChecks(bool ready, const std::string& verbose, int* code,
                              std::string* body) {
  std::vector<std::pair<std::string, HealthCheck>> checks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checks = ready ? readyz_ : healthz_;
  }
  bool all_ok = true;
  std::string detail;
  for (const auto& [name, check] : checks) {
    std::string why;
    try {
      why = check();
    } catch (const std::exception& e) {
      why = std::string("check threw: ") + e.what();
    }
    if (why.empty()) {
      detail += "[+]" + name + " ok\n";
    } else {
      all_ok = false;
      detail += "[-]" + name + " failed: " + why + "\n";
    }
  }
  *code = all_ok ? 200 : 500;
  const std::string what = ready ? "readyz" : "healthz";
  if (all_ok && verbose.empty()) {
    *body = "ok";
  } else {
    *body = detail + what + (all_ok ? " check passed\n" : " check failed\n");
  }
}

kube::Status HttpServer::Start(const BindAddress& address) {
  if (address.disabled) return kube::Status::OK();
  if (address.port == 0) {
    port_ = server_->bind_to_any_port(address.host);
    if (port_ <= 0) {
      return kube::Status(kube::Reason::kInvalidArgument,
                          "cannot bind " + address.host + ": no free port");
    }
  } else {
    if (!server_->bind_to_port(address.host, address.port)) {
      return kube::Status(kube::Reason::kInvalidArgument,
                          "cannot bind " + address.host + ":" + std::to_string(address.port) +
                              " (in use or not allowed)");
    }
    port_ = address.port;
  }
  listen_done_.store(false);
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_done_.store(true);
  });
  for (int i = 0; i < 500 && !server_->is_running() && !listen_done_.load(); ++i) {
    env_.SleepFor(std::chrono::milliseconds(2));
  }
  return kube::Status::OK();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    while (!server_->is_running() && !listen_done_.load()) env_.SleepFor(std::chrono::milliseconds(2));
    server_->stop();
    thread_.join();
  }
}

}  // namespace runtime
