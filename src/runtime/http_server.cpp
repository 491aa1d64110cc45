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

STACK_OF(X509)* NewChain(const ParsedServingCert& cert) {
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const auto& x : cert.chain) {
    if (chain) sk_X509_push(chain, x.get());
  }
  return chain;
}

// Presents `cert` on `ssl` (one handshake); 1 on success.
int UseOnConnection(SSL* ssl, const ParsedServingCert& cert) {
  STACK_OF(X509)* chain = NewChain(cert);
  const int ok = chain ? SSL_use_cert_and_key(ssl, cert.leaf.get(), cert.key.get(), chain, 1) : 0;
  sk_X509_free(chain);  // SSL_use_cert_and_key took its own references
  return ok == 1 ? 1 : 0;
}

// The certificate of each handshake, from the source (which reloads it when due).
int OnHandshake(SSL* ssl, void* arg) {
  auto* source = static_cast<ServingCertSource*>(arg);
  const auto cert = source->Current();
  return cert ? UseOnConnection(ssl, *cert) : 0;
}

// Puts `cert` into `ctx` and asks `source` at each handshake; "" on success, else what is wrong.
std::string SetUpContext(SSL_CTX& ctx, ServingCertSource& source) {
  const auto cert = source.Current();
  STACK_OF(X509)* chain = cert ? NewChain(*cert) : nullptr;
  const bool used = chain && SSL_CTX_use_cert_and_key(&ctx, cert->leaf.get(), cert->key.get(), chain, 1) == 1;
  sk_X509_free(chain);
  if (!used || SSL_CTX_check_private_key(&ctx) != 1) {
    return "the certificate and key cannot be used: " + kube::tls::LastOpenSslError();
  }
  SSL_CTX_set_cert_cb(&ctx, OnHandshake, &source);
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return "";
}

}  // namespace

HttpServer::HttpServer(base::Env& env) : HttpServer(env, std::make_unique<httplib::Server>()) {}

HttpServer::HttpServer(base::Env& env, std::unique_ptr<httplib::Server> server)
    : env_(env), server_(std::move(server)) {}

kube::Result<std::unique_ptr<HttpServer>> HttpServer::WithTls(base::Env& env,
                                                             std::shared_ptr<ServingCertSource> certs) {
  if (!certs) return kube::Status(kube::Reason::kInvalidArgument, "no certificate source");
  std::string error;
  auto server = std::make_unique<httplib::SSLServer>([&certs, &error](SSL_CTX& ctx) {
    error = SetUpContext(ctx, *certs);
    return error.empty();
  });
  if (!server->is_valid()) {
    return kube::Status(kube::Reason::kTlsError, error.empty() ? "cannot make a TLS context" : error);
  }
  std::unique_ptr<HttpServer> out(new HttpServer(env, std::move(server)));
  out->certs_ = std::move(certs);
  return out;
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
