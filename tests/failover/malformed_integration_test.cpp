// Malformed FailoverGroups against the real apiserver and the real operator binary.
// Schema-level: the apiserver's CRD validation rejects the object with a message naming
// the field. Semantic: the schema accepts it, the operator marks it InvalidSpec (message
// naming the field, a Warning Event) and changes nothing, while a valid group in the same
// namespace keeps working and the operator keeps running.
#include <algorithm>
#include <functional>

#include "operator_fixture.h"

namespace failover_it {
namespace {

// One malformed spec: a change to the fixture's valid GroupSpec() and the field path the
// rejection must name.
struct BadSpec {
  std::string name;  // also the group's name (a DNS label)
  std::function<void(json&)> change;
  std::string field;
};

json Members(int n) {
  json out = json::array();
  for (int i = 0; i < n; ++i) {
    out.push_back({{"name", "m" + std::to_string(i)},
                   {"selector", {{"matchLabels", {{"app", "db"}, {"site", "m" + std::to_string(i)}}}}}});
  }
  return out;
}

std::vector<BadSpec> SchemaCases() {
  return {
      {"spec-not-object", [](json& s) { s = "ActivePassive"; }, "spec"},
      {"members-missing", [](json& s) { s.erase("members"); }, "spec.members"},
      {"members-empty", [](json& s) { s["members"] = json::array(); }, "spec.members"},
      {"members-not-list", [](json& s) { s["members"] = "site-a,site-b"; }, "spec.members"},
      {"members-too-many", [](json& s) { s["members"] = Members(17); }, "spec.members"},
      {"member-name-missing", [](json& s) { s["members"][0].erase("name"); }, "spec.members[0].name"},
      {"member-name-upper", [](json& s) { s["members"][0]["name"] = "Site-A"; }, "spec.members[0].name"},
      {"member-name-long", [](json& s) { s["members"][1]["name"] = std::string(64, 'a'); }, "spec.members[1].name"},
      {"member-name-int", [](json& s) { s["members"][0]["name"] = 7; }, "spec.members[0].name"},
      {"selector-missing", [](json& s) { s["members"][1].erase("selector"); }, "spec.members[1].selector"},
      {"selector-string", [](json& s) { s["members"][0]["selector"] = "site=a"; }, "spec.members[0].selector"},
      {"match-labels-int",
       [](json& s) { s["members"][0]["selector"]["matchLabels"]["site"] = 1; },
       "spec.members[0].selector.matchLabels.site"},
      {"expr-operator-enum",
       [](json& s) {
         s["members"][1]["selector"] = {
             {"matchExpressions", json::array({{{"key", "site"}, {"operator", "Equals"}, {"values", {"b"}}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].operator"},
      {"expr-key-missing",
       [](json& s) {
         s["members"][1]["selector"] = {{"matchExpressions", json::array({{{"operator", "Exists"}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].key"},
      {"min-ready-zero", [](json& s) { s["members"][0]["minReady"] = 0; }, "spec.members[0].minReady"},
      {"min-ready-string", [](json& s) { s["members"][0]["minReady"] = "2"; }, "spec.members[0].minReady"},
      {"priority-too-high", [](json& s) { s["members"][1]["priority"] = 2000; }, "spec.members[1].priority"},
      {"mode-enum", [](json& s) { s["mode"] = "Primary"; }, "spec.mode"},
      {"service-name-upper", [](json& s) { s["services"][0]["name"] = "DB"; }, "spec.services[0].name"},
      {"service-name-digit", [](json& s) { s["services"][0]["name"] = "1db"; }, "spec.services[0].name"},
      {"service-name-missing", [](json& s) { s["services"] = json::array({json::object()}); }, "spec.services[0].name"},
      {"services-not-list", [](json& s) { s["services"] = "db"; }, "spec.services"},
      {"unhealthy-for-words",
       [](json& s) { s["detection"]["unhealthyFor"] = "5 seconds"; },
       "spec.detection.unhealthyFor"},
      {"unhealthy-for-negative", [](json& s) { s["detection"]["unhealthyFor"] = "-1s"; }, "spec.detection.unhealthyFor"},
      {"unhealthy-for-int", [](json& s) { s["detection"]["unhealthyFor"] = 5; }, "spec.detection.unhealthyFor"},
      {"unhealthy-for-days", [](json& s) { s["detection"]["unhealthyFor"] = "2d"; }, "spec.detection.unhealthyFor"},
      {"source-enum", [](json& s) { s["detection"]["source"] = "Magic"; }, "spec.detection.source"},
      {"probe-port-high",
       [](json& s) { s["detection"]["probe"] = {{"http", {{"port", 70000}}}}; },
       "spec.detection.probe.http.port"},
      {"probe-tcp-port-missing",
       [](json& s) { s["detection"]["probe"] = {{"tcp", json::object()}}; },
       "spec.detection.probe.tcp.port"},
      {"probe-path-relative",
       [](json& s) { s["detection"]["probe"] = {{"http", {{"port", 8080}, {"path", "ready"}}}}; },
       "spec.detection.probe.http.path"},
      {"probe-period-bare-zero",
       [](json& s) { s["detection"]["probe"] = {{"tcp", {{"port", 8080}}}, {"period", "0"}}; },
       "spec.detection.probe.period"},
      {"probe-threshold-zero",
       [](json& s) { s["detection"]["probe"] = {{"tcp", {{"port", 8080}}}, {"failureThreshold", 0}}; },
       "spec.detection.probe.failureThreshold"},
      {"strategy-enum", [](json& s) { s["switchover"]["strategy"] = "Yolo"; }, "spec.switchover.strategy"},
      {"failback-enum", [](json& s) { s["failback"]["policy"] = "Sometimes"; }, "spec.failback.policy"},
      {"stabilization-empty",
       [](json& s) { s["failback"]["stabilizationWindow"] = ""; },
       "spec.failback.stabilizationWindow"},
      {"max-failovers-zero", [](json& s) { s["antiFlap"]["maxFailovers"] = 0; }, "spec.antiFlap.maxFailovers"},
      {"anti-flap-window-zero", [](json& s) { s["antiFlap"]["window"] = "0"; }, "spec.antiFlap.window"},
      {"fencing-enum", [](json& s) { s["fencing"]["policy"] = "Shoot"; }, "spec.fencing.policy"},
      {"max-lag-negative",
       [](json& s) { s["promotion"] = {{"maxLag", {{"seconds", -1}}}}; },
       "spec.promotion.maxLag.seconds"},
      {"hook-url-missing",
       [](json& s) { s["hooks"] = {{"prePromote", {{"timeout", "1s"}}}}; },
       "spec.hooks.prePromote.url"},
      {"hook-url-ftp",
       [](json& s) { s["hooks"] = {{"postPromote", {{"url", "ftp://hooks.example"}}}}; },
       "spec.hooks.postPromote.url"},
      {"hook-retries-high",
       [](json& s) { s["hooks"] = {{"prePromote", {{"url", "http://h.example/"}, {"retries", 11}}}}; },
       "spec.hooks.prePromote.retries"},
      {"paused-string", [](json& s) { s["paused"] = "yes"; }, "spec.paused"},
      // Label values have the schema's pattern (and length) since the CRD checks selectors.
      {"match-label-value-invalid",
       [](json& s) { s["members"][1]["selector"]["matchLabels"]["site"] = "site b"; },
       "spec.members[1].selector.matchLabels.site"},
      {"expr-value-invalid",
       [](json& s) {
         s["members"][1]["selector"] = {
             {"matchExpressions", json::array({{{"key", "site"}, {"operator", "In"}, {"values", {"b", "b!"}}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].values[1]"},
  };
}

std::vector<BadSpec> SemanticCases() {
  auto probe = [](json& s, json p) {
    s["detection"]["probe"] = std::move(p);
  };
  return {
      {"one-member-active-passive", [](json& s) { s["members"].erase(1); }, "spec.members"},
      {"duplicate-member-names", [](json& s) { s["members"][1]["name"] = "site-a"; }, "spec.members[1].name"},
      {"empty-selector", [](json& s) { s["members"][1]["selector"] = json::object(); }, "spec.members[1].selector"},
      {"empty-match-labels",
       [](json& s) { s["members"][0]["selector"] = {{"matchLabels", json::object()}}; },
       "spec.members[0].selector"},
      {"same-selector-twice",
       [](json& s) { s["members"][1]["selector"] = s["members"][0]["selector"]; },
       "spec.members[1].selector"},
      {"label-key-invalid",
       [](json& s) { s["members"][0]["selector"]["matchLabels"]["bad key!"] = "x"; },
       "spec.members[0].selector.matchLabels"},
      {"expr-key-invalid",
       [](json& s) {
         s["members"][1]["selector"] = {{"matchExpressions", json::array({{{"key", "-site"}, {"operator", "Exists"}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].key"},
      {"in-without-values",
       [](json& s) {
         s["members"][1]["selector"] = {{"matchExpressions", json::array({{{"key", "site"}, {"operator", "In"}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].values"},
      {"exists-with-values",
       [](json& s) {
         s["members"][1]["selector"] = {
             {"matchExpressions", json::array({{{"key", "site"}, {"operator", "Exists"}, {"values", {"b"}}}})}};
       },
       "spec.members[1].selector.matchExpressions[0].values"},
      {"duplicate-services",
       [](json& s) { s["services"] = json::array({{{"name", "db"}}, {{"name", "db"}}}); },
       "spec.services[1].name"},
      {"probe-http-and-tcp",
       [probe](json& s) { probe(s, {{"http", {{"port", 8080}}}, {"tcp", {{"port", 8080}}}}); },
       "spec.detection.probe"},
      {"probe-neither", [probe](json& s) { probe(s, {{"period", "5s"}}); }, "spec.detection.probe"},
      {"probe-timeout-over-period",
       [probe](json& s) { probe(s, {{"tcp", {{"port", 8080}}}, {"period", "1s"}, {"timeout", "2s"}}); },
       "spec.detection.probe.timeout"},
      {"probe-period-too-short",
       [probe](json& s) { probe(s, {{"tcp", {{"port", 8080}}}, {"period", "50ms"}, {"timeout", "10ms"}}); },
       "spec.detection.probe.period"},
      {"probe-period-zero",
       [probe](json& s) { probe(s, {{"tcp", {{"port", 8080}}}, {"period", "0s"}, {"timeout", "0s"}}); },
       "spec.detection.probe.period"},
      {"source-probe-without-probe", [](json& s) { s["detection"]["source"] = "Probe"; }, "spec.detection.source"},
      {"unhealthy-for-over-a-week",
       [](json& s) { s["detection"]["unhealthyFor"] = "169h"; },
       "spec.detection.unhealthyFor"},
      {"stabilization-over-a-week",
       [](json& s) { s["failback"]["stabilizationWindow"] = "10081m"; },
       "spec.failback.stabilizationWindow"},
      {"anti-flap-window-short", [](json& s) { s["antiFlap"]["window"] = "500ms"; }, "spec.antiFlap.window"},
      {"max-lag-empty", [](json& s) { s["promotion"] = {{"maxLag", json::object()}}; }, "spec.promotion.maxLag"},
      {"label-key-bad-prefix",
       [](json& s) { s["members"][0]["selector"]["matchLabels"]["Example.COM/site"] = "a"; },
       "spec.members[0].selector.matchLabels"},
      {"hook-url-no-host",
       [](json& s) { s["hooks"] = {{"prePromote", {{"url", "http:///pre"}}}}; },
       "spec.hooks.prePromote.url"},
      {"hook-timeout-zero",
       [](json& s) { s["hooks"] = {{"prePromote", {{"url", "http://h.example/"}, {"timeout", "0s"}}}}; },
       "spec.hooks.prePromote.timeout"},
  };
}

class MalformedGroupTest : public OperatorTest {
 protected:
  void TearDown() override {
    // Every group but "db" (which OperatorTest removes), while the operator still runs
    // to release the finalizers of groups it accepted.
    if (client_ && !ns_.empty()) {
      for (const auto& name : created_) client_->Delete(kube::resources::kFailoverGroups, ns_, name);
      testsupport::wait_until([&] { return GroupNames().size() <= 1; }, seconds(10));
      for (const auto& name : GroupNames()) {
        if (name == "db") continue;
        client_->Patch(kube::resources::kFailoverGroups, ns_, name, kube::PatchType::kMerge,
                       R"({"metadata":{"finalizers":null}})");
      }
    }
    OperatorTest::TearDown();
  }

  std::vector<std::string> GroupNames() {
    std::vector<std::string> out;
    auto r = client_->List(kube::resources::kFailoverGroups, ns_);
    if (!r.ok()) return out;
    for (const auto& g : (*r)["items"]) out.push_back(g["metadata"].value("name", ""));
    return out;
  }

  kube::Result<json> CreateNamed(const std::string& name, const json& spec) {
    json fg = {{"apiVersion", "failover.io/v1alpha1"},
               {"kind", "FailoverGroup"},
               {"metadata", {{"name", name}, {"namespace", ns_}}},
               {"spec", spec}};
    auto r = client_->Create(kube::resources::kFailoverGroups, ns_, fg);
    if (r.ok()) created_.push_back(name);
    return r;
  }

  json Group(const std::string& name) {
    auto r = client_->Get(kube::resources::kFailoverGroups, ns_, name);
    return r.ok() ? *r : json();
  }

  // Events of the given type and reason about group `name`, their messages.
  std::vector<std::string> EventsAbout(const std::string& name, const std::string& type, const std::string& reason) {
    std::vector<std::string> out;
    kube::ListOptions lo;
    lo.field_selector = "involvedObject.kind=FailoverGroup,involvedObject.name=" + name;
    auto r = client_->List(kube::resources::kEvents, ns_, lo);
    if (!r.ok()) return out;
    for (const auto& e : (*r)["items"]) {
      if (e.value("type", "") == type && e.value("reason", "") == reason) out.push_back(e.value("message", ""));
    }
    return out;
  }

  // What the operator may write outside a group's status: pod labels, the Service's
  // selector and annotations.
  json Footprint() {
    json pods = json::object();
    for (const char* p : {"a-0", "b-0"}) pods[p] = GetPod(p)["metadata"].value("labels", json::object());
    json svc = GetService();
    return {{"pods", pods},
            {"selector", svc["spec"].value("selector", json::object())},
            {"annotations", svc["metadata"].value("annotations", json::object())}};
  }

  std::vector<std::string> created_;
};

// `path` named as the subject of an error: "path: ..." (operator) or "path: ..." /
// "path in body ..." (apiserver).
bool NamesField(const std::string& message, const std::string& path) {
  for (const std::string& form : {path + ":", path + " in body"}) {
    size_t at = 0;
    while ((at = message.find(form, at)) != std::string::npos) {
      // Not the tail of a longer path ("xspec.members:" or "spec.members[0].spec.members:").
      if (at == 0 || message[at - 1] == ' ' || message[at - 1] == '[' || message[at - 1] == '\n') return true;
      at += form.size();
    }
  }
  return false;
}

// kube-apiserver names a field inside a list without the item's index in some errors
// ("spec.members.name" for spec.members[0].name).
std::string WithoutIndices(const std::string& path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (!in_index) out += c;
    if (c == ']') in_index = false;
  }
  return out;
}

TEST_F(MalformedGroupTest, SchemaRejectsWithTheFieldNamed) {
  const auto cases = SchemaCases();
  ASSERT_GE(cases.size(), 25u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json spec = GroupSpec();
    c.change(spec);
    auto r = CreateNamed(c.name, spec);
    ASSERT_FALSE(r.ok()) << c.name << ": the apiserver accepted " << spec.dump();
    EXPECT_EQ(r.status().code(), 422) << r.status().ToString();
    EXPECT_TRUE(NamesField(r.status().message(), c.field) ||
                NamesField(r.status().message(), WithoutIndices(c.field)))
        << c.name << ": the rejection does not name " << c.field << ": " << r.status().message();
  }
  EXPECT_TRUE(GroupNames().empty());
}

// The group's name becomes the failover.io/group label value on pods and Services.
TEST_F(MalformedGroupTest, SchemaRejectsANameLongerThanALabelValue) {
  auto r = CreateNamed(std::string(64, 'g'), GroupSpec());
  ASSERT_FALSE(r.ok()) << "the apiserver accepted a 64-character group name";
  EXPECT_EQ(r.status().code(), 422) << r.status().ToString();
  EXPECT_TRUE(NamesField(r.status().message(), "metadata.name")) << r.status().message();
  EXPECT_TRUE(CreateNamed(std::string(63, 'g'), GroupSpec()).ok());
}

TEST_F(MalformedGroupTest, OperatorMarksSemanticErrorsInvalidAndChangesNothing) {
  const auto cases = SemanticCases();
  ASSERT_GE(cases.size(), 20u);
  const int port = StartActivePassive(GroupSpec());
  ASSERT_GT(port, 0);
  ASSERT_TRUE(Wait([&] { return ServedBy(port) == "a-0"; }));
  const json before = Footprint();

  // Most of these are refused at admission today (the CRD's CEL rules, tested with kubectl
  // by tests/ship/test-crd-admission.sh); stored as under a CRD from before the rules, the
  // operator's own validation must catch every one.
  StoreBeforeAdmissionRules([&] {
    for (const auto& c : cases) {
      json spec = GroupSpec();
      c.change(spec);
      auto r = CreateNamed(c.name, spec);
      ASSERT_TRUE(r.ok()) << c.name << ": the CRD without its admission rules should accept this: "
                          << r.status().ToString();
    }
  });
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(Wait([&] { return ConditionOf(Group(c.name), "InvalidSpec") == "True"; }))
        << c.name << " never got InvalidSpec=True: " << Group(c.name).value("status", json()).dump();
    const json g = Group(c.name);
    const std::string message = ConditionOf(g, "InvalidSpec", "message");
    EXPECT_TRUE(NamesField(message, c.field)) << c.name << ": the condition does not name " << c.field << ": " << message;
    EXPECT_EQ(g["status"].value("phase", ""), "Invalid");
    EXPECT_EQ(ConditionOf(g, "Ready"), "False");
    EXPECT_EQ(g["status"].value("activeMember", ""), "");
    EXPECT_FALSE(g["metadata"].contains("finalizers")) << "an invalid group got a finalizer: " << g["metadata"].dump();
    std::vector<std::string> events;
    EXPECT_TRUE(Wait([&] {
      events = EventsAbout(c.name, "Warning", "InvalidSpec");
      return !events.empty();
    }, seconds(10))) << c.name << ": no Warning InvalidSpec Event";
    if (!events.empty()) {
      EXPECT_TRUE(NamesField(events.front(), c.field)) << events.front();
    }
  }

  // Nothing outside the invalid groups' status changed, and the valid group still fails over.
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(Status("activeMember"), "site-a");
  ASSERT_TRUE(Fail("a-0"));
  EXPECT_TRUE(Wait([&] { return Status("activeMember") == "site-b" && ServiceMember() == "site-b"; }))
      << GetGroup().value("status", json()).dump();
  EXPECT_TRUE(Wait([&] { return ServedBy(port) == "b-0"; }));
  for (const auto& c : cases) {
    EXPECT_EQ(ConditionOf(Group(c.name), "InvalidSpec"), "True") << c.name;
  }
  EXPECT_TRUE(operator_->Alive()) << "the operator died; log:\n" << operator_->Log();
}

TEST_F(MalformedGroupTest, FixingAnInvalidGroupClearsTheCondition) {
  StartActivePassive(GroupSpec());
  json spec = GroupSpec();
  spec["members"][0]["selector"] = {{"matchLabels", {{"app", "db"}, {"site", "c"}}}};
  spec["members"][1]["selector"] = spec["members"][0]["selector"];
  spec["services"] = json::array();
  // Two members with one selector: refused at admission today, stored as before the rules.
  StoreBeforeAdmissionRules([&] { ASSERT_TRUE(CreateNamed("other", spec).ok()); });
  ASSERT_TRUE(Wait([&] { return ConditionOf(Group("other"), "InvalidSpec") == "True"; }));
  auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, "other", kube::PatchType::kMerge,
                          R"({"spec":{"members":[{"name":"site-c","selector":{"matchLabels":{"site":"c"}}},)"
                          R"({"name":"site-d","selector":{"matchLabels":{"site":"d"}}}]}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Wait([&] { return ConditionOf(Group("other"), "InvalidSpec") == "False"; }))
      << Group("other").value("status", json()).dump();
  EXPECT_NE(Group("other")["status"].value("phase", ""), "Invalid");
  EXPECT_TRUE(operator_->Alive());
}

// Accepted by schema and operator alike: odd, but not wrong. The operator reports them
// as valid and they take nothing from the group that owns the pods and the Service.
TEST_F(MalformedGroupTest, OddButValidGroupsAreAcceptedAndTakeNothing) {
  const int port = StartActivePassive(GroupSpec());
  ASSERT_GT(port, 0);
  const json before = Footprint();
  std::vector<std::pair<std::string, json>> odd;
  json nothing = GroupSpec();  // selectors that match no pod at all
  nothing["members"][0]["selector"] = {{"matchLabels", {{"app", "nothing-here"}}}};
  nothing["members"][1]["selector"] = {{"matchLabels", {{"app", "nothing-here"}, {"site", "b"}}}};
  nothing["services"] = json::array();
  odd.emplace_back("selects-nothing", nothing);
  json overlap = GroupSpec();  // member 0 selects member 1's pods too (first in order wins)
  overlap["members"][0]["selector"] = {{"matchLabels", {{"app", "db"}}}};
  overlap["services"] = json::array();
  odd.emplace_back("overlapping-members", overlap);
  json single = GroupSpec();  // ActiveActive needs only one member
  single["mode"] = "ActiveActive";
  single["members"].erase(1);
  single["services"] = json::array();
  odd.emplace_back("active-active-single", single);
  for (const auto& [name, spec] : odd) ASSERT_TRUE(CreateNamed(name, spec).ok()) << name;
  for (const auto& [name, spec] : odd) {
    (void)spec;
    EXPECT_TRUE(Wait([&, n = name] { return ConditionOf(Group(n), "InvalidSpec") == "False"; }))
        << name << ": " << Group(name).value("status", json()).dump();
  }
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(Status("activeMember"), "site-a");
  EXPECT_TRUE(operator_->Alive());
}

// A switchover request naming no member is refused with a Warning, the annotation is
// cleared, and nothing moves.
TEST_F(MalformedGroupTest, SwitchoverToANonMemberIsRefused) {
  const int port = StartActivePassive(GroupSpec());
  ASSERT_GT(port, 0);
  const json before = Footprint();
  auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, "db", kube::PatchType::kMerge,
                          R"({"metadata":{"annotations":{"failover.io/switchover-to":"site-z"}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> refused;
  EXPECT_TRUE(Wait([&] {
    refused = EventsAbout("db", "Warning", "SwitchoverRefused");
    return !refused.empty();
  }));
  if (!refused.empty()) {
    EXPECT_NE(refused.front().find("site-z"), std::string::npos) << refused.front();
  }
  EXPECT_TRUE(Wait([&] {
    return !GetGroup()["metadata"].value("annotations", json::object()).contains("failover.io/switchover-to");
  })) << "the annotation was not cleared";
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(Status("activeMember"), "site-a");
  EXPECT_TRUE(operator_->Alive());
}

// Two groups may not steer one Service: the second to claim it is InvalidSpec and the
// Service stays with the first (before failover::DecideObject checked the claims, the
// second group silently took the Service over: selector and active-member annotation).
TEST_F(MalformedGroupTest, AServiceListedByTwoGroupsStaysWithTheFirst) {
  const int port = StartActivePassive(GroupSpec());
  ASSERT_GT(port, 0);
  CreatePod("c-0", "c");
  CreatePod("d-0", "d");
  ASSERT_TRUE(WaitReady("c-0"));
  ASSERT_TRUE(WaitReady("d-0"));
  const json before = Footprint();
  json spec = GroupSpec();
  spec["members"][0] = {{"name", "site-c"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "c"}}}}}};
  spec["members"][1] = {{"name", "site-d"}, {"selector", {{"matchLabels", {{"app", "db"}, {"site", "d"}}}}}};
  ASSERT_TRUE(CreateNamed("other", spec).ok());
  EXPECT_TRUE(Wait([&] { return ConditionOf(Group("other"), "InvalidSpec") == "True"; }))
      << Group("other").value("status", json()).dump();
  EXPECT_TRUE(NamesField(ConditionOf(Group("other"), "InvalidSpec", "message"), "spec.services[0].name"))
      << ConditionOf(Group("other"), "InvalidSpec", "message");
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(Footprint(), before);
  EXPECT_TRUE(EventsAbout("db", "Warning", "SelectorDriftCorrected").empty());
  EXPECT_TRUE(Wait([&] { return ServedBy(port) == "a-0"; }));
  EXPECT_TRUE(operator_->Alive());
}

}  // namespace
}  // namespace failover_it
