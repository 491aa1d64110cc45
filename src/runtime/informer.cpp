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

kube::ListWatchOptions ListWatchOptionsFor(const InformerOptions& o) {
  kube::ListWatchOptions lw;
  lw.resource = o.resource;
  lw.ns = o.ns;
  lw.label_selector = o.label_selector;
  lw.field_selector = o.field_selector;
  lw.page_size = o.page_size;
  lw.watch_timeout_seconds = o.watch_timeout_seconds;
  lw.transform = o.transform;
  lw.backoff = o.backoff;
  lw.env = o.env;
  return lw;
}

}  // namespace

Informer::Informer(std::shared_ptr<kube::Client> client, InformerOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      log_("informer", {{"resource", options_.resource.Name()}}),
      store_(options_.store ? options_.store : std::make_shared<Store>()) {
  if (!options_.ns.empty()) log_ = log_.WithValues({{"namespace", options_.ns}});
  if (options_.metrics) {
    relist_counter_ = &options_.metrics->InformerRelists().Add({{"resource", options_.resource.Name()}});
    stall_counter_ = &options_.metrics->InformerWatchStalls().Add({{"resource", options_.resource.Name()}});
    objects_gauge_ = &options_.metrics->InformerObjects().Add({{"resource", options_.resource.Name()}});
  }
}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandler(std::shared_ptr<EventHandler> handler) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  handlers_.push_back(std::move(handler));
}

void Informer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  kube::ListWatchHandlers handlers;
  handlers.on_list = [this](json& items, const std::string& rv) { OnList(items, rv); };
  handlers.on_event = [this](kube::WatchEvent& ev) { OnWatchEvent(ev); };
  handlers.on_error = [this](const kube::ListWatchError& e) { OnListWatchError(e); };
  list_watch_ = std::make_unique<kube::ListWatch>(client_, ListWatchOptionsFor(options_),
                                                  std::move(handlers));
  thread_ = std::thread([lw = list_watch_.get()] { lw->Run(); });
  if (options_.resync_period.count() > 0) resync_thread_ = std::thread([this] { ResyncLoop(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (list_watch_) list_watch_->Stop();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::WaitForSync(Clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  return options_.env->WaitUntil(lock, cv_, deadline, [&] { return synced_.load() || stopping_; }) &&
         synced_.load();
}

std::string Informer::LastResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return list_watch_ ? list_watch_->resource_version() : "";
}

bool Informer::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !options_.env->WaitFor(lock, cv_, d, [&] { return stopping_; });
}

void Informer::DispatchAdd(const json& obj, bool replay) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  replaying_.store(replay, std::memory_order_relaxed);
  for (auto& h : handlers_) h->OnAdd(obj);
  replaying_.store(false, std::memory_order_relaxed);
}

void Informer::DispatchUpdate(const json& old_obj, const json& new_obj, bool replay) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  replaying_.store(replay, std::memory_order_relaxed);
  for (auto& h : handlers_) h->OnUpdate(old_obj, new_obj);
  replaying_.store(false, std::memory_order_relaxed);
}

void Informer::DispatchDelete(const json& obj) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) h->OnDelete(obj);
}

void Informer::OnList(json& items, const std::string& rv) {
  // The first list's adds replay what was there before this process; a re-list's
  // differences are changes that happened while the watch was down.
  const bool first = lists_ == 0;
  if (lists_++ > 0) {
    relists_++;
    if (relist_counter_) relist_counter_->Increment();
  }
  std::map<std::string, json*> fresh;
  for (auto& item : items) fresh[ObjectKey(item)] = &item;
  int adds = 0, updates = 0, deletes = 0;
  // Only this informer's namespace: a shared store holds other informers' objects too.
  for (const auto& key : store_->ListKeys(options_.ns)) {
    if (fresh.count(key)) continue;
    if (auto gone = store_->Delete(key)) {
      DispatchDelete(*gone);
      deletes++;
    }
  }
  for (const auto& [key, item] : fresh) {
    json obj = std::move(*item);
    auto old = store_->Upsert(obj);
    if (!old) {
      DispatchAdd(obj, first);
      adds++;
    } else if (ResourceVersionOf(*old) != ResourceVersionOf(obj)) {
      DispatchUpdate(*old, obj);
      updates++;
    }
  }
  CountObjects();
  log_.Info("listed", {{"resourceVersion", rv}, {"objects", fresh.size()}, {"added", adds},
                       {"updated", updates}, {"deleted", deletes}});
  fresh.clear();
  items = json();
  // A large list leaves its pages' memory in malloc's free lists; give it back.
  ReleaseFreeMemory();
  if (!synced_.exchange(true)) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
}

void Informer::OnWatchEvent(kube::WatchEvent& ev) {
  switch (ev.type) {
    case kube::WatchEvent::Type::kAdded:
    case kube::WatchEvent::Type::kModified: {
      auto old = store_->Upsert(ev.object);
      if (old) {
        DispatchUpdate(*old, ev.object);
      } else {
        CountObjects();
        DispatchAdd(ev.object);
      }
      break;
    }
    case kube::WatchEvent::Type::kDeleted: {
      store_->Delete(ObjectKey(ev.object));
      CountObjects();
      DispatchDelete(ev.object);
      break;
    }
    case kube::WatchEvent::Type::kBookmark:
    case kube::WatchEvent::Type::kError:
      break;
  }
}

void Informer::OnListWatchError(const kube::ListWatchError& e) {
  switch (e.kind) {
    case kube::ListWatchError::Kind::kListFailed:
      log_.Warn("list failed", {{"error", e.status.ToString()}, {"retryInMs", e.retry_in.count()}});
      break;
    case kube::ListWatchError::Kind::kWatchExpired:
      // e2e/drill.sh counts re-lists by this message.
      log_.Info("watch expired, re-listing",
                {{"resourceVersion", e.resource_version}, {"error", e.status.message()}});
      break;
    case kube::ListWatchError::Kind::kWatchDropped:
      log_.Info("watch dropped, resuming",
                {{"error", e.status.ToString()}, {"resourceVersion", e.resource_version}});
      break;
    case kube::ListWatchError::Kind::kWatchStalled:
      watch_stalls_++;
      if (stall_counter_) stall_counter_->Increment();
      log_.Warn("watch silent, resuming",
                {{"error", e.status.message()}, {"resourceVersion", e.resource_version}});
      break;
    case kube::ListWatchError::Kind::kWatchFailed:
      log_.Warn("watch failed, retrying",
                {{"error", e.status.ToString()}, {"resourceVersion", e.resource_version},
                 {"retryInMs", e.retry_in.count()}});
      break;
  }
}

void Informer::CountObjects() {
  if (objects_gauge_) objects_gauge_->Set(static_cast<double>(store_->Size()));
}

void Informer::ResyncLoop() {
  while (SleepFor(options_.resync_period)) {
    if (!synced_.load()) continue;
    for (const auto& obj : options_.ns.empty() ? store_->List() : store_->ListNamespace(options_.ns))
      DispatchUpdate(*obj, *obj, true);
  }
}

}  // namespace runtime
