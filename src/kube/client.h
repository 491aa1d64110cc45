#pragma once

#include <atomic>
#include <chrono>
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
};

struct UpdateOptions {
  std::string subresource;  // e.g. "status"
  std::string field_manager;
  bool dry_run = false;
};

struct CreateOptions {
  std::string field_manager;
  bool dry_run = false;
};

struct DeleteOptions {
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;  // Orphan | Background | Foreground
  std::optional<int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string resource_version;   // opaque; start after this version
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // Server-side timeout; 0 = pick at random in [5, 10) minutes as client-go does.
  int timeout_seconds = 0;
  // No bytes at all (not even a bookmark) for this long = a stalled stream.
  std::chrono::seconds stall_timeout{0};  // 0 = timeout_seconds + 30 s
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
};

// Builds "?a=b&c=d" with percent-encoding; empty values are skipped.
std::string QueryString(const std::map<std::string, std::string>& params);

// The texts of one HTTP Warning header value as the apiserver sends them
// (`299 - "text"`, RFC 7234 5.5; deprecated APIs and fields, admission warnings), with
// `\"` and `\\` unescaped. A value not in that form is returned whole.
std::vector<std::string> ParseWarningHeader(const std::string& value);

}  // namespace kube
