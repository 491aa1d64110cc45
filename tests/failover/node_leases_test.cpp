// NodeLeases: what the operator knows of the nodes' Leases (kube-node-lease), and the live
// read that confirms a silence before a decision rests on it. The client is the recording
// fake (tests/support/recording_client.h); the clock is a variable.
#include "failover/node_leases.h"

#include <gtest/gtest.h>

#include "failover/engine/classify.h"
#include "support/recording_client.h"

namespace failover {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

json NodeLease(const std::string& node, const std::string& renew_time) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", node}, {"namespace", "kube-node-lease"}}},
          {"spec", {{"holderIdentity", node}, {"leaseDurationSeconds", 40}, {"renewTime", renew_time}}}};
}

struct Clock {
  Time t = Time{} + seconds(1'800'000'000);
  std::function<Time()> fn() {
    return [this] { return t; };
  }
};

size_t Gets(const testsupport::RecordingClient& client) {
  size_t n = 0;
  for (const auto& c : client.calls()) n += c.verb == "GET" && c.resource == "leases";
  return n;
}

TEST(NodeLeases, SilenceIsMeasuredFromWhenThisProcessSawTheRenewal) {
  testsupport::RecordingClient client;
  Clock clock;
  NodeLeases leases(&client, clock.fn());
  // The node's clock is an hour behind: it does not matter.
  EXPECT_FALSE(leases.Saw(NodeLease("n1", "2027-01-15T07:00:00.000000Z"))) << "first sight is no renewal";
  const Time first = clock.t;
  ASSERT_TRUE(leases.Cached("n1"));
  EXPECT_EQ(leases.Cached("n1")->heard_at, first);
  EXPECT_FALSE(leases.Cached("n1")->read_live);
  EXPECT_EQ(leases.Cached("n1")->lease_duration_seconds, 40);

  clock.t += seconds(10);
  // The same renewTime again (a re-list) is no renewal and moves nothing.
  EXPECT_FALSE(leases.Saw(NodeLease("n1", "2027-01-15T07:00:00.000000Z")));
  EXPECT_EQ(leases.Cached("n1")->heard_at, first);
  // A new renewTime: a renewal, ending a silence of 10 s.
  auto silence = leases.Saw(NodeLease("n1", "2027-01-15T07:00:10.000000Z"));
  ASSERT_TRUE(silence);
  EXPECT_EQ(*silence, seconds(10));
  EXPECT_EQ(leases.Cached("n1")->heard_at, clock.t);

  leases.Gone("n1");
  EXPECT_FALSE(leases.Cached("n1"));
  EXPECT_FALSE(leases.Cached("n2"));
}

TEST(NodeLeases, ALiveReadConfirmsASilenceOrFindsTheRenewalTheCacheMissed) {
  testsupport::RecordingClient client;
  Clock clock;
  NodeLeases leases(&client, clock.fn());
  leases.Saw(NodeLease("n1", "2027-01-15T08:00:00.000000Z"));
  const Time heard = clock.t;
  clock.t += seconds(20);

  // The apiserver has the same renewTime: the silence is confirmed.
  client.ServeObject("leases", "n1", NodeLease("n1", "2027-01-15T08:00:00.000000Z"));
  NodeObservation live = leases.ReadLive("n1");
  EXPECT_TRUE(live.read_live);
  EXPECT_TRUE(live.lease_found);
  EXPECT_EQ(live.heard_at, heard);
  EXPECT_EQ(Gets(client), 1u);

  // Within kLiveReadReuse the read is shared (many groups on one node cost one read).
  clock.t += std::chrono::milliseconds(500);
  EXPECT_TRUE(leases.ReadLive("n1").read_live);
  EXPECT_EQ(Gets(client), 1u);

  // Later, the apiserver has a renewal the watch has not delivered: it counts from now.
  clock.t += seconds(1);
  client.ServeObject("leases", "n1", NodeLease("n1", "2027-01-15T08:00:21.000000Z"));
  live = leases.ReadLive("n1");
  EXPECT_EQ(Gets(client), 2u);
  EXPECT_TRUE(live.read_live);
  EXPECT_EQ(live.heard_at, clock.t);
  EXPECT_EQ(leases.Cached("n1")->heard_at, clock.t);
}

TEST(NodeLeases, AFailedLiveReadConfirmsNothingAndAMissingLeaseGivesNoVerdict) {
  testsupport::RecordingClient client;
  Clock clock;
  NodeLeases leases(&client, clock.fn());
  leases.Saw(NodeLease("n1", "2027-01-15T08:00:00.000000Z"));
  clock.t += seconds(30);
  client.ServeObject("leases", "n1", NodeLease("n1", "2027-01-15T08:00:00.000000Z"));
  client.FailNext("GET leases", "n1", kube::Status(kube::Reason::kServiceUnavailable, "connection refused"));
  NodeObservation failed = leases.ReadLive("n1");
  EXPECT_FALSE(failed.read_live);
  EXPECT_TRUE(failed.lease_found);
  EXPECT_NE(failed.live_read_error.find("connection refused"), std::string::npos) << failed.live_read_error;

  client.FailNext("GET leases", "n1", kube::Status(kube::Reason::kNotFound, "leases \"n1\" not found"));
  NodeObservation gone = leases.ReadLive("n1");
  EXPECT_TRUE(gone.read_live);
  EXPECT_FALSE(gone.lease_found);
  EXPECT_FALSE(leases.Cached("n1"));
}

// The engine's reading of what NodeLeases hands it: a silence past the bound counts only
// once read live.
TEST(NodeLeases, TheEngineActsOnAConfirmedSilenceOnly) {
  Detection d;
  NodeObservation cached;
  cached.name = "n1";
  cached.lease_found = true;
  cached.heard_at = Time{} + seconds(100);
  cached.lease_duration_seconds = 40;
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(114)), engine::NodeLease::kNoVerdict);
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(115)), engine::NodeLease::kUnconfirmed);
  cached.read_live = true;
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(115)), engine::NodeLease::kExpired);
}

}  // namespace
}  // namespace failover
