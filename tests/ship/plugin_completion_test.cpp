// `kubectl failover __complete ...`: what is offered where (the API lookups are the
// integration test's, ship_plugin).
#include "plugin/completion.h"

#include <gtest/gtest.h>

namespace plugin {
namespace {

using Kind = CompletionRequest::Kind;

bool Offers(const CompletionRequest& r, const std::string& word) {
  for (const auto& w : r.words) {
    if (w == word || w.rfind(word + "\t", 0) == 0) return true;
  }
  return false;
}

TEST(WhatToComplete, CommandsFirst) {
  auto r = WhatToComplete({""});
  EXPECT_EQ(r.kind, Kind::kWords);
  EXPECT_TRUE(Offers(r, "switchover"));
  EXPECT_TRUE(Offers(r, "completion"));
  EXPECT_EQ(WhatToComplete({"-n", "shop", "sw"}).prefix, "sw");
  EXPECT_TRUE(Offers(WhatToComplete({"-n", "shop", "sw"}), "status"));
}

TEST(WhatToComplete, GroupsInTheNamespaceGiven) {
  auto r = WhatToComplete({"switchover", "-n", "shop", "--context=c", "--kubeconfig", "/k", "or"});
  EXPECT_EQ(r.kind, Kind::kGroups);
  EXPECT_EQ(r.ns, "shop");
  EXPECT_EQ(r.context, "c");
  EXPECT_EQ(r.kubeconfig, "/k");
  EXPECT_EQ(r.prefix, "or");
  EXPECT_EQ(WhatToComplete({"status", "--namespace=x", ""}).ns, "x");
  EXPECT_EQ(WhatToComplete({"pause", "orders", ""}).kind, Kind::kNone);  // one GROUP only
}

TEST(WhatToComplete, FlagValues) {
  EXPECT_EQ(WhatToComplete({"status", "-n", ""}).kind, Kind::kNamespaces);
  EXPECT_EQ(WhatToComplete({"status", "--kubeconfig", ""}).kind, Kind::kFiles);
  auto o = WhatToComplete({"status", "-o", "y"});
  EXPECT_EQ(o.kind, Kind::kWords);
  EXPECT_EQ(o.words, (std::vector<std::string>{"json", "yaml"}));
  auto to = WhatToComplete({"switchover", "orders", "-n", "shop", "--to", ""});
  EXPECT_EQ(to.kind, Kind::kMembers);
  EXPECT_EQ(to.group, "orders");
  EXPECT_EQ(to.ns, "shop");
  EXPECT_EQ(WhatToComplete({"switchover", "--to", ""}).kind, Kind::kNone);  // no GROUP yet
  EXPECT_EQ(WhatToComplete({"pause", "g", "--wait", "--timeout", ""}).kind, Kind::kNone);
  EXPECT_EQ(WhatToComplete({"completion", ""}).words, (std::vector<std::string>{"bash", "zsh"}));
}

TEST(WhatToComplete, FlagsOfTheCommand) {
  auto sw = WhatToComplete({"switchover", "g", "--"});
  EXPECT_TRUE(Offers(sw, "--to"));
  EXPECT_TRUE(Offers(sw, "--wait"));
  EXPECT_FALSE(Offers(sw, "--output"));
  auto st = WhatToComplete({"status", "-"});
  EXPECT_TRUE(Offers(st, "--output"));
  EXPECT_TRUE(Offers(st, "--all-namespaces"));
  EXPECT_FALSE(Offers(st, "--wait"));
}

TEST(FormatCompletions, CobraProtocol) {
  EXPECT_EQ(FormatCompletions({"status\tdesc", "switchover", "pause"}, "s"), "status\tdesc\nswitchover\n:4\n");
  EXPECT_EQ(FormatCompletions({}, ""), ":4\n");
  EXPECT_EQ(FormatCompletions({}, "", true), ":0\n");
}

TEST(CompletionScripts, RegisterForTheExecutable) {
  EXPECT_NE(BashCompletionScript().find("complete -F _kubectl_failover kubectl-failover"), std::string::npos);
  EXPECT_NE(ZshCompletionScript().find("#compdef kubectl-failover"), std::string::npos);
  EXPECT_NE(ZshCompletionScript().find("__complete"), std::string::npos);
}

}  // namespace
}  // namespace plugin
