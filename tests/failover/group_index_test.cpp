// GroupIndex: which groups a pod or Service event concerns, checked against a plain scan
// of every group's selectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "failover/group_index.h"
#include "failover/parse.h"

namespace failover {
namespace {

using json = nlohmann::json;

json Selector(const json& match_labels, const json& expressions = json::array()) {
  json s = json::object();
  if (!match_labels.empty()) s["matchLabels"] = match_labels;
  if (!expressions.empty()) s["matchExpressions"] = expressions;
  return s;
}

json Group(const std::string& ns, const std::string& name, const std::vector<json>& selectors,
           const std::vector<std::string>& services = {}) {
  json members = json::array();
  for (size_t i = 0; i < selectors.size(); ++i) {
    members.push_back({{"name", "m" + std::to_string(i)}, {"selector", selectors[i]}});
  }
  json svcs = json::array();
  for (const auto& s : services) svcs.push_back({{"name", s}});
  return {{"metadata", {{"namespace", ns}, {"name", name}}}, {"spec", {{"members", members}, {"services", svcs}}}};
}

json Pod(const std::string& ns, const std::string& name, const json& labels) {
  return {{"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}}};
}

json Service(const std::string& ns, const std::string& name) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}};
}

std::set<std::string> AsSet(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

TEST(GroupIndex, PodsAndServicesFindTheirGroups) {
  GroupIndex index;
  index.Upsert(Group("shop", "db", {Selector({{"app", "db"}, {"site", "a"}}), Selector({{"app", "db"}, {"site", "b"}})},
                     {"db", "db-ro"}));
  index.Upsert(Group("shop", "cache", {Selector({{"app", "cache"}})}, {"cache"}));
  index.Upsert(Group("other", "db", {Selector({{"app", "db"}, {"site", "a"}})}, {"db"}));

  EXPECT_EQ(AsSet(index.GroupsForPod(Pod("shop", "p", {{"app", "db"}, {"site", "b"}}))),
            (std::set<std::string>{"shop/db"}));
  EXPECT_TRUE(index.GroupsForPod(Pod("shop", "p", {{"app", "db"}, {"site", "c"}})).empty());
  EXPECT_EQ(AsSet(index.GroupsForPod(Pod("shop", "p", {{"app", "cache"}, {"site", "a"}}))),
            (std::set<std::string>{"shop/cache"}));
  // The failover.io/group label names its group even when no selector matches any more.
  EXPECT_EQ(AsSet(index.GroupsForPod(Pod("shop", "p", {{"failover.io/group", "db"}}))),
            (std::set<std::string>{"shop/db"}));
  EXPECT_EQ(AsSet(index.GroupsForService(Service("shop", "db-ro"))), (std::set<std::string>{"shop/db"}));
  EXPECT_EQ(AsSet(index.GroupsForService(Service("other", "db"))), (std::set<std::string>{"other/db"}));
  EXPECT_TRUE(index.GroupsForService(Service("shop", "web")).empty());
}

TEST(GroupIndex, RefilingAndRemovingForgetTheOldSelectorsAndServices) {
  GroupIndex index;
  index.Upsert(Group("shop", "db", {Selector({{"app", "db"}, {"site", "a"}})}, {"db"}));
  index.Upsert(Group("shop", "db", {Selector({{"app", "pg"}, {"site", "a"}})}, {"pg"}));
  EXPECT_TRUE(index.GroupsForPod(Pod("shop", "p", {{"app", "db"}, {"site", "a"}})).empty());
  EXPECT_EQ(index.GroupsForPod(Pod("shop", "p", {{"app", "pg"}, {"site", "a"}})).size(), 1u);
  EXPECT_TRUE(index.GroupsForService(Service("shop", "db")).empty());
  EXPECT_EQ(index.GroupsForService(Service("shop", "pg")).size(), 1u);
  index.Remove("shop/db");
  EXPECT_TRUE(index.GroupsForPod(Pod("shop", "p", {{"app", "pg"}, {"site", "a"}})).empty());
  EXPECT_TRUE(index.GroupsForService(Service("shop", "pg")).empty());
  index.Remove("shop/db");  // twice: nothing to do
}

TEST(GroupIndex, SelectorsOfExpressionsAloneAreStillConsulted) {
  GroupIndex index;
  index.Upsert(Group("shop", "db",
                     {Selector(json::object(), json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"db"}}}})),
                      Selector(json::object(), json::array({{{"key", "tier"}, {"operator", "Exists"}}}))}));
  EXPECT_EQ(index.GroupsForPod(Pod("shop", "p", {{"tier", "web"}})).size(), 1u);
  EXPECT_TRUE(index.GroupsForPod(Pod("shop", "p", {{"app", "web"}})).empty());
  index.Remove("shop/db");
  EXPECT_TRUE(index.GroupsForPod(Pod("shop", "p", {{"tier", "web"}})).empty());
}

// Random groups over a small label alphabet (so selectors overlap and share pairs),
// random refiles and removals; every pod's answer equals a scan of every live group.
TEST(GroupIndex, AgreesWithAScanOfEveryGroup) {
  std::mt19937 rng(20261128);
  const std::vector<std::string> keys = {"app", "site", "tier", "zone"};
  const std::vector<std::string> values = {"a", "b", "c"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto random_selector = [&] {
    json labels = json::object();
    const int n = static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) labels[pick(keys)] = pick(values);
    json exprs = json::array();
    if (labels.empty() || rng() % 3 == 0) {
      static const std::vector<std::string> ops = {"In", "NotIn", "Exists", "DoesNotExist"};
      const std::string op = pick(ops);
      json e = {{"key", pick(keys)}, {"operator", op}};
      if (op == "In" || op == "NotIn") e["values"] = {pick(values), pick(values)};
      exprs.push_back(e);
    }
    return Selector(labels, exprs);
  };

  GroupIndex index;
  std::map<std::string, std::vector<LabelSelector>> live;  // key -> parsed selectors
  for (int step = 0; step < 3000; ++step) {
    const std::string ns = rng() % 4 == 0 ? "other" : "shop";
    const std::string name = "g" + std::to_string(rng() % 40);
    const std::string key = ns + "/" + name;
    if (rng() % 5 == 0) {
      index.Remove(key);
      live.erase(key);
    } else {
      std::vector<json> sels;
      const int members = 1 + static_cast<int>(rng() % 3);
      for (int m = 0; m < members; ++m) sels.push_back(random_selector());
      json group = Group(ns, name, sels);
      index.Upsert(group);
      std::vector<LabelSelector> parsed;
      for (const auto& m : ParseSpec(group["spec"]).spec.members) {
        if (!m.selector.Empty()) parsed.push_back(m.selector);
      }
      live[key] = parsed;
    }
    if (step % 10 != 0) continue;
    for (int p = 0; p < 10; ++p) {
      json labels = json::object();
      for (const auto& k : keys) {
        if (rng() % 2) labels[k] = pick(values);
      }
      const std::string pod_ns = rng() % 4 == 0 ? "other" : "shop";
      Labels l;
      for (auto it = labels.begin(); it != labels.end(); ++it) l[it.key()] = it.value();
      std::set<std::string> want;
      for (const auto& [k, sels] : live) {
        if (k.rfind(pod_ns + "/", 0) != 0) continue;
        for (const auto& s : sels) {
          if (s.Matches(l)) want.insert(k);
        }
      }
      const auto got = index.GroupsForPod(Pod(pod_ns, "p", labels));
      ASSERT_EQ(AsSet(got), want) << "step " << step << " pod " << labels.dump();
      ASSERT_EQ(got.size(), want.size()) << "a group listed twice";
    }
  }
}

}  // namespace
}  // namespace failover
