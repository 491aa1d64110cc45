// The harness against the real local control plane: the node agent and service proxy
// that scripts/cluster.sh started run the pods and carry the traffic of these tests.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "kube/client.h"
#include "kube/config.h"
#include "support/namespace_fixture.h"
#include "support/pod_process.h"
#include "support/wait.h"

namespace harness {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

bool WaitFor(const std::function<bool()>& done, milliseconds timeout, milliseconds every = milliseconds(50)) {
  return testsupport::wait_until(done, timeout, every);
}

std::string Condition(const json& pod, const std::string& type) { return testsupport::ConditionOf(pod, type); }

using testsupport::HttpGet;
using testsupport::HttpPost;
using testsupport::PodReady;
using testsupport::ProcessAlive;

// The pod that answered a demo-app GET /, or "".
std::string Answerer(const std::string& body) { return testsupport::AnsweringPod(body); }

// Records every Ready value a watch saw per pod name, so short NotReady windows count.
class ReadyRecorder {
 public:
  ReadyRecorder(std::shared_ptr<kube::Client> client, std::string ns)
      : client_(std::move(client)), ns_(std::move(ns)) {
    thread_ = std::thread([this] {
      std::string rv;
      while (!cancel_.cancelled()) {
        if (rv.empty()) {
          auto list = client_->List(kube::resources::kPods, ns_);
          if (!list.ok()) continue;
          for (const auto& p : (*list)["items"]) Record(p);
          rv = (*list)["metadata"].value("resourceVersion", "");
        }
        kube::WatchOptions wo;
        wo.resource_version = rv;
        auto st = client_->Watch(
            kube::resources::kPods, ns_, wo,
            [&](kube::WatchEvent&& ev) {
              if (ev.type == kube::WatchEvent::Type::kAdded || ev.type == kube::WatchEvent::Type::kModified) {
                Record(ev.object);
                rv = ev.object["metadata"].value("resourceVersion", rv);
              }
              return true;
            },
            &cancel_);
        if (st.IsExpired()) rv.clear();
      }
    });
  }
  ~ReadyRecorder() {
    cancel_.Cancel();
    thread_.join();
  }
  std::vector<std::string> Seen(const std::string& pod) {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_[pod];
  }

 private:
  void Record(const json& pod) {
    std::string v = Condition(pod, "Ready");
    if (v.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = seen_[pod["metadata"].value("name", "")];
    if (list.empty() || list.back() != v) list.push_back(v);
  }

  std::shared_ptr<kube::Client> client_;
  std::string ns_;
  kube::WatchCancel cancel_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> seen_;
  std::thread thread_;
};

class HarnessTest : public testsupport::NamespaceTest {
 protected:
  void SetUp() override {
    // The namespace says which test made it: "harness-<test-name-in-kebab-case>-...".
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string lower;
    for (char c : test) {
      if (std::isupper(static_cast<unsigned char>(c))) {
        if (!lower.empty()) lower += '-';
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else {
        lower += c;
      }
    }
    SetUpNamespace("harness-" + lower);
  }

  json DemoPod(const std::string& name, const json& labels, const json& extra_container = json::object()) {
    json container = {{"name", "app"},
                      {"image", "example.registry/failover-demo-app:test"},
                      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})},
                      {"readinessProbe",
                       {{"httpGet", {{"path", "/ready"}, {"port", "http"}}},
                        {"periodSeconds", 1},
                        {"successThreshold", 1},
                        {"failureThreshold", 2}}}};
    container.merge_patch(extra_container);
    return json{{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", ns_}, {"labels", labels}}},
                {"spec",
                 {{"nodeName", node_},
                  {"terminationGracePeriodSeconds", 5},
                  {"containers", json::array({container})}}}};
  }

  json CreatePod(const json& pod) {
    auto r = client_->Create(kube::resources::kPods, ns_, pod);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }

  bool WaitPod(const std::string& name, const std::function<bool(const json&)>& pred,
               milliseconds timeout = milliseconds(20000)) {
    return WaitFor([&] {
      json p = GetPod(name);
      return !p.is_null() && pred(p);
    }, timeout);
  }

};

TEST_F(HarnessTest, PodBecomesReadyWithinProbePeriodAfterItsProcessListens) {
  json pod = DemoPod("web", {{"app", "web"}});
  pod["spec"]["containers"][0]["readinessProbe"]["periodSeconds"] = 2;
  pod["spec"]["containers"][0]["readinessProbe"]["successThreshold"] = 2;
  CreatePod(pod);
  ASSERT_TRUE(WaitPod("web", [](const json& p) { return !p["status"].value("podIP", "").empty(); }))
      << "the node agent never assigned a podIP: is it running? " << GetPod("web").dump();
  std::string ip = PodIP("web");
  ASSERT_TRUE(WaitFor([&] { return !HttpGet(ip, 8080, "/healthz").empty(); }, seconds(20)));
  auto listening = Clock::now();
  ASSERT_TRUE(WaitPod("web", PodReady));
  double took = std::chrono::duration<double>(Clock::now() - listening).count();
  std::printf("pod Ready %.2f s after its process listened (periodSeconds 2 x successThreshold 2)\n", took);
  EXPECT_LE(took, 2 * 2 + 2.0);

  json p = GetPod("web");
  const json& st = p["status"];
  EXPECT_EQ(st["phase"], "Running");
  EXPECT_EQ(st["hostIP"], node_ip_);
  EXPECT_EQ(st["podIPs"][0]["ip"], ip);
  const std::string cidr = testsupport::cluster_value("FO_POD_CIDR").value_or("");
  EXPECT_EQ(ip.rfind(cidr.substr(0, cidr.find(".0.0/")), 0), 0u) << ip;
  EXPECT_TRUE(st.contains("startTime"));
  const json& cs = st["containerStatuses"][0];
  EXPECT_EQ(cs["name"], "app");
  EXPECT_EQ(cs["ready"], true);
  EXPECT_EQ(cs["started"], true);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_TRUE(cs["state"].contains("running"));
  for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
    EXPECT_EQ(Condition(p, type), "True") << type;
  }
  EXPECT_EQ(Answerer(HttpGet(ip, 8080)), "web");
}

TEST_F(HarnessTest, FailMakesNotReadyAfterFailureThresholdAndRecoverUndoes) {
  CreatePod(DemoPod("web", {{"app", "web"}}));
  ASSERT_TRUE(WaitPod("web", PodReady));
  std::string ip = PodIP("web");
  std::string ready_since;
  // Hold the pod: a range-for over a member of a temporary reads freed memory.
  const json ready_pod = GetPod("web");
  for (const auto& c : ready_pod["status"]["conditions"]) {
    if (c["type"] == "Ready") ready_since = c["lastTransitionTime"];
  }
  ASSERT_TRUE(HttpPost(ip, 8080, "/fail"));
  auto failed = Clock::now();
  ASSERT_TRUE(WaitPod("web", [](const json& p) { return Condition(p, "Ready") == "False"; }));
  double took = std::chrono::duration<double>(Clock::now() - failed).count();
  std::printf("pod NotReady %.2f s after POST /fail (failureThreshold 2 x periodSeconds 1)\n", took);
  EXPECT_LE(took, 2 * 1 + 2.0);
  json p = GetPod("web");
  EXPECT_EQ(p["status"]["phase"], "Running");
  EXPECT_EQ(p["status"]["containerStatuses"][0]["ready"], false);
  EXPECT_EQ(p["status"]["containerStatuses"][0]["restartCount"], 0) << "readiness must not restart";

  ASSERT_TRUE(HttpPost(ip, 8080, "/recover"));
  ASSERT_TRUE(WaitPod("web", PodReady, milliseconds(5000)));
  const json recovered_pod = GetPod("web");
  for (const auto& c : recovered_pod["status"]["conditions"]) {
    if (c["type"] == "PodScheduled") {
      EXPECT_LE(c["lastTransitionTime"].get<std::string>(), ready_since);
    }
  }
}

TEST_F(HarnessTest, SigkillMakesNotReadyAndRestartsPerRestartPolicy) {
  ReadyRecorder recorder(client_, ns_);
  CreatePod(DemoPod("always", {{"app", "web"}}));
  json never = DemoPod("never", {{"app", "web"}});
  never["spec"]["restartPolicy"] = "Never";
  CreatePod(never);
  ASSERT_TRUE(WaitPod("always", PodReady));
  ASSERT_TRUE(WaitPod("never", PodReady));
  pid_t pid = testsupport::find_pod_process(ns_, "always");
  ASSERT_GT(pid, 0) << "no demo-app process with POD_NAME=always";
  ASSERT_EQ(kill(pid, SIGKILL), 0);

  ASSERT_TRUE(WaitPod("always", [](const json& p) {
    return p["status"]["containerStatuses"][0].value("restartCount", 0) == 1 && PodReady(p);
  })) << GetPod("always")["status"].dump();
  // The recorder's watch can deliver the last transition after the GET above saw it.
  std::vector<std::string> seen;
  EXPECT_TRUE(WaitFor([&] {
    seen = recorder.Seen("always");
    return seen.size() >= 3 && seen.back() == "True";
  }, seconds(5))) << "expected Ready True -> False -> True";
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[seen.size() - 2], "False");
  json cs = GetPod("always")["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 137);
  pid_t restarted = testsupport::find_pod_process(ns_, "always");
  EXPECT_GT(restarted, 0);
  EXPECT_NE(restarted, pid);

  pid_t never_pid = testsupport::find_pod_process(ns_, "never");
  ASSERT_GT(never_pid, 0);
  ASSERT_EQ(kill(never_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitPod("never", [](const json& p) { return p["status"].value("phase", "") == "Failed"; }))
      << GetPod("never")["status"].dump();
  json n = GetPod("never");
  EXPECT_EQ(Condition(n, "Ready"), "False");
  EXPECT_EQ(n["status"]["containerStatuses"][0]["restartCount"], 0);
  EXPECT_EQ(n["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137);
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(testsupport::find_pod_process(ns_, "never"), 0) << "restartPolicy Never must not restart";
}

TEST_F(HarnessTest, LivenessFailureRestartsTheProcess) {
  json live = {{"livenessProbe",
                {{"httpGet", {{"path", "/no-such-path"}, {"port", 8080}}},
                 {"periodSeconds", 1},
                 {"failureThreshold", 2}}},
               {"readinessProbe", nullptr}};
  CreatePod(DemoPod("web", {{"app", "web"}}, live));
  ASSERT_TRUE(WaitPod("web", [](const json& p) {
    return p["status"].value("containerStatuses", json::array()).size() == 1 &&
           p["status"]["containerStatuses"][0].value("restartCount", 0) >= 1;
  })) << GetPod("web")["status"].dump();
}

TEST_F(HarnessTest, ProxyReachesOnlyReadyEndpointsAndFollowsSelectorChange) {
  const std::string app = "web";
  CreatePod(DemoPod("site-a", {{"app", app}, {"site", "a"}}));
  CreatePod(DemoPod("site-b", {{"app", app}, {"site", "b"}}));
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "web"}, {"namespace", ns_}}},
              {"spec",
               {{"type", "NodePort"},
                {"selector", {{"app", app}}},
                {"ports", json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}})}}}};
  auto created = client_->Create(kube::resources::kServices, ns_, svc);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  int node_port = (*created)["spec"]["ports"][0].value("nodePort", 0);
  ASSERT_GT(node_port, 0);
  const std::string node_ip = node_ip_;
  ASSERT_TRUE(WaitPod("site-a", PodReady));
  ASSERT_TRUE(WaitPod("site-b", PodReady));

  // Both ready: round robin reaches both.
  std::set<std::string> answered;
  ASSERT_TRUE(WaitFor([&] {
    answered.insert(Answerer(HttpGet(node_ip, node_port)));
    return answered.count("site-a") && answered.count("site-b");
  }, seconds(15))) << "through the proxy on " << node_ip << ":" << node_port;

  // site-b not ready: only site-a answers.
  ASSERT_TRUE(HttpPost(PodIP("site-b"), 8080, "/fail"));
  ASSERT_TRUE(WaitPod("site-b", [](const json& p) { return Condition(p, "Ready") == "False"; }));
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 6; ++i) {
      if (Answerer(HttpGet(node_ip, node_port)) != "site-a") return false;
    }
    return true;
  }, seconds(5)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Answerer(HttpGet(node_ip, node_port)), "site-a");
  ASSERT_TRUE(HttpPost(PodIP("site-b"), 8080, "/recover"));
  ASSERT_TRUE(WaitPod("site-b", PodReady));

  // Selector change a -> b: measure until every answer comes from site-b.
  auto patch = [&](const std::string& site) {
    json body = {{"spec", {{"selector", {{"app", app}, {"site", site}}}}}};
    auto r = client_->Patch(kube::resources::kServices, ns_, "web", kube::PatchType::kMerge, body.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  patch("a");
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 4; ++i) {
      if (Answerer(HttpGet(node_ip, node_port)) != "site-a") return false;
    }
    return true;
  }, seconds(5)));
  auto changed = Clock::now();
  patch("b");
  Clock::time_point switched{};
  ASSERT_TRUE(WaitFor([&] {
    if (Answerer(HttpGet(node_ip, node_port)) != "site-b") {
      switched = Clock::time_point{};
      return false;
    }
    if (switched == Clock::time_point{}) switched = Clock::now();
    return Clock::now() - switched > milliseconds(300);
  }, seconds(10), milliseconds(10)));
  double took = std::chrono::duration<double>(switched - changed).count();
  std::printf("proxy traffic followed the selector change a -> b in %.3f s\n", took);
  EXPECT_LT(took, 3.0) << "the switch should take about a second";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Answerer(HttpGet(node_ip, node_port)), "site-b");
}

TEST_F(HarnessTest, DeletingAPodStopsItsProcessAndFinishesTheDeletion) {
  CreatePod(DemoPod("web", {{"app", "web"}}));
  ASSERT_TRUE(WaitPod("web", PodReady));
  pid_t pid = testsupport::find_pod_process(ns_, "web");
  ASSERT_GT(pid, 0);
  auto del = client_->Delete(kube::resources::kPods, ns_, "web");
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, seconds(10))) << "pid " << pid << " still runs";
  EXPECT_TRUE(WaitFor([&] {
    auto r = client_->Get(kube::resources::kPods, ns_, "web");
    return !r.ok() && r.status().IsNotFound();
  }, seconds(10))) << "the agent did not finish the deletion";
}

TEST_F(HarnessTest, UnsupportedImageFailsWithAClearReason) {
  json pod = DemoPod("nginx", {{"app", "x"}});
  pod["spec"]["containers"][0]["image"] = "nginx:1.21";
  CreatePod(pod);
  ASSERT_TRUE(WaitPod("nginx", [](const json& p) { return p["status"].value("phase", "") == "Failed"; }));
  json p = GetPod("nginx");
  EXPECT_EQ(p["status"]["reason"], "UnsupportedImage");
  EXPECT_NE(p["status"].value("message", "").find("failover-demo-app"), std::string::npos);
  EXPECT_EQ(p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "UnsupportedImage");
}

TEST_F(HarnessTest, VirtualPodReadinessFollowsTheAnnotation) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "v"}, {"namespace", ns_}}},
              {"spec",
               {{"nodeName", node_},
                {"containers", json::array({{{"name", "c"}, {"image", "failover.io/virtual"}}})}}}};
  CreatePod(pod);
  ASSERT_TRUE(WaitPod("v", PodReady));
  EXPECT_FALSE(GetPod("v")["status"].value("podIP", "").empty());
  auto annotate = [&](const std::string& v) {
    json body = {{"metadata", {{"annotations", {{"harness.failover.io/ready", v}}}}}};
    auto r = client_->Patch(kube::resources::kPods, ns_, "v", kube::PatchType::kMerge, body.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  annotate("false");
  ASSERT_TRUE(WaitPod("v", [](const json& p) { return Condition(p, "Ready") == "False"; }, milliseconds(5000)));
  EXPECT_EQ(GetPod("v")["status"]["phase"], "Running");
  annotate("true");
  ASSERT_TRUE(WaitPod("v", PodReady, milliseconds(5000)));
  auto del = client_->Delete(kube::resources::kPods, ns_, "v");
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(WaitFor([&] {
    auto r = client_->Get(kube::resources::kPods, ns_, "v");
    return !r.ok() && r.status().IsNotFound();
  }, seconds(10)));
}

}  // namespace
}  // namespace harness
