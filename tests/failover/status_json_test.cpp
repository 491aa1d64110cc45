#include <gtest/gtest.h>

#include "failover/status_json.h"
#include "failover/time_text.h"

namespace failover {
namespace {

TEST(StatusJson, RoundTripsAndNullsWhatIsEmpty) {
  Status s;
  s.phase = "FailedOver";
  s.active_member = "b";
  s.active_members = {"b"};
  s.healthy = "1/2";
  s.healthy_members = 1;
  s.observed_generation = 7;
  s.failover_count = 2;
  MemberStatus m;
  m.name = "a";
  m.role = Role::kFenced;
  m.since = *ParseTime("2026-01-01T00:00:01.5Z");
  m.lag_seconds = 1.5;
  m.message = "unhealthy";
  s.members = {m};
  s.services = {{"db", true, "b", true}};
  s.switch_record = SwitchRecord{"a", "b", "PrimaryUnhealthy", "Promoting", m.since, m.since};
  s.last_transition = Transition{"a", "b", "PrimaryUnhealthy", m.since, m.since};
  s.history = {*s.last_transition};
  s.recent_failovers = {m.since};
  s.conditions = {{"Ready", "True", "ActiveHealthy", "ok", m.since, 7}};
  json j = StatusToJson(s);
  EXPECT_EQ(StatusToJson(ParseStatus(j)), j);
  EXPECT_EQ(j["members"][0]["since"], "2026-01-01T00:00:01.500Z");
  EXPECT_EQ(j["switch"]["step"], "Promoting");
  EXPECT_TRUE(j["switch"]["fencePods"].is_null()) << "named (null) so a merge patch clears an earlier list";

  Status fencing = s;
  fencing.switch_record->fence_pods = {"uid-1", "uid-2"};
  json fj = StatusToJson(fencing);
  EXPECT_EQ(fj["switch"]["fencePods"], json::array({"uid-1", "uid-2"}));
  EXPECT_EQ(ParseStatus(fj), fencing);

  // No empty string reaches the apiserver (it reads "" in a merge patch as null).
  Status initial = s;
  initial.last_transition->from = "";
  initial.history[0].from = "";
  initial.members[0].message = "";
  json ij = StatusToJson(initial);
  EXPECT_TRUE(ij["lastTransition"]["from"].is_null());
  EXPECT_FALSE(ij["history"][0].contains("from"));
  EXPECT_FALSE(ij["members"][0].contains("message"));
  EXPECT_EQ(ParseStatus(ij), initial);

  Status timed_out = s;
  timed_out.switch_record.reset();
  timed_out.timed_out_switch = TimedOutSwitch{"a", "b", "PrimaryUnhealthy", "the prePromote hook (http://h/pre)",
                                              m.since, m.since + std::chrono::minutes(5), 7};
  json tj = StatusToJson(timed_out);
  EXPECT_EQ(tj["timedOutSwitch"]["stuckAt"], "the prePromote hook (http://h/pre)");
  EXPECT_EQ(tj["timedOutSwitch"]["timedOutAt"], "2026-01-01T00:05:01.500Z");
  EXPECT_EQ(ParseStatus(tj), timed_out);

  json empty = StatusToJson(Status{});
  EXPECT_TRUE(empty["switch"].is_null());
  EXPECT_TRUE(empty["timedOutSwitch"].is_null()) << "named (null) so a merge patch clears it";
  EXPECT_TRUE(empty["lastTransition"].is_null());
  EXPECT_TRUE(empty["conditions"].is_null());
  // A merge patch with the empty status removes what the full one set.
  json stored = {{"status", j}};
  stored.merge_patch({{"status", empty}});
  EXPECT_FALSE(stored["status"].contains("switch"));
  EXPECT_EQ(StatusToJson(ParseStatus(stored["status"])), empty);
}

// The phases of a switch in lastTransition and history: round-trip; unset ones are null in
// lastTransition (a merge patch clears the previous switch's) and left out of history entries.
TEST(StatusJson, TheSwitchPhasesRoundTripAndAMergePatchClearsTheOldOnes) {
  const Time at = *ParseTime("2026-01-01T00:00:01.5Z");
  Status s;
  Transition t{"a", "b", "PrimaryUnhealthy", at, at + std::chrono::seconds(3)};
  t.seq = 7;
  t.decided_at = at + std::chrono::seconds(1);
  t.traffic_moved_at = at + std::chrono::milliseconds(1100);
  t.roles_done_at = at + std::chrono::milliseconds(1250);
  s.last_transition = t;
  s.history = {t};
  json j = StatusToJson(s);
  EXPECT_EQ(j["lastTransition"]["seq"], 7);
  EXPECT_EQ(j["lastTransition"]["decidedAt"], "2026-01-01T00:00:02.500Z");
  EXPECT_EQ(j["lastTransition"]["trafficMovedAt"], "2026-01-01T00:00:02.600Z");
  EXPECT_EQ(j["history"][0]["rolesDoneAt"], "2026-01-01T00:00:02.750Z");
  EXPECT_EQ(ParseStatus(j), s);

  Status next;
  Transition older{"b", "a", "Switchover", at, at};  // booked without phases
  next.last_transition = older;
  next.history = {older, t};
  json nj = StatusToJson(next);
  EXPECT_TRUE(nj["lastTransition"]["trafficMovedAt"].is_null());
  EXPECT_FALSE(nj["history"][0].contains("trafficMovedAt"));
  json stored = {{"status", j}};
  stored.merge_patch({{"status", nj}});
  EXPECT_EQ(ParseStatus(stored["status"]), next) << stored.dump();
}

}  // namespace
}  // namespace failover
