// Node-lease detection (detection.nodeLeaseTimeout) with the operator binary against the
// local control plane: each member's pod is bound to a Node of its own whose Lease in
// kube-node-lease this test renews as a kubelet would (no kubelet runs there: the pods'
// Ready status is written by the test and stays True, as on a node that died). A Lease
// that goes silent fails the group over once the operator has read it live; one that is
// renewed keeps the group where it is and costs no live read.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "base/rfc3339.h"
#include "failover/parse.h"
#include "operator_fixture.h"

namespace failover_it {
namespace {

// Renews the Leases of the nodes it is given every `interval`, as the kubelet does, until
// each is silenced (Silence) or the renewer is destroyed.
class LeaseRenewer {
 public:
  LeaseRenewer(kube::Client* client, std::chrono::milliseconds interval) : client_(client), interval_(interval) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~LeaseRenewer() {
    stop_ = true;
    thread_.join();
  }
  // Renews `node` from now on; `renewed_at`: the renewTime its Lease has now.
  void Renew(const std::string& node, std::chrono::system_clock::time_point renewed_at) {
    std::lock_guard<std::mutex> lock(mu_);
    renewing_[node] = true;
    last_[node] = std::max(last_[node], renewed_at);
  }
  // Stops renewing `node`; returns when its last renewal was written (wall clock).
  std::chrono::system_clock::time_point Silence(const std::string& node) {
    std::lock_guard<std::mutex> lock(mu_);
    renewing_[node] = false;
    return last_[node];
  }
  int failures() const { return failures_; }

 private:
  void Loop() {
    while (!stop_) {
      std::map<std::string, bool> nodes;
      {
        std::lock_guard<std::mutex> lock(mu_);
        nodes = renewing_;
      }
      for (const auto& [node, on] : nodes) {
        if (!on) continue;
        const auto now = std::chrono::system_clock::now();
        const std::string at =
            base::FormatRfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now), base::Fraction::kMicros);
        nlohmann::json patch = {{"spec", {{"renewTime", at}}}};
        std::lock_guard<std::mutex> lock(mu_);
        if (!renewing_[node]) continue;  // silenced meanwhile
        auto r = client_->Patch(kube::resources::kLeases, "kube-node-lease", node, kube::PatchType::kMerge,
                                patch.dump());
        if (r.ok()) {
          last_[node] = now;
        } else {
          ++failures_;
        }
      }
      std::this_thread::sleep_for(interval_);
    }
  }

  kube::Client* client_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::map<std::string, bool> renewing_;
  std::map<std::string, std::chrono::system_clock::time_point> last_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::thread thread_;
};

// A metric's value in /metrics text (the first line that starts with `series`), or -1.
double MetricValue(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  at += series.size() + 2;
  return std::stod(text.substr(at, text.find('\n', at) - at));
}

// The sum of every series of a metric whose line starts with `prefix` (any other labels).
double MetricSum(const std::string& text, const std::string& prefix) {
  double sum = 0;
  for (size_t at = text.find("\n" + prefix); at != std::string::npos; at = text.find("\n" + prefix, at + 1)) {
    const size_t eol = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, eol == std::string::npos ? std::string::npos : eol - at - 1);
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class NodeLeaseTest : public OperatorTest {
 protected:
  // Leases renewed every second, leaseDurationSeconds 4: the bound is max(nodeLeaseTimeout
  // 5s, 4s / 4 + 5s) = 6s.
  static constexpr int kLeaseDurationSeconds = 4;
  static constexpr auto kBound = std::chrono::seconds(6);

  void SetUp() override {
    OperatorTest::SetUp();
    if (HasFatalFailure()) return;
    node_a_ = "fo-lease-a-" + ns_;
    node_b_ = "fo-lease-b-" + ns_;
    renewer_ = std::make_unique<LeaseRenewer>(client_.get(), std::chrono::milliseconds(1000));
  }

  void TearDown() override {
    renewer_.reset();
    OperatorTest::TearDown();
    // No kubelet confirms these pods' deletion: removed at once, so the namespace goes.
    kube::DeleteOptions now;
    now.grace_period_seconds = 0;
    for (const char* pod : {"a-0", "b-0"}) {
      if (client_ && !ns_.empty()) client_->Delete(kube::resources::kPods, ns_, pod, now);
    }
    for (const auto& node : {node_a_, node_b_}) {
      if (node.empty() || !client_) continue;
      client_->Delete(kube::resources::kLeases, "kube-node-lease", node);
      client_->Delete(kube::resources::kNodes, "", node);
    }
  }

  // A Node (so the pod garbage collector does not take its pods for orphans) and its Lease,
  // renewed from now on.
  void AddNode(const std::string& node) {
    auto n = client_->Create(kube::resources::kNodes, "",
                             {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node}}}});
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    const auto created = std::chrono::system_clock::now();
    const std::string at =
        base::FormatRfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(created), base::Fraction::kMicros);
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata",
                   {{"name", node},
                    {"namespace", "kube-node-lease"},
                    {"ownerReferences",
                     json::array({{{"apiVersion", "v1"},
                                   {"kind", "Node"},
                                   {"name", node},
                                   {"uid", (*n)["metadata"].value("uid", "")}}})}}},
                  {"spec",
                   {{"holderIdentity", node}, {"leaseDurationSeconds", kLeaseDurationSeconds}, {"renewTime", at}}}};
    auto l = client_->Create(kube::resources::kLeases, "kube-node-lease", lease);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    renewer_->Renew(node, created);
  }

  // Pod `name` of site `site` bound to `node`, Ready as its (absent) kubelet last said.
  void AddReadyPod(const std::string& name, const std::string& site, const std::string& node, const std::string& ip) {
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", ns_}, {"labels", {{"app", "db"}, {"site", site}}}}},
                {"spec",
                 {{"nodeName", node},
                  {"containers", json::array({{{"name", "app"}, {"image", "example.registry/none:test"}}})}}}};
    auto r = client_->Create(kube::resources::kPods, ns_, pod);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    json status = {{"status",
                    {{"phase", "Running"},
                     {"podIP", ip},
                     {"podIPs", json::array({{{"ip", ip}}})},
                     {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
    kube::PatchOptions po;
    po.subresource = "status";
    auto s = client_->Patch(kube::resources::kPods, ns_, name, kube::PatchType::kMerge, status.dump(), po);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }

  json LeaseSpec() {
    json spec = GroupSpec();
    spec["detection"] = {{"unhealthyFor", "1s"}, {"nodeLeaseTimeout", "5s"}};
    return spec;
  }

  // a-0 on node A, b-0 on node B, both Leases renewed, the group settled on site-a.
  void StartOnTwoNodes() {
    AddNode(node_a_);
    AddNode(node_b_);
    if (HasFatalFailure()) return;
    AddReadyPod("a-0", "a", node_a_, "10.250.0.1");
    AddReadyPod("b-0", "b", node_b_, "10.250.0.2");
    if (HasFatalFailure()) return;
    CreateService();
    operator_->Start();
    CreateGroup(LeaseSpec());
    ASSERT_TRUE(Wait([&] { return Status("activeMember") == "site-a" && ServiceMember() == "site-a"; }))
        << GetGroup().dump();
  }

  std::string LiveLeaseReads() {
    return "rest_client_requests_total{code=\"200\",method=\"GET\",resource=\"leases.coordination.k8s.io\"}";
  }

  std::string node_a_, node_b_;
  std::unique_ptr<LeaseRenewer> renewer_;
};

// Renewals keep the group where it is, for many times the bound, with no live read (the
// cache never shows a silence) and no decision per renewal.
TEST_F(NodeLeaseTest, ARenewedNodeLeaseKeepsTheGroupWithoutALiveReadOrADecisionPerRenewal) {
  StartOnTwoNodes();
  if (HasFatalFailure()) return;
  // Settled: the status written, nothing pending.
  ASSERT_TRUE(Wait([&] { return ConditionOf(GetGroup(), "FailoverReady", "reason") == "Armed"; }))
      << GetGroup()["status"].dump();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string before = operator_->Metrics();
  const std::string reconciles = "controller_runtime_reconcile_total{controller=\"failovergroup\"";
  const double reconciles_before = MetricSum(before, reconciles);
  std::this_thread::sleep_for(kBound * 3);
  EXPECT_EQ(ServiceMember(), "site-a");
  EXPECT_EQ(Status("activeMember"), "site-a");
  const json st = GetGroup()["status"];
  EXPECT_EQ(st.value("failoverCount", 0), 0) << st.dump();
  const std::string after = operator_->Metrics();
  EXPECT_LE(MetricValue(after, LiveLeaseReads()), 0) << "a renewed Lease is never read live";
  const double reconciles_after = MetricSum(after, reconciles);
  EXPECT_LE(reconciles_after - reconciles_before, 1)
      << "18 renewals of each node's Lease cost no decision (before " << reconciles_before << ", after "
      << reconciles_after << ")";
  EXPECT_EQ(renewer_->failures(), 0);
}

// The Lease of site-a's node goes silent while its pod stays Ready: the group fails over to
// site-b after the bound (6s) and unhealthyFor (1s), not before, once the operator read the
// Lease live; the member says why, and the switch's phases are in the status.
TEST_F(NodeLeaseTest, ASilentNodeLeaseFailsOverOnceTheLiveReadConfirmsIt) {
  StartOnTwoNodes();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Wait([&] { return ConditionOf(GetGroup(), "FailoverReady", "reason") == "Armed"; }))
      << GetGroup()["status"].dump();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // renewals under way, seen by the operator
  ASSERT_EQ(ServiceMember(), "site-a");
  const auto last_renewal = renewer_->Silence(node_a_);

  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }, seconds(30))) << GetGroup()["status"].dump();
  const auto switched = std::chrono::system_clock::now();
  const double after_s = std::chrono::duration<double>(switched - last_renewal).count();
  EXPECT_GE(after_s, 6.0) << "not before the Lease was silent for the bound";
  EXPECT_LE(after_s, 6.0 + 1.0 + 5.0) << "bound + unhealthyFor + a few seconds of slack";
  EXPECT_TRUE(PodReady(GetPod("a-0"))) << "the pod was Ready throughout: the Lease alone decided";

  ASSERT_TRUE(Wait([&] { return Status("activeMember") == "site-b"; })) << GetGroup()["status"].dump();
  const json st = GetGroup()["status"];
  const json& t = st["lastTransition"];
  EXPECT_EQ(t.value("reason", ""), "PrimaryUnhealthy") << st.dump();
  for (const char* phase : {"detectedAt", "decidedAt", "trafficMovedAt", "rolesDoneAt", "completedAt"}) {
    EXPECT_TRUE(t.contains(phase) && t[phase].is_string()) << phase << " missing: " << t.dump();
  }
  auto at = [&](const char* phase) { return failover::ParseTime(t.value(phase, "")); };
  if (at("detectedAt") && at("decidedAt") && at("trafficMovedAt") && at("rolesDoneAt") && at("completedAt")) {
    EXPECT_LE(*at("detectedAt"), *at("decidedAt"));
    EXPECT_LE(*at("decidedAt"), *at("trafficMovedAt"));
    EXPECT_LE(*at("trafficMovedAt"), *at("rolesDoneAt"));
  }
  std::string a_message;
  for (const auto& m : st.value("members", json::array())) {
    if (m.value("name", "") == "site-a") a_message = m.value("message", "");
  }
  EXPECT_NE(a_message.find("NodeLeaseExpired"), std::string::npos) << st.dump();
  EXPECT_NE(a_message.find(node_a_), std::string::npos) << a_message;

  const std::string metrics = operator_->Metrics();
  EXPECT_GE(MetricValue(metrics, LiveLeaseReads()), 1) << "the silence was confirmed by a live read";
  EXPECT_NE(metrics.find("failover_group_switch_phase_seconds_count{namespace=\"" + ns_ + "\",phase=\"total\"} 1"),
            std::string::npos)
      << metrics;

  // site-a's node comes back: the member is healthy again (and stays fenced, failback Manual).
  renewer_->Renew(node_a_, std::chrono::system_clock::now());
  EXPECT_TRUE(Wait([&] {
    for (const auto& m : GetGroup()["status"].value("members", json::array())) {
      if (m.value("name", "") == "site-a") return m.value("healthy", false);
    }
    return false;
  }, seconds(15))) << GetGroup()["status"].dump();
  EXPECT_EQ(ServiceMember(), "site-b");
}

}  // namespace
}  // namespace failover_it
