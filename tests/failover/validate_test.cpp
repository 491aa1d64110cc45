#include <gtest/gtest.h>

#include "base/duration.h"
#include "failover/spec_parse.h"
#include "failover/validate.h"
#include "valid_spec.h"

namespace failover {
namespace {

TEST(Validate, AcceptsPrefixedKeysAndEmptyValues) {
  SpecParse p = ParseSpec(json::parse(R"({"members": [
      {"name": "a", "selector": {"matchLabels": {"app.kubernetes.io/name": "db", "tier": ""}}},
      {"name": "b", "selector": {"matchExpressions": [{"key": "example.com/Site_B", "operator": "In", "values": ["b.1", "B-2"]}]}}],
    "hooks": {"prePromote": {"url": "https://hooks.example:8443/pre"}}})"));
  ASSERT_TRUE(p.ok()) << ::testing::PrintToString(Messages(p.errors));
  EXPECT_TRUE(Validate(p.spec).empty()) << ::testing::PrintToString(Messages(Validate(p.spec)));
}

TEST(Validate, InitialWaitIsADurationOfAtMostTenMinutes) {
  auto errors_for = [](const std::string& wait) {
    SpecParse p = ParseSpec(json::parse(R"({"members": [
        {"name": "a", "selector": {"matchLabels": {"site": "a"}}},
        {"name": "b", "selector": {"matchLabels": {"site": "b"}}}],
      "detection": {"initialWait": ")" + wait + R"("}})"));
    std::vector<std::string> out = Messages(p.errors);
    if (p.ok()) {
      EXPECT_EQ(p.spec.detection.initial_wait, *base::ParseDuration(wait)) << wait;
      for (const auto& m : Messages(Validate(p.spec))) out.push_back(m);
    }
    return out;
  };
  EXPECT_TRUE(errors_for("0").empty());
  EXPECT_TRUE(errors_for("10m").empty());
  EXPECT_TRUE(errors_for("1m30s").empty());
  EXPECT_EQ(errors_for("10m1ms"), std::vector<std::string>{"spec.detection.initialWait: must be at most 10m"});
  ASSERT_EQ(errors_for("soon").size(), 1u);
  EXPECT_NE(errors_for("soon")[0].find("spec.detection.initialWait: invalid duration \"soon\""), std::string::npos)
      << errors_for("soon")[0];
  EXPECT_EQ(ParseSpec(json::parse(R"({"members": []})")).spec.detection.initial_wait, std::chrono::seconds(30))
      << "the default";
}

TEST(Validate, SwitchTimeoutIsBoundedAndLeavesTheHooksTheirTime) {
  auto errors_for = [](const std::string& timeout, const std::string& hooks = "{}") {
    SpecParse p = ParseSpec(json::parse(R"({"members": [
        {"name": "a", "selector": {"matchLabels": {"site": "a"}}},
        {"name": "b", "selector": {"matchLabels": {"site": "b"}}}],
      "promotion": {"switchTimeout": ")" + timeout + R"("}, "hooks": )" + hooks + "}"));
    std::vector<std::string> out = Messages(p.errors);
    if (p.ok()) {
      EXPECT_EQ(p.spec.switch_timeout, *base::ParseDuration(timeout)) << timeout;
      for (const auto& m : Messages(Validate(p.spec))) out.push_back(m);
    }
    return out;
  };
  EXPECT_TRUE(errors_for("10s").empty());
  EXPECT_TRUE(errors_for("1h").empty());
  EXPECT_EQ(errors_for("9s"), std::vector<std::string>{"spec.promotion.switchTimeout: must be at least 10s"});
  EXPECT_EQ(errors_for("1h1ms"), std::vector<std::string>{"spec.promotion.switchTimeout: must be at most 1h"});
  // The default hooks (timeout 5s, 3 retries) may take 20s each.
  const std::string both = R"({"prePromote": {"url": "http://h/pre"}, "postPromote": {"url": "http://h/post"}})";
  EXPECT_TRUE(errors_for("41s", both).empty());
  EXPECT_EQ(errors_for("40s", both),
            std::vector<std::string>{"spec.promotion.switchTimeout: must be longer than the hooks may take "
                                     "((retries + 1) x timeout of prePromote and postPromote: 40s)"});
  EXPECT_EQ(ParseSpec(json::parse(R"({"members": []})")).spec.switch_timeout, std::chrono::minutes(5))
      << "the default";
}

TEST(Validate, HookAndProbeTimeoutsHaveUpperBounds) {
  auto errors_for = [](const std::string& hook_timeout, const std::string& probe_timeout, int retries = 0) {
    SpecParse p = ParseSpec(json::parse(R"({"members": [
        {"name": "a", "selector": {"matchLabels": {"site": "a"}}},
        {"name": "b", "selector": {"matchLabels": {"site": "b"}}}],
      "promotion": {"switchTimeout": "1h"},
      "detection": {"source": "Probe", "probe": {"tcp": {"port": 5432}, "period": "2m", "timeout": ")" +
                                    probe_timeout + R"("}},
      "hooks": {"prePromote": {"url": "http://h/pre", "retries": )" + std::to_string(retries) +
                                    R"(, "timeout": ")" + hook_timeout + R"("}}})"));
    std::vector<std::string> out = Messages(p.errors);
    if (p.ok()) {
      for (const auto& m : Messages(Validate(p.spec))) out.push_back(m);
    }
    return out;
  };
  EXPECT_TRUE(errors_for("5m", "60s").empty()) << ::testing::PrintToString(errors_for("5m", "60s"));
  EXPECT_EQ(errors_for("5m1ms", "60s"), std::vector<std::string>{"spec.hooks.prePromote.timeout: must be at most 5m"});
  EXPECT_EQ(errors_for("30m", "60s"), std::vector<std::string>{"spec.hooks.prePromote.timeout: must be at most 5m"});
  EXPECT_EQ(errors_for("5m", "60001ms"),
            std::vector<std::string>{"spec.detection.probe.timeout: must be at most 1m"});
  EXPECT_EQ(errors_for("1s", "10s", 11), std::vector<std::string>{"spec.hooks.prePromote.retries: must be between 0 and 10"});
}

TEST(Validate, NodeLeaseTimeoutIsOffOrBetweenFiveSecondsAndAnHour) {
  auto errors_for = [](const std::string& timeout) {
    SpecParse p = ParseSpec(json::parse(R"({"members": [
        {"name": "a", "selector": {"matchLabels": {"site": "a"}}},
        {"name": "b", "selector": {"matchLabels": {"site": "b"}}}],
      "detection": {"nodeLeaseTimeout": ")" + timeout + R"("}})"));
    std::vector<std::string> out = Messages(p.errors);
    if (p.ok()) {
      for (const auto& m : Messages(Validate(p.spec))) out.push_back(m);
    }
    return out;
  };
  for (const char* ok : {"0", "0s", "5s", "15s", "1h"}) EXPECT_TRUE(errors_for(ok).empty()) << ok;
  EXPECT_EQ(errors_for("4999ms"),
            std::vector<std::string>{"spec.detection.nodeLeaseTimeout: must be at least 5s"});
  EXPECT_EQ(errors_for("61m"), std::vector<std::string>{"spec.detection.nodeLeaseTimeout: must be at most 1h"});
  EXPECT_EQ(errors_for("15 seconds").size(), 1u);
  EXPECT_EQ(errors_for("15 seconds").front().rfind("spec.detection.nodeLeaseTimeout: ", 0), 0u);
  // The default: on, 15 s.
  EXPECT_EQ(ParseSpec(json::parse(R"({"members": []})")).spec.detection.node_lease_timeout, std::chrono::seconds(15));
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

// The text form of a label selector (--pod-label-selector), as the apiserver parses it.
TEST(CheckLabelSelector, AcceptsTheApisForms) {
  for (const char* ok : {"", "failover.io/managed=true", "app==db", "tier!=cache", "app", "!legacy",
                         "app in (db, cache),tier notin (test)", " app = db , env ", "gen>3", "gen<10",
                         "example.com/team in (a,b,c),!example.com/old"}) {
    EXPECT_EQ(CheckLabelSelector(ok), "") << ok;
  }
}

TEST(CheckLabelSelector, NamesWhatIsWrong) {
  struct Case {
    const char* text;
    const char* names;
  } cases[] = {
      {"app=db,", "an empty requirement"},
      {",app=db", "an empty requirement"},
      {"app in (db,cache", "unbalanced '('"},
      {"app in db)", "unbalanced ')'"},
      {"app (db)", "needs 'in' or 'notin'"},
      {"-app=db", "\"-app\" in \"-app=db\" is not a label key"},
      {"app=db!", "\"db!\" is not a valid label value"},
      {"app=a b", "\"a b\" is not a valid label value"},
      {"app in (db,-x)", "\"-x\" is not a valid label value"},
      {"gen>x", "'>' needs a whole number"},
      {"app!db", "'!' must start a requirement"},
      {"app===db", "not a valid label value"},
  };
  for (const auto& c : cases) {
    const std::string e = CheckLabelSelector(c.text);
    EXPECT_NE(e.find(c.names), std::string::npos) << c.text << " -> " << e;
  }
}

TEST(ActiveActive, OneMemberIsValid) {
  SpecParse p = ParseSpec(json::parse(
      R"({"mode": "ActiveActive", "members": [{"name": "a", "selector": {"matchLabels": {"x": "1"}}}]})"));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(Validate(p.spec).empty());
}

}  // namespace
}  // namespace failover
