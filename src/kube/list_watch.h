#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "base/env.h"
#include "kube/backoff.h"
#include "kube/client.h"

namespace kube {

// What one list-watch loop follows.
struct ListWatchOptions {
  Resource resource;
  std::string ns;  // empty = all namespaces (or cluster-scoped)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;        // list page size (limit/continue); 0 = one page
  // The server-side timeout of each watch; 0 = at random in [kWatchTimeoutMin,
  // kWatchTimeoutMax] seconds for each watch (client.h).
  int watch_timeout_seconds = 0;
  // A watch still open this long after its server-side timeout has gone silent: it is cut
  // and resumed from the last resourceVersion (kWatchStalled). So a silent watch is noticed
  // within watch_timeout_seconds + watch_grace (kSilentWatchBound by default).
  std::chrono::milliseconds watch_grace{kWatchGrace};
  // Applied to every listed item (page by page, see ListOptions::item_transform) and to
  // every watched object before a handler sees it; bookmarks are left alone.
  std::function<void(json&)> transform;
  BackoffOptions backoff;  // between failed lists and watches
  // A watch that stayed up this long before it ended was healthy: the loop resumes it at
  // once. One that ends sooner waits out a backoff, so a server that closes every stream
  // at once is not hammered.
  std::chrono::milliseconds healthy_watch{1000};
  // The clock of the backoff waits and of how long a watch stayed up.
  base::Env* env = &base::RealEnv();
};

// A failure the loop recovers from by itself, told to on_error for logging.
struct ListWatchError {
  enum class Kind {
    kListFailed,    // the list failed; it is tried again after retry_in
    kWatchExpired,  // 410 Expired: resource_version is no longer served; re-listing at once
    kWatchDropped,  // a healthy stream broke; resuming from resource_version at once
    kWatchFailed,   // the watch failed; tried again after retry_in (a re-list when relist)
    kWatchStalled,  // still open watch_grace after its timeout: cut, resuming at once
  };
  Kind kind;
  Status status;
  std::string resource_version;  // the last one seen
  std::chrono::milliseconds retry_in{0};
  bool relist = false;  // the next attempt lists instead of resuming the watch
};

// What the loop hands over. Each runs on the thread that called Run(), one at a time.
struct ListWatchHandlers {
  // A list replaced everything: `items` (a JSON array, each item carrying kind and
  // apiVersion like a watched object) is the whole current set; anything the caller
  // held that is not in it is gone. The caller may move out of `items`.
  std::function<void(json& items, const std::string& resource_version)> on_list;
  // One ADDED, MODIFIED or DELETED event. Bookmarks only move the resourceVersion and
  // ERROR events end the watch (see Client::Watch), so neither arrives here.
  std::function<void(WatchEvent& event)> on_event;
  // Optional.
  std::function<void(const ListWatchError& error)> on_error;
};

// client-go's reflector: a paginated list, then a watch from the list's resourceVersion.
// A watch that ends resumes from the last resourceVersion seen (bookmarks included);
// 410 Expired re-lists. Failures back off exponentially with jitter; transport trouble
// resumes the watch, other API errors re-list. A watch that outlives its server-side
// timeout by watch_grace is cut and resumed (a connection that stays open and delivers
// nothing). A backoff after a transport failure ends early when the client's
// ReconnectSignal fires (another request got an answer from the apiserver), so after an
// outage every loop comes back with the first answer. Run() blocks until Stop().
class ListWatch {
 public:
  ListWatch(std::shared_ptr<Client> client, ListWatchOptions options, ListWatchHandlers handlers);
  ListWatch(const ListWatch&) = delete;
  ListWatch& operator=(const ListWatch&) = delete;

  // Lists and watches until Stop(). Call it once.
  void Run();
  // Thread-safe, also before Run(): cancels the running watch or wakes a backoff wait,
  // so Run() returns promptly (a handler already running finishes first).
  void Stop();

  // The last resourceVersion seen; "" before the first list.
  std::string resource_version() const;
  const ListWatchOptions& options() const { return options_; }

 private:
  void Loop();
  Status List();
  Status WatchOnce();
  bool Stopping() const;
  // false when stopping. `reconnect_wakes`: a ReconnectSignal after `since` (a count of
  // reconnects_, read when the failed attempt ended) ends the wait too.
  bool SleepFor(std::chrono::milliseconds d, bool reconnect_wakes = false, uint64_t since = 0);
  uint64_t Reconnects() const;
  // Cuts the running watch once its deadline has passed; runs beside Run().
  void Watchdog();
  void SetResourceVersion(const std::string& rv);
  void Report(ListWatchError::Kind kind, const Status& status, std::chrono::milliseconds retry_in,
              bool relist) const;

  std::shared_ptr<Client> client_;
  ListWatchOptions options_;
  ListWatchHandlers handlers_;
  Backoff backoff_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string resource_version_;
  std::shared_ptr<WatchCancel> cancel_;
  bool stopping_ = false;
  bool running_ = false;  // Run() is between its start and its end (the watchdog runs)
  bool watchdog_done_ = false;
  // The running watch's deadline (SteadyTime::max() when none) and whether the watchdog
  // cut it.
  base::Env::SteadyTime watch_deadline_ = base::Env::SteadyTime::max();
  bool watch_cut_ = false;
  uint64_t reconnects_ = 0;  // ReconnectSignal callbacks seen
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace kube
