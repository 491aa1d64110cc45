#include "runtime/http_server.h"

#include <chrono>

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "kube/tls.h"

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

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Puts the chain and key of `cert` into `ctx`; "" on success, else what is wrong.
std::string UseServingCert(SSL_CTX& ctx, const ServingCert& cert) {
  std::unique_ptr<BIO, BioFree> chain(BIO_new_mem_buf(cert.cert_chain_pem.data(),
                                                      static_cast<int>(cert.cert_chain_pem.size())));
  kube::tls::X509Ptr leaf(chain ? PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!leaf || SSL_CTX_use_certificate(&ctx, leaf.get()) != 1) {
    return "the certificate cannot be used: " + kube::tls::LastOpenSslError();
  }
  while (X509* next = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(&ctx, next) != 1) {
      X509_free(next);
      return "an intermediate certificate cannot be used: " + kube::tls::LastOpenSslError();
    }
  }
  ERR_clear_error();  // the end of the chain leaves a "no start line" error queued
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size())));
  kube::tls::EvpPkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || SSL_CTX_use_PrivateKey(&ctx, key.get()) != 1 || SSL_CTX_check_private_key(&ctx) != 1) {
    return "the private key cannot be used with the certificate: " + kube::tls::LastOpenSslError();
  }
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return "";
}

}  // namespace

HttpServer::HttpServer(base::Env& env) : HttpServer(env, std::make_unique<httplib::Server>()) {}

HttpServer::HttpServer(base::Env& env, std::unique_ptr<httplib::Server> server)
    : env_(env), server_(std::move(server)) {}

kube::Result<std::unique_ptr<HttpServer>> HttpServer::WithTls(base::Env& env, const ServingCert& cert) {
  std::string error;
  auto server = std::make_unique<httplib::SSLServer>([&cert, &error](SSL_CTX& ctx) {
    error = UseServingCert(ctx, cert);
    return error.empty();
  });
  if (!server->is_valid()) {
    return kube::Status(kube::Reason::kTlsError, error.empty() ? "cannot make a TLS context" : error);
  }
  return std::unique_ptr<HttpServer>(new HttpServer(env, std::move(server)));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::ServeMetrics(std::shared_ptr<const prometheus::Registry> registry, RequestGuard guard) {
  server_->Get("/metrics", [registry = std::move(registry), guard = std::move(guard)](
                               const httplib::Request& req, httplib::Response& res) {
    if (guard) {
      const GuardAnswer answer = guard(req.get_header_value("Authorization"), req.remote_addr);
      if (answer.status != 200) {
        res.status = answer.status;
        if (answer.status == 401) res.set_header("WWW-Authenticate", "Bearer");
        res.set_content(answer.body, "text/plain; charset=utf-8");
        return;
      }
    }
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
