#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "support/cluster_env.h"
#include "support/command.h"
#include "support/names.h"
#include "support/wait.h"

namespace testsupport {
namespace {

using std::chrono::milliseconds;

TEST(RunCommand, CapturesOutputAndExitCode) {
  const auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.timed_out);
}

TEST(RunCommand, KillsACommandPastItsTimeout) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_command({"sleep", "30"}, milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(RunCommand, ReportsAMissingProgram) {
  const auto r = run_command({"fo-no-such-program-here"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("fo-no-such-program-here"), std::string::npos) << r.err;
}

TEST(WaitUntil, ReturnsTrueOnceTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls >= 3; }, std::chrono::seconds(5), milliseconds(1)));
  EXPECT_EQ(calls, 3);
}

TEST(WaitUntil, ReturnsFalseWhenTimeRunsOut) {
  EXPECT_FALSE(wait_until([] { return false; }, milliseconds(30), milliseconds(5)));
}

TEST(UniqueNamespace, IsAValidDistinctLabel) {
  const std::regex label("[a-z]([-a-z0-9]*[a-z0-9])?");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto name = unique_namespace("My_Test.Case/with a very long name that will not fit in a label at all");
    EXPECT_LE(name.size(), 63U) << name;
    EXPECT_TRUE(std::regex_match(name, label)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name;
  }
  EXPECT_TRUE(std::regex_match(unique_namespace("9lives"), label));
}

TEST(ClusterEnv, ReadsKeyValueLinesAndPrefersTheEnvironment) {
  char dir_template[] = "/tmp/fo-testsupport-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  {
    std::ofstream env(std::string(dir) + "/cluster.env");
    env << "# comment\nKUBECONFIG=/x/kubeconfig\nFO_NODE_IP=127.42.0.1\n\nFO_KUBECTL=/bin/kubectl\n";
  }
  setenv("FO_CLUSTER_DIR", dir, 1);
  unsetenv("FO_KUBECONFIG");
  unsetenv("FO_NODE_IP");
  EXPECT_EQ(cluster_value("FO_NODE_IP").value_or(""), "127.42.0.1");
  EXPECT_FALSE(cluster_value("FO_MISSING").has_value());
  EXPECT_EQ(kubeconfig_path(), "/x/kubeconfig");
  EXPECT_EQ(kubectl_path(), "/bin/kubectl");
  setenv("FO_NODE_IP", "127.43.0.1", 1);
  setenv("FO_KUBECONFIG", "/y/kubeconfig", 1);
  EXPECT_EQ(cluster_value("FO_NODE_IP").value_or(""), "127.43.0.1");
  EXPECT_EQ(kubeconfig_path(), "/y/kubeconfig");
  unsetenv("FO_NODE_IP");
  unsetenv("FO_KUBECONFIG");
  unsetenv("FO_CLUSTER_DIR");
  std::remove((std::string(dir) + "/cluster.env").c_str());
  std::remove(dir);
}

}  // namespace
}  // namespace testsupport
