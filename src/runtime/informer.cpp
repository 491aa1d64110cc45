#include "runtime/informer.h"

#include <map>

#include "runtime/memory.h"
#include "runtime/metrics.h"

namespace runtime {
namespace {

std::string ResourceVersionOf(const json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) return "";
  return obj["metadata"].value("resourceVersion", std::string());
}

}  // namespace

Informer::Informer(std::shared_ptr<kube::Client> client, InformerOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      log_("informer", {{"resource", options_.resource.Name()}}),
      backoff_(options_.backoff) {
  if (!options_.ns.empty()) log_ = log_.WithValues({{"namespace", options_.ns}});
  relist_counter_ = &metrics::InformerRelists().Add({{"resource", options_.resource.Name()}});
}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandler(std::shared_ptr<EventHandler> handler) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  handlers_.push_back(std::move(handler));
}

void Informer::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  if (options_.resync_period.count() > 0) resync_thread_ = std::thread([this] { ResyncLoop(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (cancel_) cancel_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::WaitForSync(Clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return synced_.load() || stopping_; }) &&
         synced_.load();
}

std::string Informer::LastResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void Informer::SetResourceVersion(const std::string& rv) {
  if (rv.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  resource_version_ = rv;
}

bool Informer::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

void Informer::DispatchAdd(const json& obj) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) h->OnAdd(obj);
}

void Informer::DispatchUpdate(const json& old_obj, const json& new_obj) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) h->OnUpdate(old_obj, new_obj);
}

void Informer::DispatchDelete(const json& obj) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) h->OnDelete(obj);
}

bool Informer::ListAndDiff() {
  kube::ListOptions opts;
  opts.label_selector = options_.label_selector;
  opts.field_selector = options_.field_selector;
  opts.limit = options_.page_size;
  opts.item_transform = options_.transform;
  auto list = client_->ListAll(options_.resource, options_.ns, opts);
  if (!list.ok()) {
    log_.Warn("list failed", {{"error", list.status().ToString()}});
    return false;
  }
  if (lists_++ > 0) {
    relists_++;
    relist_counter_->Increment();
  }
  json& body = *list;
  std::map<std::string, json*> fresh;
  if (body.contains("items") && body["items"].is_array()) {
    for (auto& item : body["items"]) fresh[ObjectKey(item)] = &item;
  }
  int adds = 0, updates = 0, deletes = 0;
  for (const auto& key : store_.ListKeys()) {
    if (fresh.count(key)) continue;
    if (auto gone = store_.Delete(key)) {
      DispatchDelete(*gone);
      deletes++;
    }
  }
  for (const auto& [key, item] : fresh) {
    json obj = std::move(*item);
    if (!obj.contains("kind") && body.contains("kind")) {
      std::string kind = body.value("kind", "");
      if (kind.size() > 4 && kind.ends_with("List")) obj["kind"] = kind.substr(0, kind.size() - 4);
      if (body.contains("apiVersion")) obj["apiVersion"] = body["apiVersion"];
    }
    auto old = store_.Upsert(obj);
    if (!old) {
      DispatchAdd(obj);
      adds++;
    } else if (ResourceVersionOf(*old) != ResourceVersionOf(obj)) {
      DispatchUpdate(*old, obj);
      updates++;
    }
  }
  const std::string rv =
      body.contains("metadata") ? body["metadata"].value("resourceVersion", std::string()) : "";
  SetResourceVersion(rv);
  log_.Info("listed", {{"resourceVersion", rv}, {"objects", fresh.size()}, {"added", adds},
                       {"updated", updates}, {"deleted", deletes}});
  fresh.clear();
  list = kube::Result<json>(json());
  // A large list leaves its pages' memory in malloc's free lists; give it back.
  ReleaseFreeMemory();
  if (!synced_.exchange(true)) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  return true;
}

kube::Status Informer::WatchOnce() {
  kube::WatchOptions opts;
  opts.resource_version = LastResourceVersion();
  opts.label_selector = options_.label_selector;
  opts.field_selector = options_.field_selector;
  opts.allow_bookmarks = true;
  opts.timeout_seconds = options_.watch_timeout_seconds;
  auto cancel = std::make_shared<kube::WatchCancel>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return kube::Status(kube::Reason::kCancelled, "informer stopping");
    cancel_ = cancel;
  }
  auto status = client_->Watch(
      options_.resource, options_.ns, opts,
      [this](kube::WatchEvent&& ev) {
        const std::string rv = ResourceVersionOf(ev.object);
        if (options_.transform && ev.type != kube::WatchEvent::Type::kBookmark &&
            ev.type != kube::WatchEvent::Type::kError) {
          options_.transform(ev.object);
        }
        switch (ev.type) {
          case kube::WatchEvent::Type::kAdded:
          case kube::WatchEvent::Type::kModified: {
            auto old = store_.Upsert(ev.object);
            if (old) DispatchUpdate(*old, ev.object);
            else DispatchAdd(ev.object);
            break;
          }
          case kube::WatchEvent::Type::kDeleted: {
            store_.Delete(ObjectKey(ev.object));
            DispatchDelete(ev.object);
            break;
          }
          case kube::WatchEvent::Type::kBookmark:
          case kube::WatchEvent::Type::kError:
            break;
        }
        SetResourceVersion(rv);
        return true;
      },
      cancel.get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_.reset();
  }
  return status;
}

void Informer::Run() {
  bool need_list = true;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (need_list) {
      if (!ListAndDiff()) {
        if (!SleepFor(backoff_.Next())) return;
        continue;
      }
      need_list = false;
    }
    const auto started = Clock::now();
    kube::Status st = WatchOnce();
    if (st.reason() == kube::Reason::kCancelled) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (st.ok()) {
      // The server closed the stream: watch again from the last rv (at once, unless
      // streams keep ending immediately).
      if (Clock::now() - started < std::chrono::seconds(1) && !SleepFor(backoff_.Next())) return;
      continue;
    }
    if (st.IsExpired()) {
      log_.Info("watch expired, re-listing",
                {{"resourceVersion", LastResourceVersion()}, {"error", st.message()}});
      need_list = true;
      continue;
    }
    if (st.IsTransport() && st.reason() != kube::Reason::kCancelled &&
        Clock::now() - started >= std::chrono::seconds(1)) {
      // A stream that was up and then dropped (a cut connection, a proxy's idle timeout):
      // resume from the last rv at once, so no change waits out a backoff; a resume that
      // fails again (the apiserver is down) ends quickly and backs off below.
      log_.Info("watch dropped, resuming",
                {{"error", st.ToString()}, {"resourceVersion", LastResourceVersion()}});
      continue;
    }
    if (Clock::now() - started > options_.backoff.reset_after) backoff_.Reset();
    const auto delay = backoff_.Next();
    log_.Warn("watch failed, retrying",
              {{"error", st.ToString()}, {"resourceVersion", LastResourceVersion()},
               {"retryInMs", delay.count()}});
    // Transport trouble resumes the watch from the last rv; API errors re-list.
    if (!st.IsTransport() && st.reason() != kube::Reason::kTooManyRequests &&
        st.reason() != kube::Reason::kServiceUnavailable &&
        st.reason() != kube::Reason::kInternalError && st.reason() != kube::Reason::kTimeout &&
        st.reason() != kube::Reason::kServerTimeout) {
      need_list = true;
    }
    if (!SleepFor(delay)) return;
  }
}

void Informer::ResyncLoop() {
  while (SleepFor(options_.resync_period)) {
    if (!synced_.load()) continue;
    for (const auto& obj : store_.List()) DispatchUpdate(*obj, *obj);
  }
}

}  // namespace runtime
