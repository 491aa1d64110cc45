#include "kube/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <httplib.h>
#include <openssl/x509_vfy.h>

#include "kube/credentials.h"
#include "kube/rate_limiter.h"
#include "kube/tls.h"
#include "version.h"

namespace kube {
namespace {

using Clock = std::chrono::steady_clock;

// Where the apiserver is, split out of RestConfig::server.
struct Endpoint {
  bool https = true;
  std::string host;       // no brackets
  int port = 443;
  std::string base_path;  // "" or "/prefix"
  std::string host_header;
};

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

// The apiserver's warnings (deprecated APIs and fields, admission warnings) go to stderr
// once per distinct text, as client-go's default warning handler does: a deprecation is
// something to fix, not to hide.
void ReportWarnings(const httplib::Response& res) {
  size_t n = res.get_header_value_count("Warning");
  if (n == 0) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    for (auto& text : ParseWarningHeader(res.get_header_value("Warning", i))) {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() < 1000 && seen.insert(text).second) {
        std::fprintf(stderr, "warning: kube-apiserver: %s\n", text.c_str());
      }
    }
  }
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

const char* PatchContentType(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

Result<json> ParseJson(const std::string& body, const std::string& what) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status(Reason::kBadResponse, what + ": the answer is not JSON: " + body.substr(0, 200));
  }
  return doc;
}

// A directory that does not exist: handing it to OpenSSL as the CA directory keeps
// httplib from adding the system roots when the config names its own CA.
constexpr const char* kNoSystemRoots = "/nonexistent/failover-operator/no-system-roots";

// One HTTP exchange as the verbs see it.
struct Answer {
  int code = 0;
  std::string body;
  std::string retry_after;
};

class RestClient final : public Client {
 public:
  RestClient(RestConfig config, Endpoint ep)
      : config_(std::move(config)),
        ep_(std::move(ep)),
        creds_(config_),
        limiter_(config_.qps, config_.burst),
        user_agent_(config_.user_agent.empty()
                        ? std::string("failover-operator/") + FAILOVER_OPERATOR_VERSION
                        : config_.user_agent) {}

  Status Init() {
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

  const RestConfig& config() const override { return config_; }

  void SetObserver(std::shared_ptr<RequestObserver> observer) override {
    std::lock_guard<std::mutex> lock(observer_mu_);
    observer_ = std::move(observer);
  }

  Result<json> Get(const Resource& res, const std::string& ns, const std::string& name,
                   const std::string& subresource) override {
    if (name.empty()) return Status(Reason::kInvalidArgument, "get " + res.Name() + ": no name");
    return JsonCall("GET", "GET", res.Name(), res.ObjectPath(ns, name, subresource), nullptr,
                    "", "get " + res.Name() + " " + Qualified(ns, name));
  }

  Result<json> List(const Resource& res, const std::string& ns,
                    const ListOptions& opts) override {
    std::map<std::string, std::string> q{
        {"labelSelector", opts.label_selector},
        {"fieldSelector", opts.field_selector},
        {"continue", opts.continue_token},
        {"resourceVersion", opts.resource_version},
    };
    if (opts.limit > 0) q["limit"] = std::to_string(opts.limit);
    if (opts.timeout_seconds) q["timeoutSeconds"] = std::to_string(*opts.timeout_seconds);
    return JsonCall("LIST", "GET", res.Name(), res.CollectionPath(ns) + QueryString(q), nullptr,
                    "", "list " + res.Name() + (ns.empty() ? "" : " in " + ns));
  }

  Result<json> ListAll(const Resource& res, const std::string& ns, ListOptions opts) override {
    const ListOptions first_opts = opts;
    bool restarted = false;
    json merged;
    json items = json::array();
    for (;;) {
      auto page = List(res, ns, opts);
      if (!page.ok()) {
        if (page.status().IsExpired() && !opts.continue_token.empty() && !restarted) {
          restarted = true;
          opts = first_opts;
          opts.continue_token.clear();
          merged = json();
          items = json::array();
          continue;
        }
        return page.status();
      }
      json& p = *page;
      if (auto it = p.find("items"); it != p.end() && it->is_array()) {
        for (auto& item : *it) {
          if (opts.item_transform) opts.item_transform(item);
          items.push_back(std::move(item));
        }
      }
      std::string next;
      if (auto md = p.find("metadata"); md != p.end() && md->is_object()) {
        next = md->value("continue", "");
      }
      if (merged.is_null()) {
        merged = std::move(p);
        merged.erase("items");
      }
      if (next.empty()) break;
      opts.continue_token = std::move(next);
      opts.resource_version.clear();
    }
    if (auto md = merged.find("metadata"); md != merged.end() && md->is_object()) {
      md->erase("continue");
      md->erase("remainingItemCount");
    }
    merged["items"] = std::move(items);
    return merged;
  }

  Result<json> Create(const Resource& res, const std::string& ns, const json& obj,
                      const CreateOptions& opts) override {
    std::string n = ns.empty() ? Namespace(obj) : ns;
    std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
    if (opts.dry_run) q["dryRun"] = "All";
    std::string body = obj.dump();
    return JsonCall("POST", "POST", res.Name(), res.CollectionPath(n) + QueryString(q), &body,
                    "application/json", "create " + res.Name() + " " + Qualified(n, Name(obj)));
  }

  Result<json> Update(const Resource& res, const std::string& ns, const json& obj,
                      const UpdateOptions& opts) override {
    std::string name = Name(obj);
    if (name.empty()) {
      return Status(Reason::kInvalidArgument, "update " + res.Name() + ": no metadata.name");
    }
    std::string n = ns.empty() ? Namespace(obj) : ns;
    std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
    if (opts.dry_run) q["dryRun"] = "All";
    std::string body = obj.dump();
    return JsonCall("PUT", "PUT", res.Name(),
                    res.ObjectPath(n, name, opts.subresource) + QueryString(q), &body,
                    "application/json", "update " + res.Name() + " " + Qualified(n, name));
  }

  Result<json> Patch(const Resource& res, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const PatchOptions& opts) override {
    std::string what = "patch " + res.Name() + " " + Qualified(ns, name);
    if (name.empty()) return Status(Reason::kInvalidArgument, what + ": no name");
    if (type == PatchType::kApply && opts.field_manager.empty()) {
      return Status(Reason::kInvalidArgument, what + ": server-side apply needs a field manager");
    }
    std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
    if (opts.force && type == PatchType::kApply) q["force"] = "true";
    if (opts.dry_run) q["dryRun"] = "All";
    return JsonCall("PATCH", "PATCH", res.Name(),
                    res.ObjectPath(ns, name, opts.subresource) + QueryString(q), &body,
                    PatchContentType(type), what);
  }

  Result<json> Delete(const Resource& res, const std::string& ns, const std::string& name,
                      const DeleteOptions& opts) override {
    std::string what = "delete " + res.Name() + " " + Qualified(ns, name);
    if (name.empty()) return Status(Reason::kInvalidArgument, what + ": no name");
    json d = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!opts.precondition_uid.empty()) d["preconditions"]["uid"] = opts.precondition_uid;
    if (!opts.precondition_resource_version.empty()) {
      d["preconditions"]["resourceVersion"] = opts.precondition_resource_version;
    }
    if (!opts.propagation_policy.empty()) d["propagationPolicy"] = opts.propagation_policy;
    if (opts.grace_period_seconds) d["gracePeriodSeconds"] = *opts.grace_period_seconds;
    std::string body = d.dump();
    return JsonCall("DELETE", "DELETE", res.Name(), res.ObjectPath(ns, name), &body,
                    "application/json", what);
  }

  Result<std::string> Raw(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type) override {
    auto answer = Call(method, method, path, path, body.empty() ? nullptr : &body, content_type);
    if (!answer.ok()) return answer.status().Annotate(method + " " + path);
    if (answer->code < 200 || answer->code >= 300) {
      return Status::FromHttp(answer->code, answer->body, answer->retry_after)
          .Annotate(method + " " + path);
    }
    return std::move(answer->body);
  }

  Status Watch(const Resource& res, const std::string& ns, const WatchOptions& opts,
               const std::function<bool(WatchEvent&&)>& on_event, WatchCancel* cancel) override;

 private:
  static std::string Qualified(const std::string& ns, const std::string& name) {
    return ns.empty() ? name : ns + "/" + name;
  }
  static std::string Name(const json& obj) {
    auto md = obj.find("metadata");
    if (md == obj.end() || !md->is_object()) return "";
    return md->value("name", "");
  }
  static std::string Namespace(const json& obj) {
    auto md = obj.find("metadata");
    if (md == obj.end() || !md->is_object()) return "";
    return md->value("namespace", "");
  }

  // A new HTTP(S) client for the apiserver; `stream` ones are for one watch.
  Result<std::unique_ptr<httplib::ClientImpl>> NewHttpClient(bool stream,
                                                             std::chrono::milliseconds read_timeout) {
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
    cli->set_follow_location(false);
    cli->set_decompress(false);
    auto connect = std::min(config_.timeout, std::chrono::milliseconds(30000));
    cli->set_connection_timeout(connect);
    cli->set_read_timeout(read_timeout);
    cli->set_write_timeout(config_.timeout);
    return cli;
  }

  struct Lease {
    std::unique_ptr<httplib::ClientImpl> cli;
    bool reused = false;
  };

  Result<Lease> Acquire() {
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

  void DropIdle() {
    std::lock_guard<std::mutex> lock(pool_mu_);
    idle_.clear();
  }

  void Release(std::unique_ptr<httplib::ClientImpl> cli) {
    uint64_t generation = creds_.has_exec() ? creds_.ExecIdentity().generation : 0;
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (generation == pool_generation_ && idle_.size() < kMaxIdle) idle_.push_back(std::move(cli));
  }

  Status TransportError(httplib::Error err, const httplib::ClientImpl& cli,
                        Clock::time_point started, std::chrono::milliseconds timeout) const {
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
        if (Clock::now() - started >= timeout - std::chrono::milliseconds(50)) {
          return Status(Reason::kRequestTimeout,
                        "no answer within " + std::to_string(timeout.count()) + "ms" + where);
        }
        return Status(Reason::kConnectionFailed, "connection closed while reading" + where);
      default:
        return Status(Reason::kConnectionFailed, httplib::to_string(err) + where);
    }
  }

  void Observe(const std::string& verb, const std::string& resource, int code,
               Clock::time_point started) {
    std::shared_ptr<RequestObserver> obs;
    {
      std::lock_guard<std::mutex> lock(observer_mu_);
      obs = observer_;
    }
    if (obs) obs->OnRequest(verb, resource, code, Clock::now() - started);
  }

  void AddHeaders(httplib::Request& req, const std::string& token) const {
    req.headers.emplace("Host", ep_.host_header);
    req.headers.emplace("User-Agent", user_agent_);
    req.headers.emplace("Accept", "application/json");
    if (!token.empty()) req.headers.emplace("Authorization", "Bearer " + token);
  }

  // One request with rate limiting, credentials, one retry after a 401 that a fresh
  // credential may fix, and one retry on a stale kept-alive connection (see below).
  Result<Answer> Call(const std::string& verb, const std::string& method,
                      const std::string& resource, const std::string& path,
                      const std::string* body, const std::string& content_type) {
    limiter_.Wait();
    bool retried_auth = false;
    bool retried_stale = false;
    for (;;) {
      auto token = creds_.Token();
      if (!token.ok()) return token.status();
      auto lease = Acquire();
      if (!lease.ok()) return lease.status();
      httplib::Request req;
      req.method = method;
      req.path = ep_.base_path.empty() ? path : ep_.base_path + path;
      AddHeaders(req, *token);
      if (body != nullptr) {
        req.body = *body;
        req.headers.emplace("Content-Type", content_type);
      }
      auto started = Clock::now();
      auto deadline = started + config_.timeout;
      req.progress = [deadline](uint64_t, uint64_t) { return Clock::now() < deadline; };
      httplib::Response res;
      httplib::Error err = httplib::Error::Success;
      bool sent = lease->cli->send(req, res, err);
      if (!sent) {
        Status s = TransportError(err, *lease->cli, started, config_.timeout);
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
        Release(std::move(lease->cli));
        Observe(verb, resource, 0, started);
        return s;
      }
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

  Result<json> JsonCall(const std::string& verb, const std::string& method,
                        const std::string& resource, const std::string& path,
                        const std::string* body, const std::string& content_type,
                        const std::string& what) {
    auto answer = Call(verb, method, resource, path, body, content_type);
    if (!answer.ok()) return answer.status().Annotate(what);
    if (answer->code < 200 || answer->code >= 300) {
      return Status::FromHttp(answer->code, answer->body, answer->retry_after).Annotate(what);
    }
    return ParseJson(answer->body, what);
  }

  static constexpr size_t kMaxIdle = 16;

  const RestConfig config_;
  const Endpoint ep_;
  Credentials creds_;
  RateLimiter limiter_;
  const std::string user_agent_;
  std::shared_ptr<X509> cert_;
  std::shared_ptr<EVP_PKEY> key_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle_;
  uint64_t pool_generation_ = 0;

  std::mutex observer_mu_;
  std::shared_ptr<RequestObserver> observer_;
};

Status RestClient::Watch(const Resource& res, const std::string& ns, const WatchOptions& opts,
                         const std::function<bool(WatchEvent&&)>& on_event, WatchCancel* cancel) {
  int timeout_seconds = opts.timeout_seconds;
  if (timeout_seconds <= 0) {
    thread_local std::mt19937 rng{std::random_device{}()};
    timeout_seconds = std::uniform_int_distribution<int>(300, 599)(rng);
  }
  std::chrono::milliseconds stall = opts.stall_timeout.count() > 0
                                        ? std::chrono::milliseconds(opts.stall_timeout)
                                        : std::chrono::seconds(timeout_seconds + 30);
  std::map<std::string, std::string> q{
      {"watch", "1"},
      {"resourceVersion", opts.resource_version},
      {"labelSelector", opts.label_selector},
      {"fieldSelector", opts.field_selector},
      {"timeoutSeconds", std::to_string(timeout_seconds)},
  };
  if (opts.allow_bookmarks) q["allowWatchBookmarks"] = "true";
  std::string path = res.CollectionPath(ns) + QueryString(q);
  std::string what = "watch " + res.Name() + (ns.empty() ? "" : " in " + ns);
  if (cancel != nullptr && cancel->cancelled()) return Status(Reason::kCancelled, what + ": cancelled");

  limiter_.Wait();
  bool retried_auth = false;
  for (;;) {
    auto token = creds_.Token();
    if (!token.ok()) return token.status().Annotate(what);
    auto made = NewHttpClient(true, stall);
    if (!made.ok()) return made.status().Annotate(what);
    std::unique_ptr<httplib::ClientImpl> cli = std::move(*made);
    if (cancel != nullptr) {
      httplib::ClientImpl* raw = cli.get();
      cancel->SetCloser([raw] { raw->stop(); });
    }
    struct Clear {
      WatchCancel* c;
      ~Clear() {
        if (c != nullptr) c->ClearCloser();
      }
    } clear{cancel};
    if (cancel != nullptr && cancel->cancelled()) {
      return Status(Reason::kCancelled, what + ": cancelled");
    }

    httplib::Request req;
    req.method = "GET";
    req.path = ep_.base_path.empty() ? path : ep_.base_path + path;
    AddHeaders(req, *token);
    int code = 0;
    std::string error_body;
    std::string retry_after;
    EventSplitter splitter;
    Status stream_status;
    bool stopped_by_caller = false;
    auto last_bytes = Clock::now();
    auto started = last_bytes;
    req.response_handler = [&](const httplib::Response& r) {
      code = r.status;
      retry_after = r.get_header_value("Retry-After");
      ReportWarnings(r);
      return cancel == nullptr || !cancel->cancelled();
    };
    auto on_line = [&](std::string_view line) {
      auto ev = DecodeWatchEvent(line);
      if (!ev.ok()) {
        stream_status = ev.status();
        return false;
      }
      if (ev->type == WatchEvent::Type::kError) {
        stream_status = Status::FromStatusObject(ev->object, 500);
        return false;
      }
      if (!on_event(std::move(*ev))) {
        stopped_by_caller = true;
        return false;
      }
      return cancel == nullptr || !cancel->cancelled();
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      last_bytes = Clock::now();
      if (cancel != nullptr && cancel->cancelled()) return false;
      if (code < 200 || code >= 300) {
        if (error_body.size() < 65536) error_body.append(data, n);
        return true;
      }
      return splitter.Feed(std::string_view(data, n), on_line);
    };
    httplib::Response response;
    httplib::Error err = httplib::Error::Success;
    bool sent = cli->send(req, response, err);
    Observe("WATCH", res.Name(), sent ? code : 0, started);

    if (cancel != nullptr && cancel->cancelled()) {
      return Status(Reason::kCancelled, what + ": cancelled");
    }
    if (!stream_status.ok()) return stream_status.Annotate(what);
    if (stopped_by_caller) return Status::OK();
    if (code != 0 && (code < 200 || code >= 300)) {
      if (code == 401 && !retried_auth && creds_.OnUnauthorized(*token)) {
        retried_auth = true;
        continue;
      }
      return Status::FromHttp(code, error_body, retry_after).Annotate(what);
    }
    if (!sent) {
      if (code != 0 && err == httplib::Error::Read && Clock::now() - last_bytes >= stall - std::chrono::milliseconds(50)) {
        return Status(Reason::kStalled, what + ": no data for " +
                                            std::to_string(stall.count() / 1000) + "s");
      }
      return TransportError(err, *cli, started, stall).Annotate(what);
    }
    return Status::OK();
  }
}

char HexDigit(unsigned v) { return static_cast<char>(v < 10 ? '0' + v : 'A' + v - 10); }

void PercentEncode(std::string_view s, std::string& out) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(HexDigit(c >> 4));
      out.push_back(HexDigit(c & 15));
    }
  }
}

}  // namespace

std::vector<std::string> ParseWarningHeader(const std::string& value) {
  std::vector<std::string> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
  };
  while (i < value.size()) {
    skip_space();
    size_t start = i;
    // warn-code SP warn-agent SP quoted-text [SP warn-date], comma-separated.
    size_t code_end = value.find(' ', i);
    size_t agent_end = code_end == std::string::npos ? code_end : value.find(' ', code_end + 1);
    if (agent_end == std::string::npos || agent_end + 1 >= value.size() ||
        value[agent_end + 1] != '"') {
      std::string rest = value.substr(start);
      if (!rest.empty()) out.push_back(rest);
      break;
    }
    i = agent_end + 2;
    std::string text;
    bool closed = false;
    while (i < value.size()) {
      char c = value[i++];
      if (c == '\\' && i < value.size()) {
        text += value[i++];
      } else if (c == '"') {
        closed = true;
        break;
      } else {
        text += c;
      }
    }
    if (!closed) {
      out.push_back(value.substr(start));
      break;
    }
    out.push_back(text);
    // An optional quoted date, then a comma before the next warning.
    size_t comma = value.find(',', i);
    size_t quote = value.find('"', i);
    if (quote != std::string::npos && (comma == std::string::npos || quote < comma)) {
      size_t end = value.find('"', quote + 1);
      comma = end == std::string::npos ? std::string::npos : value.find(',', end);
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

std::string QueryString(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out.push_back(out.empty() ? '?' : '&');
    PercentEncode(k, out);
    out.push_back('=');
    PercentEncode(v, out);
  }
  return out;
}

Result<std::shared_ptr<Client>> Client::Create(const RestConfig& config) {
  // A watch cancelled by closing its socket makes the next TLS write hit EPIPE; the
  // process must survive it, so SIGPIPE is ignored for the whole process.
  static const bool ignore_sigpipe = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)ignore_sigpipe;
  auto ep = ParseServer(config.server);
  if (!ep.ok()) return ep.status();
  auto client = std::make_shared<RestClient>(config, std::move(*ep));
  Status s = client->Init();
  if (!s.ok()) return s.Annotate(config.source.empty() ? config.server : config.source);
  return std::shared_ptr<Client>(std::move(client));
}

}  // namespace kube
