#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <set>

#include "harness/node_agent.h"
#include "harness/node_lease.h"
#include "harness/pod_ip_allocator.h"
#include "harness/pod_status.h"
#include "harness/probe.h"
#include "harness/process.h"
#include "harness/service_table.h"
#include "support/fake_env.h"

namespace harness {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The node Lease as the kubelet writes it: what the node lifecycle controller and the
// operator's node-lease detection read.
TEST(NodeLease, IsTheKubeletsLeaseOwnedByTheNode) {
  const std::string t0 = "2026-12-01T10:00:00.250000Z";
  nlohmann::json created = NodeLeaseRenewal(nullptr, "node-1", "uid-n1", t0);
  EXPECT_EQ(created["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["metadata"]["name"], "node-1");
  EXPECT_EQ(created["metadata"]["namespace"], "kube-node-lease");
  EXPECT_EQ(created["metadata"]["ownerReferences"],
            nlohmann::json::parse(R"([{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "uid-n1"}])"));
  EXPECT_EQ(created["spec"]["holderIdentity"], "node-1");
  EXPECT_EQ(created["spec"]["leaseDurationSeconds"], 40);
  EXPECT_EQ(created["spec"]["renewTime"], t0);
  EXPECT_EQ(kNodeLeaseRenewInterval, std::chrono::seconds(10));

  // A renewal keeps the resourceVersion (an optimistic update) and only moves renewTime.
  nlohmann::json current = created;
  current["metadata"]["resourceVersion"] = "77";
  nlohmann::json renewed = NodeLeaseRenewal(current, "node-1", "uid-n1", "2026-12-01T10:00:10.250000Z");
  EXPECT_EQ(renewed["metadata"]["resourceVersion"], "77");
  EXPECT_EQ(renewed["spec"]["renewTime"], "2026-12-01T10:00:10.250000Z");
  nlohmann::json expected = current;
  expected["spec"]["renewTime"] = "2026-12-01T10:00:10.250000Z";
  EXPECT_EQ(renewed, expected);

  // Created before its Node existed: the owner reference is added once the uid is known.
  nlohmann::json orphan = NodeLeaseRenewal(nullptr, "node-1", "", t0);
  EXPECT_FALSE(orphan["metadata"].contains("ownerReferences"));
  EXPECT_EQ(NodeLeaseRenewal(orphan, "node-1", "uid-n1", t0)["metadata"]["ownerReferences"][0]["uid"], "uid-n1");
}

TEST(PodIPAllocator, HandsOutUniqueAddressesSkippingZeroBroadcastAndNode) {
  auto a = PodIPAllocator::Create("127.9.0.0/23", "127.9.0.1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // 512 addresses minus .0 and .255 in both /24s minus the node IP.
  EXPECT_EQ(a->capacity(), 512u - 4u - 1u);
  std::set<std::string> seen;
  for (size_t i = 0; i < a->capacity(); ++i) {
    auto ip = a->Allocate();
    ASSERT_TRUE(ip.ok()) << i;
    EXPECT_TRUE(seen.insert(*ip).second) << *ip;
    EXPECT_NE(*ip, "127.9.0.1");
    EXPECT_NE(ip->substr(ip->rfind('.')), ".0");
    EXPECT_NE(ip->substr(ip->rfind('.')), ".255");
  }
  auto none = a->Allocate();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("exhausted"), std::string::npos);
}

TEST(PodIPAllocator, ReleasedAddressIsReusedOnlyAfterTheRestOfTheRange) {
  auto a = PodIPAllocator::Create("127.9.0.0/29", "127.9.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a->Allocate(), "127.9.0.2");
  EXPECT_EQ(*a->Allocate(), "127.9.0.3");
  a->Release("127.9.0.2");
  EXPECT_EQ(*a->Allocate(), "127.9.0.4");
  EXPECT_EQ(*a->Allocate(), "127.9.0.5");
  EXPECT_EQ(*a->Allocate(), "127.9.0.6");
  EXPECT_EQ(*a->Allocate(), "127.9.0.7");
  EXPECT_EQ(*a->Allocate(), "127.9.0.2");
  EXPECT_FALSE(a->Allocate().ok());
}

TEST(PodIPAllocator, ReserveKeepsExistingPodIPsAndRejectsForeignOnes) {
  auto a = PodIPAllocator::Create("127.9.0.0/24", "127.9.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->Reserve("127.9.0.2"));
  EXPECT_FALSE(a->Reserve("127.9.0.2"));
  EXPECT_FALSE(a->Reserve("127.9.0.1"));
  EXPECT_FALSE(a->Reserve("127.8.0.5"));
  EXPECT_FALSE(a->Reserve("not-an-ip"));
  EXPECT_EQ(*a->Allocate(), "127.9.0.3");
}

TEST(PodIPAllocator, BadCidrNamesTheFlag) {
  for (const char* bad : {"127.0.0.0", "127.0.0.0/33", "nonsense/24", "127.0.0.0/x"}) {
    auto a = PodIPAllocator::Create(bad, "127.0.0.1");
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_NE(a.status().message().find("--pod-cidr"), std::string::npos);
  }
}

TEST(ProbeTracker, ReadinessNeedsSuccessThresholdInARow) {
  ProbeTracker t(2, 3, false);
  EXPECT_FALSE(t.Observe(true));
  EXPECT_FALSE(t.result());
  EXPECT_FALSE(t.Observe(false));
  EXPECT_FALSE(t.Observe(true));
  EXPECT_TRUE(t.Observe(true));
  EXPECT_TRUE(t.result());
}

TEST(ProbeTracker, FailureThresholdConsecutiveFailuresFlipToFalse) {
  ProbeTracker t(1, 3, false);
  EXPECT_TRUE(t.Observe(true));
  EXPECT_FALSE(t.Observe(false));
  EXPECT_FALSE(t.Observe(false));
  EXPECT_FALSE(t.Observe(true));  // the run of failures is broken
  EXPECT_FALSE(t.Observe(false));
  EXPECT_FALSE(t.Observe(false));
  EXPECT_TRUE(t.result());
  EXPECT_TRUE(t.Observe(false));
  EXPECT_FALSE(t.result());
}

TEST(ProbeTracker, LivenessStartsHealthyAndResetRestoresInitial) {
  ProbeTracker t(1, 1, true);
  EXPECT_TRUE(t.result());
  EXPECT_TRUE(t.Observe(false));
  EXPECT_FALSE(t.result());
  t.Reset();
  EXPECT_TRUE(t.result());
}

TEST(ParseProbe, AppliesKubernetesDefaultsAndResolvesNamedPorts) {
  json c = json::parse(R"({"name":"app","ports":[{"name":"http","containerPort":9090}],
      "readinessProbe":{"httpGet":{"path":"ready","port":"http"}}})");
  std::string err;
  auto p = ParseProbe(c, "readinessProbe", &err);
  ASSERT_TRUE(p) << err;
  EXPECT_EQ(p->kind, ProbeSpec::Kind::kHttpGet);
  EXPECT_EQ(p->port, 9090);
  EXPECT_EQ(p->path, "/ready");
  EXPECT_EQ(p->initial_delay_seconds, 0);
  EXPECT_EQ(p->period_seconds, 10);
  EXPECT_EQ(p->timeout_seconds, 1);
  EXPECT_EQ(p->success_threshold, 1);
  EXPECT_EQ(p->failure_threshold, 3);
  EXPECT_FALSE(ParseProbe(c, "livenessProbe", &err));
  EXPECT_TRUE(err.empty());
}

TEST(ParseProbe, ReadsTimingAndTcpAndExec) {
  json c = json::parse(R"({"name":"app",
      "livenessProbe":{"tcpSocket":{"port":8080},"initialDelaySeconds":3,"periodSeconds":2,
                       "timeoutSeconds":4,"successThreshold":1,"failureThreshold":5},
      "readinessProbe":{"exec":{"command":["true"]}}})");
  std::string err;
  auto l = ParseProbe(c, "livenessProbe", &err);
  ASSERT_TRUE(l) << err;
  EXPECT_EQ(l->kind, ProbeSpec::Kind::kTcpSocket);
  EXPECT_EQ(l->initial_delay_seconds, 3);
  EXPECT_EQ(l->period_seconds, 2);
  EXPECT_EQ(l->timeout_seconds, 4);
  EXPECT_EQ(l->failure_threshold, 5);
  auto r = ParseProbe(c, "readinessProbe", &err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->kind, ProbeSpec::Kind::kExec);
  EXPECT_EQ(r->command, std::vector<std::string>{"true"});
}

TEST(ParseProbe, UnknownNamedPortIsAnErrorNamingTheField) {
  json c = json::parse(R"({"name":"app","readinessProbe":{"tcpSocket":{"port":"metrics"}}})");
  std::string err;
  EXPECT_FALSE(ParseProbe(c, "readinessProbe", &err));
  EXPECT_NE(err.find("readinessProbe.tcpSocket.port"), std::string::npos) << err;
}

TEST(ExecProbe, ExitCodeDecides) {
  ProbeSpec p;
  p.kind = ProbeSpec::Kind::kExec;
  p.command = {"/bin/sh", "-c", "exit 0"};
  EXPECT_TRUE(RunProbe(p, "127.0.0.1", {"PATH=/usr/bin:/bin"}, base::RealEnv()).success);
  p.command = {"/bin/sh", "-c", "exit 3"};
  auto out = RunProbe(p, "127.0.0.1", {"PATH=/usr/bin:/bin"}, base::RealEnv());
  EXPECT_FALSE(out.success);
  EXPECT_NE(out.message.find("3"), std::string::npos);
}

TEST(ExecProbe, TimesOutOnceTimeoutSecondsHavePassedOnItsClock) {
  testsupport::FakeEnv clock;
  ProbeSpec p;
  p.kind = ProbeSpec::Kind::kExec;
  p.command = {"/bin/sh", "-c", "exec sleep 30"};
  p.timeout_seconds = 2;
  auto probe = std::async(std::launch::async, [&] { return RunProbe(p, "127.0.0.1", {"PATH=/usr/bin:/bin"}, clock); });
  // The probe polls its command every 20 ms of the clock.
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  clock.Advance(2s - 1ms);
  ASSERT_TRUE(clock.BlockUntilWaiters(1)) << "polls on: not timed out a millisecond early";
  EXPECT_EQ(probe.wait_for(0s), std::future_status::timeout);
  ASSERT_TRUE(clock.AdvanceToNextDeadline());  // the first poll past the timeout
  ASSERT_EQ(probe.wait_for(10s), std::future_status::ready);
  ProbeOutcome out = probe.get();
  EXPECT_FALSE(out.success);
  EXPECT_EQ(out.message, "command timed out after 2s");
}

TEST(PodStatusTime, NowIsTheClocksWallTimeInWholeSeconds) {
  testsupport::FakeEnv clock;  // 2024-01-01T00:00:00Z
  EXPECT_EQ(NowRfc3339(clock), "2024-01-01T00:00:00Z");
  clock.Advance(61s + 999ms);
  EXPECT_EQ(NowRfc3339(clock), "2024-01-01T00:01:01Z");
  EXPECT_EQ(Rfc3339(1704067261), "2024-01-01T00:01:01Z");
}

TEST(StopProcess, SendsSigkillOnlyOnceTheGraceHasPassedOnItsClock) {
  testsupport::FakeEnv clock;
  // Its output goes to a FIFO: "ready" is read once it ignores SIGTERM, so the SIGTERM
  // cannot come first.
  const std::string fifo =
      (std::filesystem::temp_directory_path() / ("fo-harness-stop-" + std::to_string(getpid()))).string();
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int rd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(rd, 0);
  auto pid = StartProcess({"/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 30"}, {"PATH=/usr/bin:/bin"}, fifo);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  fcntl(rd, F_SETFL, 0);  // blocking reads from here on
  std::string said;
  while (said.find("ready\n") == std::string::npos) {
    char buf[64];
    const ssize_t n = read(rd, buf, sizeof buf);
    ASSERT_GT(n, 0) << "the process ended before it was ready";
    said.append(buf, static_cast<size_t>(n));
  }
  auto stop = std::async(std::launch::async, [&] { return StopProcess(*pid, 5s, clock); });
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  clock.Advance(5s - 1ms);
  ASSERT_TRUE(clock.BlockUntilWaiters(1)) << "waits on: the grace has not passed";
  EXPECT_EQ(stop.wait_for(0s), std::future_status::timeout);
  EXPECT_EQ(kill(*pid, 0), 0) << "SIGTERM is ignored: it still runs";
  ASSERT_TRUE(clock.AdvanceToNextDeadline());  // the first poll past the grace: SIGKILL
  ASSERT_EQ(stop.wait_for(10s), std::future_status::ready);
  const ExitInfo info = stop.get();
  EXPECT_EQ(info.signal, SIGKILL);
  EXPECT_EQ(info.exit_code, 128 + SIGKILL);
  close(rd);
  unlink(fifo.c_str());
}

TEST(TcpProbe, RefusedPortFails) {
  ProbeSpec p;
  p.kind = ProbeSpec::Kind::kTcpSocket;
  p.port = 1;  // nothing listens on port 1
  EXPECT_FALSE(RunProbe(p, "127.0.0.1", {}, base::RealEnv()).success);
}

ContainerView Running(const std::string& name, bool ready) {
  ContainerView c;
  c.name = name;
  c.image = "failover-demo-app";
  c.state = ContainerView::State::kRunning;
  c.started_at = "2026-01-01T00:00:00Z";
  c.ready = ready;
  c.started = true;
  return c;
}

json Condition(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"]) {
    if (c["type"] == type) return c;
  }
  return json();
}

TEST(PodStatus, LastTransitionTimeChangesOnlyWhenTheConditionFlips) {
  ConditionClock clock;
  PodView pod;
  pod.phase = "Running";
  pod.pod_ip = "127.1.0.2";
  pod.containers = {Running("app", false)};
  json s1 = RenderPodStatus(pod, &clock, "T1");
  EXPECT_EQ(Condition(s1, "Ready")["status"], "False");
  EXPECT_EQ(Condition(s1, "Ready")["reason"], "ContainersNotReady");
  EXPECT_EQ(Condition(s1, "Ready")["lastTransitionTime"], "T1");
  json s2 = RenderPodStatus(pod, &clock, "T2");
  EXPECT_EQ(s1, s2) << "same inputs must render the same status (no needless writes)";
  pod.containers[0].ready = true;
  json s3 = RenderPodStatus(pod, &clock, "T3");
  EXPECT_EQ(Condition(s3, "Ready")["status"], "True");
  EXPECT_EQ(Condition(s3, "Ready")["lastTransitionTime"], "T3");
  EXPECT_EQ(Condition(s3, "ContainersReady")["lastTransitionTime"], "T3");
  EXPECT_EQ(Condition(s3, "PodScheduled")["lastTransitionTime"], "T1");
  EXPECT_EQ(Condition(s3, "Initialized")["lastTransitionTime"], "T1");
  EXPECT_EQ(s3["podIPs"], json::array({{{"ip", "127.1.0.2"}}}));
}

TEST(PodStatus, SeededClockKeepsTimesAcrossAgentRestart) {
  ConditionClock clock;
  clock.Seed(json::parse(R"([{"type":"Ready","status":"True","lastTransitionTime":"OLD"}])"));
  PodView pod;
  pod.phase = "Running";
  pod.containers = {Running("app", true)};
  json s = RenderPodStatus(pod, &clock, "NEW");
  EXPECT_EQ(Condition(s, "Ready")["lastTransitionTime"], "OLD");
  EXPECT_EQ(Condition(s, "Initialized")["lastTransitionTime"], "NEW");
}

TEST(PodStatus, ContainerStatesRenderAsKubeletDoes) {
  ConditionClock clock;
  PodView pod;
  ContainerView c;
  c.name = "app";
  c.image = "x/failover-demo-app:1";
  c.state = ContainerView::State::kWaiting;
  c.reason = "CrashLoopBackOff";
  c.restart_count = 2;
  c.last_state = json{{"terminated", {{"exitCode", 137}}}};
  pod.containers = {c};
  pod.phase = PodPhase(pod.containers, "Always");
  json s = RenderPodStatus(pod, &clock, "T");
  EXPECT_EQ(s["phase"], "Running");
  const json& cs = s["containerStatuses"][0];
  EXPECT_EQ(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 137);
  EXPECT_EQ(cs["restartCount"], 2);
  EXPECT_TRUE(s["reason"].is_null());
}

TEST(PodPhase, FollowsRestartPolicy) {
  ContainerView done;
  done.state = ContainerView::State::kTerminated;
  done.exit_code = 0;
  ContainerView failed = done;
  failed.exit_code = 1;
  ContainerView fresh;  // waiting, never ran
  EXPECT_EQ(PodPhase({fresh}, "Always"), "Pending");
  EXPECT_EQ(PodPhase({Running("a", true)}, "Never"), "Running");
  EXPECT_EQ(PodPhase({done}, "Never"), "Succeeded");
  EXPECT_EQ(PodPhase({failed}, "Never"), "Failed");
  EXPECT_EQ(PodPhase({done}, "OnFailure"), "Succeeded");
  EXPECT_EQ(PodPhase({failed, Running("b", true)}, "Never"), "Running");
}

TEST(StatusPatch, CarriesUidPrecondition) {
  json p = StatusPatch("u-1", json{{"phase", "Running"}});
  EXPECT_EQ(p["metadata"]["uid"], "u-1");
  EXPECT_EQ(p["status"]["phase"], "Running");
}

TEST(ClassifyImage, DemoAppFromAnyRegistryAndTag) {
  EXPECT_EQ(ClassifyImage("failover-demo-app"), ImageKind::kDemoApp);
  EXPECT_EQ(ClassifyImage("ghcr.io/acme/failover-demo-app:v2"), ImageKind::kDemoApp);
  EXPECT_EQ(ClassifyImage("localhost:5000/failover-demo-app"), ImageKind::kDemoApp);
  EXPECT_EQ(ClassifyImage("failover-demo-app@sha256:abc"), ImageKind::kDemoApp);
  EXPECT_EQ(ClassifyImage("failover.io/virtual"), ImageKind::kVirtual);
  EXPECT_EQ(ClassifyImage("failover.io/virtual:1"), ImageKind::kVirtual);
  EXPECT_EQ(ClassifyImage("my-failover-demo-app"), ImageKind::kUnsupported);
  EXPECT_EQ(ClassifyImage("nginx:1.21"), ImageKind::kUnsupported);
  EXPECT_EQ(ClassifyImage("failover-demo-app-extra:1"), ImageKind::kUnsupported);
}

TEST(ParsePod, ReadsWhatTheAgentNeeds) {
  json pod = json::parse(R"({"metadata":{"name":"p","namespace":"ns","uid":"u",
      "deletionTimestamp":"2026-01-01T00:00:00Z","deletionGracePeriodSeconds":7,
      "annotations":{"harness.failover.io/ready":"false"}},
    "spec":{"restartPolicy":"OnFailure","terminationGracePeriodSeconds":9,
      "containers":[{"name":"app","image":"failover-demo-app","args":["--x"],
        "ports":[{"containerPort":9000}],
        "env":[{"name":"A","value":"1"},{"name":"ME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]},
    "status":{"podIP":"127.1.0.9"}})");
  PodSpec p = ParsePod(pod);
  EXPECT_EQ(p.uid, "u");
  EXPECT_EQ(p.restart_policy, "OnFailure");
  EXPECT_EQ(p.termination_grace_seconds, 9);
  EXPECT_TRUE(p.deleting);
  EXPECT_EQ(p.deletion_grace_seconds, 7);
  EXPECT_EQ(p.ready_annotation, "false");
  EXPECT_EQ(p.status_pod_ip, "127.1.0.9");
  ASSERT_EQ(p.containers.size(), 1u);
  EXPECT_EQ(p.containers[0].port, 9000);
  EXPECT_EQ(p.containers[0].args, std::vector<std::string>{"--x"});
  auto env = ContainerEnv(p, p.containers[0], "127.1.0.9", "127.1.0.1", "node");
  auto has = [&](const std::string& kv) {
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("POD_NAME=p"));
  EXPECT_TRUE(has("POD_NAMESPACE=ns"));
  EXPECT_TRUE(has("POD_IP=127.1.0.9"));
  EXPECT_TRUE(has("PORT=9000"));
  EXPECT_TRUE(has("A=1"));
  EXPECT_TRUE(has("ME=p"));
}

json Service(const std::string& type, int node_port) {
  return json{{"metadata", {{"namespace", "ns"}, {"name", "web"}}},
              {"spec",
               {{"type", type},
                {"ports", json::array({{{"name", "http"}, {"port", 80}, {"nodePort", node_port},
                                        {"protocol", "TCP"}}})}}}};
}

json Slice(const std::string& name, const std::vector<std::pair<std::string, json>>& eps) {
  json endpoints = json::array();
  for (const auto& [ip, ready] : eps) {
    json e = {{"addresses", {ip}}, {"targetRef", {{"namespace", "ns"}, {"name", "pod-" + ip}}}};
    if (!ready.is_null()) e["conditions"] = {{"ready", ready}};
    endpoints.push_back(e);
  }
  return json{{"metadata",
               {{"namespace", "ns"},
                {"name", name},
                {"labels", {{"kubernetes.io/service-name", "web"}}}}},
              {"addressType", "IPv4"},
              {"ports", json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}})},
              {"endpoints", endpoints}};
}

TEST(ServiceTable, NodePortRoutesToReadyEndpointsOfAllSlices) {
  ServiceTable t;
  t.UpsertService(Service("NodePort", 30080));
  t.UpsertSlice(Slice("web-1", {{"127.1.0.3", true}, {"127.1.0.2", false}}));
  t.UpsertSlice(Slice("web-2", {{"127.1.0.4", json()}}));  // unset ready = ready
  auto routes = t.Routes();
  ASSERT_EQ(routes.count(30080), 1u);
  const Route& r = routes[30080];
  EXPECT_EQ(r.service, "ns/web");
  ASSERT_EQ(r.backends.size(), 2u);
  EXPECT_EQ(r.backends[0].Address(), "127.1.0.3:8080");
  EXPECT_EQ(r.backends[0].pod, "ns/pod-127.1.0.3");
  EXPECT_EQ(r.backends[1].Address(), "127.1.0.4:8080");
  t.RemoveSlice("ns", "web-2");
  EXPECT_EQ(t.Routes()[30080].backends.size(), 1u);
}

TEST(ServiceTable, ClusterIPServicesAndUnlabelledSlicesAreIgnored) {
  ServiceTable t;
  t.UpsertService(Service("ClusterIP", 0));
  EXPECT_TRUE(t.Routes().empty());
  t.UpsertService(Service("NodePort", 30081));
  json s = Slice("web-1", {{"127.1.0.3", true}});
  s["metadata"]["labels"] = json::object();
  t.UpsertSlice(s);
  EXPECT_TRUE(t.Routes()[30081].backends.empty());
  t.UpsertService(Service("ClusterIP", 0));  // type changed back: the node port goes away
  EXPECT_TRUE(t.Routes().empty());
}

}  // namespace
}  // namespace harness
