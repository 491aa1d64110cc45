// The plugin's command line: what applies to which command, and errors that name the flag.
#include "plugin/options.h"

#include <gtest/gtest.h>

namespace plugin {
namespace {

CommandLine Parse(std::vector<std::string> args) { return ParseCommandLine(args); }

TEST(PluginOptions, OutputFormats) {
  EXPECT_EQ(Parse({"status", "-o", "json"}).options.output, OutputFormat::kJson);
  EXPECT_EQ(Parse({"status", "-ojson"}).options.output, OutputFormat::kJson);
  EXPECT_EQ(Parse({"status", "-o=yaml"}).options.output, OutputFormat::kYaml);
  EXPECT_EQ(Parse({"history", "g", "--output", "yaml"}).options.output, OutputFormat::kYaml);
  EXPECT_EQ(Parse({"status"}).options.output, OutputFormat::kTable);
  EXPECT_EQ(Parse({"status"}).error, "");
}

TEST(PluginOptions, BadOutputNamesTheFlagAndTheChoices) {
  // The flag as typed.
  EXPECT_EQ(Parse({"status", "--output", "xml"}).error,
            "--output: \"xml\" is not an output format: json or yaml (the table is the default)");
  EXPECT_EQ(Parse({"status", "-owide"}).error,
            "-o: \"wide\" is not an output format: json or yaml (the table is the default)");
  EXPECT_EQ(Parse({"pause", "g", "-o", "json"}).error, "-o only applies to status and history");
}

TEST(PluginOptions, WaitAndTimeout) {
  auto cl = Parse({"switchover", "g", "--to", "b", "--wait", "--timeout", "90s"});
  EXPECT_EQ(cl.error, "");
  EXPECT_TRUE(cl.options.wait);
  ASSERT_TRUE(cl.options.timeout.has_value());
  EXPECT_EQ(*cl.options.timeout, std::chrono::seconds(90));
  EXPECT_FALSE(Parse({"failback", "g", "--wait"}).options.timeout.has_value());
  EXPECT_EQ(Parse({"pause", "g", "--wait", "--timeout=1m"}).error, "");
  EXPECT_EQ(Parse({"resume", "g", "--wait"}).error, "");
}

TEST(PluginOptions, WaitErrors) {
  EXPECT_EQ(Parse({"status", "--wait"}).error, "--wait only applies to switchover, failback, pause and resume");
  EXPECT_EQ(Parse({"history", "g", "--wait"}).error, "--wait only applies to switchover, failback, pause and resume");
  EXPECT_EQ(Parse({"pause", "g", "--timeout", "1m"}).error, "--timeout only applies with --wait");
  EXPECT_EQ(Parse({"pause", "g", "--wait", "--timeout", "soon"}).error,
            "--timeout: \"soon\" is not a duration: a number with a unit (ms, s, m, h), e.g. 30s, 5m");
  EXPECT_EQ(Parse({"pause", "g", "--wait", "--timeout", "0"}).error, "--timeout: \"0\" is not above zero");
  EXPECT_EQ(Parse({"pause", "g", "--wait", "--timeout"}).error.find("--timeout"), 0u);
}

TEST(PluginOptions, ArgumentsPerCommand) {
  EXPECT_EQ(Parse({"frobnicate"}).error,
            "unknown command \"frobnicate\" (commands: status, switchover, failback, pause, resume, history, "
            "completion)");
  EXPECT_EQ(Parse({"status", "a", "b"}).error, "status takes at most one GROUP");
  EXPECT_EQ(Parse({"pause"}).error, "pause needs exactly one GROUP");
  EXPECT_EQ(Parse({"switchover", "g"}).error, "switchover needs --to MEMBER");
  EXPECT_EQ(Parse({"failback", "g", "--to", "a"}).error, "--to only applies to switchover");
  EXPECT_EQ(Parse({"history", "g", "-A"}).error, "-A only applies to status");
  EXPECT_EQ(Parse({"completion"}).error, "completion needs one SHELL: bash or zsh");
  EXPECT_EQ(Parse({"completion", "fish"}).error, "completion needs one SHELL: bash or zsh");
  EXPECT_EQ(Parse({"completion", "zsh"}).error, "");
  EXPECT_EQ(Parse({"status", "--frob"}).error, "unknown flag --frob");
}

TEST(PluginOptions, HelpVersionAndNoCommand) {
  EXPECT_TRUE(Parse({"--help"}).help);
  EXPECT_TRUE(Parse({"help"}).help);
  EXPECT_TRUE(Parse({"-h", "status"}).help);
  EXPECT_TRUE(Parse({"--version"}).version);
  EXPECT_TRUE(Parse({}).no_command);
  EXPECT_TRUE(Parse({"-n", "shop"}).no_command);
}

TEST(PluginOptions, TheRestOfTheFlags) {
  auto cl = Parse({"status", "-A", "--kubeconfig", "/k", "--context=c", "-n", "shop"});
  EXPECT_EQ(cl.error, "");
  EXPECT_TRUE(cl.options.all_namespaces);
  EXPECT_EQ(cl.options.kubeconfig, "/k");
  EXPECT_EQ(cl.options.context, "c");
  EXPECT_EQ(cl.options.ns, "shop");
  // After --, "-ojson" is a GROUP, not a flag.
  EXPECT_EQ(Parse({"status", "--", "-ojson"}).options.args, std::vector<std::string>{"-ojson"});
}

}  // namespace
}  // namespace plugin
