// Runs against the local control plane that ctest brings up (FO_KUBECONFIG, FO_CLUSTER_DIR).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "kube/client.h"
#include "support/cluster_env.h"
#include "temp_dir.h"

namespace kube {
namespace {

using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RandomSuffix() {
  static std::mt19937 rng{std::random_device{}()};
  static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 6; ++i) s.push_back(kChars[rng() % 36]);
  return s;
}

std::string RV(const json& obj) { return obj["metadata"]["resourceVersion"].get<std::string>(); }

json ConfigMap(const std::string& name, const json& data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", data}};
}

const Resource kRoles{"rbac.authorization.k8s.io", "v1", "roles", true};
const Resource kRoleBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", true};

class KubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubeconfig_ = Env("FO_KUBECONFIG");
    ASSERT_FALSE(kubeconfig_.empty()) << "FO_KUBECONFIG is not set (run through ctest)";
    auto cfg = LoadKubeconfig({kubeconfig_});
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    config_ = *cfg;
    auto c = Client::Create(config_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = *c;
    ns_ = "kube-test-" + RandomSuffix();
    auto created = client_->Create(resources::kNamespaces, "",
                                   {{"apiVersion", "v1"}, {"kind", "Namespace"},
                                    {"metadata", {{"name", ns_}}}});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  void TearDown() override {
    if (client_ && !ns_.empty()) {
      DeleteOptions bg;
      bg.propagation_policy = "Background";
      auto d = client_->Delete(resources::kNamespaces, "", ns_, bg);
      EXPECT_TRUE(d.ok()) << d.status().ToString();
    }
  }

  // A client for `config` (the admin config when none is given).
  std::shared_ptr<Client> NewClient(const RestConfig& cfg) {
    auto c = Client::Create(cfg);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

  // The admin config without its client certificate: the base for token users.
  RestConfig Anonymous() const {
    RestConfig cfg = config_;
    cfg.client_cert_pem.clear();
    cfg.client_key_pem.clear();
    return cfg;
  }

  // A ServiceAccount in ns_ allowed to get/list/watch configmaps there, and its token.
  std::string ServiceAccountToken(const std::string& name, bool bind = true) {
    auto sa = client_->Create(resources::kServiceAccounts, ns_,
                              {{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                               {"metadata", {{"name", name}}}});
    EXPECT_TRUE(sa.ok()) << sa.status().ToString();
    if (bind) {
      auto role = client_->Create(
          kRoles, ns_,
          {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "Role"},
           {"metadata", {{"name", name}}},
           {"rules", {{{"apiGroups", {""}}, {"resources", {"configmaps"}},
                       {"verbs", {"get", "list", "watch"}}}}}});
      EXPECT_TRUE(role.ok()) << role.status().ToString();
      auto rb = client_->Create(
          kRoleBindings, ns_,
          {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
           {"metadata", {{"name", name}}},
           {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
           {"subjects", {{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns_}}}}});
      EXPECT_TRUE(rb.ok()) << rb.status().ToString();
    }
    auto tr = client_->Raw("POST",
                           resources::kServiceAccounts.ObjectPath(ns_, name, "token"),
                           R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest",)"
                           R"("spec":{"expirationSeconds":3600}})");
    EXPECT_TRUE(tr.ok()) << tr.status().ToString();
    if (!tr.ok()) return "";
    return json::parse(*tr)["status"]["token"].get<std::string>();
  }

  // Lists configmaps in ns_ until RBAC (which caches briefly) lets `c` in.
  Status EventuallyList(Client& c, const std::string& ns) {
    Status last;
    for (int i = 0; i < 50; ++i) {
      auto r = c.List(resources::kConfigMaps, ns);
      if (r.ok() || !r.status().IsForbidden()) return r.status();
      last = r.status();
      std::this_thread::sleep_for(100ms);
    }
    return last;
  }

  std::string kubeconfig_;
  RestConfig config_;
  std::shared_ptr<Client> client_;
  std::string ns_;
};

TEST_F(KubeClientTest, ConfigMapCrud) {
  auto created = client_->Create(resources::kConfigMaps, ns_, ConfigMap("a", {{"k", "v1"}}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["metadata"]["namespace"], ns_);
  auto again = client_->Create(resources::kConfigMaps, ns_, ConfigMap("a", {{"k", "v1"}}));
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status().ToString();

  auto got = client_->Get(resources::kConfigMaps, ns_, "a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["data"]["k"], "v1");

  json updated = *got;
  updated["data"]["k"] = "v2";
  auto put = client_->Update(resources::kConfigMaps, ns_, updated);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["data"]["k"], "v2");
  EXPECT_NE(RV(*put), RV(*got));

  // The stale resourceVersion precondition fails with Conflict.
  json stale = *got;
  stale["data"]["k"] = "v3";
  auto conflict = client_->Update(resources::kConfigMaps, ns_, stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(conflict.status().IsConflict()) << conflict.status().ToString();
  EXPECT_EQ(conflict.status().code(), 409);

  auto invalid = client_->Create(resources::kConfigMaps, ns_, ConfigMap("Not_Valid", {}));
  ASSERT_FALSE(invalid.ok());
  EXPECT_TRUE(invalid.status().IsInvalid()) << invalid.status().ToString();
  ASSERT_FALSE(invalid.status().causes().empty());
  EXPECT_EQ(invalid.status().causes()[0].field, "metadata.name");

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto refused = client_->Delete(resources::kConfigMaps, ns_, "a", wrong_uid);
  EXPECT_TRUE(refused.status().IsConflict()) << refused.status().ToString();

  DeleteOptions right;
  right.precondition_uid = (*put)["metadata"]["uid"].get<std::string>();
  right.precondition_resource_version = RV(*put);
  right.propagation_policy = "Background";
  auto deleted = client_->Delete(resources::kConfigMaps, ns_, "a", right);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  auto gone = client_->Get(resources::kConfigMaps, ns_, "a");
  EXPECT_TRUE(gone.status().IsNotFound()) << gone.status().ToString();
  EXPECT_EQ(gone.status().code(), 404);
  EXPECT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "a").status().IsNotFound());
}

TEST_F(KubeClientTest, ListWithSelectorsAndPagination) {
  for (int i = 0; i < 7; ++i) {
    json cm = ConfigMap("cm-" + std::to_string(i), {{"i", std::to_string(i)}});
    cm["metadata"]["labels"] = {{"parity", i % 2 == 0 ? "even" : "odd"}};
    ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, cm).ok());
  }
  ListOptions page;
  page.limit = 2;
  auto first = client_->List(resources::kConfigMaps, ns_, page);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)["items"].size(), 2u);
  EXPECT_FALSE((*first)["metadata"]["continue"].get<std::string>().empty());

  auto all = client_->ListAll(resources::kConfigMaps, ns_, page);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ((*all)["items"].size(), 7u);
  EXPECT_FALSE((*all)["metadata"].contains("continue"));
  EXPECT_FALSE(RV(*all).empty());

  ListOptions even;
  even.label_selector = "parity=even";
  auto evens = client_->ListAll(resources::kConfigMaps, ns_, even);
  ASSERT_TRUE(evens.ok()) << evens.status().ToString();
  EXPECT_EQ((*evens)["items"].size(), 4u);
  ListOptions by_name;
  by_name.field_selector = "metadata.name=cm-3";
  auto one = client_->List(resources::kConfigMaps, ns_, by_name);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ((*one)["items"].size(), 1u);
  EXPECT_EQ((*one)["items"][0]["data"]["i"], "3");
  ListOptions bad;
  bad.label_selector = "this is not a selector";
  EXPECT_EQ(client_->List(resources::kConfigMaps, ns_, bad).status().reason(), Reason::kBadRequest);
}

TEST_F(KubeClientTest, EveryPatchType) {
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, ConfigMap("p", {{"a", "1"}})).ok());
  auto merge = client_->Patch(resources::kConfigMaps, ns_, "p", PatchType::kMerge,
                              R"({"data":{"b":"2"}})");
  ASSERT_TRUE(merge.ok()) << merge.status().ToString();
  EXPECT_EQ((*merge)["data"], json({{"a", "1"}, {"b", "2"}}));
  auto jsonpatch = client_->Patch(resources::kConfigMaps, ns_, "p", PatchType::kJson,
                                  R"([{"op":"remove","path":"/data/a"},{"op":"add","path":"/data/c","value":"3"}])");
  ASSERT_TRUE(jsonpatch.ok()) << jsonpatch.status().ToString();
  EXPECT_EQ((*jsonpatch)["data"], json({{"b", "2"}, {"c", "3"}}));
  auto failed_test = client_->Patch(resources::kConfigMaps, ns_, "p", PatchType::kJson,
                                    R"([{"op":"test","path":"/data/b","value":"nope"}])");
  EXPECT_FALSE(failed_test.ok());
  auto strategic = client_->Patch(resources::kConfigMaps, ns_, "p", PatchType::kStrategicMerge,
                                  R"({"metadata":{"labels":{"x":"y"}},"data":{"d":"4"}})");
  ASSERT_TRUE(strategic.ok()) << strategic.status().ToString();
  EXPECT_EQ((*strategic)["metadata"]["labels"]["x"], "y");
  EXPECT_EQ((*strategic)["data"]["d"], "4");

  PatchOptions apply;
  apply.field_manager = "kube-test";
  auto applied = client_->Patch(resources::kConfigMaps, ns_, "applied", PatchType::kApply,
                                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  e: '5'\n",
                                apply);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)["data"]["e"], "5");
  // Another manager touching the same field conflicts unless it forces.
  PatchOptions other;
  other.field_manager = "someone-else";
  std::string takeover = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"e":"6"}})";
  auto conflict = client_->Patch(resources::kConfigMaps, ns_, "applied", PatchType::kApply, takeover, other);
  EXPECT_TRUE(conflict.status().IsConflict()) << conflict.status().ToString();
  other.force = true;
  auto forced = client_->Patch(resources::kConfigMaps, ns_, "applied", PatchType::kApply, takeover, other);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ((*forced)["data"]["e"], "6");

  PatchOptions dry;
  dry.dry_run = true;
  auto dry_run = client_->Patch(resources::kConfigMaps, ns_, "p", PatchType::kMerge,
                                R"({"data":{"dry":"yes"}})", dry);
  ASSERT_TRUE(dry_run.ok()) << dry_run.status().ToString();
  EXPECT_EQ((*dry_run)["data"]["dry"], "yes");
  EXPECT_FALSE((*client_->Get(resources::kConfigMaps, ns_, "p"))["data"].contains("dry"));
}

TEST_F(KubeClientTest, CustomResourceCrudAndStatusSubresource) {
  std::string group = "kt" + RandomSuffix() + ".failover.io";
  Resource widgets{group, "v1", "widgets", true};
  json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets." + group}}},
      {"spec",
       {{"group", group},
        {"scope", "Namespaced"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
        {"versions",
         {{{"name", "v1"},
           {"served", true},
           {"storage", true},
           {"subresources", {{"status", json::object()}}},
           {"schema",
            {{"openAPIV3Schema",
              {{"type", "object"},
               {"properties",
                {{"spec", {{"type", "object"}, {"properties", {{"size", {{"type", "integer"}}}}}}},
                 {"status", {{"type", "object"}, {"properties", {{"phase", {{"type", "string"}}}}}}}}}}}}}}}}}}};
  auto created = client_->Create(resources::kCustomResourceDefinitions, "", crd);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct CrdCleanup {
    Client* c;
    std::string name;
    ~CrdCleanup() { c->Delete(resources::kCustomResourceDefinitions, "", name); }
  } cleanup{client_.get(), "widgets." + group};

  bool established = false;
  for (int i = 0; i < 100 && !established; ++i) {
    auto got = client_->Get(resources::kCustomResourceDefinitions, "", "widgets." + group);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (const auto& c : (*got)["status"].value("conditions", json::array())) {
      if (c["type"] == "Established" && c["status"] == "True") established = true;
    }
    if (!established) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(established);

  json w = {{"apiVersion", group + "/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}},
            {"spec", {{"size", 1}}}};
  // Discovery of a new CRD takes a moment to reach every handler.
  Result<json> made = Status(Reason::kNotFound, "not tried");
  for (int i = 0; i < 50; ++i) {
    made = client_->Create(widgets, ns_, w);
    if (made.ok() || !made.status().IsNotFound()) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto listed = client_->List(widgets, ns_);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ((*listed)["items"].size(), 1u);

  // Status goes through the status subresource only.
  json with_status = *made;
  with_status["status"] = {{"phase", "Ready"}};
  auto main_put = client_->Update(widgets, ns_, with_status);
  ASSERT_TRUE(main_put.ok()) << main_put.status().ToString();
  EXPECT_FALSE(main_put->contains("status"));
  with_status["metadata"]["resourceVersion"] = RV(*main_put);
  UpdateOptions status_opts;
  status_opts.subresource = "status";
  auto status_put = client_->Update(widgets, ns_, with_status, status_opts);
  ASSERT_TRUE(status_put.ok()) << status_put.status().ToString();
  EXPECT_EQ((*status_put)["status"]["phase"], "Ready");
  PatchOptions status_patch;
  status_patch.subresource = "status";
  auto patched = client_->Patch(widgets, ns_, "w1", PatchType::kMerge,
                                R"({"status":{"phase":"Degraded"},"spec":{"size":9}})", status_patch);
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["status"]["phase"], "Degraded");
  EXPECT_EQ((*patched)["spec"]["size"], 1);  // spec is ignored through status
  auto got_status = client_->Get(widgets, ns_, "w1", "status");
  ASSERT_TRUE(got_status.ok()) << got_status.status().ToString();
  EXPECT_EQ((*got_status)["status"]["phase"], "Degraded");

  auto merge = client_->Patch(widgets, ns_, "w1", PatchType::kMerge, R"({"spec":{"size":2}})");
  ASSERT_TRUE(merge.ok()) << merge.status().ToString();
  EXPECT_EQ((*merge)["spec"]["size"], 2);
  auto strategic = client_->Patch(widgets, ns_, "w1", PatchType::kStrategicMerge, R"({"spec":{"size":3}})");
  EXPECT_EQ(strategic.status().reason(), Reason::kUnsupportedMediaType) << strategic.status().ToString();
  PatchOptions apply;
  apply.field_manager = "kube-test";
  apply.force = true;
  auto applied = client_->Patch(widgets, ns_, "w1", PatchType::kApply,
                                json({{"apiVersion", group + "/v1"}, {"kind", "Widget"},
                                      {"metadata", {{"name", "w1"}}}, {"spec", {{"size", 4}}}}).dump(),
                                apply);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)["spec"]["size"], 4);
  auto bad = client_->Patch(widgets, ns_, "w1", PatchType::kMerge, R"({"spec":{"size":"big"}})");
  EXPECT_TRUE(bad.status().IsInvalid()) << bad.status().ToString();

  ASSERT_TRUE(client_->Delete(widgets, ns_, "w1").ok());
  EXPECT_TRUE(client_->Get(widgets, ns_, "w1").status().IsNotFound());
}

TEST_F(KubeClientTest, WatchSeesEventsInOrderAndABookmark) {
  auto list = client_->List(resources::kConfigMaps, ns_);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::string from = RV(*list);
  json w = ConfigMap("w", {{"n", "1"}});
  w["metadata"]["labels"] = {{"watched", "yes"}};
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, w).ok());
  ASSERT_TRUE(client_->Patch(resources::kConfigMaps, ns_, "w", PatchType::kMerge,
                             R"({"data":{"n":"2"}})").ok());
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "w").ok());
  // A change the watch filters out, made while it runs: the bookmark then carries a newer
  // version than any delivered event, at least the unseen change's (the apiserver sends
  // one before its timeout; since 1.27 its version may be newer still, from etcd's progress
  // notifications of the whole store).
  Result<json> unseen = Status(Reason::kNotFound, "not created");

  WatchOptions opts;
  opts.resource_version = from;
  opts.label_selector = "watched=yes";
  opts.timeout_seconds = 5;
  std::vector<std::string> seen;
  std::string bookmark_rv;
  Status s = client_->Watch(resources::kConfigMaps, ns_, opts, [&](WatchEvent&& ev) {
    seen.push_back(WatchEventTypeName(ev.type));
    if (ev.type == WatchEvent::Type::kBookmark) {
      bookmark_rv = RV(ev.object);
    } else {
      EXPECT_EQ(ev.object["metadata"]["name"], "w");
    }
    if (ev.type == WatchEvent::Type::kDeleted) {
      unseen = client_->Create(resources::kConfigMaps, ns_, ConfigMap("unseen", {}));
    }
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();  // the server ended the stream at its timeout
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(seen.begin(), seen.begin() + 3),
            (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
  for (size_t i = 3; i < seen.size(); ++i) EXPECT_EQ(seen[i], "BOOKMARK");
  ASSERT_TRUE(unseen.ok()) << unseen.status().ToString();
  // Resource versions are opaque to clients; etcd-backed ones are increasing integers,
  // which is what this checks against.
  ASSERT_FALSE(bookmark_rv.empty());
  EXPECT_GE(std::stoull(bookmark_rv), std::stoull(RV(*unseen)))
      << "bookmark " << bookmark_rv << ", unseen change " << RV(*unseen);
}

TEST_F(KubeClientTest, WatchStopsWhenTheCallerSaysSo) {
  auto list = client_->List(resources::kConfigMaps, ns_);
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, ConfigMap("x", {})).ok());
  WatchOptions opts;
  opts.resource_version = RV(*list);
  int events = 0;
  Status s = client_->Watch(resources::kConfigMaps, ns_, opts, [&](WatchEvent&&) {
    ++events;
    return false;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(events, 1);
}

TEST_F(KubeClientTest, WatchIsCancelledFromAnotherThread) {
  auto list = client_->List(resources::kConfigMaps, ns_);
  ASSERT_TRUE(list.ok());
  WatchCancel cancel;
  std::promise<void> first_event;
  WatchOptions opts;
  opts.resource_version = RV(*list);
  opts.timeout_seconds = 300;
  auto done = std::async(std::launch::async, [&] {
    bool signalled = false;
    return client_->Watch(resources::kConfigMaps, ns_, opts, [&](WatchEvent&&) {
      if (!signalled) first_event.set_value();
      signalled = true;
      return true;
    }, &cancel);
  });
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, ConfigMap("c", {})).ok());
  ASSERT_EQ(first_event.get_future().wait_for(30s), std::future_status::ready);
  cancel.Cancel();
  // Far below the 300 s server timeout: the socket was closed under the blocked read.
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(done.get().reason(), Reason::kCancelled);

  WatchCancel early;
  early.Cancel();
  EXPECT_EQ(client_->Watch(resources::kConfigMaps, ns_, opts, [](WatchEvent&&) { return true; }, &early)
                .reason(),
            Reason::kCancelled);
}

TEST_F(KubeClientTest, SilentWatchIsStalled) {
  auto list = client_->List(resources::kConfigMaps, ns_);
  ASSERT_TRUE(list.ok());
  WatchOptions opts;
  opts.resource_version = RV(*list);
  opts.timeout_seconds = 120;
  opts.stall_timeout = 2s;
  Status s = client_->Watch(resources::kConfigMaps, ns_, opts, [](WatchEvent&&) { return true; });
  EXPECT_EQ(s.reason(), Reason::kStalled) << s.ToString();
}

TEST_F(KubeClientTest, WatchFromCompactedVersionIsExpired) {
  // Events bypass the apiserver's watch cache, so the watch reads etcd's history itself.
  json event = {{"apiVersion", "v1"}, {"kind", "Event"},
                {"metadata", {{"name", "e1"}}},
                {"involvedObject", {{"kind", "ConfigMap"}, {"name", "x"}, {"namespace", ns_}}},
                {"reason", "Test"}, {"message", "one"}, {"type", "Normal"}};
  auto first = client_->Create(resources::kEvents, ns_, event);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // etcd keeps the compaction revision itself, and a watch from rv starts at rv+1: two
  // writes after `first` put the compaction strictly past where the watch would start.
  for (const char* name : {"e2", "e3"}) {
    event["metadata"]["name"] = name;
    ASSERT_TRUE(client_->Create(resources::kEvents, ns_, event).ok());
  }
  std::string compact = "bash '" + Env("FO_SOURCE_DIR") + "/scripts/cluster.sh' compact >/dev/null";
  ASSERT_EQ(std::system(compact.c_str()), 0) << compact;

  WatchOptions opts;
  opts.resource_version = RV(*first);
  opts.timeout_seconds = 30;
  int delivered = 0;
  Status s = client_->Watch(resources::kEvents, ns_, opts, [&](WatchEvent&&) {
    ++delivered;
    return true;
  });
  EXPECT_TRUE(s.IsExpired()) << s.ToString();
  EXPECT_EQ(delivered, 0);

}

TEST_F(KubeClientTest, ServiceAccountTokenIsForbiddenWhereRbacDenies) {
  std::string allowed = ServiceAccountToken("reader");
  std::string denied = ServiceAccountToken("nobody", /*bind=*/false);
  ASSERT_FALSE(allowed.empty());
  RestConfig reader_cfg = Anonymous();
  reader_cfg.bearer_token = allowed;
  auto reader = NewClient(reader_cfg);
  ASSERT_TRUE(reader);
  Status listed = EventuallyList(*reader, ns_);
  EXPECT_TRUE(listed.ok()) << listed.ToString();
  auto secrets = reader->List(resources::kSecrets, ns_);
  EXPECT_TRUE(secrets.status().IsForbidden()) << secrets.status().ToString();
  EXPECT_EQ(secrets.status().code(), 403);
  auto elsewhere = reader->List(resources::kConfigMaps, "default");
  EXPECT_TRUE(elsewhere.status().IsForbidden()) << elsewhere.status().ToString();
  auto write = reader->Create(resources::kConfigMaps, ns_, ConfigMap("no", {}));
  EXPECT_TRUE(write.status().IsForbidden()) << write.status().ToString();

  RestConfig nobody_cfg = Anonymous();
  nobody_cfg.bearer_token = denied;
  auto nobody = NewClient(nobody_cfg);
  EXPECT_TRUE(nobody->List(resources::kConfigMaps, ns_).status().IsForbidden());

  RestConfig bogus_cfg = Anonymous();
  bogus_cfg.bearer_token = "not-a-token";
  auto bogus = NewClient(bogus_cfg);
  auto unauth = bogus->List(resources::kConfigMaps, ns_);
  EXPECT_TRUE(unauth.status().IsUnauthorized()) << unauth.status().ToString();
}

TEST_F(KubeClientTest, TlsVerification) {
  RestConfig wrong_ca = config_;
  wrong_ca.ca_pem = ReadFile(std::string(FO_KUBE_TESTDATA) + "/ca.crt");
  auto wrong = NewClient(wrong_ca);
  auto r = wrong->Raw("GET", "/version");
  ASSERT_FALSE(r.ok()) << "a server signed by another CA was trusted";
  EXPECT_EQ(r.status().reason(), Reason::kTlsError) << r.status().ToString();

  RestConfig system_roots = config_;
  system_roots.ca_pem.clear();
  auto sys = NewClient(system_roots);
  EXPECT_EQ(sys->Raw("GET", "/version").status().reason(), Reason::kTlsError);

  RestConfig by_name = config_;
  by_name.tls_server_name = "kubernetes.default.svc";
  auto named = NewClient(by_name);
  auto ok = named->Raw("GET", "/version");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  by_name.tls_server_name = "not-the-apiserver.example";
  auto misnamed = NewClient(by_name);
  EXPECT_EQ(misnamed->Raw("GET", "/version").status().reason(), Reason::kTlsError);

  RestConfig insecure = config_;
  insecure.ca_pem.clear();
  insecure.insecure_skip_tls_verify = true;
  auto skip = NewClient(insecure);
  EXPECT_TRUE(skip->Raw("GET", "/version").ok());

  RestConfig no_client_cert = Anonymous();
  auto anon = NewClient(no_client_cert);
  auto anon_list = anon->List(resources::kConfigMaps, ns_);
  EXPECT_TRUE(anon_list.status().IsForbidden() || anon_list.status().IsUnauthorized())
      << anon_list.status().ToString();
}

TEST_F(KubeClientTest, ExecPluginAuthenticates) {
  std::string token = ServiceAccountToken("exec-user");
  ASSERT_FALSE(token.empty());
  testing::TempDir dir;
  std::string script = dir.Write(
      "plugin.sh",
      "#!/bin/sh\necho run >> " + dir.path() + "/runs\n"
      "cat <<'JSON'\n{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"" + token + "\",\"expirationTimestamp\":\"2100-01-01T00:00:00Z\"}}\nJSON\n",
      0755);
  RestConfig cfg = Anonymous();
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1beta1", script, {}, {}, false, "Never"};
  auto c = NewClient(cfg);
  Status listed = EventuallyList(*c, ns_);
  EXPECT_TRUE(listed.ok()) << listed.ToString();
  ASSERT_TRUE(c->List(resources::kConfigMaps, ns_).ok());
  EXPECT_EQ(ReadFile(dir.path() + "/runs"), "run\n");  // cached until it expires

  RestConfig failing = Anonymous();
  failing.exec = ExecConfig{"client.authentication.k8s.io/v1beta1",
                            dir.Write("fail.sh", "#!/bin/sh\necho 'no credentials here' >&2\nexit 2\n", 0755),
                            {}, {}, false, "Never"};
  auto f = NewClient(failing);
  auto r = f->List(resources::kConfigMaps, ns_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kConfigError);
  EXPECT_NE(r.status().message().find("no credentials here"), std::string::npos);
}

TEST_F(KubeClientTest, RewrittenTokenFileIsPickedUp) {
  std::string token = ServiceAccountToken("rotating");
  ASSERT_FALSE(token.empty());
  testing::TempDir dir;
  std::string file = dir.Write("token", "expired-or-revoked-token\n");
  RestConfig cfg = Anonymous();
  cfg.bearer_token = "expired-or-revoked-token";
  cfg.bearer_token_file = file;
  auto c = NewClient(cfg);
  EXPECT_TRUE(c->List(resources::kConfigMaps, ns_).status().IsUnauthorized());
  // The kubelet rotates the projected token by rewriting the file.
  dir.Write("token", token + "\n");
  Status listed = EventuallyList(*c, ns_);
  EXPECT_TRUE(listed.ok()) << listed.ToString();
}

TEST_F(KubeClientTest, ConcurrentRequestsShareTheClient) {
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, ConfigMap("shared", {{"k", "v"}})).ok());
  struct Counter : RequestObserver {
    std::atomic<int> ok{0}, other{0};
    void OnRequest(const std::string& verb, const std::string& resource, int code,
                   std::chrono::duration<double>) override {
      (verb == "GET" && resource == "configmaps" && code == 200 ? ok : other)++;
    }
  };
  auto counter = std::make_shared<Counter>();
  client_->SetObserver(counter);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!client_->Get(resources::kConfigMaps, ns_, "shared").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  client_->SetObserver(nullptr);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(counter->ok.load(), 200);
  EXPECT_EQ(counter->other.load(), 0);
}

// Pooled keep-alive connections die with the apiserver; the first write after its
// restart must go out on a fresh connection instead of failing.
TEST_F(KubeClientTest, WritesSucceedAfterApiserverRestart) {
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns_, ConfigMap("r", {{"n", "0"}})).ok());
  // Fill the pool with several kept-alive connections.
  std::vector<std::thread> warm;
  for (int t = 0; t < 4; ++t) {
    warm.emplace_back([&] { (void)client_->Get(resources::kConfigMaps, ns_, "r"); });
  }
  for (auto& th : warm) th.join();

  std::string script = "bash '" + Env("FO_SOURCE_DIR") + "/scripts/cluster.sh' ";
  ASSERT_EQ(std::system((script + "stop-apiserver >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((script + "start-apiserver >/dev/null").c_str()), 0);
  // Readiness through another client, so client_'s pool stays as the restart left it.
  auto probe = NewClient(config_);
  for (int i = 0; i < 100 && !probe->Raw("GET", "/readyz").ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  auto patched = client_->Patch(resources::kConfigMaps, ns_, "r", PatchType::kMerge,
                                R"({"data":{"n":"1"}})");
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["data"]["n"], "1");
  auto created = client_->Create(resources::kConfigMaps, ns_, ConfigMap("r2", {}));
  EXPECT_TRUE(created.ok()) << created.status().ToString();
}

TEST_F(KubeClientTest, RawAndLoadConfig) {
  auto version = client_->Raw("GET", "/version");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  // The release the cluster was built from (cluster.sh records it), stamped at link time.
  auto want = testsupport::cluster_value("FO_K8S_VERSION");
  ASSERT_TRUE(want.has_value()) << "cluster.env has no FO_K8S_VERSION";
  EXPECT_EQ(json::parse(*version)["gitVersion"].get<std::string>(), *want);
  EXPECT_EQ(json::parse(*version)["major"].get<std::string>(), "1");
  auto missing = client_->Raw("GET", "/apis/nothing.example/v1");
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  auto loaded = LoadConfig(kubeconfig_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->server, config_.server);
}

}  // namespace
}  // namespace kube
