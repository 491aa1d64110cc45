#include "kube/list_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_env.h"

using namespace std::chrono_literals;
using kube::json;
using kube::ListWatchError;
using kube::Reason;
using kube::Status;
using kube::WatchEvent;

namespace {

using Clock = std::chrono::steady_clock;

json ConfigMap(const std::string& name, const std::string& rv) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}}}};
}

json ConfigMapList(const std::string& rv, std::vector<json> items) {
  return {{"kind", "ConfigMapList"},
          {"apiVersion", "v1"},
          {"metadata", {{"resourceVersion", rv}}},
          {"items", items}};
}

WatchEvent Event(WatchEvent::Type type, json object) { return WatchEvent{type, std::move(object)}; }

WatchEvent Bookmark(const std::string& rv) {
  return Event(WatchEvent::Type::kBookmark, {{"metadata", {{"resourceVersion", rv}}}});
}

// One scripted watch: its events, then (after `hold`) the end the client reports. With
// until_cancelled the stream stays open after its events until the watch is cancelled.
struct WatchScript {
  std::vector<WatchEvent> events;
  Status end;
  bool until_cancelled = false;
  std::chrono::milliseconds hold{0};
};

// A kube::Client that answers ListAll and Watch from scripts, in order, and records what
// was asked. A watch with nothing scripted stays open until cancelled, as a quiet real one
// does. Nothing else is served.
class ScriptedClient : public kube::Client {
 public:
  void AddList(kube::Result<json> list) {
    std::lock_guard<std::mutex> lock(mu_);
    lists_.push_back(std::move(list));
  }
  void AddWatch(WatchScript script) {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.push_back(std::move(script));
  }
  std::vector<kube::ListOptions> list_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }
  std::vector<kube::WatchOptions> watch_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return watch_calls_;
  }
  // Waits until `n` watches have started.
  bool WaitForWatches(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return watch_calls_.size() >= n; });
  }
  bool WaitForLists(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return list_calls_.size() >= n; });
  }

  kube::Result<json> ListAll(const kube::Resource&, const std::string&,
                             kube::ListOptions opts = {}) override {
    std::unique_lock<std::mutex> lock(mu_);
    list_calls_.push_back(opts);
    cv_.notify_all();
    if (lists_.empty()) return Status(Reason::kInvalidArgument, "no list scripted");
    kube::Result<json> list = std::move(lists_.front());
    lists_.pop_front();
    lock.unlock();
    if (list.ok() && opts.item_transform) {
      for (auto& item : (*list)["items"]) opts.item_transform(item);
    }
    return list;
  }

  kube::Status Watch(const kube::Resource&, const std::string&, const kube::WatchOptions& opts,
                     const std::function<bool(WatchEvent&&)>& on_event,
                     kube::WatchCancel* cancel = nullptr) override {
    WatchScript script;
    script.until_cancelled = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_calls_.push_back(opts);
      cv_.notify_all();
      if (!watches_.empty()) {
        script = std::move(watches_.front());
        watches_.pop_front();
      }
    }
    if (cancel != nullptr) {
      // Taking mu_ before notifying: a Cancel() between the waiter's check and its wait
      // cannot be lost.
      cancel->SetCloser([this] {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
      });
    }
    auto cancelled = [&] { return cancel != nullptr && cancel->cancelled(); };
    Status result = script.end;
    for (auto& ev : script.events) {
      if (cancelled()) break;
      if (!on_event(std::move(ev))) break;
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (script.until_cancelled) {
        cv_.wait_for(lock, 10s, cancelled);
      } else if (script.hold.count() > 0) {
        cv_.wait_for(lock, script.hold, cancelled);
      }
    }
    if (cancel != nullptr) cancel->ClearCloser();
    if (cancelled()) return Status(Reason::kCancelled, "watch cancelled");
    return result;
  }

  kube::Result<json> Get(const kube::Resource&, const std::string&, const std::string&,
                         const std::string& = "") override {
    return Unserved();
  }
  kube::Result<json> List(const kube::Resource&, const std::string&,
                          const kube::ListOptions& = {}) override {
    return Unserved();
  }
  kube::Result<json> Create(const kube::Resource&, const std::string&, const json&,
                            const kube::CreateOptions& = {}) override {
    return Unserved();
  }
  kube::Result<json> Update(const kube::Resource&, const std::string&, const json&,
                            const kube::UpdateOptions& = {}) override {
    return Unserved();
  }
  kube::Result<json> Patch(const kube::Resource&, const std::string&, const std::string&,
                           kube::PatchType, const std::string&,
                           const kube::PatchOptions& = {}) override {
    return Unserved();
  }
  kube::Result<json> Delete(const kube::Resource&, const std::string&, const std::string&,
                            const kube::DeleteOptions& = {}) override {
    return Unserved();
  }
  kube::Result<std::string> Raw(const std::string&, const std::string&, const std::string& = "",
                                const std::string& = "") override {
    return Status(Reason::kInvalidArgument, "ScriptedClient serves no raw requests");
  }
  const kube::RestConfig& config() const override { return config_; }
  void SetObserver(std::shared_ptr<kube::RequestObserver>) override {}
  std::shared_ptr<kube::ReconnectSignal> reconnect_signal() const override { return signal_; }

 private:
  static Status Unserved() { return Status(Reason::kInvalidArgument, "ScriptedClient serves only ListAll and Watch"); }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<kube::Result<json>> lists_;
  std::deque<WatchScript> watches_;
  std::vector<kube::ListOptions> list_calls_;
  std::vector<kube::WatchOptions> watch_calls_;
  kube::RestConfig config_;
  std::shared_ptr<kube::ReconnectSignal> signal_ = std::make_shared<kube::ReconnectSignal>();
};

// What the handlers were told, in order.
struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<json, std::string>> lists;  // items, resourceVersion
  std::vector<WatchEvent> events;
  std::vector<ListWatchError> errors;

  kube::ListWatchHandlers Handlers() {
    kube::ListWatchHandlers h;
    h.on_list = [this](json& items, const std::string& rv) {
      std::lock_guard<std::mutex> lock(mu);
      lists.emplace_back(std::move(items), rv);
    };
    h.on_event = [this](WatchEvent& ev) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(ev);
      cv.notify_all();
    };
    h.on_error = [this](const ListWatchError& e) {
      std::lock_guard<std::mutex> lock(mu);
      errors.push_back(e);
    };
    return h;
  }
  bool WaitForEvents(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 5s, [&] { return events.size() >= n; });
  }
};

// Short, exact delays: the tests run in milliseconds and can check the schedule.
kube::ListWatchOptions Options() {
  kube::ListWatchOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = "ns";
  o.backoff.initial = 5ms;
  o.backoff.max = 40ms;
  o.backoff.jitter = 0;
  o.healthy_watch = std::chrono::hours(1);  // no stream counts as healthy unless a test says so
  return o;
}

// Runs the loop on its own thread; the destructor stops it and checks it ended promptly.
class Running {
 public:
  explicit Running(kube::ListWatch& lw) : lw_(lw), thread_([this] { lw_.Run(); }) {}
  ~Running() { StopAndJoin(); }
  // The time Stop() took to end Run().
  std::chrono::milliseconds StopAndJoin() {
    if (!thread_.joinable()) return 0ms;
    const auto start = Clock::now();
    lw_.Stop();
    thread_.join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }

 private:
  kube::ListWatch& lw_;
  std::thread thread_;
};

TEST(ListWatch, ListsThenWatchesFromTheListsResourceVersion) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {ConfigMap("a", "7"), ConfigMap("b", "9")}));
  client->AddWatch({{Event(WatchEvent::Type::kAdded, ConfigMap("c", "11")),
                     Event(WatchEvent::Type::kDeleted, ConfigMap("a", "12"))},
                    Status::OK(), /*until_cancelled=*/true});
  auto o = Options();
  o.label_selector = "app=x";
  o.field_selector = "metadata.name!=z";
  o.page_size = 2;
  o.watch_timeout_seconds = 42;
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(seen.WaitForEvents(2));
  run.StopAndJoin();

  auto lists = client->list_calls();
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0].limit, 2) << "paginated";
  EXPECT_EQ(lists[0].label_selector, "app=x");
  EXPECT_EQ(lists[0].field_selector, "metadata.name!=z");
  auto watches = client->watch_calls();
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].resource_version, "10");
  EXPECT_EQ(watches[0].label_selector, "app=x");
  EXPECT_EQ(watches[0].field_selector, "metadata.name!=z");
  EXPECT_TRUE(watches[0].allow_bookmarks);
  EXPECT_EQ(watches[0].timeout_seconds, 42);

  ASSERT_EQ(seen.lists.size(), 1u);
  EXPECT_EQ(seen.lists[0].second, "10");
  ASSERT_EQ(seen.lists[0].first.size(), 2u);
  for (const auto& item : seen.lists[0].first) {
    EXPECT_EQ(item.value("kind", ""), "ConfigMap") << "listed items carry kind like watched ones";
    EXPECT_EQ(item.value("apiVersion", ""), "v1");
  }
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_EQ(seen.events[0].type, WatchEvent::Type::kAdded);
  EXPECT_EQ(seen.events[1].type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(lw.resource_version(), "12");
  EXPECT_TRUE(seen.errors.empty());
}

TEST(ListWatch, ResumesFromTheLastResourceVersionSeenBookmarksIncluded) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  // The server ends each stream (its timeout); the loop watches again without a list.
  client->AddWatch({{Event(WatchEvent::Type::kModified, ConfigMap("a", "11")), Bookmark("15")},
                    Status::OK()});
  client->AddWatch({{Bookmark("20")}, Status::OK()});
  client->AddWatch({{Event(WatchEvent::Type::kAdded, ConfigMap("b", "21"))}, Status::OK()});
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(4));
  run.StopAndJoin();

  auto watches = client->watch_calls();
  ASSERT_GE(watches.size(), 4u);
  EXPECT_EQ(watches[0].resource_version, "10");
  EXPECT_EQ(watches[1].resource_version, "15") << "a bookmark moves the resume point";
  EXPECT_EQ(watches[2].resource_version, "20");
  EXPECT_EQ(watches[3].resource_version, "21");
  EXPECT_EQ(client->list_calls().size(), 1u) << "an ended stream resumes, it does not re-list";
  ASSERT_EQ(seen.events.size(), 2u) << "bookmarks are not handed over";
  EXPECT_EQ(seen.events[0].type, WatchEvent::Type::kModified);
  EXPECT_EQ(seen.events[1].type, WatchEvent::Type::kAdded);
  EXPECT_TRUE(seen.errors.empty());
}

TEST(ListWatch, ExpiredWatchRelistsAndWatchesFromTheNewList) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {ConfigMap("a", "5"), ConfigMap("b", "6")}));
  client->AddList(ConfigMapList("50", {ConfigMap("b", "40")}));
  client->AddWatch({{Bookmark("12")}, Status(Reason::kExpired, "too old resource version: 12", 410)});
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(2));
  run.StopAndJoin();

  EXPECT_EQ(client->list_calls().size(), 2u);
  auto watches = client->watch_calls();
  EXPECT_EQ(watches[0].resource_version, "10");
  EXPECT_EQ(watches[1].resource_version, "50");
  ASSERT_EQ(seen.lists.size(), 2u);
  EXPECT_EQ(seen.lists[1].second, "50");
  EXPECT_EQ(seen.lists[1].first.size(), 1u) << "the second list replaces everything";
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].kind, ListWatchError::Kind::kWatchExpired);
  EXPECT_TRUE(seen.errors[0].relist);
  EXPECT_EQ(seen.errors[0].retry_in, 0ms) << "a re-list after 410 does not wait";
  EXPECT_EQ(seen.errors[0].resource_version, "12");
}

TEST(ListWatch, FailedListsBackOffExponentiallyThenSucceed) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(Status(Reason::kServiceUnavailable, "apiserver starting", 503));
  client->AddList(Status(Reason::kConnectionFailed, "connection refused"));
  client->AddList(Status(Reason::kConnectionFailed, "connection refused"));
  client->AddList(ConfigMapList("10", {}));
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  const auto start = Clock::now();
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(1));
  const auto took = Clock::now() - start;
  run.StopAndJoin();

  EXPECT_EQ(client->list_calls().size(), 4u);
  ASSERT_EQ(seen.errors.size(), 3u);
  const std::chrono::milliseconds want[] = {5ms, 10ms, 20ms};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen.errors[i].kind, ListWatchError::Kind::kListFailed);
    EXPECT_EQ(seen.errors[i].retry_in, want[i]) << "error " << i;
    EXPECT_TRUE(seen.errors[i].relist);
  }
  EXPECT_EQ(seen.errors[0].status.reason(), Reason::kServiceUnavailable);
  EXPECT_GE(took, 35ms) << "the loop waited out each delay";
  EXPECT_EQ(client->watch_calls()[0].resource_version, "10");
}

TEST(ListWatch, FailedWatchBacksOffThenResumesOrRelistsByReason) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  client->AddList(ConfigMapList("30", {}));
  // Transport trouble and an overloaded server: resume from the last rv after a delay.
  client->AddWatch({{Event(WatchEvent::Type::kAdded, ConfigMap("a", "11"))},
                    Status(Reason::kConnectionFailed, "connection refused")});
  client->AddWatch({{}, Status(Reason::kTooManyRequests, "slow down", 429)});
  // Any other API error says nothing about the cache: list again.
  client->AddWatch({{}, Status(Reason::kForbidden, "RBAC changed", 403)});
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(4));
  run.StopAndJoin();

  auto watches = client->watch_calls();
  EXPECT_EQ(watches[0].resource_version, "10");
  EXPECT_EQ(watches[1].resource_version, "11");
  EXPECT_EQ(watches[2].resource_version, "11");
  EXPECT_EQ(watches[3].resource_version, "30");
  EXPECT_EQ(client->list_calls().size(), 2u);
  ASSERT_EQ(seen.errors.size(), 3u);
  const std::chrono::milliseconds want[] = {5ms, 10ms, 20ms};
  const bool relist[] = {false, false, true};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen.errors[i].kind, ListWatchError::Kind::kWatchFailed) << "error " << i;
    EXPECT_EQ(seen.errors[i].retry_in, want[i]) << "error " << i;
    EXPECT_EQ(seen.errors[i].relist, relist[i]) << "error " << i;
  }
  EXPECT_EQ(seen.errors[2].status.reason(), Reason::kForbidden);
}

TEST(ListWatch, AHealthyStreamThatDropsResumesAtOnce) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  WatchScript dropped{{Event(WatchEvent::Type::kAdded, ConfigMap("a", "11"))},
                      Status(Reason::kConnectionFailed, "connection reset")};
  dropped.hold = 30ms;  // up longer than healthy_watch before it broke
  client->AddWatch(std::move(dropped));
  auto o = Options();
  o.healthy_watch = 20ms;
  o.backoff.initial = o.backoff.max = std::chrono::hours(1);  // any wait would hang the test
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(2));
  run.StopAndJoin();

  EXPECT_EQ(client->watch_calls()[1].resource_version, "11");
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].kind, ListWatchError::Kind::kWatchDropped);
  EXPECT_EQ(seen.errors[0].retry_in, 0ms);
  EXPECT_FALSE(seen.errors[0].relist);
}

TEST(ListWatch, AStreamThatEndsAtOnceWaitsOutABackoff) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  client->AddWatch({{}, Status::OK()});
  auto o = Options();
  o.healthy_watch = 1s;
  o.backoff.initial = o.backoff.max = 50ms;
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  const auto start = Clock::now();
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(2));
  EXPECT_GE(Clock::now() - start, 50ms);
  run.StopAndJoin();
  EXPECT_TRUE(seen.errors.empty()) << "a stream the server ended is no error";
}

TEST(ListWatch, TransformAppliesToListedAndWatchedObjectsButNotBookmarks) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {ConfigMap("a", "5")}));
  client->AddWatch({{Event(WatchEvent::Type::kModified, ConfigMap("a", "11")), Bookmark("12")},
                    Status::OK()});
  auto o = Options();
  int calls = 0;
  // Drops the resourceVersion: the loop must have read it first.
  o.transform = [&calls](json& obj) {
    calls++;
    obj["metadata"].erase("resourceVersion");
    obj["trimmed"] = true;
  };
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(2));
  run.StopAndJoin();

  EXPECT_EQ(calls, 2) << "one listed item, one watched object, no bookmark";
  EXPECT_TRUE(seen.lists.at(0).first.at(0).value("trimmed", false));
  ASSERT_EQ(seen.events.size(), 1u);
  EXPECT_TRUE(seen.events[0].object.value("trimmed", false));
  EXPECT_EQ(client->watch_calls()[1].resource_version, "12");
}

TEST(ListWatch, StopWhileWatchingReturnsPromptly) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));  // then a watch that stays open until cancelled
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(1));
  EXPECT_LT(run.StopAndJoin(), 1s);
  EXPECT_EQ(client->watch_calls().size(), 1u) << "a cancelled watch is not retried";
  EXPECT_TRUE(seen.errors.empty()) << "stopping is no error";
}

TEST(ListWatch, StopDuringABackoffWaitReturnsPromptly) {
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(Status(Reason::kConnectionFailed, "connection refused"));
  auto o = Options();
  o.backoff.initial = o.backoff.max = std::chrono::hours(1);
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForLists(1));
  EXPECT_LT(run.StopAndJoin(), 1s);
  EXPECT_EQ(client->list_calls().size(), 1u);
}

// A watch whose connection stays open and delivers nothing (a black-holed apiserver) is
// cut kWatchGrace after the server-side timeout it asked for, on the loop's clock, and
// resumed from the last resourceVersion without a list. The default timeout keeps that
// within kSilentWatchBound, the bound docs/drills.md states.
TEST(ListWatch, ASilentWatchIsCutAtItsTimeoutPlusGraceAndResumedWithoutAList) {
  EXPECT_EQ(kube::kSilentWatchBound, 25s) << "docs/drills.md and docs/architecture.md state 25 s";
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  // One event, then silence with the connection open.
  client->AddWatch({{Event(WatchEvent::Type::kAdded, ConfigMap("a", "11"))}, Status::OK(),
                    /*until_cancelled=*/true});
  auto o = Options();
  o.env = &env;
  o.backoff.initial = o.backoff.max = std::chrono::hours(1);  // a backoff would hang the test
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(seen.WaitForEvents(1));
  const int timeout = client->watch_calls().at(0).timeout_seconds;
  EXPECT_GE(timeout, kube::kWatchTimeoutMin) << "the apiserver is asked to end the watch";
  EXPECT_LE(timeout, kube::kWatchTimeoutMax);
  const auto deadline = std::chrono::seconds(timeout) + kube::kWatchGrace;
  EXPECT_LE(deadline, kube::kSilentWatchBound);
  ASSERT_TRUE(env.BlockUntilDeadlineBy(t0 + deadline)) << "no deadline armed for the watch";

  env.Advance(deadline - 1ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(client->watch_calls().size(), 1u) << "cut before its deadline";
  env.Advance(1ms);
  ASSERT_TRUE(client->WaitForWatches(2)) << "the silent watch was never cut";
  run.StopAndJoin();

  EXPECT_EQ(client->watch_calls()[1].resource_version, "11") << "resumed from the last rv";
  EXPECT_EQ(client->list_calls().size(), 1u) << "a silent watch costs no re-list";
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].kind, ListWatchError::Kind::kWatchStalled);
  EXPECT_EQ(seen.errors[0].status.reason(), Reason::kStalled);
  EXPECT_EQ(seen.errors[0].retry_in, 0ms) << "resumed at once";
  EXPECT_FALSE(seen.errors[0].relist);
}

TEST(ListWatch, AWatchThatEndsInTimeIsNotCut) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(ConfigMapList("10", {}));
  auto o = Options();
  o.env = &env;
  o.watch_timeout_seconds = 3;
  o.watch_grace = 2s;
  o.healthy_watch = 0ms;  // the server's end resumes at once
  WatchScript ended{{Bookmark("12")}, Status::OK()};
  client->AddWatch(std::move(ended));  // the server ends it (its timeout): no cut
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForWatches(2));
  EXPECT_EQ(client->watch_calls()[0].timeout_seconds, 3);
  EXPECT_EQ(client->watch_calls()[1].resource_version, "12");
  // The second one stays open: cut exactly 3 s + 2 s after it started.
  const auto t1 = env.Now();
  ASSERT_TRUE(env.BlockUntilDeadlineBy(t1 + 5s));
  EXPECT_FALSE(env.BlockUntilDeadlineBy(t1 + 5s - 1ms, 100ms)) << "a deadline shorter than timeout + grace";
  run.StopAndJoin();
  EXPECT_TRUE(seen.errors.empty()) << "a watch the server ended is no stall";
}

// After a transport failure (the apiserver unreachable) a loop waits out its backoff
// only until the client hears from the apiserver again (ReconnectSignal): after an outage
// every informer comes back with the first answer, not at the end of its own backoff.
TEST(ListWatch, ABackoffAfterATransportFailureEndsWhenTheApiserverAnswersAgain) {
  testsupport::FakeEnv env;
  const auto t0 = env.Now();
  auto client = std::make_shared<ScriptedClient>();
  client->AddList(Status(Reason::kConnectionFailed, "connection refused"));
  client->AddList(ConfigMapList("10", {}));
  auto o = Options();
  o.env = &env;
  o.backoff.initial = o.backoff.max = std::chrono::hours(1);
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForLists(1));
  ASSERT_TRUE(env.BlockUntilDeadlineBy(t0 + std::chrono::hours(1))) << "not in its backoff";
  // Another request of the same client got an answer after the failure.
  auto signal = client->reconnect_signal();
  signal->TransportFailed();
  signal->Answered();
  ASSERT_TRUE(client->WaitForWatches(1)) << "still waiting out its backoff";
  EXPECT_EQ(client->list_calls().size(), 2u);
  EXPECT_EQ(env.Now(), t0) << "no time passed on the loop's clock";
  run.StopAndJoin();
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].retry_in, std::chrono::hours(1));
}

TEST(ListWatch, ABackoffAfterAnApiErrorIsNotCutShortByAReconnect) {
  testsupport::FakeEnv env;
  auto client = std::make_shared<ScriptedClient>();
  // The apiserver answered: overloaded. Its backoff stands whatever else gets answers.
  client->AddList(Status(Reason::kTooManyRequests, "slow down", 429));
  client->AddList(ConfigMapList("10", {}));
  auto o = Options();
  o.env = &env;
  o.backoff.initial = o.backoff.max = std::chrono::hours(1);
  Seen seen;
  kube::ListWatch lw(client, o, seen.Handlers());
  Running run(lw);
  ASSERT_TRUE(client->WaitForLists(1));
  ASSERT_TRUE(env.BlockUntilDeadlineBy(env.Now() + std::chrono::hours(1)));
  auto signal = client->reconnect_signal();
  signal->TransportFailed();
  signal->Answered();
  EXPECT_FALSE(client->WaitForLists(2, 300ms)) << "a 429 backoff was cut short";
  env.Advance(std::chrono::hours(1));
  EXPECT_TRUE(client->WaitForLists(2));
}

TEST(ReconnectSignal, CallsSubscribersOnceOnTheFirstAnswerAfterAFailure) {
  kube::ReconnectSignal signal;
  int a = 0, b = 0;
  const uint64_t ida = signal.Subscribe([&] { a++; });
  signal.Subscribe([&] { b++; });
  signal.Answered();
  EXPECT_EQ(a + b, 0) << "no failure before: nothing to tell";
  signal.TransportFailed();
  signal.TransportFailed();
  signal.Answered();
  signal.Answered();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  signal.Unsubscribe(ida);
  signal.TransportFailed();
  signal.Answered();
  EXPECT_EQ(a, 1) << "unsubscribed";
  EXPECT_EQ(b, 2);
  EXPECT_EQ(signal.reconnects(), 2u);
}

TEST(ListWatch, StopBeforeRunMakesRunReturnAtOnce) {
  auto client = std::make_shared<ScriptedClient>();
  Seen seen;
  kube::ListWatch lw(client, Options(), seen.Handlers());
  lw.Stop();
  lw.Run();
  EXPECT_TRUE(client->list_calls().empty());
  EXPECT_TRUE(client->watch_calls().empty());
}

}  // namespace
