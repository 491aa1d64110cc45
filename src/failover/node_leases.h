#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "failover/gather.h"
#include "failover/observed.h"
#include "failover/types.h"
#include "kube/client.h"

namespace failover {

// The namespace of the kubelets' node Leases, one per node, named after it.
inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

// What this process has seen of the nodes' Leases, and which groups wait on which node.
//
// Per node: the Lease's fields and heard_at, when this process first saw its current
// spec.renewTime, on the decision clock (`now`). A Lease's silence is measured from
// heard_at, as the node lifecycle controller measures it from when it observed the
// renewal: the node's own clock never enters, and a Lease first seen (at a start, or a new
// leader's) counts as heard then.
//
// Fed by the Lease informer (Saw, Gone) and by live reads (ReadLive: a GET through
// `client`). A live read is reused by the decisions of the next kLiveReadReuse, so many
// groups on one silent node cost one read, and is taken together with what the informer
// has shown since (the newer renewal wins).
//
// Groups say which nodes their pods run on (Track). A renewal of a Lease that is not
// overdue only moves the node's deadline: it enqueues nothing, so the steady state costs no
// reconcile at all. When a node's Lease goes overdue under a tracked group's
// nodeLeaseTimeout (engine::NodeLeaseBound), exactly the groups tracking that node with
// that timeout are enqueued, once; when such a silence ends (a renewal, from the informer
// or a live read), the groups that were enqueued for it are enqueued again. Deadlines are
// kept per node and timeout (groups share one per distinct timeout), and a timer thread of
// its own (when `enqueue` and `env` are given) fires them on env's clock.
//
// Node storms. When many nodes fall silent at once, the likelier cause is a partition (of
// the control plane, or of this process from it) or a zone-wide outage, and moving traffic
// then may move it into the same failure. So, like the node lifecycle controller's
// unhealthy-zone threshold, once at least storm_min_nodes nodes, and at least storm_share of
// the nodes whose Leases this process knows, have each missed a renewal (silent for their
// renew interval plus kStormSlack) at the same time, node-lease verdicts are held: Cached and
// ReadLive return the node with storm_hold set, and the engine counts its pods but makes
// their member no switch target. Readiness still counts. The storm is evaluated by FireDue
// (the timer thread runs it at least every kStormCheck); when it begins or ends, the groups
// deciding on a silent node are enqueued again, and on_storm is told.
//
// Zones. Nodes may be given a zone (SetZone: the value of the operator's --zone-label on
// the Node). A zone is lost while half or more of its nodes whose Leases this process knows
// have missed a renewal (the storm's measure); every node of a lost zone, silent or not,
// reads with zone_lost set, so that a member whose pods all sit there is not promoted even
// though its own nodes still renew. Evaluated with the storm; when a zone is lost or comes
// back, the groups on its nodes are enqueued again. Thread-safe.
class NodeLeases : public NodeLeaseReader {
 public:
  static constexpr Duration kLiveReadReuse = std::chrono::seconds(1);
  static constexpr Duration kStormCheck = std::chrono::seconds(1);
  static constexpr Duration kStormSlack = std::chrono::seconds(1);

  struct Storm {
    bool held = false;
    int silent = 0;  // nodes that missed a renewal
    int known = 0;   // nodes whose Lease this process knows
    int lost_zones = 0;
  };

  struct Options {
    kube::Client* client = nullptr;  // the live reads; required
    std::function<Time()> now;       // the decision clock; required
    // Called (outside any lock) with a group key whose node went overdue or came back.
    std::function<void(const std::string& group_key)> enqueue = nullptr;
    // The timer thread's waits. The thread runs when both enqueue and env are given; env
    // null: no thread, FireDue is the caller's to call (tests on a clock of their own).
    base::Env* env = &base::RealEnv();
    // The node-storm hold (above): the share of known nodes, and the least number of them,
    // silent at once that holds node-lease verdicts. storm_share 0: never held.
    double storm_share = 0.55;
    int storm_min_nodes = 3;
    // Told (outside any lock, from FireDue's caller) when the storm is evaluated and its
    // counts or hold changed.
    std::function<void(const Storm&)> on_storm = nullptr;
  };

  explicit NodeLeases(Options options);
  NodeLeases(kube::Client* client, std::function<Time()> now);
  ~NodeLeases() override;
  NodeLeases(const NodeLeases&) = delete;
  NodeLeases& operator=(const NodeLeases&) = delete;

  // A Lease the informer delivered (trimmed or not). When it renewed the Lease (a renewTime
  // not seen before, on a Lease seen before), the silence that renewal ended; else nullopt.
  std::optional<Duration> Saw(const nlohmann::json& lease);
  // The informer saw the Lease deleted: no verdict on the node until one is seen again (the
  // groups tracking it stay tracked).
  void Gone(const std::string& node);

  std::optional<NodeObservation> Cached(const std::string& node) const override;
  NodeObservation ReadLive(const std::string& node) override;

  // Group `group_key` has pods on `nodes` and detection.nodeLeaseTimeout `timeout`: from
  // now on it is enqueued when one of them goes overdue under that timeout or comes back.
  // Replaces what the group tracked before; no nodes, or a timeout of 0, forgets it. A node
  // already overdue when tracked counts as reported (the caller is deciding now).
  void Track(const std::string& group_key, const std::set<std::string>& nodes, Duration timeout);

  // Enqueues the groups of every node whose deadline is at or before `now` (the timer
  // thread calls it; tests call it with their own clock). Returns how many keys it enqueued.
  size_t FireDue(Time now);
  // The earliest pending deadline (nullopt: none).
  std::optional<Time> NextDeadline() const;
  // The storm as last evaluated by FireDue.
  Storm CurrentStorm() const;
  // What a held node's storm_hold says (stable while the hold lasts).
  std::string StormText() const;

  // Ends the timer thread (idempotent); enqueue is not called after it returns.
  void Stop();

  // The node's zone ("" = none) from the Node's label; "" forgets it.
  void SetZone(const std::string& node, const std::string& zone);
  // The zones lost as last evaluated.
  std::set<std::string> LostZones() const;

 private:
  // The groups tracking one node with one timeout, and whether the node's current silence
  // was reported to them.
  struct Waiters {
    std::set<std::string> groups;
    bool reported = false;
  };
  struct Entry {
    std::optional<NodeObservation> lease;  // unset: no Lease seen (or it was deleted)
    std::optional<Time> read_live_at;      // the last successful live read (decision clock)
    std::map<Duration, Waiters> waiters;   // by nodeLeaseTimeout, shortest first
    std::optional<Time> deadline;          // as filed in deadlines_
    std::string zone;                      // SetZone ("" = none)
  };

  // Records a Lease seen at `now` under mu_; returns the silence a renewal ended, and adds
  // to `wake` the groups a silence that ended had been reported to.
  std::optional<Duration> RecordLocked(const NodeObservation& seen, Time now, std::vector<std::string>& wake);
  // Files the node's next deadline (the first not yet reported timeout's), or none.
  void RescheduleLocked(const std::string& node, Entry& e);
  // Marks every timeout of the node due at `now` reported and adds its groups to `wake`.
  void FireNodeLocked(const std::string& node, Entry& e, Time now, std::vector<std::string>* wake);
  // Drops a node's entry when nothing is known of it and no group tracks it.
  void PruneLocked(const std::string& node);
  void Wake(const std::vector<std::string>& keys);
  void TimerLoop();
  // Counts the silent nodes at `now`; when the hold begins or ends, adds every group deciding
  // on a silent node to `wake`. Returns the storm when its counts or hold changed.
  std::optional<Storm> EvaluateStormLocked(Time now, std::vector<std::string>& wake);
  // A node as Cached/ReadLive hand it out: with storm_hold set while the hold lasts.
  NodeObservation OutLocked(const Entry& e) const;
  std::string StormTextLocked() const;

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, Entry> nodes_;
  std::set<std::pair<Time, std::string>> deadlines_;  // (deadline, node)
  // What each group tracks, to replace it (Track).
  struct Tracked {
    std::set<std::string> nodes;
    Duration timeout{0};
  };
  std::map<std::string, Tracked> groups_;
  Storm storm_;
  std::set<std::string> lost_zones_;
  std::optional<Time> storm_checked_at_;
  std::thread timer_;
};

}  // namespace failover
