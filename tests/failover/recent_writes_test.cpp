// RecentWrites: read-your-writes over a lagging informer cache, and nothing kept once the
// cache has caught up or the entry is older than its ttl.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "failover/recent_writes.h"
#include "support/fake_env.h"

namespace failover {
namespace {

using json = nlohmann::json;

json Obj(const std::string& rv, const std::string& marker = "") {
  return {{"metadata", {{"namespace", "ns"}, {"name", "p"}, {"resourceVersion", rv}}}, {"marker", marker}};
}
runtime::ObjectPtr Ptr(const json& j) { return std::make_shared<const json>(j); }


TEST(RecentWrites, ResolvePrefersTheWriteUntilTheCacheCatchesUp) {
  testsupport::FakeEnv env;
  RecentWrites recent(std::chrono::seconds(10), &env);
  recent.Remember("pod|ns/p", Obj("12", "written"));
  EXPECT_EQ((*recent.Resolve("pod|ns/p", Ptr(Obj("11", "cached"))))["marker"], "written");
  EXPECT_EQ(recent.size(), 1u);
  EXPECT_EQ((*recent.Resolve("pod|ns/p", Ptr(Obj("12", "cached"))))["marker"], "cached");
  EXPECT_EQ(recent.size(), 0u);
}

TEST(RecentWrites, ObserveDropsOnlyWhenTheCacheIsAtLeastAsNew) {
  testsupport::FakeEnv env;
  RecentWrites recent(std::chrono::seconds(10), &env);
  recent.Remember("svc|ns/p", Obj("20"));
  recent.Observe("svc|ns/p", Obj("19"));
  EXPECT_EQ(recent.size(), 1u);
  recent.Observe("pod|ns/p", Obj("25"));  // another key
  EXPECT_EQ(recent.size(), 1u);
  recent.Observe("svc|ns/p", Obj("21"));
  EXPECT_EQ(recent.size(), 0u);
}

TEST(RecentWrites, OpaqueResourceVersionsCountOnlyWhenEqual) {
  testsupport::FakeEnv env;
  RecentWrites recent(std::chrono::seconds(10), &env);
  recent.Remember("fg|ns/p", Obj("b7", "written"));
  recent.Observe("fg|ns/p", Obj("c9"));
  EXPECT_EQ(recent.size(), 1u);
  EXPECT_EQ((*recent.Resolve("fg|ns/p", Ptr(Obj("c9", "cached"))))["marker"], "written");
  recent.Observe("fg|ns/p", Obj("b7"));
  EXPECT_EQ(recent.size(), 0u);
}

TEST(RecentWrites, EntriesOlderThanTheTtlAreSweptWithoutBeingAskedFor) {
  testsupport::FakeEnv env;
  RecentWrites recent(std::chrono::seconds(10), &env);
  for (int i = 0; i < 100; ++i) recent.Remember("pod|ns/p" + std::to_string(i), Obj("5"));
  env.Advance(std::chrono::seconds(5));
  recent.Remember("pod|ns/fresh", Obj("6"));
  EXPECT_EQ(recent.size(), 101u);
  env.Advance(std::chrono::seconds(6));  // the first 100 are 11 s old, the last one 6 s
  recent.Observe("pod|ns/unrelated", Obj("1"));
  EXPECT_EQ(recent.size(), 1u);
  EXPECT_EQ((*recent.Resolve("pod|ns/fresh", Ptr(Obj("5", "cached"))))["metadata"]["resourceVersion"], "6");
}

TEST(RecentWrites, AGoneObjectOrAForgottenKeyReadsAsTheCache) {
  testsupport::FakeEnv env;
  RecentWrites recent(std::chrono::seconds(10), &env);
  recent.Remember("pod|ns/p", Obj("3"));
  EXPECT_EQ(recent.Resolve("pod|ns/p", nullptr), nullptr);
  EXPECT_EQ(recent.size(), 0u);
  recent.Remember("pod|ns/q", Obj("3"));
  recent.Forget("pod|ns/q");
  EXPECT_EQ(recent.Resolve("pod|ns/q", Ptr(Obj("2", "cached")))->at("marker"), "cached");
}

}  // namespace
}  // namespace failover
