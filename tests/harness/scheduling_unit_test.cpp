// The harness scheduler's fit rules (no apiserver).
#include <gtest/gtest.h>

#include "harness/scheduler.h"

namespace harness {
namespace {

using nlohmann::json;

json Node(const json& labels = json::object(), const json& spec = json::object()) {
  return {{"metadata", {{"name", "node-a"}, {"labels", labels}}}, {"spec", spec}};
}

json Pod(const json& spec_extra = json::object()) {
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}, {"uid", "u-1"}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "reg/failover-demo-app:1"}}})}}}};
  pod["spec"].merge_patch(spec_extra);
  return pod;
}

json Required(const json& terms) {
  return {{"affinity", {{"nodeAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution", {{"nodeSelectorTerms", terms}}}}}}}};
}

TEST(WantsScheduling, OnlyUnboundLivePodsForTheDefaultScheduler) {
  EXPECT_TRUE(WantsScheduling(Pod()));
  EXPECT_TRUE(WantsScheduling(Pod({{"schedulerName", "default-scheduler"}})));
  EXPECT_FALSE(WantsScheduling(Pod({{"schedulerName", "other"}})));
  EXPECT_FALSE(WantsScheduling(Pod({{"nodeName", "node-a"}})));
  json deleting = Pod();
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_FALSE(WantsScheduling(deleting));
  json failed = Pod();
  failed["status"] = {{"phase", "Failed"}};
  EXPECT_FALSE(WantsScheduling(failed));
}

TEST(UnschedulableReason, ImagesTheAgentCannotRunDoNotFit) {
  EXPECT_FALSE(UnschedulableReason(Pod(), Node()).has_value());
  json virt = Pod({{"containers", json::array({{{"name", "c"}, {"image", "failover.io/virtual"}}})}});
  EXPECT_FALSE(UnschedulableReason(virt, Node()).has_value());
  json nginx = Pod({{"containers", json::array({{{"name", "c"}, {"image", "nginx:1.25"}}})}});
  auto why = UnschedulableReason(nginx, Node());
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("nginx:1.25"), std::string::npos) << *why;
}

TEST(UnschedulableReason, NodeSelector) {
  json pod = Pod({{"nodeSelector", {{"zone", "a"}, {"disk", "ssd"}}}});
  EXPECT_FALSE(UnschedulableReason(pod, Node({{"zone", "a"}, {"disk", "ssd"}, {"x", "y"}})).has_value());
  EXPECT_TRUE(UnschedulableReason(pod, Node({{"zone", "a"}})).has_value());
  EXPECT_TRUE(UnschedulableReason(pod, Node({{"zone", "b"}, {"disk", "ssd"}})).has_value());
}

TEST(UnschedulableReason, RequiredNodeAffinity) {
  json node = Node({{"zone", "a"}, {"gen", "5"}});
  auto fits = [&](const json& terms) { return !UnschedulableReason(Pod(Required(terms)), node).has_value(); };
  auto expr = [](const std::string& key, const std::string& op, const json& values = json::array()) {
    return json{{"matchExpressions", json::array({{{"key", key}, {"operator", op}, {"values", values}}})}};
  };
  EXPECT_TRUE(fits(json::array({expr("zone", "In", {"a", "b"})})));
  EXPECT_FALSE(fits(json::array({expr("zone", "In", {"b"})})));
  EXPECT_TRUE(fits(json::array({expr("zone", "In", {"b"}), expr("zone", "In", {"a"})})));  // terms OR
  EXPECT_TRUE(fits(json::array({expr("zone", "NotIn", {"b"})})));
  EXPECT_TRUE(fits(json::array({expr("rack", "NotIn", {"b"})})));
  EXPECT_TRUE(fits(json::array({expr("zone", "Exists")})));
  EXPECT_FALSE(fits(json::array({expr("zone", "DoesNotExist")})));
  EXPECT_TRUE(fits(json::array({expr("gen", "Gt", {"4"})})));
  EXPECT_FALSE(fits(json::array({expr("gen", "Lt", {"4"})})));
  EXPECT_FALSE(fits(json::array({json::object()})));  // an empty term matches no node
  json by_name = {{"matchFields", json::array({{{"key", "metadata.name"}, {"operator", "In"}, {"values", {"node-a"}}}})}};
  EXPECT_TRUE(fits(json::array({by_name})));
  by_name["matchFields"][0]["values"] = {"node-b"};
  EXPECT_FALSE(fits(json::array({by_name})));
}

TEST(UnschedulableReason, RequiredPodAffinityIsNotHonouredSoDoesNotFit) {
  json anti = {{"affinity",
                {{"podAntiAffinity",
                  {{"requiredDuringSchedulingIgnoredDuringExecution",
                    json::array({{{"topologyKey", "kubernetes.io/hostname"}}})}}}}}};
  EXPECT_TRUE(UnschedulableReason(Pod(anti), Node()).has_value());
  json preferred = {{"affinity",
                     {{"podAntiAffinity",
                       {{"preferredDuringSchedulingIgnoredDuringExecution",
                         json::array({{{"weight", 1}}})}}}}}};
  EXPECT_FALSE(UnschedulableReason(Pod(preferred), Node()).has_value());
}

TEST(UnschedulableReason, TaintsAndTolerations) {
  json node = Node(json::object(), {{"taints", json::array({{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}})}});
  EXPECT_TRUE(UnschedulableReason(Pod(), node).has_value());
  auto with = [](const json& t) { return Pod({{"tolerations", json::array({t})}}); };
  EXPECT_FALSE(UnschedulableReason(with({{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}), node).has_value());
  EXPECT_FALSE(UnschedulableReason(with({{"key", "dedicated"}, {"operator", "Exists"}}), node).has_value());
  EXPECT_FALSE(UnschedulableReason(with({{"operator", "Exists"}}), node).has_value());
  EXPECT_TRUE(UnschedulableReason(with({{"key", "dedicated"}, {"value", "web"}}), node).has_value());
  EXPECT_TRUE(UnschedulableReason(with({{"key", "dedicated"}, {"operator", "Exists"}, {"effect", "NoExecute"}}), node).has_value());
  json prefer = Node(json::object(), {{"taints", json::array({{{"key", "k"}, {"effect", "PreferNoSchedule"}}})}});
  EXPECT_FALSE(UnschedulableReason(Pod(), prefer).has_value());
  json cordoned = Node(json::object(), {{"unschedulable", true}});
  EXPECT_TRUE(UnschedulableReason(Pod(), cordoned).has_value());
  EXPECT_FALSE(UnschedulableReason(with({{"key", "node.kubernetes.io/unschedulable"}, {"operator", "Exists"}}), cordoned).has_value());
}

TEST(PodBinding, NamesThePodItsUidAndTheNode) {
  json b = PodBinding(Pod(), "node-a");
  EXPECT_EQ(b["kind"], "Binding");
  EXPECT_EQ(b["metadata"]["name"], "p");
  EXPECT_EQ(b["metadata"]["namespace"], "ns");
  EXPECT_EQ(b["metadata"]["uid"], "u-1");
  EXPECT_EQ(b["target"]["kind"], "Node");
  EXPECT_EQ(b["target"]["name"], "node-a");
}

}  // namespace
}  // namespace harness
