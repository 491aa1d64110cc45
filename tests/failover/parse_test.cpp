#include <gtest/gtest.h>

#include "failover/parse.h"
#include "failover/validate.h"

namespace failover {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Messages(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

json ValidSpec() {
  return json::parse(R"({
    "mode": "ActivePassive",
    "members": [
      {"name": "site-a", "selector": {"matchLabels": {"app": "db", "site": "a"}}, "minReady": 2},
      {"name": "site-b", "selector": {"matchExpressions": [{"key": "site", "operator": "In", "values": ["b", "c"]}]}, "priority": 5}
    ],
    "services": [{"name": "orders-db"}],
    "detection": {"unhealthyFor": "1m30s", "probe": {"tcp": {"port": 5432}, "period": "2s", "timeout": "500ms", "failureThreshold": 2}},
    "switchover": {"strategy": "MakeBeforeBreak"},
    "failback": {"policy": "Automatic", "stabilizationWindow": "2m"},
    "antiFlap": {"maxFailovers": 5, "window": "1h"},
    "fencing": {"policy": "DeletePods"},
    "promotion": {"maxLag": {"seconds": 10, "bytes": 1048576}},
    "hooks": {"prePromote": {"url": "http://hooks/pre", "failurePolicy": "Ignore"}},
    "paused": true,
    "dryRun": false
  })");
}

TEST(Duration, ParsesGoStyleDurations) {
  EXPECT_EQ(ParseDuration("0"), Duration{0});
  EXPECT_EQ(ParseDuration("500ms"), 500ms);
  EXPECT_EQ(ParseDuration("5s"), 5s);
  EXPECT_EQ(ParseDuration("1m30s"), 90s);
  EXPECT_EQ(ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(ParseDuration("2h1m"), 121min);
  EXPECT_EQ(ParseDuration("1h0m0.25s"), 3600250ms);
}

TEST(Duration, RejectsWhatTheSchemaPatternRejects) {
  for (const char* bad : {"", "5", "s", "5x", "-5s", "1.s", "5 s", "1m30", ".5s", "5S"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsShortestText) {
  EXPECT_EQ(FormatDuration(Duration{0}), "0s");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(3600250ms), "1h0.25s");
  EXPECT_EQ(FormatDuration(10min), "10m");
  for (auto d : {1ms, 999ms, 1000ms, 61001ms, Duration{86400000}}) {
    EXPECT_EQ(ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
}

TEST(Time, RoundTripsRfc3339) {
  auto t = ParseTime("2026-11-27T17:40:05Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTime(*t), "2026-11-27T17:40:05Z");
  auto frac = ParseTime("2026-11-27T17:40:05.123456Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(FormatTime(*frac), "2026-11-27T17:40:05.123Z");
  EXPECT_EQ(*frac - *t, 123ms);
  auto offset = ParseTime("2026-11-27T18:40:05+01:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  EXPECT_FALSE(ParseTime("2026-11-27 17:40:05Z"));
  EXPECT_FALSE(ParseTime("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseTime("yesterday"));
}

TEST(LabelSelector, MatchLabelsAndEveryOperator) {
  LabelSelector s;
  s.match_labels = {{"app", "db"}};
  s.match_expressions = {{"site", SelectorOperator::kIn, {"a", "b"}},
                         {"tier", SelectorOperator::kNotIn, {"test"}},
                         {"zone", SelectorOperator::kExists, {}},
                         {"drain", SelectorOperator::kDoesNotExist, {}}};
  EXPECT_TRUE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}}));
  EXPECT_TRUE(s.Matches({{"app", "db"}, {"site", "b"}, {"zone", "z1"}, {"tier", "prod"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}, {"site", "a"}, {"zone", "z1"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "c"}, {"zone", "z1"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"zone", "z1"}}));  // In needs the key
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}, {"tier", "test"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}, {"drain", ""}}));
  LabelSelector notin;
  notin.match_expressions = {{"tier", SelectorOperator::kNotIn, {"test"}}};
  EXPECT_TRUE(notin.Matches({}));  // NotIn holds when the key is absent
}

TEST(ParseSpec, ReadsEveryField) {
  SpecParse p = ParseSpec(ValidSpec());
  ASSERT_TRUE(p.ok()) << ::testing::PrintToString(Messages(p.errors));
  const Spec& s = p.spec;
  EXPECT_EQ(s.mode, Mode::kActivePassive);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].name, "site-a");
  EXPECT_EQ(s.members[0].min_ready, 2);
  EXPECT_FALSE(s.members[0].priority);
  EXPECT_EQ(s.members[1].priority, 5);
  EXPECT_EQ(s.members[1].min_ready, 1);
  ASSERT_EQ(s.members[1].selector.match_expressions.size(), 1u);
  EXPECT_EQ(s.members[1].selector.match_expressions[0].values, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(s.services[0].name, "orders-db");
  EXPECT_EQ(s.detection.unhealthy_for, 90s);
  ASSERT_TRUE(s.detection.probe && s.detection.probe->tcp);
  EXPECT_EQ(s.detection.probe->tcp->port, 5432);
  EXPECT_EQ(s.detection.probe->timeout, 500ms);
  EXPECT_EQ(s.detection.EffectiveSource(), HealthSource::kReadinessAndProbe);
  EXPECT_EQ(s.strategy, SwitchStrategy::kMakeBeforeBreak);
  EXPECT_EQ(s.failback.policy, FailbackPolicy::kAutomatic);
  EXPECT_EQ(s.failback.stabilization_window, 2min);
  EXPECT_EQ(s.anti_flap.max_failovers, 5);
  EXPECT_EQ(s.anti_flap.window, 1h);
  EXPECT_EQ(s.fencing, FencingPolicy::kDeletePods);
  ASSERT_TRUE(s.max_lag);
  EXPECT_EQ(s.max_lag->seconds, 10.0);
  EXPECT_EQ(s.max_lag->bytes, 1048576);
  ASSERT_TRUE(s.pre_promote);
  EXPECT_EQ(s.pre_promote->failure_policy, HookFailurePolicy::kIgnore);
  EXPECT_EQ(s.pre_promote->timeout, 5s);
  EXPECT_FALSE(s.post_promote);
  EXPECT_TRUE(s.paused);
  EXPECT_TRUE(Validate(s).empty()) << ::testing::PrintToString(Messages(Validate(s)));
}

TEST(ParseSpec, DefaultsMatchTheCrd) {
  SpecParse p = ParseSpec(json::parse(R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}},
                                                       {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})"));
  ASSERT_TRUE(p.ok());
  const Spec& s = p.spec;
  EXPECT_EQ(s.mode, Mode::kActivePassive);
  EXPECT_EQ(s.detection.unhealthy_for, 5s);
  EXPECT_EQ(s.detection.EffectiveSource(), HealthSource::kReadiness);
  EXPECT_EQ(s.strategy, SwitchStrategy::kBreakBeforeMake);
  EXPECT_EQ(s.failback.policy, FailbackPolicy::kManual);
  EXPECT_EQ(s.failback.stabilization_window, 60s);
  EXPECT_EQ(s.anti_flap.max_failovers, 3);
  EXPECT_EQ(s.anti_flap.window, 10min);
  EXPECT_EQ(s.fencing, FencingPolicy::kLabel);
  EXPECT_FALSE(s.paused);
  EXPECT_FALSE(s.dry_run);
  EXPECT_TRUE(Validate(s).empty());
}

struct BadSpecCase {
  const char* name;
  const char* patch;  // merged into ValidSpec()
  const char* expected;
};

class ParseSpecErrors : public ::testing::TestWithParam<BadSpecCase> {};

TEST_P(ParseSpecErrors, NameTheFieldAndWhatIsAllowed) {
  json spec = ValidSpec();
  spec.merge_patch(json::parse(GetParam().patch));
  SpecParse p = ParseSpec(spec);
  std::vector<std::string> all = Messages(p.errors);
  if (p.ok()) all = Messages(Validate(p.spec));
  EXPECT_NE(std::find(all.begin(), all.end(), GetParam().expected), all.end())
      << "got: " << ::testing::PrintToString(all);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseSpecErrors,
    ::testing::Values(
        BadSpecCase{"mode", R"({"mode": "Primary"})",
                    R"(spec.mode: unsupported value "Primary": supported values: "ActivePassive", "ActiveActive")"},
        BadSpecCase{"matchLabelsType",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": ["x"]}}, {"name": "b", "selector": {"matchLabels": {"x": "1"}}}]})",
                    "spec.members[0].selector.matchLabels: must be a map of string keys to string values, not array"},
        BadSpecCase{"matchLabelValue",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}, {"name": "b", "selector": {"matchLabels": {"x": 2}}}]})",
                    "spec.members[1].selector.matchLabels.x: must be a string, not integer"},
        BadSpecCase{"operator",
                    R"({"members": [{"name": "a", "selector": {"matchExpressions": [{"key": "k", "operator": "Equals", "values": ["v"]}]}}, {"name": "b", "selector": {"matchLabels": {"x": "1"}}}]})",
                    R"(spec.members[0].selector.matchExpressions[0].operator: unsupported value "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist")"},
        BadSpecCase{"duration", R"({"detection": {"unhealthyFor": "5 seconds"}})",
                    R"(spec.detection.unhealthyFor: invalid duration "5 seconds": use a number with a unit (ms, s, m, h), e.g. "500ms", "5s", "1m30s")"},
        BadSpecCase{"minReadyType", R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}, "minReady": "two"}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    "spec.members[0].minReady: must be an integer, not string"},
        BadSpecCase{"missingSelector", R"({"members": [{"name": "a"}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    "spec.members[0].selector: required: a label selector (matchLabels and/or matchExpressions)"},
        BadSpecCase{"oneMember", R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}]})",
                    "spec.members: ActivePassive needs at least 2 members (an active one and a standby), got 1"},
        BadSpecCase{"duplicateMember",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}, {"name": "a", "selector": {"matchLabels": {"x": "2"}}}]})",
                    R"(spec.members[1].name: duplicate member name "a": names must be unique)"},
        BadSpecCase{"memberName",
                    R"({"members": [{"name": "Site_A", "selector": {"matchLabels": {"x": "1"}}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    R"(spec.members[0].name: "Site_A" is not a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"},
        BadSpecCase{"emptySelector",
                    R"({"members": [{"name": "a", "selector": {}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    "spec.members[0].selector: must not be empty (it would select every pod in the namespace): give matchLabels or matchExpressions"},
        BadSpecCase{"sameSelector",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}, {"name": "b", "selector": {"matchLabels": {"x": "1"}}}]})",
                    "spec.members[1].selector: selects the same pods as spec.members[0].selector: each member needs its own pods"},
        BadSpecCase{"inWithoutValues",
                    R"({"members": [{"name": "a", "selector": {"matchExpressions": [{"key": "k", "operator": "In"}]}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    "spec.members[0].selector.matchExpressions[0].values: must be non-empty when operator is In"},
        BadSpecCase{"duplicateService", R"({"services": [{"name": "db"}, {"name": "db"}]})",
                    R"(spec.services[1].name: duplicate Service "db": each Service may be listed once)"},
        BadSpecCase{"probeBoth", R"({"detection": {"probe": {"http": {"port": 80}}}})",
                    "spec.detection.probe: must set exactly one of http, tcp"},
        BadSpecCase{"probeTimeout", R"({"detection": {"probe": {"timeout": "3s", "period": "1s"}}})",
                    "spec.detection.probe.timeout: must not be longer than period (1s)"},
        BadSpecCase{"sourceWithoutProbe", R"({"detection": {"probe": null, "source": "Probe"}})",
                    R"(spec.detection.source: "Probe" needs spec.detection.probe; without a probe only "Readiness" is allowed)"},
        BadSpecCase{"maxLagEmpty", R"({"promotion": {"maxLag": {"seconds": null, "bytes": null}}})",
                    "spec.promotion.maxLag: must set seconds, bytes or both"},
        BadSpecCase{"maxFailovers", R"({"antiFlap": {"maxFailovers": 0}})",
                    "spec.antiFlap.maxFailovers: must be between 1 and 1000"},
        BadSpecCase{"hookUrl", R"({"hooks": {"prePromote": {"url": "ftp://x"}}})",
                    R"(spec.hooks.prePromote.url: must be an http:// or https:// URL, not "ftp://x")"},
        BadSpecCase{"hookUrlWithoutHost", R"({"hooks": {"postPromote": {"url": "http:///promote"}}})",
                    R"(spec.hooks.postPromote.url: "http:///promote" names no host)"},
        BadSpecCase{"matchLabelsValueNeverMatches",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}, {"name": "b", "selector": {"matchLabels": {"x": "site b"}}}]})",
                    R"(spec.members[1].selector.matchLabels.x: "site b" is not a valid label value (it could never match a pod): at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"},
        BadSpecCase{"matchExpressionsValueNeverMatches",
                    R"({"members": [{"name": "a", "selector": {"matchExpressions": [{"key": "k", "operator": "In", "values": ["ok", "-no"]}]}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    R"(spec.members[0].selector.matchExpressions[0].values[1]: "-no" is not a valid label value (it could never match a pod): at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"},
        BadSpecCase{"labelKeyPrefix",
                    R"({"members": [{"name": "a", "selector": {"matchLabels": {"Example.COM/x": "1"}}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    R"(spec.members[0].selector.matchLabels: "Example.COM/x" is not a valid label key)"},
        BadSpecCase{"labelKeyEmptyPrefix",
                    R"({"members": [{"name": "a", "selector": {"matchExpressions": [{"key": "/x", "operator": "Exists"}]}}, {"name": "b", "selector": {"matchLabels": {"x": "2"}}}]})",
                    R"(spec.members[0].selector.matchExpressions[0].key: "/x" is not a valid label key)"},
        BadSpecCase{"paused", R"({"paused": "yes"})", "spec.paused: must be true or false, not string"},
        BadSpecCase{"fencing", R"({"fencing": {"policy": "Shoot"}})",
                    R"(spec.fencing.policy: unsupported value "Shoot": supported values: "None", "Label", "DeletePods")"}),
    [](const ::testing::TestParamInfo<BadSpecCase>& c) { return std::string(c.param.name); });

TEST(Validate, AcceptsPrefixedKeysAndEmptyValues) {
  SpecParse p = ParseSpec(json::parse(R"({"members": [
      {"name": "a", "selector": {"matchLabels": {"app.kubernetes.io/name": "db", "tier": ""}}},
      {"name": "b", "selector": {"matchExpressions": [{"key": "example.com/Site_B", "operator": "In", "values": ["b.1", "B-2"]}]}}],
    "hooks": {"prePromote": {"url": "https://hooks.example:8443/pre"}}})"));
  ASSERT_TRUE(p.ok()) << ::testing::PrintToString(Messages(p.errors));
  EXPECT_TRUE(Validate(p.spec).empty()) << ::testing::PrintToString(Messages(Validate(p.spec)));
}

TEST(ValidateServiceClaims, AServiceSteeredByAnotherGroupIsAnError) {
  SpecParse p = ParseSpec(ValidSpec());
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE(p.spec.services.empty());
  const std::string name = p.spec.services[0].name;
  std::vector<ServiceObservation> seen{{name, true, {{"failover.io/group", "other"}, {"failover.io/role", "active"}}, {}}};
  auto errors = ValidateServiceClaims(p.spec, seen, "db");
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(Messages(errors));
  EXPECT_EQ(errors[0].path, "spec.services[0].name");
  EXPECT_NE(errors[0].message.find("FailoverGroup other"), std::string::npos) << errors[0].message;
  // Its own Service, a Service not yet taken over, and a missing one are fine.
  EXPECT_TRUE(ValidateServiceClaims(p.spec, seen, "other").empty());
  seen[0].selector = {{"app", "db"}};
  EXPECT_TRUE(ValidateServiceClaims(p.spec, seen, "db").empty());
  seen[0] = ServiceObservation{name, false, {{"failover.io/group", "other"}}, {}};
  EXPECT_TRUE(ValidateServiceClaims(p.spec, seen, "db").empty());
}

TEST(ParseSpec, CollectsEveryErrorNotJustTheFirst) {
  json spec = json::parse(R"({"mode": "X", "members": "a", "paused": 1, "failback": {"policy": "Later"}})");
  SpecParse p = ParseSpec(spec);
  EXPECT_EQ(p.errors.size(), 4u) << ::testing::PrintToString(Messages(p.errors));
}

TEST(ParseSpec, MissingSpecAndMembers) {
  EXPECT_EQ(Messages(ParseSpec(json()).errors), std::vector<std::string>{"spec: required"});
  EXPECT_EQ(Messages(ParseSpec(json::object()).errors),
            std::vector<std::string>{"spec.members: required: at least one member"});
}

TEST(ActiveActive, OneMemberIsValid) {
  SpecParse p = ParseSpec(json::parse(
      R"({"mode": "ActiveActive", "members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}]})"));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(Validate(p.spec).empty());
}

TEST(StatusJson, RoundTripsAndNullsWhatIsEmpty) {
  Status s;
  s.phase = "FailedOver";
  s.active_member = "b";
  s.active_members = {"b"};
  s.healthy = "1/2";
  s.healthy_members = 1;
  s.observed_generation = 7;
  s.failover_count = 2;
  MemberStatus m;
  m.name = "a";
  m.role = Role::kFenced;
  m.since = *ParseTime("2026-01-01T00:00:01.5Z");
  m.lag_seconds = 1.5;
  m.message = "unhealthy";
  s.members = {m};
  s.services = {{"db", true, "b", true}};
  s.switch_record = SwitchRecord{"a", "b", "PrimaryUnhealthy", "Promoting", m.since, m.since};
  s.last_transition = Transition{"a", "b", "PrimaryUnhealthy", m.since, m.since};
  s.history = {*s.last_transition};
  s.recent_failovers = {m.since};
  s.conditions = {{"Ready", "True", "ActiveHealthy", "ok", m.since, 7}};
  json j = StatusToJson(s);
  EXPECT_EQ(StatusToJson(ParseStatus(j)), j);
  EXPECT_EQ(j["members"][0]["since"], "2026-01-01T00:00:01.500Z");
  EXPECT_EQ(j["switch"]["step"], "Promoting");

  // No empty string reaches the apiserver (it reads "" in a merge patch as null).
  Status initial = s;
  initial.last_transition->from = "";
  initial.history[0].from = "";
  initial.members[0].message = "";
  json ij = StatusToJson(initial);
  EXPECT_TRUE(ij["lastTransition"]["from"].is_null());
  EXPECT_FALSE(ij["history"][0].contains("from"));
  EXPECT_FALSE(ij["members"][0].contains("message"));
  EXPECT_EQ(ParseStatus(ij), initial);

  json empty = StatusToJson(Status{});
  EXPECT_TRUE(empty["switch"].is_null());
  EXPECT_TRUE(empty["lastTransition"].is_null());
  EXPECT_TRUE(empty["conditions"].is_null());
  // A merge patch with the empty status removes what the full one set.
  json stored = {{"status", j}};
  stored.merge_patch({{"status", empty}});
  EXPECT_FALSE(stored["status"].contains("switch"));
  EXPECT_EQ(StatusToJson(ParseStatus(stored["status"])), empty);
}

TEST(Observations, FromApiObjects) {
  json pod = json::parse(R"({"metadata": {"name": "a-0", "uid": "u1", "labels": {"app": "db"},
      "annotations": {"failover.io/lag-seconds": "3"}, "creationTimestamp": "2026-01-01T00:00:00Z",
      "deletionTimestamp": "2026-01-01T00:01:00Z"},
      "status": {"podIP": "127.0.0.5", "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}})");
  PodObservation p = PodFromObject(pod);
  EXPECT_EQ(p.name, "a-0");
  EXPECT_EQ(p.uid, "u1");
  EXPECT_TRUE(p.ready);
  EXPECT_TRUE(p.terminating);
  EXPECT_EQ(p.pod_ip, "127.0.0.5");
  EXPECT_EQ(p.annotations.at("failover.io/lag-seconds"), "3");
  EXPECT_EQ(FormatTime(p.created_at), "2026-01-01T00:00:00Z");

  json svc = json::parse(R"({"metadata": {"name": "db", "annotations": {"failover.io/active-member": "a"}}, "spec": {"selector": {"app": "db"}}})");
  ServiceObservation s = ServiceFromObject(svc);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.selector, (Labels{{"app", "db"}}));

  json group = json::parse(R"({"metadata": {"name": "g", "namespace": "ns", "generation": 4, "resourceVersion": "9",
      "finalizers": ["failover.io/finalizer"], "annotations": {"failover.io/switchover-to": "b"}}})");
  GroupMeta g = GroupMetaFromObject(group);
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.namespace_, "ns");
  EXPECT_EQ(g.generation, 4);
  EXPECT_EQ(g.finalizers, std::vector<std::string>{"failover.io/finalizer"});
  EXPECT_FALSE(g.deleting);
}

}  // namespace
}  // namespace failover
