#include "plugin/commands.h"

#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>

namespace plugin {
namespace {

using std::chrono::system_clock;

json Group(const json& members, const json& status = nullptr) {
  json g = {{"metadata", {{"name", "orders"}, {"namespace", "shop"}}},
            {"spec", {{"members", members}}}};
  if (!status.is_null()) g["status"] = status;
  return g;
}

system_clock::time_point At(int64_t epoch_seconds) {
  return system_clock::time_point(std::chrono::seconds(epoch_seconds));
}

TEST(PreferredMember, FirstInOrderWithoutPriorities) {
  EXPECT_EQ(PreferredMember(Group({{{"name", "a"}}, {{"name", "b"}}})), "a");
}

TEST(PreferredMember, HighestPriorityWinsAndTiesKeepOrder) {
  EXPECT_EQ(PreferredMember(Group({{{"name", "a"}}, {{"name", "b"}, {"priority", 5}},
                                   {{"name", "c"}, {"priority", 5}}})),
            "b");
  EXPECT_EQ(PreferredMember(Group({{{"name", "a"}, {"priority", -1}}, {{"name", "b"}}})), "b");
  EXPECT_EQ(PreferredMember(Group(json::array())), "");
  EXPECT_EQ(PreferredMember(json::object()), "");
}

TEST(HasMember, ByName) {
  json g = Group({{{"name", "a"}}, {{"name", "b"}}});
  EXPECT_TRUE(HasMember(g, "b"));
  EXPECT_FALSE(HasMember(g, "c"));
  EXPECT_EQ(MemberNames(g), "a, b");
}

TEST(Age, KubectlStyle) {
  // 2026-01-01T00:00:00Z = 1767225600
  EXPECT_EQ(Age("2026-01-01T00:00:00Z", At(1767225600 + 45)), "45s");
  EXPECT_EQ(Age("2026-01-01T00:00:00Z", At(1767225600 + 180)), "3m");
  EXPECT_EQ(Age("2026-01-01T00:00:00Z", At(1767225600 + 3 * 3600)), "3h");
  EXPECT_EQ(Age("2026-01-01T00:00:00Z", At(1767225600 + 3 * 86400)), "3d");
  EXPECT_EQ(Age("2026-01-01T00:00:00Z", At(1767225600 - 10)), "0s");
  EXPECT_EQ(Age("not a time", At(0)), "");
}

TEST(StatusTable, ColumnsFromSpecAndStatus) {
  json status = {{"phase", "FailedOver"},
                 {"activeMember", "b"},
                 {"members", {{{"name", "a"}, {"healthy", false}}, {{"name", "b"}, {"healthy", true}}}},
                 {"lastTransition",
                  {{"from", "a"}, {"to", "b"}, {"reason", "PrimaryUnhealthy"},
                   {"completedAt", "2026-01-01T00:00:00Z"}}}};
  json items = json::array({Group({{{"name", "a"}}, {{"name", "b"}}}, status)});
  EXPECT_EQ(StatusTable(items, false, At(1767225600 + 120)),
            "NAME     MODE            ACTIVE   HEALTHY   PHASE        LAST TRANSITION\n"
            "orders   ActivePassive   b        1/2       FailedOver   a -> b (PrimaryUnhealthy), 2m ago\n");
}

TEST(StatusTable, GroupWithoutStatusAndActiveActive) {
  json fresh = Group({{{"name", "a"}}, {{"name", "b"}}});
  json aa = Group({{{"name", "a"}}, {{"name", "b"}}},
                  {{"phase", "Healthy"}, {"activeMembers", {"a", "b"}},
                   {"members", {{{"name", "a"}, {"healthy", true}}, {{"name", "b"}, {"healthy", true}}}}});
  aa["spec"]["mode"] = "ActiveActive";
  aa["metadata"]["name"] = "web";
  fresh["spec"]["paused"] = true;
  std::string t = StatusTable(json::array({fresh, aa}), true, At(0));
  EXPECT_NE(t.find("shop        orders   ActivePassive   <none>   ?/2       Paused    <none>"), std::string::npos) << t;
  EXPECT_NE(t.find("shop        web      ActiveActive    a,b      2/2       Healthy   <none>"), std::string::npos) << t;
}

TEST(HistoryTable, NewestFirstAndFallsBackToLastTransition) {
  json g = Group(json::array(),
                 {{"history",
                   {{{"to", "a"}, {"reason", "Initial"}, {"detectedAt", "2026-01-01T00:00:00Z"}},
                    {{"from", "a"}, {"to", "b"}, {"reason", "PrimaryUnhealthy"},
                     {"detectedAt", "2026-01-01T01:00:00Z"}, {"completedAt", "2026-01-01T01:00:02Z"},
                     {"decidedAt", "2026-01-01T01:00:01.5Z"}, {"trafficMovedAt", "2026-01-01T01:00:01.54Z"},
                     {"rolesDoneAt", "2026-01-01T01:00:01.66Z"}}}}});
  std::string t = HistoryTable(g, At(1767225600 + 7200));
  EXPECT_EQ(t,
            "DETECTED               COMPLETED              FROM     TO   REASON             PHASES"
            "                                            AGE\n"
            "2026-01-01T01:00:00Z   2026-01-01T01:00:02Z   a        b    PrimaryUnhealthy   detect 1.5s traffic 40ms roles 120ms "
            "book 340ms   59m\n"
            "2026-01-01T00:00:00Z   -                      <none>   a    Initial            -"
            "                                                 2h\n");
  json only_last = Group(json::array(), {{"lastTransition", {{"from", "a"}, {"to", "b"}}}});
  std::string last = HistoryTable(only_last, At(0));
  EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 2) << last;
  EXPECT_NE(last.find("\n-   "), std::string::npos) << last;
  EXPECT_EQ(HistoryTable(Group(json::array()), At(0)), "");
}

}  // namespace
}  // namespace plugin
