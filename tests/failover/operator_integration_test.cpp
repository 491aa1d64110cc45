// The operator binary against the local control plane: real demo-app processes run by the
// harness node agent, real readiness probes, real EndpointSlices and proxy traffic.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "failover/parse.h"
#include "operator_fixture.h"

namespace failover_it {
namespace {

double SecondsBetween(const std::string& from, const std::string& to) {
  auto a = failover::ParseTime(from);
  auto b = failover::ParseTime(to);
  if (!a || !b) return -1;
  return std::chrono::duration<double>(*b - *a).count();
}

TEST_F(OperatorTest, PrimaryKilledServiceFollowsStandbyAndTrafficReachesIt) {
  const int port = StartActivePassive(GroupSpec());
  ASSERT_GT(port, 0);
  // The first test after the earlier suites restarted the apiserver several times: the
  // controller-manager's informers may still be in their watch backoff (client-go: up to
  // 30 s, jittered to 60 s) before its EndpointSlice controller sees the new Service.
  ASSERT_TRUE(Wait([&] { return ServedBy(port) == "a-0"; }, seconds(90)))
      << "traffic never reached the active pod a-0";

  pid_t pid = FindPodProcess(ns_, "a-0");
  ASSERT_GT(pid, 0) << "no demo-app process for a-0";
  ASSERT_EQ(kill(pid, SIGKILL), 0);

  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; })) << GetService().dump();
  ASSERT_TRUE(Wait([&] { return Status("activeMember") == "site-b"; }))
      << GetGroup()["status"].dump();
  ASSERT_TRUE(Wait([&] { return ServedBy(port) == "b-0"; })) << "traffic never reached b-0 through the proxy";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ServedBy(port), "b-0");
  EXPECT_EQ(Role("b-0"), "active");
  EXPECT_EQ(Role("a-0"), "fenced");
  json svc = GetService();
  EXPECT_EQ(svc["metadata"]["annotations"].value("failover.io/active-member", ""), "site-b");
  EXPECT_EQ(svc["spec"]["selector"].value("failover.io/eligible", ""), "true");
  EXPECT_FALSE(svc["spec"]["selector"].contains("failover.io/role")) << "one write moves it: no role in it";
  EXPECT_EQ(nlohmann::json::parse(svc["metadata"]["annotations"].value("failover.io/switch", "{}")).value("to", ""),
            "site-b");

  json st = GetGroup()["status"];
  EXPECT_EQ(st.value("failoverCount", 0), 1);
  EXPECT_EQ(st["lastTransition"].value("from", ""), "site-a");
  EXPECT_EQ(st["lastTransition"].value("reason", ""), "PrimaryUnhealthy");
  EXPECT_TRUE(Wait([&] { return HasEvent("FailoverCompleted"); }, seconds(10)));
  const std::string counted = "failover_group_failovers_total{from=\"site-a\",group=\"db\",namespace=\"" + ns_ +
                              "\",reason=\"PrimaryUnhealthy\",to=\"site-b\"} 1";
  std::string metrics;
  EXPECT_TRUE(Wait([&] {
    metrics = operator_->Metrics();
    return metrics.find(counted) != std::string::npos;
  }, seconds(5))) << metrics;
  EXPECT_NE(metrics.find("failover_group_active_member{group=\"db\",member=\"site-b\",namespace=\"" + ns_ + "\"} 1"),
            std::string::npos);
  EXPECT_EQ(metrics.find("failover_group_active_member{group=\"db\",member=\"site-a\""), std::string::npos);
  EXPECT_NE(metrics.find("failover_group_switch_duration_seconds_count{namespace=\"" + ns_ + "\"} 1"),
            std::string::npos);
}

TEST_F(OperatorTest, UnhealthyForIsRespected) {
  json spec = GroupSpec();
  spec["detection"]["unhealthyFor"] = "4s";
  StartActivePassive(spec);
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(WaitReady("a-0", false));
  // For the next 2 s (well inside unhealthyFor) the Service stays on site-a.
  const auto until = std::chrono::steady_clock::now() + seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(ServiceMember(), "site-a") << "switched before unhealthyFor elapsed";
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }, seconds(20)));
  ASSERT_TRUE(Wait([&] { return Status("activeMember") == "site-b" && Status("switch").empty(); }));
  json lt = GetGroup()["status"]["lastTransition"];
  const double waited = SecondsBetween(lt.value("detectedAt", ""), lt.value("completedAt", ""));
  EXPECT_GE(waited, 4.0 - 0.01) << lt.dump();
}

TEST_F(OperatorTest, AutomaticFailbackAfterStabilizationWindow) {
  json spec = GroupSpec();
  spec["failback"] = {{"policy", "Automatic"}, {"stabilizationWindow", "3s"}};
  StartActivePassive(spec);
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }));
  ASSERT_TRUE(Recover("a-0"));
  ASSERT_TRUE(WaitReady("a-0"));
  const auto until = std::chrono::steady_clock::now() + milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(ServiceMember(), "site-b") << "failed back before the stabilization window";
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-a" && Status("activeMember") == "site-a"; }, seconds(20)));
  json st = GetGroup()["status"];
  EXPECT_EQ(st["lastTransition"].value("reason", ""), "Failback");
  EXPECT_EQ(st["lastTransition"].value("from", ""), "site-b");
  EXPECT_EQ(st.value("failoverCount", 0), 2);
  EXPECT_TRUE(Wait([&] { return Role("a-0") == "active" && Role("b-0") == "standby"; }));
  EXPECT_TRUE(Wait([&] { return HasEvent("FailbackCompleted"); }, seconds(10)));
}

TEST_F(OperatorTest, ManualFailbackThroughTheSwitchoverAnnotation) {
  StartActivePassive(GroupSpec());
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }));
  ASSERT_TRUE(Recover("a-0"));
  ASSERT_TRUE(WaitReady("a-0"));
  std::this_thread::sleep_for(seconds(4));  // past the stabilization window: Manual stays
  ASSERT_EQ(ServiceMember(), "site-b");

  auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, "db", kube::PatchType::kMerge,
                          R"({"metadata":{"annotations":{"failover.io/switchover-to":"site-a"}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-a" && Status("activeMember") == "site-a"; }));
  ASSERT_TRUE(Wait([&] {
    return !GetGroup()["metadata"].value("annotations", json::object()).contains("failover.io/switchover-to");
  })) << "the annotation was not cleared";
  EXPECT_EQ(GetGroup()["status"]["lastTransition"].value("reason", ""), "Switchover");
  EXPECT_TRUE(Wait([&] { return Role("a-0") == "active" && Role("b-0") == "standby"; }));

  // A switchover to an unhealthy member is refused, and nothing changes.
  ASSERT_TRUE(Fail("b-0"));
  ASSERT_TRUE(WaitReady("b-0", false));
  r = client_->Patch(kube::resources::kFailoverGroups, ns_, "db", kube::PatchType::kMerge,
                     R"({"metadata":{"annotations":{"failover.io/switchover-to":"site-b"}}})");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Wait([&] { return HasEvent("SwitchoverRefused"); }, seconds(10))) << ::testing::PrintToString(EventReasons());
  EXPECT_EQ(ServiceMember(), "site-a");
}

TEST_F(OperatorTest, EveryMemberDownDegradesAndLeavesTheService) {
  StartActivePassive(GroupSpec());
  ASSERT_TRUE(Fail("b-0"));
  ASSERT_TRUE(WaitReady("b-0", false));
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(WaitReady("a-0", false));
  ASSERT_TRUE(Wait([&] { return Status("phase") == "Degraded"; })) << GetGroup()["status"].dump();
  std::this_thread::sleep_for(seconds(2));  // past unhealthyFor
  EXPECT_EQ(ServiceMember(), "site-a");
  EXPECT_EQ(Status("activeMember"), "site-a");
  EXPECT_EQ(Role("a-0"), "active");
  json g = GetGroup();
  EXPECT_EQ(ConditionOf(g, "StandbyAvailable"), "False");
  EXPECT_EQ(ConditionOf(g, "Degraded"), "True");
  EXPECT_EQ(g["status"].value("failoverCount", 0), 0);
  EXPECT_TRUE(Wait([&] { return HasEvent("NoHealthyMember"); }, seconds(10))) << ::testing::PrintToString(EventReasons());
}

TEST_F(OperatorTest, InvalidSpecGetsConditionAndEventAndNothingChanges) {
  CreatePod("a-0", "a");
  CreatePod("b-0", "b");
  CreateService();
  ASSERT_TRUE(WaitReady("a-0"));
  operator_->Start();
  json spec = GroupSpec();
  spec["members"][1]["name"] = "site-a";  // duplicate member names
  // Refused at admission today; stored as before the CRD had its rules, the operator's
  // own validation must catch it.
  StoreBeforeAdmissionRules([&] { CreateGroup(spec); });
  ASSERT_TRUE(Wait([&] { return ConditionOf(GetGroup(), "InvalidSpec") == "True"; })) << GetGroup().dump();
  const std::string message = ConditionOf(GetGroup(), "InvalidSpec", "message");
  EXPECT_NE(message.find("spec.members[1].name"), std::string::npos) << message;
  EXPECT_TRUE(Wait([&] { return HasEvent("InvalidSpec"); }, seconds(10)));
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(GetService()["spec"]["selector"], json({{"app", "db"}}));
  EXPECT_EQ(Role("a-0"), "");
  EXPECT_EQ(Role("b-0"), "");
  EXPECT_EQ(Status("activeMember"), "");
}

// Deleting a group under load: the Service gets its own selector back before the pods
// lose the labels it selected them by, so not one request fails.
TEST_F(OperatorTest, DeletingTheGroupUnderLoadGivesTheServiceBackWithoutAFailedRequest) {
  const int port = StartActivePassive(GroupSpec());
  json fg = GetGroup();
  const auto finalizers = fg["metadata"].value("finalizers", json::array());
  EXPECT_NE(std::find(finalizers.begin(), finalizers.end(), "failover.io/finalizer"), finalizers.end());
  json svc = GetService();
  EXPECT_EQ(svc["metadata"]["annotations"].value("failover.io/original-selector", ""), R"({"app":"db"})");
  EXPECT_EQ(svc["metadata"]["labels"].value("failover.io/group", ""), "db");
  ASSERT_TRUE(Wait([&] { return ServedBy(port) == "a-0"; }, seconds(90))) << TrafficReport();

  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::thread load([&] {
    while (!stop) {
      const auto at = std::chrono::system_clock::now();
      if (ServedBy(port).empty()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(std::to_string(std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count()));
      } else {
        ++served;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  ASSERT_TRUE(client_->Delete(kube::resources::kFailoverGroups, ns_, "db").ok());
  const bool gone = Wait([&] { return GetGroup().is_null(); });
  std::this_thread::sleep_for(seconds(3));  // and after: the pods without the group's labels
  stop = true;
  load.join();
  ASSERT_TRUE(gone) << GetGroup().dump();
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << (served + static_cast<int>(failures.size()))
                                << " requests failed (at ms " << ::testing::PrintToString(failures) << ")\n"
                                << TrafficReport();
  EXPECT_GT(served.load(), 20);

  svc = GetService();
  EXPECT_EQ(svc["spec"]["selector"], (json{{"app", "db"}})) << "its own selector back: " << svc.dump();
  EXPECT_FALSE(svc["metadata"].value("annotations", json::object()).contains("failover.io/active-member"));
  EXPECT_FALSE(svc["metadata"].value("annotations", json::object()).contains("failover.io/original-selector"));
  EXPECT_FALSE(svc["metadata"].value("labels", json::object()).contains("failover.io/group"));
  for (const char* pod : {"a-0", "b-0"}) {
    json labels = GetPod(pod)["metadata"].value("labels", json::object());
    EXPECT_FALSE(labels.contains("failover.io/role")) << pod << " " << labels.dump();
    EXPECT_FALSE(labels.contains("failover.io/group")) << pod << " " << labels.dump();
    EXPECT_FALSE(labels.contains("failover.io/member")) << pod << " " << labels.dump();
  }
  EXPECT_TRUE(HasEvent("ServiceReleased"));
}

TEST_F(OperatorTest, KubectlGetShowsThePrinterColumns) {
  StartActivePassive(GroupSpec());
  ASSERT_TRUE(Wait([&] { return Status("phase") == "Healthy"; }));
  // A fresh discovery cache: one cached from an earlier cluster on the same port lacks the CRD.
  const std::string cache = log_path_ + ".kubectl-cache";
  auto r = testsupport::kubectl({"--cache-dir", cache, "get", "fg", "-n", ns_});
  testsupport::run_command({"rm", "-rf", cache});
  ASSERT_TRUE(r.ok()) << r.err;
  std::istringstream lines(r.out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  for (const char* col : {"NAME", "ACTIVE", "PHASE", "HEALTHY", "FAILOVERS", "AGE"}) {
    EXPECT_NE(header.find(col), std::string::npos) << col << " missing in: " << header;
  }
  std::istringstream cells(row);
  std::vector<std::string> v;
  for (std::string c; cells >> c;) v.push_back(c);
  ASSERT_GE(v.size(), 6u) << row;
  EXPECT_EQ(v[0], "db");
  EXPECT_EQ(v[1], "site-a");
  EXPECT_EQ(v[2], "Healthy");
  EXPECT_EQ(v[3], "2/2");
  EXPECT_EQ(v[4], "0");
}

}  // namespace
}  // namespace failover_it
