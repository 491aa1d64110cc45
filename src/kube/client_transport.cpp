#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <httplib.h>
#include <openssl/x509_vfy.h>

#include "kube/client.h"
#include "kube/client_impl.h"
#include "kube/credentials.h"
#include "kube/rate_limiter.h"
#include "kube/tls.h"
#include "version.h"

// The connection to the apiserver: where it is, TLS and client certificates, the pool of
// kept-alive connections, one request with its retries, transport errors as Status.

namespace kube {
namespace internal {
namespace {

Result<Endpoint> ParseServer(const std::string& server) {
  Endpoint ep;
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    ep.https = false;
    ep.port = 80;
    rest = server.substr(7);
  } else {
    return Status(Reason::kConfigError, "server \"" + server + "\" is not an http(s):// URL");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) ep.base_path = rest.substr(slash);
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) {
      return Status(Reason::kConfigError, "server \"" + server + "\": unclosed [");
    }
    ep.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    ep.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (ep.host.empty()) return Status(Reason::kConfigError, "server \"" + server + "\": no host");
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) {
      return Status(Reason::kConfigError, "server \"" + server + "\": bad port");
    }
    ep.port = static_cast<int>(p);
  }
  ep.host_header = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  if (ep.port != (ep.https ? 443 : 80)) ep.host_header += ":" + std::to_string(ep.port);
  return ep;
}

bool IsNumericHost(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

std::string ResolveHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return "";
  char buf[INET6_ADDRSTRLEN] = {0};
  if (res->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof(buf));
  } else if (res->ai_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, buf,
              sizeof(buf));
  }
  freeaddrinfo(res);
  return buf;
}

// TCP keepalive on every connection to the apiserver: an idle kept-alive connection or a
// quiet watch sends a probe after kKeepAliveIdle without traffic, which keeps NAT and
// conntrack entries on the way alive, and a peer that stopped answering (the entry was
// dropped anyway, the host is gone) ends the connection after kKeepAliveCount unanswered
// probes kKeepAliveInterval apart: 15 s + 3 x 5 s = 30 s. A watch's own deadline
// (kSilentWatchBound) also covers what keepalive cannot see: a peer whose kernel answers
// probes but sends nothing (a black-holing proxy).
constexpr int kKeepAliveIdleSeconds = 15;
constexpr int kKeepAliveIntervalSeconds = 5;
constexpr int kKeepAliveCount = 3;

void SetKeepAlive(int fd) {
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  int idle = kKeepAliveIdleSeconds, interval = kKeepAliveIntervalSeconds, count = kKeepAliveCount;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// A directory that does not exist: handing it to OpenSSL as the CA directory keeps
// httplib from adding the system roots when the config names its own CA.
constexpr const char* kNoSystemRoots = "/nonexistent/failover-operator/no-system-roots";

}  // namespace

RestClient::RestClient(RestConfig config, Endpoint ep)
    : config_(std::move(config)),
      ep_(std::move(ep)),
      creds_(config_),
      limiter_(config_.qps, config_.burst, *config_.env),
      user_agent_(config_.user_agent.empty()
                      ? std::string("failover-operator/") + FAILOVER_OPERATOR_VERSION
                      : config_.user_agent) {}

Status RestClient::Init() {
  if (!config_.client_cert_pem.empty()) {
    auto cert = tls::CertificateFromPem(config_.client_cert_pem);
    if (!cert.ok()) return cert.status().Annotate("client certificate");
    auto key = tls::PrivateKeyFromPem(config_.client_key_pem);
    if (!key.ok()) return key.status().Annotate("client key");
    cert_ = std::move(*cert);
    key_ = std::move(*key);
  }
  if (!config_.ca_pem.empty()) {
    auto store = tls::StoreFromPem(config_.ca_pem);
    if (!store.ok()) return store.status().Annotate("certificate authority");
  }
  if (config_.insecure_skip_tls_verify && ep_.https) {
    std::fprintf(stderr,
                 "warning: %s: insecure-skip-tls-verify is set: the server's certificate "
                 "is not verified\n",
                 config_.source.empty() ? config_.server.c_str() : config_.source.c_str());
  }
  return Status::OK();
}

void RestClient::SetObserver(std::shared_ptr<RequestObserver> observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  observer_ = std::move(observer);
}

Result<std::unique_ptr<httplib::ClientImpl>> RestClient::NewHttpClient(
    bool stream, std::chrono::milliseconds read_timeout) {
  std::unique_ptr<httplib::ClientImpl> cli;
  if (ep_.https) {
    const std::string& tls_host = config_.tls_server_name.empty() ? ep_.host
                                                                  : config_.tls_server_name;
    X509* cert = cert_.get();
    EVP_PKEY* key = key_.get();
    std::shared_ptr<X509> exec_cert;
    std::shared_ptr<EVP_PKEY> exec_key;
    if (creds_.has_exec()) {
      Credentials::Identity id = creds_.ExecIdentity();
      if (!id.cert_pem.empty()) {
        auto c = tls::CertificateFromPem(id.cert_pem);
        auto k = tls::PrivateKeyFromPem(id.key_pem);
        if (c.ok() && k.ok()) {
          exec_cert = std::move(*c);
          exec_key = std::move(*k);
          cert = exec_cert.get();
          key = exec_key.get();
        }
      }
    }
    auto ssl = std::make_unique<httplib::SSLClient>(tls_host, ep_.port, cert, key);
    if (!ssl->is_valid()) {
      return Status(Reason::kTlsError, "cannot use the client certificate and key: " +
                                           tls::LastOpenSslError());
    }
    if (tls_host != ep_.host) {
      std::string ip = IsNumericHost(ep_.host) ? ep_.host : ResolveHost(ep_.host);
      if (ip.empty()) {
        return Status(Reason::kConnectionFailed, "cannot resolve host " + ep_.host);
      }
      ssl->set_hostname_addr_map({{tls_host, ip}});
    }
    if (config_.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else {
      ssl->enable_server_certificate_verification(true);
      if (!config_.ca_pem.empty()) {
        auto store = tls::StoreFromPem(config_.ca_pem);
        if (!store.ok()) return store.status();
        ssl->set_ca_cert_path("", kNoSystemRoots);
        ssl->set_ca_cert_store(store->release());
      }
    }
    cli = std::move(ssl);
  } else {
    cli = std::make_unique<httplib::ClientImpl>(ep_.host, ep_.port);
  }
  cli->set_keep_alive(!stream);
  cli->set_tcp_nodelay(true);
  cli->set_socket_options([](socket_t fd) { SetKeepAlive(fd); });
  cli->set_follow_location(false);
  cli->set_decompress(false);
  auto connect = std::min(config_.timeout, std::chrono::milliseconds(30000));
  if (stream) connect = std::min<std::chrono::milliseconds>(connect, kWatchConnectTimeout);
  cli->set_connection_timeout(connect);
  cli->set_read_timeout(read_timeout);
  cli->set_write_timeout(config_.timeout);
  return cli;
}

Result<RestClient::Lease> RestClient::Acquire() {
  uint64_t generation = creds_.has_exec() ? creds_.ExecIdentity().generation : 0;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (generation != pool_generation_) {
      idle_.clear();
      pool_generation_ = generation;
    }
    if (!idle_.empty()) {
      Lease l{std::move(idle_.back()), true};
      idle_.pop_back();
      return l;
    }
  }
  auto cli = NewHttpClient(false, config_.timeout);
  if (!cli.ok()) return cli.status();
  return Lease{std::move(*cli), false};
}

void RestClient::DropIdle() {
  std::lock_guard<std::mutex> lock(pool_mu_);
  idle_.clear();
}

void RestClient::Release(std::unique_ptr<httplib::ClientImpl> cli) {
  uint64_t generation = creds_.has_exec() ? creds_.ExecIdentity().generation : 0;
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (generation == pool_generation_ && idle_.size() < kMaxIdle) idle_.push_back(std::move(cli));
}

Status RestClient::TransportError(httplib::Error err, const httplib::ClientImpl& cli,
                                  Clock::time_point started,
                                  std::chrono::milliseconds timeout) const {
  std::string where = " (" + config_.server + ")";
  switch (err) {
    case httplib::Error::SSLServerVerification: {
      long v = 0;
      if (auto* ssl = dynamic_cast<const httplib::SSLClient*>(&cli)) {
        v = ssl->get_openssl_verify_result();
      }
      std::string why = v != X509_V_OK ? X509_verify_cert_error_string(v)
                                       : "the certificate does not name the host";
      return Status(Reason::kTlsError, "server certificate verification failed: " + why + where);
    }
    case httplib::Error::SSLConnection:
      return Status(Reason::kTlsError, "TLS handshake failed" + where);
    case httplib::Error::SSLLoadingCerts:
      return Status(Reason::kTlsError, "cannot load the CA certificates" + where);
    case httplib::Error::ConnectionTimeout:
      return Status(Reason::kRequestTimeout, "timed out connecting" + where);
    case httplib::Error::Canceled:
      return Status(Reason::kRequestTimeout,
                    "no complete answer within " + std::to_string(timeout.count()) + "ms" + where);
    case httplib::Error::Read:
      if (config_.env->Now() - started >= timeout - std::chrono::milliseconds(50)) {
        return Status(Reason::kRequestTimeout,
                      "no answer within " + std::to_string(timeout.count()) + "ms" + where);
      }
      return Status(Reason::kConnectionFailed, "connection closed while reading" + where);
    default:
      return Status(Reason::kConnectionFailed, httplib::to_string(err) + where);
  }
}

void RestClient::Observe(const std::string& verb, const std::string& resource, int code,
                         Clock::time_point started) {
  std::shared_ptr<RequestObserver> obs;
  {
    std::lock_guard<std::mutex> lock(observer_mu_);
    obs = observer_;
  }
  if (obs) obs->OnRequest(verb, resource, code, config_.env->Now() - started);
}

void RestClient::AddHeaders(httplib::Request& req, const std::string& token) const {
  req.headers.emplace("Host", ep_.host_header);
  req.headers.emplace("User-Agent", user_agent_);
  req.headers.emplace("Accept", "application/json");
  if (!token.empty()) req.headers.emplace("Authorization", "Bearer " + token);
}

Result<Answer> RestClient::Call(const std::string& verb, const std::string& method,
                                const std::string& resource, const std::string& path,
                                const std::string* body, const std::string& content_type,
                                const RequestDeadline& deadline) {
  base::Env& env = *config_.env;
  // What is left before `deadline` (the config's timeout when there is none); zero or less:
  // the request must not be sent.
  auto time_left = [&]() -> std::chrono::milliseconds {
    if (!deadline) return config_.timeout;
    const auto end = deadline();  // may be time_point::min(): no subtraction before the test
    const auto now = env.Now();
    if (end <= now) return std::chrono::milliseconds(0);
    return std::min(config_.timeout, std::chrono::ceil<std::chrono::milliseconds>(end - now));
  };
  auto past_deadline = [](const char* when) {
    return Status(Reason::kCancelled,
                  std::string("not sent: its deadline (the leader lease) passed ") + when);
  };
  if (time_left().count() <= 0) return past_deadline("before it started");
  if (!deadline) {
    limiter_.Wait();
  } else if (!limiter_.unlimited()) {
    // A request that would wait for the limiter past its deadline is never sent.
    const auto wait = limiter_.Reserve(env.Now());
    if (wait >= time_left()) {
      limiter_.Refund();
      return past_deadline("while it would wait for the QPS limiter");
    }
    if (wait > Clock::duration::zero()) env.SleepFor(wait);
  }
  bool retried_auth = false;
  bool retried_stale = false;
  for (;;) {
    const std::chrono::milliseconds timeout = time_left();
    if (timeout.count() <= 0) return past_deadline("before it was sent or retried");
    auto token = creds_.Token();
    if (!token.ok()) return token.status();
    auto lease = Acquire();
    if (!lease.ok()) return lease.status();
    // Kept-alive connections are shared by requests with and without a deadline: each
    // request sets its own bounds.
    lease->cli->set_connection_timeout(std::min(timeout, std::chrono::milliseconds(30000)));
    lease->cli->set_read_timeout(timeout);
    lease->cli->set_write_timeout(timeout);
    httplib::Request req;
    req.method = method;
    req.path = ep_.base_path.empty() ? path : ep_.base_path + path;
    AddHeaders(req, *token);
    if (body != nullptr) {
      req.body = *body;
      req.headers.emplace("Content-Type", content_type);
    }
    auto started = env.Now();
    const auto answer_by = started + timeout;
    req.progress = [env = config_.env, answer_by](uint64_t, uint64_t) { return env->Now() < answer_by; };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    bool sent = lease->cli->send(req, res, err);
    if (!sent) {
      Status s = TransportError(err, *lease->cli, started, timeout);
      // A kept-alive connection the server closed meanwhile (an apiserver restart, an
      // idle timeout) fails the first request on it. Retry once on a fresh connection
      // when the request never left (Write), or when repeating it changes nothing.
      bool repeatable = method == "GET" || method == "PUT" || method == "DELETE" ||
                        (method == "PATCH" && content_type != "application/json-patch+json");
      bool stale = lease->reused && s.reason() == Reason::kConnectionFailed &&
                   (err == httplib::Error::Write ||
                    (repeatable &&
                     (err == httplib::Error::Read || err == httplib::Error::Unknown)));
      if (stale && !retried_stale) {
        // Its pool-mates date from the same server: drop them all, not one per retry.
        DropIdle();
        retried_stale = true;
        continue;
      }
      reconnect_->TransportFailed();
      Release(std::move(lease->cli));
      Observe(verb, resource, 0, started);
      return s;
    }
    reconnect_->Answered();
    Release(std::move(lease->cli));
    Observe(verb, resource, res.status, started);
    ReportWarnings(res);
    if (res.status == 401 && !retried_auth && creds_.OnUnauthorized(*token)) {
      retried_auth = true;
      continue;
    }
    Answer a;
    a.code = res.status;
    a.body = std::move(res.body);
    if (res.status == 429 || res.status >= 500) {
      a.retry_after = res.get_header_value("Retry-After");
    }
    return a;
  }
}

}  // namespace internal

Result<std::shared_ptr<Client>> Client::Create(const RestConfig& config) {
  // A watch cancelled by closing its socket makes the next TLS write hit EPIPE; the
  // process must survive it, so SIGPIPE is ignored for the whole process.
  static const bool ignore_sigpipe = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)ignore_sigpipe;
  auto ep = internal::ParseServer(config.server);
  if (!ep.ok()) return ep.status();
  auto client = std::make_shared<internal::RestClient>(config, std::move(*ep));
  Status s = client->Init();
  if (!s.ok()) return s.Annotate(config.source.empty() ? config.server : config.source);
  return std::shared_ptr<Client>(std::move(client));
}

}  // namespace kube
