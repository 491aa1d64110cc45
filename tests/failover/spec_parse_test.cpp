#include <gtest/gtest.h>

#include "failover/spec_parse.h"
#include "failover/validate.h"
#include "valid_spec.h"

namespace failover {
namespace {

using namespace std::chrono_literals;

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

}  // namespace
}  // namespace failover
