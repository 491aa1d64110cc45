#include <gtest/gtest.h>

#include "failover/object_observations.h"
#include "failover/time_text.h"

namespace failover {
namespace {

TEST(Observations, FromApiObjects) {
  json pod = json::parse(R"({"metadata": {"name": "a-0", "uid": "u1", "labels": {"app": "db"},
      "annotations": {"failover.io/lag-seconds": "3"}, "creationTimestamp": "2026-01-01T00:00:00Z",
      "deletionTimestamp": "2026-01-01T00:01:00Z"},
      "status": {"podIP": "127.0.0.5", "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}})");
  PodObservation p = PodFromObject(pod);
  EXPECT_EQ(p.name, "a-0");
  EXPECT_EQ(p.uid, "u1");
  EXPECT_TRUE(p.ready);
  EXPECT_TRUE(p.terminating);
  EXPECT_EQ(p.pod_ip, "127.0.0.5");
  EXPECT_EQ(p.annotations.at("failover.io/lag-seconds"), "3");
  EXPECT_EQ(FormatTime(p.created_at), "2026-01-01T00:00:00Z");

  json svc = json::parse(R"({"metadata": {"name": "db", "annotations": {"failover.io/active-member": "a"}}, "spec": {"selector": {"app": "db"}}})");
  ServiceObservation s = ServiceFromObject(svc);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.selector, (Labels{{"app", "db"}}));

  json group = json::parse(R"({"metadata": {"name": "g", "namespace": "ns", "generation": 4, "resourceVersion": "9",
      "finalizers": ["failover.io/finalizer"], "annotations": {"failover.io/switchover-to": "b"}}})");
  GroupMeta g = GroupMetaFromObject(group);
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.namespace_, "ns");
  EXPECT_EQ(g.generation, 4);
  EXPECT_EQ(g.finalizers, std::vector<std::string>{"failover.io/finalizer"});
  EXPECT_FALSE(g.deleting);
}

}  // namespace
}  // namespace failover
