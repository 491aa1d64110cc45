// The operator under trouble: a flapping primary, a SIGKILL in the middle of a switch,
// a member that kubelet's readiness calls Ready but the operator-side probe does not.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "operator_fixture.h"

namespace failover_it {
namespace {

// An HTTP hook endpoint that answers 200 after `delay`, counting calls.
class SlowHookServer {
 public:
  explicit SlowHookServer(milliseconds delay) : delay_(delay) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(req.body);
      }
      calls_.fetch_add(1);
      std::this_thread::sleep_for(delay_);
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~SlowHookServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  int calls() const { return calls_.load(); }
  std::string first_body() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_.empty() ? "" : bodies_.front();
  }

 private:
  milliseconds delay_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

// failover-chaos-proxy (e2e/tools) as a child process in front of the test cluster's
// apiserver, with a kubeconfig that points at it.
class ChaosProxy {
 public:
  explicit ChaosProxy(const std::string& name) {
    const std::string kubeconfig = testsupport::kubeconfig_path();
    const std::string dir = kubeconfig.substr(0, kubeconfig.rfind('/') + 1);  // relative paths stay valid
    port_file_ = dir + name + ".ports";
    kubeconfig_ = dir + name + ".kubeconfig";
    std::remove(port_file_.c_str());
    const std::string url = Env("FO_APISERVER_URL");
    const std::string upstream = url.substr(url.find("://") + 3);
    const std::string bin = std::string(std::getenv("FO_BIN_DIR") ? std::getenv("FO_BIN_DIR") : "") +
                            "/failover-chaos-proxy";
    std::vector<std::string> args = {bin, "--upstream", upstream, "--port-file", port_file_};
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    std::string ports;
    testsupport::wait_until([&] {
      std::ifstream f(port_file_);
      std::getline(f, ports);
      return !ports.empty();
    }, seconds(10));
    if (std::sscanf(ports.c_str(), "listen=%d admin=%d", &listen_port_, &admin_port_) != 2) return;
    std::ifstream in(kubeconfig);
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    const std::string via = "https://127.0.0.1:" + std::to_string(listen_port_);
    for (size_t at = config.find(url); at != std::string::npos; at = config.find(url, at + via.size())) {
      config.replace(at, url.size(), via);
    }
    std::ofstream(kubeconfig_) << config;
  }
  ~ChaosProxy() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(port_file_.c_str());
    std::remove(kubeconfig_.c_str());
  }
  bool ok() const { return pid_ > 0 && admin_port_ > 0; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  bool Admin(const std::string& path) { return !HttpGet("127.0.0.1", admin_port_, path).empty(); }

 private:
  pid_t pid_ = -1;
  int listen_port_ = 0;
  int admin_port_ = 0;
  std::string port_file_;
  std::string kubeconfig_;
};

// The value of a counter series in the operator's /metrics text (-1 when absent).
double MetricValue(const std::string& metrics, const std::string& series) {
  const std::string prefix = series + " ";
  for (size_t at = metrics.find(prefix); at != std::string::npos; at = metrics.find(prefix, at + 1)) {
    if (at == 0 || metrics[at - 1] == '\n') return std::atof(metrics.c_str() + at + prefix.size());
  }
  return -1;
}

// The apiserver connection goes silent while staying open (the chaos proxy's black hole:
// nothing passes either way, closes included): the operator cuts its silent watches within
// the bound (the watch timeout it asks for plus kube::kWatchGrace), and once the black hole
// ends it catches up on what changed meanwhile within the bound again: the active member's
// failure, which happened during the black hole, is seen and failed over. Before this was
// fixed the watches asked for 5-10 minutes and waited that long plus 30 s for bytes.
TEST_F(OperatorTest, ASilentApiserverConnectionIsNoticedAndCaughtUpWithinTheWatchBound) {
  ChaosProxy proxy("chaos-" + ns_);
  ASSERT_TRUE(proxy.ok()) << "failover-chaos-proxy did not start";
  // A short watch timeout keeps the test short; the default bound (25 s) is proven on a
  // fake clock (kube_list_watch_test: ASilentWatchIsCutAtItsTimeoutPlusGraceAndResumed...).
  constexpr auto kWatchTimeout = seconds(4);
  const auto bound = kWatchTimeout + kube::kWatchGrace;
  operator_->UseKubeconfig(proxy.kubeconfig());
  operator_->AddArgs({"--watch-timeout", "4s"});
  StartActivePassive(GroupSpec());
  ASSERT_FALSE(HasFailure());
  const std::string pods_stalls = "failover_operator_informer_watch_stalls_total{resource=\"pods\"}";
  EXPECT_EQ(MetricValue(operator_->Metrics(), pods_stalls), 0) << "series missing or stalls before the fault";

  ASSERT_TRUE(proxy.Admin("/blackhole/on"));
  const auto t0 = std::chrono::steady_clock::now();
  // Reaches the apiserver (the node agent's status write), not the operator.
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return MetricValue(operator_->Metrics(), pods_stalls) >= 1; }, bound + seconds(5)))
      << "the silent pods watch was not cut within " << bound.count() << " s (+5 s slack)\n"
      << operator_->Metrics();
  const auto noticed = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(WaitReady("a-0", false));
  EXPECT_EQ(ServiceMember(), "site-a") << "nothing was seen or written through the black hole";
  // Still in the black hole a while longer: the watches opened into it stay dead too.
  std::this_thread::sleep_for(seconds(2));
  ASSERT_TRUE(proxy.Admin("/blackhole/off"));
  const auto t1 = std::chrono::steady_clock::now();
  // The pods watch opened during the black hole is cut by its own deadline at the latest,
  // resumes, delivers a-0's Ready=False; unhealthyFor (1 s) later the switch.
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }, bound + seconds(1) + seconds(10)))
      << "the operator did not catch up within the bound after the black hole ended\n"
      << operator_->Metrics();
  const auto caught_up = std::chrono::steady_clock::now() - t1;
  std::printf("silent watch noticed after %lld ms, caught up %lld ms after the black hole ended (bound %lld s)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(noticed).count()),
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(caught_up).count()),
              static_cast<long long>(bound.count()));
  EXPECT_TRUE(Wait([&] { return Status("activeMember") == "site-b"; }));
  EXPECT_NE(operator_->Log().find("watch silent, resuming"), std::string::npos);
}

TEST_F(OperatorTest, FlappingPrimaryIsBoundedByTheAntiFlapBudget) {
  json spec = GroupSpec();
  spec["detection"]["unhealthyFor"] = "0s";
  spec["antiFlap"] = {{"maxFailovers", 2}, {"window", "10m"}};
  StartActivePassive(spec);

  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }));
  ASSERT_TRUE(Recover("a-0"));
  ASSERT_TRUE(WaitReady("a-0"));
  ASSERT_TRUE(Fail("b-0"));
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-a"; }));
  ASSERT_TRUE(Recover("b-0"));
  ASSERT_TRUE(WaitReady("b-0"));
  ASSERT_TRUE(Wait([&] { return Status("failoverCount") == "2"; }));

  // The third failure inside the window: held, Degraded, and said so.
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(WaitReady("a-0", false));
  ASSERT_TRUE(Wait([&] { return ConditionOf(GetGroup(), "Degraded", "reason") == "FailoverBudgetExhausted"; }))
      << GetGroup()["status"].dump();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(ServiceMember(), "site-a");
  EXPECT_EQ(Status("failoverCount"), "2");
  EXPECT_EQ(Status("phase"), "Degraded");
  EXPECT_TRUE(Wait([&] { return HasEvent("FailoverBudgetExhausted"); }, seconds(10)))
      << ::testing::PrintToString(EventReasons());
}

TEST_F(OperatorTest, OperatorKilledDuringASwitchFinishesItAfterRestart) {
  SlowHookServer hook(seconds(3));
  json spec = GroupSpec();
  spec["hooks"] = {{"prePromote", {{"url", hook.url()}, {"timeout", "10s"}, {"retries", 0}}}};
  StartActivePassive(spec);

  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return hook.calls() >= 1; })) << "the pre-promote hook was never called";
  // The switch has started (recorded in status) and waits on the hook: kill the operator now.
  operator_->Kill();
  json st = GetGroup()["status"];
  ASSERT_TRUE(st.contains("switch") && st["switch"].is_object()) << st.dump();
  EXPECT_EQ(st["switch"].value("to", ""), "site-b");
  EXPECT_EQ(ServiceMember(), "site-a") << "BreakBeforeMake: nothing moves before the pre-promote hook";
  json body = json::parse(hook.first_body(), nullptr, false);
  EXPECT_EQ(body.value("from", ""), "site-a");
  EXPECT_EQ(body.value("to", ""), "site-b");

  operator_->Start();
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b" && Status("activeMember") == "site-b"; }, seconds(40)));
  ASSERT_TRUE(Wait([&] { return Status("switch").empty(); })) << GetGroup()["status"].dump();
  EXPECT_EQ(Status("failoverCount"), "1");
  EXPECT_GE(hook.calls(), 2) << "the restarted operator calls the hook again";
  EXPECT_TRUE(Wait([&] { return Role("b-0") == "active" && Role("a-0") == "fenced"; }));
  EXPECT_TRUE(Wait([&] { return ServedBy(GetService()["spec"]["ports"][0].value("nodePort", 0)) == "b-0"; }));
}

TEST_F(OperatorTest, HangingHookOfOneGroupDoesNotDelayAnother) {
  // Group "db" waits on a hook that takes 12 s; group "web" in the same operator fails over at once.
  SlowHookServer hook(seconds(12));
  json spec = GroupSpec();
  spec["hooks"] = {{"prePromote", {{"url", hook.url()}, {"timeout", "30s"}, {"retries", 0}}}};
  StartActivePassive(spec);

  for (const char* p : {"w-a", "w-b"}) {
    json pod = DemoPod(p, {{"app", "web"}, {"site", std::string(1, p[2])}});
    ASSERT_TRUE(client_->Create(kube::resources::kPods, ns_, pod).ok());
  }
  json web_svc = {{"apiVersion", "v1"}, {"kind", "Service"},
                  {"metadata", {{"name", "web"}, {"namespace", ns_}}},
                  {"spec", {{"selector", {{"app", "web"}}}, {"ports", json::array({{{"port", 80}, {"targetPort", 8080}}})}}}};
  ASSERT_TRUE(client_->Create(kube::resources::kServices, ns_, web_svc).ok());
  // Both members Ready before the group exists, as for db: a group that exists first takes
  // whichever member turns Ready first (their probes run on independent timers), and with
  // Manual failback it stays there.
  ASSERT_TRUE(WaitReady("w-a"));
  ASSERT_TRUE(WaitReady("w-b"));
  json web = {{"apiVersion", "failover.io/v1alpha1"}, {"kind", "FailoverGroup"},
              {"metadata", {{"name", "web"}, {"namespace", ns_}}}, {"spec", GroupSpec()}};
  web["spec"]["members"][0]["selector"]["matchLabels"]["app"] = "web";
  web["spec"]["members"][1]["selector"]["matchLabels"]["app"] = "web";
  web["spec"]["services"] = json::array({{{"name", "web"}}});
  ASSERT_TRUE(client_->Create(kube::resources::kFailoverGroups, ns_, web).ok());
  auto web_member = [&] {
    auto s = client_->Get(kube::resources::kServices, ns_, "web");
    return s.ok() ? (*s)["spec"].value("selector", json::object()).value("failover.io/member", "") : "";
  };
  auto web_status = [&] {
    auto g = client_->Get(kube::resources::kFailoverGroups, ns_, "web");
    return g.ok() ? g->value("status", json::object()).dump() : g.status().ToString();
  };
  ASSERT_TRUE(Wait([&] { return web_member() == "site-a"; })) << web_status();

  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return hook.calls() >= 1; }));
  ASSERT_TRUE(HttpPost(GetPod("w-a")["status"].value("podIP", ""), 8080, "/fail"));
  ASSERT_TRUE(Wait([&] { return web_member() == "site-b"; }, seconds(10)))
      << "group web waited behind group db's hook";
  EXPECT_EQ(ServiceMember(), "site-a") << "db is still waiting on its hook";
  client_->Delete(kube::resources::kFailoverGroups, ns_, "web");
  Wait([&] { return !client_->Get(kube::resources::kFailoverGroups, ns_, "web").ok(); }, seconds(10));
}

TEST_F(OperatorTest, OperatorSideProbeCatchesWhatReadinessMisses) {
  // kubelet's readiness checks /healthz (stays 200 after POST /fail); the operator's probe
  // checks /ready (503 after POST /fail).
  for (auto [name, site] : {std::pair{"a-0", "a"}, std::pair{"b-0", "b"}}) {
    json pod = DemoPod(name, {{"app", "db"}, {"site", site}});
    pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/healthz";
    ASSERT_TRUE(client_->Create(kube::resources::kPods, ns_, pod).ok());
  }
  CreateService();
  ASSERT_TRUE(WaitReady("a-0"));
  ASSERT_TRUE(WaitReady("b-0"));
  operator_->Start();
  json spec = GroupSpec();
  spec["detection"]["probe"] = {{"http", {{"path", "/ready"}, {"port", 8080}}},
                                {"period", "500ms"}, {"timeout", "400ms"}, {"failureThreshold", 2}};
  CreateGroup(spec);
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-a"; })) << GetGroup().dump();
  ASSERT_TRUE(Fail("a-0"));
  ASSERT_TRUE(Wait([&] { return ServiceMember() == "site-b"; }, seconds(20))) << GetGroup()["status"].dump();
  EXPECT_TRUE(PodReady(GetPod("a-0"))) << "kubelet still calls a-0 Ready; only the probe saw it fail";
}

}  // namespace
}  // namespace failover_it
