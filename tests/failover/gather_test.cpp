// GatherObserved: which pods and Services the engine sees for a group, read through the
// ObjectReader seam; and CachedObjects: the informer stores overlaid with this process's
// own writes the cache has not caught up with.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>

#include "failover/gather.h"

namespace failover {
namespace {

using json = nlohmann::json;

json Pod(const std::string& name, const json& labels, const std::string& rv = "1") {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"uid", name + "-uid"}, {"labels", labels},
                        {"resourceVersion", rv}}},
          {"status", {{"podIP", "10.0.0.1"}}}};
}

// Objects in a plain vector; Pods filters on labels the way the informer store does.
class FixedObjects : public ObjectReader {
 public:
  std::vector<json> pods;
  std::vector<json> services;
  std::vector<runtime::ObjectPtr> Pods(const std::string& ns, const Labels& labels) const override {
    std::vector<runtime::ObjectPtr> out;
    for (const auto& p : pods) {
      if (p["metadata"].value("namespace", "") == ns && runtime::MatchLabels(p, labels)) {
        out.push_back(std::make_shared<const json>(p));
      }
    }
    return out;
  }
  runtime::ObjectPtr Service(const std::string& ns, const std::string& name) const override {
    for (const auto& s : services) {
      if (s["metadata"].value("namespace", "") == ns && s["metadata"].value("name", "") == name) {
        return std::make_shared<const json>(s);
      }
    }
    return nullptr;
  }
  std::vector<runtime::ObjectPtr> Services(const std::string& ns, const Labels& labels) const override {
    std::vector<runtime::ObjectPtr> out;
    for (const auto& s : services) {
      if (s["metadata"].value("namespace", "") == ns && runtime::MatchLabels(s, labels)) {
        out.push_back(std::make_shared<const json>(s));
      }
    }
    return out;
  }
};

Spec TwoSites() {
  Spec spec;
  Member a;
  a.name = "site-a";
  a.selector.match_labels = {{"app", "db"}, {"site", "a"}};
  Member b;
  b.name = "site-b";
  b.selector.match_labels = {{"app", "db"}};
  b.selector.match_expressions = {{"site", SelectorOperator::kIn, {"b", "c"}}};
  spec.members = {a, b};
  spec.services = {{"db"}, {"db-ro"}};
  return spec;
}

std::vector<std::string> PodNames(const Observed& obs) {
  std::vector<std::string> out;
  for (const auto& p : obs.pods) out.push_back(p.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GatherObserved, SelectedPodsAndGroupLabelledPodsOnceEach) {
  FixedObjects objs;
  objs.pods = {Pod("a-0", {{"app", "db"}, {"site", "a"}}),
               Pod("b-0", {{"app", "db"}, {"site", "b"}}),
               Pod("d-0", {{"app", "db"}, {"site", "d"}}),                       // no member's
               Pod("old", {{"app", "other"}, {"failover.io/group", "db"}}),      // labelled: seen
               Pod("both", {{"app", "db"}, {"site", "a"}, {"failover.io/group", "db"}}),
               Pod("x-0", {{"app", "db"}, {"failover.io/group", "cache"}})};      // another group
  objs.pods.push_back(Pod("a-0", {{"app", "db"}, {"site", "a"}}));
  objs.pods.back()["metadata"]["namespace"] = "elsewhere";
  Observed obs = GatherObserved(objs, "ns", "db", TwoSites(), GatherExtras{});
  EXPECT_EQ(PodNames(obs), (std::vector<std::string>{"a-0", "b-0", "both", "old"}));
}

TEST(GatherObserved, EveryNamedServiceAbsentOnesMarked) {
  FixedObjects objs;
  objs.services = {{{"metadata", {{"name", "db"}, {"namespace", "ns"}}}, {"spec", {{"selector", {{"app", "db"}}}}}}};
  Observed obs = GatherObserved(objs, "ns", "db", TwoSites(), GatherExtras{});
  ASSERT_EQ(obs.services.size(), 2u);
  EXPECT_EQ(obs.services[0].name, "db");
  EXPECT_TRUE(obs.services[0].exists);
  EXPECT_EQ(obs.services[0].selector.at("app"), "db");
  EXPECT_EQ(obs.services[1].name, "db-ro");
  EXPECT_FALSE(obs.services[1].exists);
}

TEST(GatherObserved, ProbeVerdictsOnlyWhenTheSpecProbes) {
  FixedObjects objs;
  objs.pods = {Pod("a-0", {{"app", "db"}, {"site", "a"}})};
  std::vector<std::string> asked;
  ProbeVerdict verdict = [&](const std::string& uid) -> std::optional<bool> {
    asked.push_back(uid);
    return false;
  };
  Spec spec = TwoSites();
  Observed obs = GatherObserved(objs, "ns", "db", spec, verdict);
  ASSERT_EQ(obs.pods.size(), 1u);
  EXPECT_FALSE(obs.pods[0].probe_ok.has_value());
  EXPECT_TRUE(asked.empty());

  spec.detection.probe = Probe{};
  spec.detection.probe->tcp = TcpProbe{5432};
  obs = GatherObserved(objs, "ns", "db", spec, verdict);
  ASSERT_TRUE(obs.pods[0].probe_ok.has_value());
  EXPECT_FALSE(*obs.pods[0].probe_ok);
  EXPECT_EQ(asked, (std::vector<std::string>{"a-0-uid"}));
}

TEST(CachedObjects, OwnWritesWinUntilTheCacheCatchesUp) {
  runtime::Store pods, services;
  pods.Upsert(Pod("a-0", {{"app", "db"}, {"site", "a"}}, "5"));
  RecentWrites recent;
  json written = Pod("a-0", {{"app", "db"}, {"site", "a"}, {"failover.io/role", "fenced"}}, "6");
  recent.Remember(RecentPodKey("ns", "a-0"), written);
  CachedObjects reader(&pods, &services, &recent);
  auto got = reader.Pods("ns", {{"site", "a"}});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ((*got[0])["metadata"]["resourceVersion"], "6");

  pods.Upsert(Pod("a-0", {{"app", "db"}, {"site", "a"}, {"failover.io/role", "fenced"}}, "7"));
  got = reader.Pods("ns", {});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ((*got[0])["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(recent.size(), 0u);
}

// Leases as a fixed map; ReadLive answers from `live` and counts the reads.
class FixedLeases : public NodeLeaseReader {
 public:
  std::map<std::string, NodeObservation> cached, live;
  std::vector<std::string> reads;
  std::optional<NodeObservation> Cached(const std::string& node) const override {
    auto it = cached.find(node);
    if (it == cached.end()) return std::nullopt;
    return it->second;
  }
  NodeObservation ReadLive(const std::string& node) override {
    reads.push_back(node);
    return live.at(node);
  }
};

NodeObservation HeardAt(const std::string& node, Time t, bool live) {
  NodeObservation n;
  n.name = node;
  n.lease_found = true;
  n.heard_at = t;
  n.lease_duration_seconds = 40;
  n.read_live = live;
  return n;
}

json PodOn(const std::string& name, const json& labels, const std::string& node) {
  json p = Pod(name, labels);
  p["spec"] = {{"nodeName", node}};
  return p;
}

// A Lease the cache shows silent past the bound is read live before the decision; one within
// the bound is not; the live answer is what the engine gets.
TEST(GatherObserved, ALeaseSilentInTheCacheIsReadLiveAndTheLiveAnswerIsUsed) {
  FixedObjects objs;
  objs.pods = {PodOn("a-0", {{"app", "db"}, {"site", "a"}}, "n1"), PodOn("b-0", {{"app", "db"}, {"site", "b"}}, "n2"),
               PodOn("a-1", {{"app", "db"}, {"site", "a"}}, "n1")};
  const Time now = Time{} + std::chrono::seconds(1000);
  FixedLeases leases;
  leases.cached["n1"] = HeardAt("n1", now - std::chrono::seconds(30), false);  // silent for 30 s
  leases.cached["n2"] = HeardAt("n2", now - std::chrono::seconds(3), false);
  leases.live["n1"] = HeardAt("n1", now, true);  // the apiserver has a renewal the watch missed
  GatherExtras extras;
  extras.leases = &leases;
  extras.now = now;
  Observed obs = GatherObserved(objs, "ns", "db", TwoSites(), extras);
  EXPECT_EQ(leases.reads, std::vector<std::string>{"n1"}) << "one read per node, only the silent one";
  ASSERT_EQ(obs.nodes.size(), 2u);
  EXPECT_TRUE(obs.nodes["n1"].read_live);
  EXPECT_EQ(obs.nodes["n1"].heard_at, now);
  EXPECT_FALSE(obs.nodes["n2"].read_live);
  for (const auto& p : obs.pods) EXPECT_FALSE(p.node_name.empty()) << p.name;

  // Detection off: no Lease is looked at.
  Spec off = TwoSites();
  off.detection.node_lease_timeout = Duration{0};
  leases.reads.clear();
  EXPECT_TRUE(GatherObserved(objs, "ns", "db", off, extras).nodes.empty());
  EXPECT_TRUE(leases.reads.empty());
}

}  // namespace
}  // namespace failover
