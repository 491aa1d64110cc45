// --wait: where a switchover request stands, as a table of (group, Services) -> outcome,
// each row a moment of a switch as docs/api.md orders its writes.
#include "plugin/wait.h"

#include <gtest/gtest.h>

namespace plugin {
namespace {

using Kind = SwitchOutcome::Kind;

json Group(const json& status, const std::string& request = "") {
  json g = {{"metadata", {{"name", "orders"}, {"namespace", "shop"}, {"generation", 3}}},
            {"spec", {{"members", {{{"name", "a"}}, {{"name", "b"}}}}, {"services", {{{"name", "db"}}}}}},
            {"status", status}};
  if (!request.empty()) g["metadata"]["annotations"] = {{"failover.io/switchover-to", request}};
  return g;
}

json Service(int seq, const std::string& to) {
  json record = {{"seq", seq}, {"from", "a"}, {"to", to}, {"reason", "Switchover"}};
  return {{"metadata", {{"name", "db"}, {"annotations", {{"failover.io/switch", record.dump()}}}}}};
}

const json kOnA = {{"phase", "Healthy"}, {"activeMember", "a"}, {"switchSeq", 1}};

struct Row {
  const char* moment;
  json group;
  std::vector<json> services;
  Kind want;
  const char* message_has;
};

TEST(JudgeSwitch, EveryMomentOfASwitchover) {
  const json booked = {{"phase", "FailedOver"},
                       {"activeMember", "b"},
                       {"switchSeq", 2},
                       {"lastTransition",
                        {{"from", "a"}, {"to", "b"}, {"reason", "Switchover"}, {"completedAt", "2026-01-01T00:00:01Z"}}}};
  const json hook_intent = {{"phase", "FailingBack"},
                            {"activeMember", "a"},
                            {"switchSeq", 1},
                            {"switch", {{"from", "a"}, {"to", "b"}, {"reason", "Switchover"}, {"step", "Demoting"}}}};
  const json timed_out = {{"phase", "Degraded"},
                          {"activeMember", "a"},
                          {"switchSeq", 2},
                          {"timedOutSwitch",
                           {{"from", "a"}, {"to", "b"}, {"reason", "Switchover"}, {"stuckAt", "the prePromote hook (x)"},
                            {"timedOutAt", "2026-01-01T00:05:00Z"}}}};
  const std::vector<Row> rows = {
      {"request not taken yet", Group(kOnA, "b"), {}, Kind::kPending, "the operator to take the request"},
      {"paused group, request waiting", [] { json g = Group(kOnA, "b"); g["spec"]["paused"] = true; return g; }(), {},
       Kind::kPending, "the group is paused"},
      {"another request replaced ours", Group(kOnA, "c"), {}, Kind::kRefused, "failover.io/switchover-to=c"},
      {"hook switch: intent recorded, request taken", Group(hook_intent), {}, Kind::kPending, "a -> b (Switchover)"},
      {"Service moved, status not booked", Group(kOnA), {Service(2, "b")}, Kind::kPending, "to be booked"},
      {"booked", Group(booked), {Service(2, "b")}, Kind::kDone, "a -> b (Switchover) completed 2026-01-01T00:00:01Z"},
      {"refused: nothing under way", Group(kOnA), {Service(1, "a")}, Kind::kRefused, "a is active"},
      {"refused: no Service readable", Group(kOnA), {}, Kind::kRefused, "a is active"},
      {"given up at switchTimeout", Group(timed_out), {}, Kind::kRefused, "given up at 2026-01-01T00:05:00Z"},
      {"redirected to a third member",
       Group({{"activeMember", "a"}, {"switchSeq", 1}, {"switch", {{"from", "a"}, {"to", "c"}}}}), {}, Kind::kRefused,
       "switches to c instead"},
      {"invalid group", Group({{"phase", "Invalid"}}, "b"), {}, Kind::kRefused, "invalid"},
      {"an unreadable record is no switch", Group(kOnA),
       {json{{"metadata", {{"annotations", {{"failover.io/switch", "not json"}}}}}}}, Kind::kRefused, "a is active"},
  };
  for (const auto& r : rows) {
    SwitchOutcome got = JudgeSwitch(r.group, r.services, "b");
    EXPECT_EQ(got.kind, r.want) << r.moment << ": " << got.message;
    EXPECT_NE(got.message.find(r.message_has), std::string::npos) << r.moment << ": " << got.message;
  }
}

TEST(JudgeSwitch, ServicesAreReadOnlyOnceTheRequestIsTaken) {
  EXPECT_FALSE(NeedsServices(Group(kOnA, "b")));
  EXPECT_TRUE(NeedsServices(Group(kOnA)));
}

TEST(PauseObserved, NeedsTheGenerationAndThePhase) {
  json g = Group({{"phase", "Paused"}, {"observedGeneration", 3}});
  EXPECT_TRUE(PauseObserved(g, 3, true));
  EXPECT_FALSE(PauseObserved(g, 4, true));   // the operator has not seen the edit yet
  EXPECT_FALSE(PauseObserved(g, 3, false));  // still paused
  EXPECT_TRUE(PauseObserved(Group({{"phase", "Healthy"}, {"observedGeneration", 5}}), 4, false));
  EXPECT_FALSE(PauseObserved(Group(nullptr), 1, true));
}

TEST(RefusalEvent, NewestExplanationSinceTheRequest) {
  using std::chrono::system_clock;
  const auto since = system_clock::time_point(std::chrono::seconds(1767225600)) + std::chrono::milliseconds(400);
  json events = {{"items",
                  {{{"reason", "SwitchoverRefused"}, {"message", "old"}, {"lastTimestamp", "2025-12-31T23:59:59Z"}},
                   {{"reason", "SwitchoverCompleted"}, {"message", "other"}, {"lastTimestamp", "2026-01-01T00:00:02Z"}},
                   {{"reason", "SwitchoverRefused"}, {"message", "member b is not healthy"},
                    {"lastTimestamp", "2026-01-01T00:00:00Z"}},
                   {{"reason", "SwitchCancelled"}, {"message", "newest"}, {"lastTimestamp", "2026-01-01T00:00:01Z"}}}}};
  EXPECT_EQ(RefusalEvent(events, since), "SwitchCancelled: newest");
  events["items"].erase(3);
  // Same second as the request: counts (Event times are whole seconds).
  EXPECT_EQ(RefusalEvent(events, since), "SwitchoverRefused: member b is not healthy");
  EXPECT_EQ(RefusalEvent(json{{"items", json::array()}}, since), "");
}

TEST(DefaultSwitchWait, SwitchTimeoutPlusAMinute) {
  EXPECT_EQ(DefaultSwitchWait(Group(nullptr)), std::chrono::minutes(6));
  json g = Group(nullptr);
  g["spec"]["promotion"] = {{"switchTimeout", "30s"}};
  EXPECT_EQ(DefaultSwitchWait(g), std::chrono::seconds(90));
}

}  // namespace
}  // namespace plugin
