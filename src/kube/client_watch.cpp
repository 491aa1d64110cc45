#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include <httplib.h>

#include "kube/client.h"
#include "kube/client_impl.h"
#include "kube/credentials.h"
#include "kube/rate_limiter.h"

// RestClient::Watch: one streaming GET on a connection of its own, its lines decoded
// (watch.cpp) and handed to the caller until the stream ends, stalls or is cancelled.

namespace kube {
namespace internal {

Status RestClient::Watch(const Resource& res, const std::string& ns, const WatchOptions& opts,
                         const std::function<bool(WatchEvent&&)>& on_event, WatchCancel* cancel) {
  int timeout_seconds = opts.timeout_seconds;
  if (timeout_seconds <= 0) {
    thread_local std::mt19937 rng{std::random_device{}()};
    timeout_seconds = std::uniform_int_distribution<int>(kWatchTimeoutMin, kWatchTimeoutMax)(rng);
  }
  // The apiserver ends a healthy watch at timeout_seconds; no byte for longer than that
  // plus kWatchGrace means nothing is being delivered (see kSilentWatchBound).
  std::chrono::milliseconds stall = opts.stall_timeout.count() > 0
                                        ? std::chrono::milliseconds(opts.stall_timeout)
                                        : std::chrono::seconds(timeout_seconds) + kWatchGrace;
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
    auto last_bytes = config_.env->Now();
    auto started = last_bytes;
    req.response_handler = [&](const httplib::Response& r) {
      code = r.status;
      reconnect_->Answered();
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
      last_bytes = config_.env->Now();
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
      reconnect_->TransportFailed();
      if (code != 0 && err == httplib::Error::Read && config_.env->Now() - last_bytes >= stall - std::chrono::milliseconds(50)) {
        return Status(Reason::kStalled, what + ": no data for " +
                                            std::to_string(stall.count() / 1000) + "s");
      }
      return TransportError(err, *cli, started, stall).Annotate(what);
    }
    return Status::OK();
  }
}

}  // namespace internal
}  // namespace kube
