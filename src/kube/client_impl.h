#pragma once

// The implementation behind kube::Client (client.h) and what its files share; not part of
// the client's interface, included only by the files below. Split by job:
//   client_transport.cpp  the connection to the apiserver: Client::Create, TLS and the
//                         connection pool, one request with its retries (Call), errors
//   client_request.cpp    request building and response decoding: query strings, patch
//                         content types, JSON answers, Warning headers
//   client_verbs.cpp      the typed operations: Get, List, ListAll, Create, Update, Patch,
//                         Delete, Raw
//   client_watch.cpp      Watch: one streaming request, its events handed to the caller
// (watch.cpp decodes the stream's lines: EventSplitter, DecodeWatchEvent.)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <httplib.h>

#include "kube/client.h"
#include "kube/credentials.h"
#include "kube/rate_limiter.h"

namespace kube {
namespace internal {

using Clock = std::chrono::steady_clock;

// Where the apiserver is, split out of RestConfig::server.
struct Endpoint {
  bool https = true;
  std::string host;       // no brackets
  int port = 443;
  std::string base_path;  // "" or "/prefix"
  std::string host_header;
};

// The Content-Type of a patch body.
const char* PatchContentType(PatchType t);

Result<json> ParseJson(const std::string& body, const std::string& what);

// The apiserver's warnings (deprecated APIs and fields, admission warnings) go to stderr
// once per distinct text, as client-go's default warning handler does: a deprecation is
// something to fix, not to hide.
void ReportWarnings(const httplib::Response& res);

// One HTTP exchange as the verbs see it.
struct Answer {
  int code = 0;
  std::string body;
  std::string retry_after;
};

class RestClient final : public Client {
 public:
  RestClient(RestConfig config, Endpoint ep);

  Status Init();

  const RestConfig& config() const override { return config_; }

  void SetObserver(std::shared_ptr<RequestObserver> observer) override;
  std::shared_ptr<ReconnectSignal> reconnect_signal() const override { return reconnect_; }

  Result<json> Get(const Resource& res, const std::string& ns, const std::string& name,
                   const std::string& subresource) override;
  Result<json> List(const Resource& res, const std::string& ns,
                    const ListOptions& opts) override;
  Result<json> ListAll(const Resource& res, const std::string& ns, ListOptions opts) override;
  Result<json> Create(const Resource& res, const std::string& ns, const json& obj,
                      const CreateOptions& opts) override;
  Result<json> Update(const Resource& res, const std::string& ns, const json& obj,
                      const UpdateOptions& opts) override;
  Result<json> Patch(const Resource& res, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const PatchOptions& opts) override;
  Result<json> Delete(const Resource& res, const std::string& ns, const std::string& name,
                      const DeleteOptions& opts) override;
  Result<std::string> Raw(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type) override;

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
                                                             std::chrono::milliseconds read_timeout);

  struct Lease {
    std::unique_ptr<httplib::ClientImpl> cli;
    bool reused = false;
  };

  Result<Lease> Acquire();
  void DropIdle();
  void Release(std::unique_ptr<httplib::ClientImpl> cli);

  Status TransportError(httplib::Error err, const httplib::ClientImpl& cli,
                        Clock::time_point started, std::chrono::milliseconds timeout) const;

  void Observe(const std::string& verb, const std::string& resource, int code,
               Clock::time_point started);

  void AddHeaders(httplib::Request& req, const std::string& token) const;

  // One request with rate limiting, credentials, one retry after a 401 that a fresh
  // credential may fix, and one retry on a stale kept-alive connection; within
  // `deadline` when one is given (client.h: RequestDeadline).
  Result<Answer> Call(const std::string& verb, const std::string& method,
                      const std::string& resource, const std::string& path,
                      const std::string* body, const std::string& content_type,
                      const RequestDeadline& deadline = {});

  // Call, with a non-2xx answer as its Status and a 2xx body parsed as JSON.
  Result<json> JsonCall(const std::string& verb, const std::string& method,
                        const std::string& resource, const std::string& path,
                        const std::string* body, const std::string& content_type,
                        const std::string& what, const RequestDeadline& deadline = {});

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

  const std::shared_ptr<ReconnectSignal> reconnect_ = std::make_shared<ReconnectSignal>();
};

}  // namespace internal
}  // namespace kube
