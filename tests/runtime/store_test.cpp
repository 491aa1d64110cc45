#include "runtime/store.h"

#include <gtest/gtest.h>

#include <algorithm>

using runtime::json;
using runtime::Store;

namespace {

json Pod(const std::string& ns, const std::string& name, json labels, const std::string& rv = "1") {
  return {{"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}, {"resourceVersion", rv}}},
          {"spec", {{"nodeName", "n1"}}}};
}

std::vector<std::string> Names(const std::vector<runtime::ObjectPtr>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back((*o)["metadata"]["name"].get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Store, KeysAreNamespaceSlashName) {
  EXPECT_EQ(runtime::ObjectKey(Pod("shop", "db-0", json::object())), "shop/db-0");
  EXPECT_EQ(runtime::ObjectKey(json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  std::string ns, name;
  runtime::SplitObjectKey("shop/db-0", &ns, &name);
  EXPECT_EQ(ns, "shop");
  EXPECT_EQ(name, "db-0");
  runtime::SplitObjectKey("node-1", &ns, &name);
  EXPECT_EQ(ns, "");
  EXPECT_EQ(name, "node-1");
}

TEST(Store, UpsertGetDelete) {
  Store s;
  EXPECT_EQ(s.Upsert(Pod("a", "p", json::object(), "1")), nullptr);
  auto old = s.Upsert(Pod("a", "p", json::object(), "2"));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ((*old)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*s.Get("a", "p"))["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(s.Size(), 1u);
  EXPECT_NE(s.Delete("a/p"), nullptr);
  EXPECT_EQ(s.Delete("a/p"), nullptr);
  EXPECT_EQ(s.Get("a/p"), nullptr);
}

TEST(Store, NamespaceAndLabelIndexesFollowUpdatesAndDeletes) {
  Store s;
  s.Upsert(Pod("shop", "db-a", {{"app", "db"}, {"site", "a"}}));
  s.Upsert(Pod("shop", "db-b", {{"app", "db"}, {"site", "b"}}));
  s.Upsert(Pod("other", "db-c", {{"app", "db"}, {"site", "a"}}));
  EXPECT_EQ(Names(s.ListNamespace("shop")), (std::vector<std::string>{"db-a", "db-b"}));
  EXPECT_EQ(Names(s.ListByLabels("shop", {{"app", "db"}, {"site", "a"}})),
            (std::vector<std::string>{"db-a"}));
  EXPECT_EQ(Names(s.ListByLabels("", {{"site", "a"}})),
            (std::vector<std::string>{"db-a", "db-c"}));
  EXPECT_EQ(Names(s.ListByLabels("shop", {})), (std::vector<std::string>{"db-a", "db-b"}));

  s.Upsert(Pod("shop", "db-a", {{"app", "db"}, {"site", "b"}}));  // relabelled
  EXPECT_EQ(Names(s.ListByLabels("shop", {{"site", "a"}})), std::vector<std::string>{});
  EXPECT_EQ(Names(s.ListByLabels("shop", {{"site", "b"}})),
            (std::vector<std::string>{"db-a", "db-b"}));
  s.Delete("shop/db-b");
  EXPECT_EQ(Names(s.ByIndex(Store::kLabelIndex, "site=b")), (std::vector<std::string>{"db-a"}));
  EXPECT_EQ(Names(s.ListNamespace("shop")), (std::vector<std::string>{"db-a"}));
}

TEST(Store, CustomIndexCoversExistingAndNewObjects) {
  Store s;
  s.Upsert(Pod("shop", "p1", json::object()));
  s.AddIndex("node", [](const json& o) -> std::vector<std::string> {
    return {o["spec"].value("nodeName", "")};
  });
  json p2 = Pod("shop", "p2", json::object());
  p2["spec"]["nodeName"] = "n2";
  s.Upsert(p2);
  EXPECT_EQ(Names(s.ByIndex("node", "n1")), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(Names(s.ByIndex("node", "n2")), (std::vector<std::string>{"p2"}));
  EXPECT_TRUE(s.ByIndex("nope", "n1").empty());
}

TEST(Store, ReplaceSwapsTheWholeContent) {
  Store s;
  s.Upsert(Pod("shop", "gone", {{"app", "x"}}));
  s.Replace({Pod("shop", "new", {{"app", "y"}})});
  EXPECT_EQ(s.ListKeys(), (std::vector<std::string>{"shop/new"}));
  EXPECT_TRUE(s.ListByLabels("", {{"app", "x"}}).empty());
  EXPECT_EQ(s.ListByLabels("", {{"app", "y"}}).size(), 1u);
}

TEST(Store, ObjectsHandedOutStayValidAfterChanges) {
  Store s;
  s.Upsert(Pod("a", "p", json::object(), "1"));
  auto held = s.Get("a/p");
  s.Upsert(Pod("a", "p", json::object(), "2"));
  s.Delete("a/p");
  EXPECT_EQ((*held)["metadata"]["resourceVersion"], "1");
}

TEST(Store, ObjectsComeBackAsStored) {
  Store s;
  json obj = Pod("a", "p", {{"app", "db"}});
  obj["status"] = {{"podIP", "10.0.0.1"},
                   {"count", -3},
                   {"big", 18446744073709551615ull},
                   {"ratio", 0.25},
                   {"ok", true},
                   {"gone", nullptr},
                   {"empty", json::object()},
                   {"list", json::array({1, "two", json::array()})},
                   {"text", "caf\u00e9 \u2713"}};
  s.Upsert(obj);
  EXPECT_EQ(*s.Get("a/p"), obj);
  EXPECT_EQ(*s.List().at(0), obj);
  EXPECT_EQ(*s.Delete("a/p"), obj);
}

TEST(Store, ListByLabelsNeedsEveryPairWhicheverIsRarest) {
  Store s;
  for (int i = 0; i < 50; ++i) s.Upsert(Pod("shop", "web-" + std::to_string(i), {{"app", "db"}, {"site", "b"}}));
  s.Upsert(Pod("shop", "db-a", {{"app", "db"}, {"site", "a"}}));
  s.Upsert(Pod("shop", "cache-a", {{"app", "cache"}, {"site", "a"}}));
  s.Upsert(Pod("other", "db-a", {{"app", "db"}, {"site", "a"}}));
  EXPECT_EQ(Names(s.ListByLabels("shop", {{"app", "db"}, {"site", "a"}})), (std::vector<std::string>{"db-a"}));
  EXPECT_EQ(s.ListByLabels("", {{"app", "db"}, {"site", "a"}}).size(), 2u);
  EXPECT_TRUE(s.ListByLabels("shop", {{"app", "db"}, {"site", "c"}}).empty());
  EXPECT_TRUE(s.ListByLabels("nowhere", {{"app", "db"}}).empty());
  EXPECT_EQ(s.ListByLabels("shop", {{"site", "b"}}).size(), 50u);
}

}  // namespace
