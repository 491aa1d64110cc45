#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/config.h"
#include "kube/resource.h"
#include "kube/status.h"

namespace kube {

using json = nlohmann::json;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;              // 0 = server default (no paging)
  std::string continue_token;
  std::string resource_version;   // opaque; "" = most recent (quorum read)
  std::optional<int> timeout_seconds;
  // ListAll only: applied to each item as its page arrives, so a large list never holds
  // every full object at once (informers trim what they cache this way).
  std::function<void(json&)> item_transform;
};

// When a request must be over, on the monotonic clock of RestConfig::env: the write fence
// of leader election (runtime/fenced_client.h) hands the end of its lease. Asked before
// the request is sent, again after any wait for the QPS limiter and before any retry:
// once it has passed nothing is sent (kCancelled); otherwise the request's timeout is
// capped at what is left, and when that runs out the client stops waiting and closes the
// connection. Empty = the config's per-request timeout alone.
using RequestDeadline = std::function<std::chrono::steady_clock::time_point()>;

enum class PatchType {
  kMerge,           // application/merge-patch+json
  kJson,            // application/json-patch+json
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in kinds only)
  kApply,           // application/apply-patch+yaml (server-side apply)
};

struct PatchOptions {
  std::string field_manager;  // required for kApply
  bool force = false;         // kApply: take ownership of conflicting fields
  std::string subresource;    // e.g. "status"
  bool dry_run = false;
  RequestDeadline deadline = {};
};

struct UpdateOptions {
  std::string subresource;  // e.g. "status"
  std::string field_manager;
  bool dry_run = false;
  RequestDeadline deadline = {};
};

struct CreateOptions {
  std::string field_manager;
  bool dry_run = false;
  RequestDeadline deadline = {};
};

struct DeleteOptions {
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;  // Orphan | Background | Foreground
  std::optional<int64_t> grace_period_seconds;
  RequestDeadline deadline = {};
};

// How long a watch may stay silent before it is noticed. A watch whose connection stays
// open but delivers nothing (a black-holed apiserver, a proxy or NAT entry that lost the
// connection) looks exactly like a quiet one, and bookmarks cannot tell them apart: the
// apiserver sends them at its discretion (its watch cache: about 2 s before the watch's
// timeout and about once a minute; the API promises no interval at all). What the client
// does control is the watch's own end: it asks the apiserver to end every watch after
// timeoutSeconds (kWatchTimeoutMin..kWatchTimeoutMax seconds, at random so that watches
// do not all restart together), and a watch still open kWatchGrace after that has stopped
// being served: it is cut and resumed from its last resourceVersion (ListWatch), never a
// re-list. So a silent watch is noticed at most kSilentWatchBound after it went silent.
// The cost is one watch request per watched kind every 15-20 s, served from the
// apiserver's watch cache from that resourceVersion (client-go restarts every 5-10
// minutes and relies on HTTP/2 pings; our watches are HTTP/1.1, one connection each).
inline constexpr int kWatchTimeoutMin = 15;  // seconds
inline constexpr int kWatchTimeoutMax = 20;  // seconds, inclusive
// Room for the apiserver to end a watch at its timeout (its final chunk, a loaded server).
// Overrunning it only costs an early re-watch.
inline constexpr std::chrono::seconds kWatchGrace{5};
inline constexpr std::chrono::seconds kSilentWatchBound =
    std::chrono::seconds(kWatchTimeoutMax) + kWatchGrace;
// TCP connect and TLS handshake of a watch's connection (ordinary requests use
// RestConfig::timeout, capped at 30 s): a watch opened into a black hole gives up within
// this, like one that went silent.
inline constexpr std::chrono::seconds kWatchConnectTimeout{10};

struct WatchOptions {
  std::string resource_version;   // opaque; start after this version
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // Server-side timeout; 0 = pick at random in [kWatchTimeoutMin, kWatchTimeoutMax].
  int timeout_seconds = 0;
  // No bytes at all (not even a bookmark) for this long = a stalled stream.
  std::chrono::seconds stall_timeout{0};  // 0 = timeout_seconds + kWatchGrace
};

// Tells whoever waits to retry the apiserver that it answers again: a client marks it
// unreachable when a request fails in transport (refused, reset, timed out, a silent
// watch) and, when a later request gets an answer (any HTTP status), calls every
// subscriber once. Informers waiting out a backoff after a transport failure subscribe,
// so that after an outage they all come back with the first answer instead of each at
// the end of its own backoff. Thread-safe; callbacks run on the thread of the request
// that got the answer, under the signal's lock (they must only wake their waiter).
class ReconnectSignal {
 public:
  using Callback = std::function<void()>;
  // Returns an id for Unsubscribe.
  uint64_t Subscribe(Callback callback);
  // After it returns the callback is not running and is not called again.
  void Unsubscribe(uint64_t id);
  void TransportFailed();
  void Answered();
  // How many times the subscribers were called.
  uint64_t reconnects() const;

 private:
  mutable std::mutex mu_;
  bool unreachable_ = false;
  uint64_t next_id_ = 1;
  uint64_t reconnects_ = 0;
  std::map<uint64_t, Callback> subscribers_;
};

// One decoded watch event.
struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type;
  json object;  // the object; for kError the metav1.Status
};
const char* WatchEventTypeName(WatchEvent::Type t);

// Lets another thread end a running Watch promptly. Reusable only for one watch.
class WatchCancel {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }

  // Used by the client: registers what to close on Cancel().
  void SetCloser(std::function<void()> closer);
  void ClearCloser();

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::function<void()> closer_;
};

// Splits a watch response byte stream into complete lines (one JSON event each),
// whatever the chunk boundaries. Empty lines are skipped.
class EventSplitter {
 public:
  // Appends a chunk; calls on_line for every complete line. Stops early and returns
  // false when on_line returns false.
  bool Feed(std::string_view chunk, const std::function<bool(std::string_view)>& on_line);
  // Bytes of an unfinished line held back.
  size_t pending() const { return buf_.size(); }

 private:
  bool FeedFresh(std::string_view chunk, const std::function<bool(std::string_view)>& on_line);

  std::string buf_;
  bool held_lines_ = false;
};

// Decodes one watch line ({"type":..., "object":...}); a line that is not a valid event
// gives kBadResponse naming what is wrong.
Result<WatchEvent> DecodeWatchEvent(std::string_view line);

// Counters a client keeps; the runtime exports them as metrics.
struct RequestObserver {
  virtual ~RequestObserver() = default;
  // verb: GET/LIST/WATCH/POST/PUT/PATCH/DELETE; code 0 = transport failure.
  virtual void OnRequest(const std::string& verb, const std::string& resource, int code,
                         std::chrono::duration<double> latency) = 0;
};

// A Kubernetes REST client. Thread-safe: share one instance between threads.
// Expected failures come back as Status values; nothing throws across this boundary.
class Client {
 public:
  static Result<std::shared_ptr<Client>> Create(const RestConfig& config);
  virtual ~Client() = default;

  virtual Result<json> Get(const Resource& res, const std::string& ns, const std::string& name,
                           const std::string& subresource = "") = 0;
  // One page (follow metadata.continue yourself, or use ListAll).
  virtual Result<json> List(const Resource& res, const std::string& ns,
                            const ListOptions& opts = {}) = 0;
  // Every page merged into one List object; metadata.resourceVersion is the first page's.
  // A continue token that expires mid-way (410) restarts the list once from scratch.
  virtual Result<json> ListAll(const Resource& res, const std::string& ns,
                               ListOptions opts = {}) = 0;
  virtual Result<json> Create(const Resource& res, const std::string& ns, const json& obj,
                              const CreateOptions& opts = {}) = 0;
  // PUT; obj carries metadata.name and (as a precondition) metadata.resourceVersion.
  virtual Result<json> Update(const Resource& res, const std::string& ns, const json& obj,
                              const UpdateOptions& opts = {}) = 0;
  // body: a JSON document (kMerge, kStrategicMerge, kJson) or YAML/JSON (kApply).
  virtual Result<json> Patch(const Resource& res, const std::string& ns, const std::string& name,
                             PatchType type, const std::string& body,
                             const PatchOptions& opts = {}) = 0;
  // Returns the server's answer (the object while finalizers hold it, or a Status).
  virtual Result<json> Delete(const Resource& res, const std::string& ns, const std::string& name,
                              const DeleteOptions& opts = {}) = 0;

  // Streams events to on_event on the calling thread until: the server ends the
  // stream (returns OK: watch again from the last resourceVersion), on_event returns
  // false (OK), cancel fires (kCancelled), an ERROR event arrives (its Status; 410 ->
  // kExpired), the stream stalls (kStalled) or the connection fails. Each watch uses
  // its own connection.
  virtual Status Watch(const Resource& res, const std::string& ns, const WatchOptions& opts,
                       const std::function<bool(WatchEvent&&)>& on_event,
                       WatchCancel* cancel = nullptr) = 0;

  // A raw request for paths the typed verbs do not cover (/readyz, /version,
  // selfsubjectaccessreviews...). The body of a 2xx is returned as text.
  virtual Result<std::string> Raw(const std::string& method, const std::string& path,
                                  const std::string& body = "",
                                  const std::string& content_type = "application/json") = 0;

  virtual const RestConfig& config() const = 0;
  virtual void SetObserver(std::shared_ptr<RequestObserver> observer) = 0;
  // The client's ReconnectSignal; null when it keeps none (test doubles).
  virtual std::shared_ptr<ReconnectSignal> reconnect_signal() const { return nullptr; }
};

// Builds "?a=b&c=d" with percent-encoding; empty values are skipped.
std::string QueryString(const std::map<std::string, std::string>& params);

// The texts of one HTTP Warning header value as the apiserver sends them
// (`299 - "text"`, RFC 7234 5.5; deprecated APIs and fields, admission warnings), with
// `\"` and `\\` unescaped. A value not in that form is returned whole.
std::vector<std::string> ParseWarningHeader(const std::string& value);

}  // namespace kube
