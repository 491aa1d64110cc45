#include "kube/list_watch.h"

#include <random>
#include <thread>
#include <utility>

namespace kube {
namespace {


std::string ResourceVersionOf(const json& obj) {
  if (!obj.is_object() || !obj.contains("metadata")) return "";
  const json& meta = obj["metadata"];
  if (!meta.is_object() || !meta.contains("resourceVersion")) return "";
  const json& rv = meta["resourceVersion"];
  return rv.is_string() ? rv.get<std::string>() : "";
}

// Failures worth resuming the watch from the same resourceVersion: the apiserver was
// unreachable or overloaded. Any other API error (403 after an RBAC change, 400...) says
// nothing about what the store still holds, so the loop lists again.
bool ResumesWatch(const Status& st) {
  switch (st.reason()) {
    case Reason::kTooManyRequests:
    case Reason::kServiceUnavailable:
    case Reason::kInternalError:
    case Reason::kTimeout:
    case Reason::kServerTimeout:
      return true;
    default:
      return st.IsTransport();
  }
}

}  // namespace

ListWatch::ListWatch(std::shared_ptr<Client> client, ListWatchOptions options,
                     ListWatchHandlers handlers)
    : client_(std::move(client)),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      backoff_(options_.backoff) {}

// Every notify_all on cv_ happens under mu_: a waiter on a fake clock (whose waits do
// not re-check their condition on their own) cannot miss it between two waits.
void ListWatch::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  if (cancel_) cancel_->Cancel();
  cv_.notify_all();
}

bool ListWatch::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool ListWatch::SleepFor(std::chrono::milliseconds d, bool reconnect_wakes, uint64_t since) {
  std::unique_lock<std::mutex> lock(mu_);
  options_.env->WaitFor(lock, cv_, d, [&] { return stopping_ || (reconnect_wakes && reconnects_ != since); });
  return !stopping_;
}

uint64_t ListWatch::Reconnects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reconnects_;
}

void ListWatch::Watchdog() {
  std::unique_lock<std::mutex> lock(mu_);
  struct Done {
    bool& done;
    ~Done() { done = true; }  // under mu_: `lock` is released after this runs
  } done{watchdog_done_};
  while (!stopping_ && running_) {
    const bool armed = cancel_ != nullptr && !watch_cut_;
    if (armed && options_.env->Now() >= watch_deadline_) {
      watch_cut_ = true;
      std::shared_ptr<WatchCancel> cancel = cancel_;
      lock.unlock();
      // Nothing came back: as far as anyone can tell the apiserver is unreachable, and
      // the next answer is a reconnect (others in backoff retry then).
      if (auto signal = client_->reconnect_signal()) signal->TransportFailed();
      cancel->Cancel();  // may wait for a TLS handshake in progress (kWatchConnectTimeout)
      lock.lock();
      continue;
    }
    options_.env->WaitUntil(lock, cv_, armed ? watch_deadline_ : base::Env::SteadyTime::max());
  }
}

std::string ListWatch::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void ListWatch::SetResourceVersion(const std::string& rv) {
  if (rv.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  resource_version_ = rv;
}

void ListWatch::Report(ListWatchError::Kind kind, const Status& status,
                       std::chrono::milliseconds retry_in, bool relist) const {
  if (!handlers_.on_error) return;
  handlers_.on_error(ListWatchError{kind, status, resource_version(), retry_in, relist});
}

Status ListWatch::List() {
  ListOptions opts;
  opts.label_selector = options_.label_selector;
  opts.field_selector = options_.field_selector;
  opts.limit = options_.page_size;
  opts.item_transform = options_.transform;
  auto list = client_->ListAll(options_.resource, options_.ns, opts);
  if (!list.ok()) return list.status();
  json& body = *list;
  const std::string rv = ResourceVersionOf(body);
  json items = json::array();
  if (body.is_object() && body.contains("items") && body["items"].is_array()) {
    items = std::move(body["items"]);
  }
  // List items come without kind and apiVersion (the List has them); handlers compare
  // them with watched objects, which carry both.
  const std::string list_kind = body.is_object() ? body.value("kind", "") : "";
  if (list_kind.size() > 4 && list_kind.ends_with("List")) {
    const std::string kind = list_kind.substr(0, list_kind.size() - 4);
    for (auto& item : items) {
      if (!item.is_object() || item.contains("kind")) continue;
      item["kind"] = kind;
      if (body.contains("apiVersion")) item["apiVersion"] = body["apiVersion"];
    }
  }
  list = Result<json>(json());  // the rest of the List goes before the handler runs
  SetResourceVersion(rv);
  if (handlers_.on_list) handlers_.on_list(items, rv);
  return Status::OK();
}

Status ListWatch::WatchOnce() {
  WatchOptions opts;
  opts.resource_version = resource_version();
  opts.label_selector = options_.label_selector;
  opts.field_selector = options_.field_selector;
  opts.allow_bookmarks = true;
  opts.timeout_seconds = options_.watch_timeout_seconds > 0
                             ? options_.watch_timeout_seconds
                             : std::uniform_int_distribution<int>(kWatchTimeoutMin, kWatchTimeoutMax)(rng_);
  auto cancel = std::make_shared<WatchCancel>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status(Reason::kCancelled, "list-watch stopping");
    cancel_ = cancel;
    watch_cut_ = false;
    watch_deadline_ = options_.env->Deadline(std::chrono::seconds(opts.timeout_seconds) + options_.watch_grace);
    cv_.notify_all();  // arms the watchdog
  }
  Status status = client_->Watch(
      options_.resource, options_.ns, opts,
      [this](WatchEvent&& ev) {
        // Read before the transform, which may trim metadata.
        const std::string rv = ResourceVersionOf(ev.object);
        if (ev.type == WatchEvent::Type::kAdded || ev.type == WatchEvent::Type::kModified ||
            ev.type == WatchEvent::Type::kDeleted) {
          if (options_.transform) options_.transform(ev.object);
          if (handlers_.on_event) handlers_.on_event(ev);
        }
        SetResourceVersion(rv);
        return !Stopping();
      },
      cancel.get());
  bool cut = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_.reset();
    watch_deadline_ = base::Env::SteadyTime::max();
    cut = watch_cut_ && !stopping_;
    watch_cut_ = false;
  }
  if (cut) {
    const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(options_.watch_grace).count();
    return Status(Reason::kStalled, "watch " + options_.resource.Name() + ": still open " +
                                        std::to_string(grace) + "ms after its " +
                                        std::to_string(opts.timeout_seconds) +
                                        "s server-side timeout, nothing delivered: cut");
  }
  return status;
}

void ListWatch::Run() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    running_ = true;
  }
  const std::shared_ptr<ReconnectSignal> signal = client_->reconnect_signal();
  uint64_t subscription = 0;
  if (signal) {
    subscription = signal->Subscribe([this] {
      std::lock_guard<std::mutex> lock(mu_);
      reconnects_++;
      cv_.notify_all();
    });
  }
  std::thread watchdog([this] { Watchdog(); });
  Loop();
  {
    // Notified until the watchdog has seen it: an Env's wait may report a timeout for a
    // notification that raced with it (testsupport::FakeEnv's short real waits can), and
    // the watchdog waits for nothing else once no watch runs.
    std::unique_lock<std::mutex> lock(mu_);
    running_ = false;
    while (!watchdog_done_) {
      cv_.notify_all();
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }
  watchdog.join();
  if (signal) signal->Unsubscribe(subscription);
}

void ListWatch::Loop() {
  using Kind = ListWatchError::Kind;
  bool need_list = true;
  while (!Stopping()) {
    if (need_list) {
      Status listed = List();
      if (!listed.ok()) {
        const uint64_t since = Reconnects();
        const auto delay = backoff_.Next(options_.env->Now());
        Report(Kind::kListFailed, listed, delay, true);
        if (!SleepFor(delay, listed.IsTransport(), since)) return;
        continue;
      }
      need_list = false;
    }
    const auto started = options_.env->Now();
    Status st = WatchOnce();
    if (Stopping()) return;
    const uint64_t since = Reconnects();
    const auto lasted = options_.env->Now() - started;
    if (st.ok()) {
      // The server ended the stream (its timeout): watch again from the last rv.
      if (lasted < options_.healthy_watch && !SleepFor(backoff_.Next(options_.env->Now()))) return;
      continue;
    }
    if (st.reason() == Reason::kStalled) {
      // Open but silent past its own timeout (the watchdog above, or no byte at all for as
      // long in the client): resume from the last resourceVersion at once. Into a black
      // hole each try takes kWatchConnectTimeout or the watch's deadline, so no hammering.
      Report(Kind::kWatchStalled, st, std::chrono::milliseconds(0), false);
      continue;
    }
    if (st.IsExpired()) {
      Report(Kind::kWatchExpired, st, std::chrono::milliseconds(0), true);
      need_list = true;
      continue;
    }
    if (st.IsTransport() && st.reason() != Reason::kCancelled && lasted >= options_.healthy_watch) {
      // A stream that was up and then dropped (a cut connection, a proxy's idle timeout):
      // resume at once, so no change waits out a backoff; a resume that fails again (the
      // apiserver is down) ends quickly and backs off below.
      Report(Kind::kWatchDropped, st, std::chrono::milliseconds(0), false);
      continue;
    }
    if (lasted > options_.backoff.reset_after) backoff_.Reset();
    const auto delay = backoff_.Next(options_.env->Now());
    need_list = !ResumesWatch(st);
    Report(Kind::kWatchFailed, st, delay, need_list);
    if (!SleepFor(delay, st.IsTransport(), since)) return;
  }
}

}  // namespace kube
