// -o json|yaml: the summaries' fields, and YAML that reads back as the same value.
#include "plugin/output.h"

#include <yaml-cpp/yaml.h>

#include <gtest/gtest.h>

#include "plugin/commands.h"

namespace plugin {
namespace {

TEST(ToYaml, ScalarsThatWouldReadAsAnotherTypeAreQuoted) {
  json v = {{"s", "plain-name/with.dots_1"},
            {"bool_word", "yes"},
            {"null_word", "null"},
            {"number", "123"},
            {"time", "2026-01-01T00:00:00Z"},
            {"colon", "a: b"},
            {"empty", ""},
            {"on", "On"},
            {"n", 5},
            {"f", 1.5},
            {"t", true},
            {"z", nullptr}};
  EXPECT_EQ(ToYaml(v),
            "bool_word: \"yes\"\n"
            "colon: \"a: b\"\n"
            "empty: \"\"\n"
            "f: 1.5\n"
            "\"n\": 5\n"  // YAML 1.1 reads a plain n as false
            "null_word: \"null\"\n"
            "number: \"123\"\n"
            "\"on\": \"On\"\n"
            "s: plain-name/with.dots_1\n"
            "t: true\n"
            "time: \"2026-01-01T00:00:00Z\"\n"
            "z: null\n");
}

TEST(ToYaml, NestingAsKubectlWritesIt) {
  json v = {{"items", {{{"name", "a"}, {"members", {{{"name", "x"}}}}}, {{"name", "b"}}}},
            {"empty_list", json::array()},
            {"empty_map", json::object()},
            {"nested", {{"k", {1, 2}}}},
            {"lists", {{1}, json::array()}}};
  EXPECT_EQ(ToYaml(v),
            "empty_list: []\n"
            "empty_map: {}\n"
            "items:\n"
            "- members:\n"
            "  - name: x\n"
            "  name: a\n"
            "- name: b\n"
            "lists:\n"
            "-\n"
            "  - 1\n"
            "- []\n"
            "nested:\n"
            "  k:\n"
            "  - 1\n"
            "  - 2\n");
}

// yaml-cpp reads what ToYaml writes back to the same structure and strings (the type
// round trip through a YAML 1.1 reader is checked by ship_plugin with PyYAML).
TEST(ToYaml, ReadsBack) {
  json v = {{"a", {{"b", "x: y # z"}, {"c", "multi\nline \"q\" \\ \t"}}}, {"l", {"-", "?", "[x]", "{y}", "ünï"}}};
  YAML::Node n = YAML::Load(ToYaml(v));
  EXPECT_EQ(n["a"]["b"].as<std::string>(), "x: y # z");
  EXPECT_EQ(n["a"]["c"].as<std::string>(), "multi\nline \"q\" \\ \t");
  ASSERT_EQ(n["l"].size(), 5u);
  EXPECT_EQ(n["l"][0].as<std::string>(), "-");
  EXPECT_EQ(n["l"][3].as<std::string>(), "{y}");
  EXPECT_EQ(n["l"][4].as<std::string>(), "ünï");
}

TEST(Render, JsonIsIndentedAndEndsInANewline) {
  EXPECT_EQ(Render(json{{"a", 1}}, OutputFormat::kJson), "{\n  \"a\": 1\n}\n");
  EXPECT_EQ(Render(json{{"a", 1}}, OutputFormat::kYaml), "a: 1\n");
}

json Orders() {
  return {{"metadata", {{"name", "orders"}, {"namespace", "shop"}}},
          {"spec", {{"members", {{{"name", "a"}}, {{"name", "b"}, {"priority", 5}}}}, {"paused", true}}},
          {"status",
           {{"phase", "FailedOver"},
            {"activeMember", "b"},
            {"activeMembers", {"b"}},
            {"failoverCount", 2},
            {"members",
             {{{"name", "a"}, {"healthy", false}, {"role", "Fenced"}, {"readyPods", 0}, {"pods", 1}},
              {{"name", "b"}, {"healthy", true}, {"role", "Active"}, {"readyPods", 1}, {"pods", 1}}}},
            {"conditions",
             {{{"type", "Ready"}, {"status", "True"}, {"reason", "ActiveHealthy"}},
              {{"type", "Degraded"}, {"status", "True"}, {"reason", "NoHealthyStandby"}, {"message", "a is down"}}}},
            {"lastTransition",
             {{"from", "a"}, {"to", "b"}, {"reason", "PrimaryUnhealthy"}, {"detectedAt", "2026-01-01T00:00:00Z"},
              {"completedAt", "2026-01-01T00:00:01Z"}}},
            {"history",
             {{{"to", "a"}, {"reason", "Initial"}, {"detectedAt", "2025-12-31T00:00:00Z"}},
              {{"from", "a"}, {"to", "b"}, {"reason", "PrimaryUnhealthy"}, {"detectedAt", "2026-01-01T00:00:00Z"},
               {"completedAt", "2026-01-01T00:00:01Z"}}}}}}};
}

TEST(StatusSummary, FieldsFromSpecAndStatus) {
  json s = StatusSummary(json::array({Orders()}));
  EXPECT_EQ(s["kind"], "FailoverGroupStatusList");
  ASSERT_EQ(s["items"].size(), 1u);
  const json& g = s["items"][0];
  EXPECT_EQ(g["namespace"], "shop");
  EXPECT_EQ(g["name"], "orders");
  EXPECT_EQ(g["mode"], "ActivePassive");
  EXPECT_EQ(g["phase"], "FailedOver");
  EXPECT_EQ(g["paused"], true);
  EXPECT_EQ(g["dryRun"], false);
  EXPECT_EQ(g["activeMember"], "b");
  EXPECT_EQ(g["activeMembers"], json::array({"b"}));
  EXPECT_EQ(g["healthyMembers"], 1);
  EXPECT_EQ(g["totalMembers"], 2);
  EXPECT_EQ(g["members"][0],
            (json{{"name", "a"}, {"priority", 0}, {"role", "Fenced"}, {"healthy", false}, {"readyPods", 0}, {"pods", 1}}));
  EXPECT_EQ(g["members"][1]["priority"], 5);
  EXPECT_EQ(g["ready"], true);
  EXPECT_EQ(g["degraded"], (json{{"reason", "NoHealthyStandby"}, {"message", "a is down"}}));
  EXPECT_EQ(g["switch"], nullptr);
  EXPECT_EQ(g["failoverCount"], 2);
  EXPECT_EQ(g["lastTransition"]["to"], "b");
}

// A group the operator has not seen: every key is there, null where the status says nothing.
TEST(StatusSummary, SameKeysForAGroupWithoutStatus) {
  json bare = {{"metadata", {{"name", "new"}, {"namespace", "shop"}}},
               {"spec", {{"mode", "ActiveActive"}, {"members", {{{"name", "a"}}}}}}};
  json g = StatusSummary(json::array({bare}))["items"][0];
  json full = StatusSummary(json::array({Orders()}))["items"][0];
  for (const auto& [key, _] : full.items()) EXPECT_TRUE(g.contains(key)) << key;
  EXPECT_EQ(g.size(), full.size());
  EXPECT_EQ(g["mode"], "ActiveActive");
  EXPECT_EQ(g["phase"], nullptr);
  EXPECT_EQ(g["healthyMembers"], nullptr);
  EXPECT_EQ(g["ready"], nullptr);
  EXPECT_EQ(g["lastTransition"], nullptr);
  EXPECT_EQ(g["activeMembers"], json::array());
  EXPECT_EQ(g["members"][0]["healthy"], nullptr);
  EXPECT_EQ(StatusSummary(json::array())["items"], json::array());
}

TEST(HistorySummary, NewestFirst) {
  json h = HistorySummary(Orders());
  EXPECT_EQ(h["kind"], "FailoverGroupHistory");
  EXPECT_EQ(h["namespace"], "shop");
  EXPECT_EQ(h["name"], "orders");
  ASSERT_EQ(h["transitions"].size(), 2u);
  EXPECT_EQ(h["transitions"][0]["to"], "b");
  EXPECT_EQ(h["transitions"][1], (json{{"from", nullptr}, {"to", "a"}, {"reason", "Initial"},
                                       {"detectedAt", "2025-12-31T00:00:00Z"}, {"completedAt", nullptr}}));
  json none = HistorySummary(json{{"metadata", {{"name", "x"}}}});
  EXPECT_EQ(none["transitions"], json::array());
}

}  // namespace
}  // namespace plugin
