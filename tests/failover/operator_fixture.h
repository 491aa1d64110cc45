// Shared fixture of the operator integration tests: a namespace per test, demo-app pods
// run by the harness node agent, a NodePort Service through the harness proxy, and the
// failover-operator binary started as a child process watching only that namespace.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster_env.h"
#include "support/command.h"
#include "support/names.h"
#include "support/namespace_fixture.h"
#include "support/pod_process.h"
#include "support/wait.h"

namespace failover_it {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline std::string Env(const char* key) {
  auto v = testsupport::cluster_value(key);
  return v ? *v : "";
}

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

using testsupport::ConditionOf;
using testsupport::HttpGet;
using testsupport::HttpPost;
using testsupport::PodReady;

// The pid of the demo app running pod ns/name (found by its environment); 0 when none.
inline pid_t FindPodProcess(const std::string& ns, const std::string& name) {
  return testsupport::find_pod_process(ns, name);
}

// The operator as a child process; stopped (SIGTERM, then SIGKILL) when destroyed.
class OperatorProcess {
 public:
  OperatorProcess(std::string ns, std::string log_path) : ns_(std::move(ns)), log_path_(std::move(log_path)) {}
  ~OperatorProcess() { Stop(); }

  // For the next Start(): another kubeconfig (e.g. through a chaos proxy), more flags.
  void UseKubeconfig(std::string path) { kubeconfig_ = std::move(path); }
  void AddArgs(const std::vector<std::string>& args) { extra_args_.insert(extra_args_.end(), args.begin(), args.end()); }

  void Start() {
    metrics_port_ = FreePort();
    health_port_ = FreePort();
    const std::string bin = std::string(std::getenv("FO_BIN_DIR") ? std::getenv("FO_BIN_DIR") : "") +
                            "/failover-operator";
    std::vector<std::string> args = {bin,
                                     "--kubeconfig", kubeconfig_.empty() ? testsupport::kubeconfig_path() : kubeconfig_,
                                     "--namespace", ns_,
                                     "--metrics-bind-address", "127.0.0.1:" + std::to_string(metrics_port_),
                                     "--metrics-secure=false",  // scraped over plain HTTP on the loopback
                                     "--health-probe-bind-address", "127.0.0.1:" + std::to_string(health_port_),
                                     "--log-format", "text",
                                     "--log-level", "debug"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(testsupport::wait_until(
        [&] { return !HttpGet("127.0.0.1", health_port_, "/readyz").empty() || !Alive(); }, seconds(30)));
    ASSERT_TRUE(Alive()) << "the operator exited at start; log:\n" << Log();
  }

  bool Alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!testsupport::wait_until([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, seconds(10))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  std::string Metrics() { return HttpGet("127.0.0.1", metrics_port_, "/metrics"); }
  std::string Log() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    return s.size() > 6000 ? s.substr(s.size() - 6000) : s;
  }

 private:
  std::string ns_;
  std::string log_path_;
  std::string kubeconfig_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int metrics_port_ = 0;
  int health_port_ = 0;
};

class OperatorTest : public testsupport::NamespaceTest {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("FO_SOURCE_DIR");
    ASSERT_NE(src, nullptr) << "FO_SOURCE_DIR is not set (run through ctest)";
    auto r = testsupport::kubectl({"apply", "-f", std::string(src) + "/crds/failovergroups.failover.io.yaml"});
    ASSERT_TRUE(r.ok()) << r.err;
    r = testsupport::wait_crd_established("failovergroups.failover.io");
    ASSERT_TRUE(r.ok()) << r.err;
  }

  void SetUp() override {
    SetUpNamespace("fo-op");
    if (HasFatalFailure()) return;
    const char* dir = std::getenv("FO_CLUSTER_DIR");
    log_path_ = std::string(dir ? dir : "/tmp") + "/operator-" + ns_ + ".log";
    operator_ = std::make_unique<OperatorProcess>(ns_, log_path_);
  }

  void TearDown() override {
    if (HasFailure() && operator_) {
      std::printf("--- operator log (tail) %s\n%s\n", log_path_.c_str(), operator_->Log().c_str());
      auto fg = GetGroup();
      std::printf("--- group\n%s\n", fg.dump(2).c_str());
      std::printf("%s", TrafficReport().c_str());
    }
    if (client_ && !ns_.empty()) {
      // Groups first (the operator removes its finalizer), then the namespace.
      client_->Delete(kube::resources::kFailoverGroups, ns_, "db");
      testsupport::wait_until([&] { return GetGroup().is_null(); }, seconds(10));
    }
    if (operator_) operator_->Stop();
    NamespaceTest::TearDown();  // releases the groups the operator no longer can
    if (!HasFailure()) std::remove(log_path_.c_str());
  }

  // A demo-app pod on the harness node; readiness from GET /ready every second.
  json DemoPod(const std::string& name, const json& labels, const std::string& restart = "Never") {
    const json container = testsupport::DemoContainer(1);
    return json{{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", ns_}, {"labels", labels}}},
                {"spec",
                 {{"nodeName", node_},
                  {"restartPolicy", restart},
                  {"terminationGracePeriodSeconds", 2},
                  {"containers", json::array({container})}}}};
  }

  void CreatePod(const std::string& name, const std::string& site, const std::string& restart = "Never") {
    auto r = client_->Create(kube::resources::kPods, ns_, DemoPod(name, {{"app", "db"}, {"site", site}}, restart));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A NodePort Service "db" selecting every db pod until the operator takes it over.
  int CreateService() {
    json svc = {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", "db"}, {"namespace", ns_}}},
                {"spec",
                 {{"type", "NodePort"},
                  {"selector", {{"app", "db"}}},
                  {"ports", json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}})}}}};
    auto r = client_->Create(kube::resources::kServices, ns_, svc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["spec"]["ports"][0].value("nodePort", 0) : 0;
  }

  // spec of a two-member ActivePassive group "db" (site-a preferred) for Service db.
  json GroupSpec() {
    return {{"mode", "ActivePassive"},
            {"members",
             json::array({{{"name", "site-a"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "a"}}}}}},
                          {{"name", "site-b"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "b"}}}}}}})},
            {"services", json::array({{{"name", "db"}}})},
            {"detection", {{"unhealthyFor", "1s"}}},
            {"switchover", {{"strategy", "BreakBeforeMake"}}},
            {"failback", {{"policy", "Manual"}, {"stabilizationWindow", "3s"}}},
            {"antiFlap", {{"maxFailovers", 5}, {"window", "10m"}}},
            {"fencing", {{"policy", "Label"}}}};
  }

  // Runs `store` with the CRD's admission rules off (the CRD as it was before they
  // existed), then turns them back on: bad groups the apiserver refuses today are stored
  // as in a cluster upgraded from then, for the operator's own validation to mark.
  static void StoreBeforeAdmissionRules(const std::function<void()>& store) {
    const std::string script = std::string(std::getenv("FO_SOURCE_DIR")) + "/tests/failover/crd-rules.sh";
    auto off = testsupport::run_command({"bash", script, "off"}, seconds(90));
    ASSERT_TRUE(off.ok()) << off.out << off.err;
    store();
    auto on = testsupport::run_command({"bash", script, "on"}, seconds(90));
    ASSERT_TRUE(on.ok()) << on.out << on.err;
  }

  void CreateGroup(const json& spec) {
    json fg = {{"apiVersion", "failover.io/v1alpha1"},
               {"kind", "FailoverGroup"},
               {"metadata", {{"name", "db"}, {"namespace", ns_}}},
               {"spec", spec}};
    auto r = client_->Create(kube::resources::kFailoverGroups, ns_, fg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  json GetGroup() {
    auto r = client_->Get(kube::resources::kFailoverGroups, ns_, "db");
    return r.ok() ? *r : json();
  }
  json GetService() {
    auto r = client_->Get(kube::resources::kServices, ns_, "db");
    return r.ok() ? *r : json();
  }
  std::string Status(const char* field) {
    json fg = GetGroup();
    if (fg.is_null()) return "";
    const json st = fg.value("status", json::object());
    auto it = st.find(field);
    if (it == st.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
  }
  std::string Role(const std::string& pod) {
    json p = GetPod(pod);
    if (p.is_null()) return "<gone>";
    return p["metadata"].value("labels", json::object()).value("failover.io/role", "");
  }
  // The member the Service's selector points at ("" when it does not point at one).
  std::string ServiceMember() {
    json s = GetService();
    if (s.is_null()) return "";
    return s["spec"].value("selector", json::object()).value("failover.io/member", "");
  }
  // What a failed traffic check needs to be explained: the pods' addresses and readiness,
  // the namespace's EndpointSlices, and what the proxy and the controller-manager logged.
  std::string TrafficReport() {
    std::string out = "--- pods\n";
    kube::ListOptions none;
    if (auto pods = client_->List(kube::resources::kPods, ns_, none); pods.ok()) {
      for (const auto& p : (*pods)["items"]) {
        out += "  " + p["metadata"].value("name", "") + " ip=" +
               p.value("status", json::object()).value("podIP", "") + " ready=" + ConditionOf(p, "Ready") +
               " labels=" + p["metadata"].value("labels", json::object()).dump() + "\n";
      }
    }
    out += "--- service\n  " + GetService().value("spec", json::object()).dump() + "\n--- endpointslices\n";
    if (auto slices = client_->List(kube::resources::kEndpointSlices, ns_, none); slices.ok()) {
      for (const auto& s : (*slices)["items"]) {
        out += "  " + s["metadata"].value("name", "") + " endpoints=" +
               s.value("endpoints", json::array()).dump() + "\n";
      }
    } else {
      out += "  (list failed: " + slices.status().ToString() + ")\n";
    }
    const char* dir = std::getenv("FO_CLUSTER_DIR");
    for (const char* component : {"failover-service-proxy", "kube-controller-manager"}) {
      out += std::string("--- ") + component + " log (tail)\n" +
             TailFile(std::string(dir ? dir : ".") + "/logs/" + component + ".log", 40);
    }
    return out;
  }
  static std::string TailFile(const std::string& path, size_t lines) {
    std::ifstream f(path);
    std::vector<std::string> all;
    for (std::string line; std::getline(f, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "  " + all[i] + "\n";
    return out.empty() ? "  (no log at " + path + ")\n" : out;
  }

  // The pod that answered GET / through the proxy on the node's NodePort, or "".
  std::string ServedBy(int node_port) {
    auto j = json::parse(HttpGet(node_ip_, node_port), nullptr, false);
    return j.is_object() ? j.value("pod", "") : "";
  }
  bool WaitReady(const std::string& pod, bool ready = true, milliseconds timeout = seconds(30)) {
    return testsupport::wait_until([&] { return PodReady(GetPod(pod)) == ready; }, timeout);
  }
  bool Wait(const std::function<bool()>& f, milliseconds timeout = seconds(30)) {
    return testsupport::wait_until(f, timeout, milliseconds(50));
  }
  // Reasons of the Events about the group, oldest first.
  std::vector<std::string> EventReasons() {
    std::vector<std::string> out;
    kube::ListOptions lo;
    lo.field_selector = "involvedObject.kind=FailoverGroup";
    auto r = client_->List(kube::resources::kEvents, ns_, lo);
    if (!r.ok()) return out;
    for (const auto& e : (*r)["items"]) out.push_back(e.value("reason", ""));
    return out;
  }
  bool HasEvent(const std::string& reason) {
    auto r = EventReasons();
    return std::find(r.begin(), r.end(), reason) != r.end();
  }
  bool Fail(const std::string& pod) { return HttpPost(PodIP(pod), 8080, "/fail"); }
  bool Recover(const std::string& pod) { return HttpPost(PodIP(pod), 8080, "/recover"); }

  // Pods a-0 (site a) and b-0 (site b) Ready, the Service, the group, the operator, and
  // site-a active; returns the NodePort.
  int StartActivePassive(const json& spec, const std::string& restart = "Never") {
    CreatePod("a-0", "a", restart);
    CreatePod("b-0", "b", restart);
    int port = CreateService();
    EXPECT_TRUE(WaitReady("a-0")) << GetPod("a-0").dump();
    EXPECT_TRUE(WaitReady("b-0")) << GetPod("b-0").dump();
    operator_->Start();
    CreateGroup(spec);
    EXPECT_TRUE(Wait([&] { return Status("activeMember") == "site-a" && ServiceMember() == "site-a"; }))
        << GetGroup().dump();
    EXPECT_TRUE(Wait([&] { return Role("a-0") == "active" && Role("b-0") == "standby"; }));
    return port;
  }

  std::string log_path_;
  std::unique_ptr<OperatorProcess> operator_;
};

}  // namespace failover_it
