#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <mutex>
#include <set>

#include "cluster_env.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"

using namespace std::chrono_literals;
using runtime_test::ConfigMap;

namespace {

// What handlers told us, rebuilt from add/update/delete callbacks only.
struct Mirror {
  std::mutex mu;
  std::map<std::string, std::string> rv;  // key -> resourceVersion
  std::map<std::string, std::string> data;
  std::set<std::string> deleted;

  std::shared_ptr<runtime::EventHandlerFuncs> Handler() {
    auto h = std::make_shared<runtime::EventHandlerFuncs>();
    h->add = [this](const kube::json& o) { Put(o); };
    h->update = [this](const kube::json&, const kube::json& o) { Put(o); };
    h->del = [this](const kube::json& o) {
      std::lock_guard<std::mutex> lock(mu);
      rv.erase(runtime::ObjectKey(o));
      data.erase(runtime::ObjectKey(o));
      deleted.insert(runtime::ObjectKey(o));
    };
    return h;
  }
  void Put(const kube::json& o) {
    std::lock_guard<std::mutex> lock(mu);
    rv[runtime::ObjectKey(o)] = o["metadata"].value("resourceVersion", "");
    data[runtime::ObjectKey(o)] = o.value("data", kube::json::object()).value("v", "");
  }
  std::map<std::string, std::string> Data() {
    std::lock_guard<std::mutex> lock(mu);
    return data;
  }
  bool Deleted(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    return deleted.count(key) > 0;
  }
};

std::map<std::string, std::string> Truth(const std::string& ns) {
  auto client = runtime_test::ClusterClient();
  if (!client) return {};
  kube::Client& c = *client;
  std::map<std::string, std::string> out;
  kube::ListOptions opts;
  opts.label_selector = "test=runtime";
  auto list = c.ListAll(kube::resources::kConfigMaps, ns, opts);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  if (!list.ok()) return out;
  for (const auto& item : (*list)["items"]) {
    out[runtime::ObjectKey(item)] = item.value("data", kube::json::object()).value("v", "");
  }
  return out;
}

class InformerIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = runtime_test::ClusterClient();
    ASSERT_NE(client_, nullptr);
    ns_ = std::make_unique<runtime_test::TestNamespace>(client_, "rt-informer");
    for (int i = 0; i < 6; ++i) {
      auto r = client_->Create(kube::resources::kConfigMaps, ns(),
                               ConfigMap(ns(), "cm-" + std::to_string(i), "v0"));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  void TearDown() override {
    // The apiserver must be up for the next test whatever happened here.
    runtime_test::ClusterScript("start-apiserver");
    ns_.reset();
  }
  const std::string& ns() const { return ns_->name(); }
  // Updates cm-1, deletes cm-2, creates cm-new, moves cm-3 out of the selector. Uses a
  // fresh client: connections pooled before an apiserver restart are dead.
  void Change() {
    auto fresh = runtime_test::ClusterClient();
    ASSERT_NE(fresh, nullptr);
    Change(*fresh);
  }
  void Change(kube::Client& c) {
    auto up = c.Patch(kube::resources::kConfigMaps, ns(), "cm-1", kube::PatchType::kMerge,
                             R"({"data":{"v":"v1"}})");
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    auto del = c.Delete(kube::resources::kConfigMaps, ns(), "cm-2");
    ASSERT_TRUE(del.ok()) << del.status().ToString();
    auto created = c.Create(kube::resources::kConfigMaps, ns(), ConfigMap(ns(), "cm-new", "v0"));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    auto unlabelled = c.Patch(kube::resources::kConfigMaps, ns(), "cm-3",
                                     kube::PatchType::kMerge, R"({"metadata":{"labels":{"test":null}}})");
    ASSERT_TRUE(unlabelled.ok()) << unlabelled.status().ToString();
  }

  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<runtime_test::TestNamespace> ns_;
};

TEST_F(InformerIntegration, ListsPagesAndFollowsChanges) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.label_selector = "test=runtime";
  o.page_size = 2;  // several pages
  runtime::Informer inf(client_, o);
  Mirror m;
  inf.AddEventHandler(m.Handler());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  EXPECT_EQ(inf.store().Size(), 6u);
  EXPECT_EQ(inf.store().ListByLabels(ns(), {{"test", "runtime"}}).size(), 6u);
  Change();
  EXPECT_TRUE(runtime_test::WaitFor([&] { return m.Data() == Truth(ns()); }, 20s));
  EXPECT_TRUE(m.Deleted(ns() + "/cm-2"));
  EXPECT_TRUE(m.Deleted(ns() + "/cm-3")) << "leaving the selector is a delete for the informer";
  EXPECT_EQ(inf.relists(), 0);
  inf.Stop();
}

TEST_F(InformerIntegration, TransformAppliesToListedAndWatchedObjectsBeforeCaching) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.label_selector = "test=runtime";
  o.page_size = 2;
  std::atomic<int> calls{0};
  // Drop managedFields (the apiserver sets them on every write) and mark the object.
  o.transform = [&calls](kube::json& obj) {
    calls++;
    obj["metadata"].erase("managedFields");
    obj["metadata"]["annotations"]["test/trimmed"] = "yes";
  };
  runtime::Informer inf(client_, o);
  std::atomic<int> untrimmed{0};
  auto h = std::make_shared<runtime::EventHandlerFuncs>();
  auto check = [&untrimmed](const kube::json& obj) {
    const kube::json& meta = obj["metadata"];
    if (meta.contains("managedFields") || !meta.contains("annotations") ||
        meta["annotations"].value("test/trimmed", "") != "yes") {
      untrimmed++;
    }
  };
  h->add = check;
  h->update = [check](const kube::json&, const kube::json& obj) { check(obj); };
  h->del = check;
  Mirror m;
  inf.AddEventHandler(h);
  inf.AddEventHandler(m.Handler());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  EXPECT_EQ(calls.load(), 6) << "each listed item once, page by page";
  Change();
  EXPECT_TRUE(runtime_test::WaitFor([&] { return m.Data() == Truth(ns()); }, 20s));
  EXPECT_GE(calls.load(), 10) << "the watch's update, delete, add and selector-leave events";
  for (const auto& obj : inf.store().List()) {
    EXPECT_FALSE((*obj)["metadata"].contains("managedFields")) << obj->dump();
    EXPECT_EQ((*obj)["metadata"]["annotations"].value("test/trimmed", ""), "yes");
    EXPECT_EQ((*obj)["kind"], "ConfigMap") << "the informer still fills in kind for listed items";
  }
  EXPECT_EQ(untrimmed.load(), 0);
  inf.Stop();
}

// A handler can tell a replay from news: the first list's adds and resyncs are replays
// (Replaying() true while it is called), an object created or changed after the sync is
// not. A controller queues replays behind news (Controller::Watch).
TEST_F(InformerIntegration, TheFirstListAndResyncsAreReplaysAndWatchedChangesAreNot) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.label_selector = "test=runtime";
  o.resync_period = 300ms;
  runtime::Informer inf(client_, o);
  std::mutex mu;
  std::map<std::string, bool> added;  // name -> Replaying() during its add
  std::map<std::string, bool> changed;  // name -> Replaying() during its last real update
  std::atomic<int> resyncs{0}, resyncs_not_replay{0};
  auto h = std::make_shared<runtime::EventHandlerFuncs>();
  h->add = [&](const kube::json& obj) {
    std::lock_guard<std::mutex> lock(mu);
    added[obj["metadata"].value("name", "")] = inf.Replaying();
  };
  h->update = [&](const kube::json& a, const kube::json& b) {
    if (a == b) {
      resyncs++;
      if (!inf.Replaying()) resyncs_not_replay++;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    changed[b["metadata"].value("name", "")] = inf.Replaying();
  };
  inf.AddEventHandler(h);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  Change();
  ASSERT_TRUE(runtime_test::WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return added.count("cm-new") && changed.count("cm-1");
  }, 20s));
  EXPECT_TRUE(runtime_test::WaitFor([&] { return resyncs.load() >= 2; }, 5s));
  inf.Stop();
  std::lock_guard<std::mutex> lock(mu);
  for (const char* listed : {"cm-0", "cm-1", "cm-4", "cm-5"}) {
    ASSERT_TRUE(added.count(listed)) << listed;
    EXPECT_TRUE(added[listed]) << listed << " came with the first list";
  }
  EXPECT_FALSE(added["cm-new"]) << "created after the sync";
  EXPECT_FALSE(changed["cm-1"]) << "changed after the sync";
  EXPECT_EQ(resyncs_not_replay.load(), 0) << "a resync is a replay";
  EXPECT_FALSE(inf.Replaying()) << "outside a dispatch";
}

TEST_F(InformerIntegration, FieldSelectorScopesAndResyncRedeliversWhenAskedFor) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.field_selector = "metadata.name=cm-0";
  o.resync_period = 200ms;
  runtime::Informer inf(client_, o);
  std::atomic<int> resyncs{0};
  auto h = std::make_shared<runtime::EventHandlerFuncs>();
  h->update = [&](const kube::json& a, const kube::json& b) {
    if (a == b) resyncs++;
  };
  inf.AddEventHandler(h);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  EXPECT_EQ(inf.store().ListKeys(), (std::vector<std::string>{ns() + "/cm-0"}));
  EXPECT_TRUE(runtime_test::WaitFor([&] { return resyncs.load() >= 2; }, 5s));
  inf.Stop();

  o.field_selector.clear();
  o.resync_period = 0ms;  // the default: no resync
  runtime::Informer quiet(client_, o);
  std::atomic<int> updates{0};
  auto q = std::make_shared<runtime::EventHandlerFuncs>();
  q->update = [&](const kube::json&, const kube::json&) { updates++; };
  quiet.AddEventHandler(q);
  quiet.Start();
  ASSERT_TRUE(quiet.WaitForSync(runtime::Clock::now() + 20s));
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(updates.load(), 0);
  quiet.Stop();
}

// The apiserver goes away and comes back; objects change right after it returns. The
// informer (retrying with backoff, resuming from its last resourceVersion) converges.
TEST_F(InformerIntegration, ConvergesAfterApiserverRestart) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.label_selector = "test=runtime";
  o.backoff.initial = 500ms;
  o.backoff.max = 2s;
  runtime::Informer inf(client_, o);
  Mirror m;
  inf.AddEventHandler(m.Handler());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  ASSERT_TRUE(runtime_test::ClusterScript("stop-apiserver"));
  ASSERT_TRUE(runtime_test::ClusterScript("start-apiserver"));
  Change();
  EXPECT_TRUE(runtime_test::WaitFor([&] { return m.Data() == Truth(ns()); }, 60s))
      << "relists=" << inf.relists();
  EXPECT_TRUE(m.Deleted(ns() + "/cm-2"));
  EXPECT_TRUE(m.Deleted(ns() + "/cm-3"));
  EXPECT_EQ(inf.store().Size(), m.Data().size());
  inf.Stop();
}

// Changes (a deletion included) happen while the informer is disconnected, and its
// resourceVersion is no longer served: the restarted apiserver's watch cache starts after
// it (another write the informer's selector does not see came first) and etcd is
// compacted past it. The resumed watch gets 410 Expired, the informer re-lists, and
// handlers receive exactly the missed adds, updates and deletes.
TEST_F(InformerIntegration, RelistsAfterCompactionAndDeliversMissedDeletes) {
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.ns = ns();
  o.label_selector = "test=runtime";
  // One long, fixed retry delay: the informer stays away while the test changes things.
  o.backoff.initial = 30s;
  o.backoff.max = 30s;
  o.backoff.jitter = 0;
  auto metrics = std::make_shared<runtime::RuntimeMetrics>(std::make_shared<prometheus::Registry>());
  o.metrics = metrics;
  runtime::Informer inf(client_, o);
  Mirror m;
  inf.AddEventHandler(m.Handler());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(runtime::Clock::now() + 20s));
  const std::string rv_before = inf.LastResourceVersion();
  ASSERT_TRUE(client_->Create(kube::resources::kConfigMaps, ns(),
                              {{"metadata", {{"name", "outside-selector"}}}}).ok());
  const auto relists_before = metrics->InformerRelists().Add({{"resource", "configmaps"}}).Value();
  ASSERT_TRUE(runtime_test::ClusterScript("stop-apiserver"));
  ASSERT_TRUE(runtime_test::ClusterScript("start-apiserver"));
  Change();
  ASSERT_TRUE(runtime_test::ClusterScript("compact >/dev/null"));
  EXPECT_NE(m.Data(), Truth(ns())) << "the informer must still be disconnected here";
  EXPECT_TRUE(runtime_test::WaitFor([&] { return m.Data() == Truth(ns()); }, 60s));
  EXPECT_GE(inf.relists(), 1);
  EXPECT_GE(metrics->InformerRelists().Add({{"resource", "configmaps"}}).Value(),
            relists_before + 1);
  EXPECT_NE(inf.LastResourceVersion(), rv_before);
  EXPECT_TRUE(m.Deleted(ns() + "/cm-2"));
  EXPECT_TRUE(m.Deleted(ns() + "/cm-3"));
  EXPECT_EQ(m.Data().at(ns() + "/cm-1"), "v1");
  EXPECT_EQ(m.Data().count(ns() + "/cm-new"), 1u);
  inf.Stop();
}

// Informers of two namespaces keep one store (a multi-namespace cache): each one's re-list
// and resync touch only its own namespace's objects; the other's stay, and its handlers
// hear nothing of them.
TEST_F(InformerIntegration, InformersOfTwoNamespacesShareOneStoreEachMindingItsOwn) {
  runtime_test::TestNamespace other(client_, "rt-informer-b");
  for (int i = 0; i < 2; ++i) {
    auto r = client_->Create(kube::resources::kConfigMaps, other.name(),
                             ConfigMap(other.name(), "cm-b" + std::to_string(i), "v0"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto shared = std::make_shared<runtime::Store>();
  runtime::InformerOptions o;
  o.resource = kube::resources::kConfigMaps;
  o.label_selector = "test=runtime";
  o.store = shared;
  o.ns = ns();
  o.resync_period = 100ms;
  runtime::Informer a(client_, o);
  o.ns = other.name();
  o.resync_period = 0ms;
  runtime::Informer b(client_, o);
  std::mutex mu;
  std::set<std::string> a_heard, b_deleted;
  auto ha = std::make_shared<runtime::EventHandlerFuncs>();
  ha->add = [&](const kube::json& obj) {
    std::lock_guard<std::mutex> lock(mu);
    a_heard.insert(runtime::ObjectKey(obj));
  };
  ha->update = [&](const kube::json&, const kube::json& obj) { ha->add(obj); };
  ha->del = [&](const kube::json& obj) { ha->add(obj); };
  auto hb = std::make_shared<runtime::EventHandlerFuncs>();
  hb->del = [&](const kube::json& obj) {
    std::lock_guard<std::mutex> lock(mu);
    b_deleted.insert(runtime::ObjectKey(obj));
  };
  a.AddEventHandler(ha);
  b.AddEventHandler(hb);
  a.Start();
  b.Start();
  ASSERT_TRUE(a.WaitForSync(runtime::Clock::now() + 20s));
  ASSERT_TRUE(b.WaitForSync(runtime::Clock::now() + 20s));
  EXPECT_EQ(&a.store(), shared.get());
  EXPECT_EQ(&b.store(), shared.get());
  EXPECT_EQ(shared->Size(), 8u);
  EXPECT_EQ(shared->ListKeys(other.name()).size(), 2u);

  // A's changes happen while it is stopped; its next Start lists again (a re-list).
  a.Stop();
  Change();
  a.Start();
  auto keys_of = [](const std::map<std::string, std::string>& m) {
    std::set<std::string> out;
    for (const auto& [k, v] : m) out.insert(k);
    return out;
  };
  std::set<std::string> want = keys_of(Truth(ns()));
  for (const auto& k : keys_of(Truth(other.name()))) want.insert(k);
  ASSERT_EQ(want.size(), 7u);  // 6 - cm-2 - cm-3 + cm-new, and the other namespace's 2
  EXPECT_TRUE(runtime_test::WaitFor([&] {
    auto got = shared->ListKeys();
    return std::set<std::string>(got.begin(), got.end()) == want;
  }, 20s));
  EXPECT_EQ(a.relists(), 1);
  std::this_thread::sleep_for(300ms);  // a few of A's resyncs
  a.Stop();
  b.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(b_deleted.empty()) << "B's handlers heard a delete of " << *b_deleted.begin();
  EXPECT_TRUE(a_heard.count(ns() + "/cm-2")) << "A's re-list delivers the delete it missed";
  for (const auto& key : a_heard) {
    EXPECT_TRUE(key.starts_with(ns() + "/")) << "A's handlers heard " << key << " of the other namespace";
  }
}

}  // namespace
