// NodeLeases: what the operator knows of the nodes' Leases (kube-node-lease), the live
// read that confirms a silence before a decision rests on it, and which groups are
// re-queued when (only when) a node goes overdue or comes back. The client is the
// recording fake (tests/support/recording_client.h); the clock is a variable, or the fake
// Env for the timer thread.
#include "failover/node_leases.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "failover/engine/classify.h"
#include "support/fake_env.h"
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

// What the tracker enqueued, in order.
struct Enqueued {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> keys;
  std::function<void(const std::string&)> fn() {
    return [this](const std::string& key) {
      std::lock_guard<std::mutex> lock(mu);
      keys.push_back(key);
      cv.notify_all();
    };
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out = std::move(keys);
    keys.clear();
    std::sort(out.begin(), out.end());
    return out;
  }
};

// A tracker without its timer thread (env null): FireDue is the test's to call, on the
// test's clock.
NodeLeases::Options Manual(testsupport::RecordingClient& client, Clock& clock, Enqueued& enqueued) {
  NodeLeases::Options o;
  o.client = &client;
  o.now = clock.fn();
  o.enqueue = enqueued.fn();
  o.env = nullptr;
  return o;
}

// A tracker on the test's clock without its timer thread (Manual), with what it talks to;
// `tweak` adjusts its options (storm and zone settings, on_storm).
struct Tracker {
  testsupport::RecordingClient client;
  Clock clock;
  Enqueued enqueued;
  const Time start = clock.t;
  NodeLeases leases;

  explicit Tracker(const std::function<void(NodeLeases::Options&)>& tweak = nullptr) : leases(Make(tweak)) {}

 private:
  NodeLeases::Options Make(const std::function<void(NodeLeases::Options&)>& tweak) {
    NodeLeases::Options o = Manual(client, clock, enqueued);
    if (tweak) tweak(o);
    return o;
  }
};

std::string At(int s) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2027-01-15T08:%02d:%02d.000000Z", s / 60, s % 60);
  return buf;
}

using Keys = std::vector<std::string>;

// Steady state: a healthy node's renewals, every 10 s for 5 minutes, enqueue no group and
// leave no deadline closer than the timeout (the cost per renewal is the tracker's only).
TEST(NodeLeaseTracking, RenewalsOfAHealthyNodeEnqueueNothing) {
  Tracker t;
  t.leases.Saw(NodeLease("n1", At(0)));
  t.leases.Track("ns/g1", {"n1"}, seconds(15));
  t.leases.Track("ns/g2", {"n1"}, seconds(15));
  for (int s = 1; s <= 300; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) t.leases.Saw(NodeLease("n1", At(s)));
    EXPECT_EQ(t.leases.FireDue(t.clock.t), 0u) << "at " << s << "s";
  }
  EXPECT_EQ(t.enqueued.Take(), Keys{});
  ASSERT_TRUE(t.leases.NextDeadline());
  EXPECT_EQ(*t.leases.NextDeadline(), t.start + seconds(300 + 15)) << "one deadline: the last renewal + 15s";
  EXPECT_EQ(Gets(t.client), 0u) << "no live read either";
}

// A node that goes silent enqueues the groups with pods on it, exactly those and once, when
// its Lease goes overdue; its renewal enqueues them again (the silence is over).
TEST(NodeLeaseTracking, AnOverdueNodeEnqueuesExactlyItsGroupsOnceAndAgainWhenItComesBack) {
  Tracker t;
  t.leases.Saw(NodeLease("n1", At(0)));
  t.leases.Saw(NodeLease("n2", At(0)));
  t.leases.Track("ns/on-n1", {"n1"}, seconds(15));
  t.leases.Track("ns/on-both", {"n1", "n2"}, seconds(15));
  t.leases.Track("ns/on-n2", {"n2"}, seconds(15));
  t.leases.Track("other/on-n1", {"n1"}, seconds(15));
  t.leases.Track("ns/off", {"n1"}, Duration{0});  // nodeLeaseTimeout 0: never enqueued

  // n2 renews every 10 s; n1 stops after its first Lease.
  for (int s = 1; s <= 14; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) t.leases.Saw(NodeLease("n2", At(s)));
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_EQ(t.enqueued.Take(), Keys{}) << "14 s of silence is within the bound";
  t.clock.t = t.start + seconds(15);
  EXPECT_EQ(t.leases.FireDue(t.clock.t), 3u);
  EXPECT_EQ(t.enqueued.Take(), (Keys{"ns/on-both", "ns/on-n1", "other/on-n1"}));
  for (int s = 16; s <= 60; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) t.leases.Saw(NodeLease("n2", At(s)));
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_EQ(t.enqueued.Take(), Keys{}) << "reported once per silence";

  // n1 comes back: its groups look again; n2's renewals still cost nothing.
  t.leases.Saw(NodeLease("n1", At(61)));
  EXPECT_EQ(t.enqueued.Take(), (Keys{"ns/on-both", "ns/on-n1", "other/on-n1"}));
  t.leases.Saw(NodeLease("n1", At(70)));
  EXPECT_EQ(t.enqueued.Take(), Keys{});
}

// Groups with different timeouts on one node: each is enqueued at its own bound (never
// below the Lease's renew interval + 5 s), the others not.
TEST(NodeLeaseTracking, EachTimeoutIsReportedAtItsOwnBound) {
  Tracker t;
  t.leases.Saw(NodeLease("n1", At(0)));
  t.leases.Track("ns/fast", {"n1"}, seconds(5));  // lifted to 10 s + 5 s
  t.leases.Track("ns/default", {"n1"}, seconds(15));
  t.leases.Track("ns/slow", {"n1"}, seconds(40));
  EXPECT_EQ(*t.leases.NextDeadline(), t.start + seconds(15));
  EXPECT_EQ(t.leases.FireDue(t.start + seconds(15)), 2u);
  EXPECT_EQ(t.enqueued.Take(), (Keys{"ns/default", "ns/fast"}));
  EXPECT_EQ(*t.leases.NextDeadline(), t.start + seconds(40));
  EXPECT_EQ(t.leases.FireDue(t.start + seconds(39)), 0u);
  EXPECT_EQ(t.leases.FireDue(t.start + seconds(40)), 1u);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/slow"});
  EXPECT_FALSE(t.leases.NextDeadline()) << "every silence reported: nothing pending";
}

// What a group tracks is replaced by its next Track: a group whose pods left a node is not
// enqueued for it, one that is gone (no nodes) for none; a group joining a node that is
// already overdue is deciding now, and is enqueued when the node comes back.
TEST(NodeLeaseTracking, TrackReplacesWhatAGroupTrackedBefore) {
  Tracker t;
  t.leases.Saw(NodeLease("n1", At(0)));
  t.leases.Saw(NodeLease("n2", At(0)));
  t.leases.Track("ns/moved", {"n1"}, seconds(15));
  t.leases.Track("ns/moved", {"n2"}, seconds(15));
  t.leases.Track("ns/deleted", {"n1"}, seconds(15));
  t.leases.Track("ns/deleted", {}, seconds(15));
  t.leases.Track("ns/turned-off", {"n1"}, seconds(15));
  t.leases.Track("ns/turned-off", {"n1"}, Duration{0});
  t.clock.t = t.start + seconds(10);
  t.leases.Saw(NodeLease("n2", At(10)));
  EXPECT_EQ(t.leases.FireDue(t.start + seconds(15)), 0u);
  EXPECT_EQ(t.enqueued.Take(), Keys{});

  t.clock.t = t.start + seconds(20);
  t.leases.Track("ns/late", {"n1"}, seconds(15));
  EXPECT_EQ(t.leases.FireDue(t.clock.t), 0u) << "it saw the silence in the decision that tracked it";
  t.leases.Saw(NodeLease("n1", At(21)));
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/late"});
}

// A node whose Lease the informer has not shown yet has no deadline; its first sight starts
// the count. A live read that finds a renewal the watch missed ends a reported silence.
TEST(NodeLeaseTracking, ALiveReadThatFindsARenewalEndsTheSilence) {
  Tracker t;
  t.leases.Track("ns/g", {"n1"}, seconds(15));
  EXPECT_FALSE(t.leases.NextDeadline());
  t.leases.Saw(NodeLease("n1", At(0)));
  EXPECT_EQ(*t.leases.NextDeadline(), t.start + seconds(15));
  EXPECT_EQ(t.leases.FireDue(t.start + seconds(15)), 1u);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/g"});
  t.clock.t = t.start + seconds(16);
  t.client.ServeObject("leases", "n1", NodeLease("n1", At(16)));
  EXPECT_TRUE(t.leases.ReadLive("n1").read_live);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/g"});
  EXPECT_EQ(*t.leases.NextDeadline(), t.start + seconds(31));
}

// With enqueue given, a timer thread of its own fires the deadlines on env's clock.
TEST(NodeLeaseTracking, TheTimerThreadEnqueuesWhenTheDeadlineComes) {
  testsupport::RecordingClient client;
  testsupport::FakeEnv env;
  Enqueued enqueued;
  NodeLeases::Options o;
  o.client = &client;
  o.now = [&env] { return std::chrono::time_point_cast<Duration>(env.WallNow()); };
  o.enqueue = enqueued.fn();
  o.env = &env;
  NodeLeases leases(std::move(o));
  leases.Saw(NodeLease("n1", At(0)));
  leases.Track("ns/g", {"n1"}, seconds(15));
  ASSERT_TRUE(env.BlockUntilDeadlineBy(env.Now() + seconds(15)));
  env.Advance(seconds(14));
  EXPECT_EQ(enqueued.Take(), Keys{});
  env.Advance(seconds(1));
  std::unique_lock<std::mutex> lock(enqueued.mu);
  ASSERT_TRUE(enqueued.cv.wait_for(lock, seconds(10), [&] { return !enqueued.keys.empty(); }));
  EXPECT_EQ(enqueued.keys, Keys{"ns/g"});
  lock.unlock();
  leases.Stop();
}

// Renewals from the informer's thread, Track from the workers, live reads and the timer
// thread at once (for ThreadSanitizer: `make tsan`): the tracker ends consistent, a node
// renewed to the end has nothing pending but its next deadline, and Stop ends the timer.
TEST(NodeLeaseTracking, RenewalsTracksLiveReadsAndTheTimerRunConcurrently) {
  testsupport::RecordingClient client;
  std::atomic<int64_t> ms{0};
  const Time start = Time{} + seconds(1'800'000'000);
  Enqueued enqueued;
  NodeLeases::Options o;
  o.client = &client;
  o.now = [&] { return start + std::chrono::milliseconds(ms.load()); };
  o.enqueue = enqueued.fn();
  NodeLeases leases(std::move(o));
  for (int n = 0; n < 4; ++n) {
    client.ServeObject("leases", "n" + std::to_string(n), NodeLease("n" + std::to_string(n), At(0)));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // the informer: renewals every "second" of n0..n3
    for (int s = 1; !stop; ++s) {
      ms += 1000;
      for (int n = 0; n < 4; ++n) leases.Saw(NodeLease("n" + std::to_string(n), At(s % 3600)));
      std::this_thread::yield();
    }
  });
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {  // workers: groups moving between nodes
      for (int i = 0; !stop; ++i) {
        const std::string g = "ns/g" + std::to_string((i + w) % 20);
        leases.Track(g, {"n" + std::to_string(i % 4), "n" + std::to_string((i + 1) % 4)},
                     seconds(15 + 5 * (i % 2)));
        if (i % 7 == 0) leases.ReadLive("n" + std::to_string(i % 4));
        if (i % 11 == 0) leases.Track(g, {}, Duration{0});
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) leases.FireDue(start + std::chrono::milliseconds(ms.load()));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : threads) t.join();
  leases.Stop();
  for (int n = 0; n < 4; ++n) EXPECT_TRUE(leases.Cached("n" + std::to_string(n)));
  if (auto next = leases.NextDeadline()) {
    EXPECT_GT(*next, start);
  }
}

// The engine's reading of what NodeLeases hands it: a silence past the bound counts only
// once read live, and not at all while a node storm holds it.
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
  // During a node storm the same silence is held, not expired; unconfirmed without the read.
  cached.storm_hold = "held";
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(115)), engine::NodeLease::kStormHeld);
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(114)), engine::NodeLease::kNoVerdict);
  cached.read_live = false;
  EXPECT_EQ(engine::ReadNodeLease(d, cached, Time{} + seconds(115)), engine::NodeLease::kUnconfirmed);
}

// ---- node storms --------------------------------------------------------------------

// Five nodes; n1 and n2 fall silent: two of five is no storm, their groups go on as usual.
// n3 falls silent too: three of five (60% >= 55%, and 3 >= the minimum) is a storm: the nodes
// read with storm_hold set, on_storm is told, and the groups deciding on a silent node are
// enqueued to see the hold. n3 renews: two of five again, the hold ends and they look again.
TEST(NodeStorm, AShareOfNodesSilentAtOnceHoldsUntilItFallsBelow) {
  std::vector<NodeLeases::Storm> told;
  Tracker t([&told](NodeLeases::Options& o) {
    o.on_storm = [&told](const NodeLeases::Storm& s) { told.push_back(s); };
  });
  for (const char* n : {"n1", "n2", "n3", "n4", "n5"}) t.leases.Saw(NodeLease(n, At(0)));
  t.leases.Track("ns/on-n1", {"n1"}, seconds(15));
  t.leases.Track("ns/on-n4", {"n4"}, seconds(15));
  auto renew = [&](std::initializer_list<const char*> nodes, int s) {
    for (const char* n : nodes) t.leases.Saw(NodeLease(n, At(s)));
  };
  for (int s = 1; s <= 20; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) renew({"n3", "n4", "n5"}, s);
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_FALSE(t.leases.CurrentStorm().held);
  EXPECT_EQ(t.leases.CurrentStorm().silent, 2);
  EXPECT_EQ(t.leases.CurrentStorm().known, 5);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/on-n1"}) << "n1 overdue at 15 s, no storm";
  EXPECT_TRUE(t.leases.Cached("n1")->storm_hold.empty());

  // n3 stops after its renewal at 20 s: silent from 31 s on.
  for (int s = 21; s <= 31; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) renew({"n4", "n5"}, s);
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_TRUE(t.leases.CurrentStorm().held);
  EXPECT_EQ(t.leases.CurrentStorm().silent, 3);
  ASSERT_FALSE(told.empty());
  EXPECT_TRUE(told.back().held);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/on-n1"}) << "the group deciding on a silent node sees the hold";
  EXPECT_EQ(t.leases.Cached("n1")->storm_hold, t.leases.StormText());
  EXPECT_EQ(t.leases.Cached("n4")->storm_hold, t.leases.StormText()) << "every node reads held";
  EXPECT_NE(t.leases.StormText().find("55%"), std::string::npos) << t.leases.StormText();

  for (int s = 32; s <= 40; ++s) {
    t.clock.t = t.start + seconds(s);
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_EQ(t.enqueued.Take(), Keys{}) << "nothing more while the storm holds";
  renew({"n3", "n4", "n5"}, 41);
  t.clock.t = t.start + seconds(41);
  t.leases.FireDue(t.clock.t);
  EXPECT_FALSE(t.leases.CurrentStorm().held);
  EXPECT_FALSE(told.back().held);
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/on-n1"}) << "n1 is still silent: its group decides without the hold";
  EXPECT_TRUE(t.leases.Cached("n1")->storm_hold.empty());
}

// Fewer silent nodes than storm_min_nodes is no storm, whatever their share; a share of 0
// never holds.
TEST(NodeStorm, TheMinimumAndAZeroShareHoldNothing) {
  for (double share : {0.55, 0.0}) {
    Tracker t([share](NodeLeases::Options& o) { o.storm_share = share; });
    const int nodes = share > 0 ? 2 : 4;
    for (int i = 0; i < nodes; ++i) t.leases.Saw(NodeLease("n" + std::to_string(i), At(0)));
    t.clock.t += seconds(60);
    t.leases.FireDue(t.clock.t);
    EXPECT_EQ(t.leases.CurrentStorm().silent, nodes) << share;
    EXPECT_FALSE(t.leases.CurrentStorm().held) << share;
    EXPECT_TRUE(t.leases.Cached("n0")->storm_hold.empty()) << share;
  }
}

// ---- zones ----------------------------------------------------------------------------

// Zone z1 has three nodes, z2 one. z1a and z1c fall silent (two of three: lost); z1b still
// renews but reads zone_lost, and the group on it is enqueued to see it; z2 is not lost.
// z1a renews again: one of three, z1 is back and the group looks again.
TEST(NodeZones, AZoneIsLostWhileHalfItsNodesAreSilent) {
  Tracker t([](NodeLeases::Options& o) { o.storm_share = 0; });  // zones alone
  for (const char* n : {"z1a", "z1b", "z1c"}) {
    t.leases.SetZone(n, "z1");
    t.leases.Saw(NodeLease(n, At(0)));
  }
  t.leases.SetZone("z2a", "z2");
  t.leases.Saw(NodeLease("z2a", At(0)));
  t.leases.Saw(NodeLease("bare", At(0)));  // no zone label
  t.leases.Track("ns/on-z1b", {"z1b"}, seconds(15));
  t.leases.Track("ns/on-z2a", {"z2a"}, seconds(15));
  for (int s = 1; s <= 12; ++s) {
    t.clock.t = t.start + seconds(s);
    if (s % 10 == 0) {
      for (const char* n : {"z1b", "z2a", "bare"}) t.leases.Saw(NodeLease(n, At(s)));
    }
    t.leases.FireDue(t.clock.t);
  }
  EXPECT_EQ(t.leases.LostZones(), std::set<std::string>{"z1"});
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/on-z1b"}) << "z1b renews, but its zone is lost";
  ASSERT_TRUE(t.leases.Cached("z1b"));
  EXPECT_EQ(t.leases.Cached("z1b")->zone, "z1");
  EXPECT_NE(t.leases.Cached("z1b")->zone_lost.find("zone z1 is lost"), std::string::npos);
  EXPECT_TRUE(t.leases.Cached("z2a")->zone_lost.empty());
  EXPECT_TRUE(t.leases.Cached("bare")->zone_lost.empty());
  EXPECT_TRUE(t.leases.Cached("bare")->zone.empty());

  t.leases.Saw(NodeLease("z1a", At(13)));
  t.clock.t = t.start + seconds(13);
  t.leases.FireDue(t.clock.t);
  EXPECT_TRUE(t.leases.LostZones().empty()) << "one of three silent";
  EXPECT_EQ(t.enqueued.Take(), Keys{"ns/on-z1b"});
  EXPECT_TRUE(t.leases.Cached("z1b")->zone_lost.empty());

  t.leases.SetZone("z1b", "");  // its label removed
  EXPECT_TRUE(t.leases.Cached("z1b")->zone.empty());
}

}  // namespace
}  // namespace failover
