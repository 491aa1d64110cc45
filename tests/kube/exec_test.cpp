#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kube/credentials.h"
#include "support/fake_env.h"
#include "temp_dir.h"

namespace kube {
namespace {

const std::string kData = FO_KUBE_TESTDATA;
constexpr const char* kV1 = "client.authentication.k8s.io/v1";
constexpr const char* kV1beta1 = "client.authentication.k8s.io/v1beta1";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A plugin that prints `status` as an ExecCredential of `version`.
std::string PrintingPlugin(const std::string& version, const std::string& status) {
  return "#!/bin/sh\ncat <<'JSON'\n{\"apiVersion\":\"" + version +
         "\",\"kind\":\"ExecCredential\",\"status\":" + status + "}\nJSON\n";
}

ExecConfig Exec(const std::string& command, const std::string& version = kV1) {
  ExecConfig e;
  e.api_version = version;
  e.command = command;
  e.interactive_mode = "Never";
  return e;
}

RestConfig Cluster() {
  RestConfig c;
  c.server = "https://127.0.0.1:6443";
  c.ca_pem = ReadFile(kData + "/ca.crt");
  return c;
}

TEST(ExecPluginTest, TokenV1AndV1beta1) {
  testing::TempDir dir;
  for (const char* version : {kV1, kV1beta1}) {
    std::string script = dir.Write("plugin.sh", PrintingPlugin(version, R"({"token":"tok-1"})"), 0755);
    auto cred = RunExecPlugin(Exec(script, version), Cluster());
    ASSERT_TRUE(cred.ok()) << cred.status().ToString();
    EXPECT_EQ(cred->token, "tok-1");
    EXPECT_FALSE(cred->expiry.has_value());
  }
}

TEST(ExecPluginTest, PassesArgsEnvAndExecInfo) {
  testing::TempDir dir;
  std::string out = dir.path() + "/seen";
  std::string script = dir.Write(
      "plugin.sh",
      "#!/bin/sh\nprintf '%s\\n' \"$1\" \"$2\" \"$MY_VAR\" > " + out +
          "\nprintf '%s' \"$KUBERNETES_EXEC_INFO\" > " + out + ".json\n" +
          "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
          "\"status\":{\"token\":\"t\"}}'\n",
      0755);
  ExecConfig e = Exec(script);
  e.args = {"first", "second arg"};
  e.env["MY_VAR"] = "my value";
  e.provide_cluster_info = true;
  auto cred = RunExecPlugin(e, Cluster());
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(ReadFile(out), "first\nsecond arg\nmy value\n");
  auto info = nlohmann::json::parse(ReadFile(out + ".json"));
  EXPECT_EQ(info["apiVersion"], kV1);
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://127.0.0.1:6443");
  EXPECT_FALSE(info["spec"]["cluster"]["certificate-authority-data"].get<std::string>().empty());
}

TEST(ExecPluginTest, ClientCertificateAndExpiry) {
  testing::TempDir dir;
  nlohmann::json status = {{"clientCertificateData", ReadFile(kData + "/client.crt")},
                           {"clientKeyData", ReadFile(kData + "/client.key")},
                           {"expirationTimestamp", "2030-01-02T03:04:05Z"}};
  std::string script = dir.Write("plugin.sh", PrintingPlugin(kV1, status.dump()), 0755);
  auto cred = RunExecPlugin(Exec(script), Cluster());
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_TRUE(cred->token.empty());
  EXPECT_EQ(cred->client_cert_pem, ReadFile(kData + "/client.crt"));
  ASSERT_TRUE(cred->expiry.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*cred->expiry), 1893553445);
}

TEST(ExecPluginTest, FailuresAreClear) {
  testing::TempDir dir;
  struct Case {
    const char* name;
    std::string script;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"exit", "#!/bin/sh\necho 'cannot reach the identity provider' >&2\nexit 3\n",
       {"exited with status 3", "cannot reach the identity provider"}},
      {"not-json", "#!/bin/sh\necho hello\n", {"not a JSON ExecCredential", "hello"}},
      {"wrong-kind", "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"Pod\"}'\n",
       {"kind: expected ExecCredential"}},
      {"wrong-version", PrintingPlugin(kV1beta1, R"({"token":"t"})"),
       {"apiVersion: expected client.authentication.k8s.io/v1"}},
      {"no-status", "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}'\n",
       {"status: missing"}},
      {"empty-status", PrintingPlugin(kV1, "{}"), {"neither token nor clientCertificateData"}},
      {"bad-expiry", PrintingPlugin(kV1, R"({"token":"t","expirationTimestamp":"tomorrow"})"),
       {"expirationTimestamp", "tomorrow"}},
      {"cert-no-key", PrintingPlugin(kV1, R"({"clientCertificateData":"x"})"),
       {"clientCertificateData and clientKeyData go together"}},
  };
  for (const auto& c : cases) {
    std::string script = dir.Write(std::string(c.name) + ".sh", c.script, 0755);
    auto cred = RunExecPlugin(Exec(script), Cluster());
    ASSERT_FALSE(cred.ok()) << c.name;
    EXPECT_EQ(cred.status().reason(), Reason::kConfigError);
    EXPECT_NE(cred.status().message().find(script), std::string::npos) << cred.status().message();
    for (const auto& w : c.want) {
      EXPECT_NE(cred.status().message().find(w), std::string::npos)
          << c.name << ": want \"" << w << "\" in: " << cred.status().message();
    }
  }
  auto missing = RunExecPlugin(Exec(dir.path() + "/nope"), Cluster());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot run"), std::string::npos);
  std::string slow = dir.Write("slow.sh", "#!/bin/sh\nexec sleep 30\n", 0755);
  auto hung = RunExecPlugin(Exec(slow), Cluster(), std::chrono::seconds(1));
  ASSERT_FALSE(hung.ok());
  EXPECT_NE(hung.status().message().find("no answer within 1s"), std::string::npos);
}

TEST(Rfc3339Test, Forms) {
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ParseRfc3339("1970-01-01T00:00:10Z")), 10);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ParseRfc3339("1970-01-01T01:00:10+01:00")), 10);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ParseRfc3339("1970-01-01T00:00:10.123456Z")), 10);
  EXPECT_FALSE(ParseRfc3339("1970-01-01 00:00:10").has_value());
  EXPECT_FALSE(ParseRfc3339("1970-01-01T00:00:10Zjunk").has_value());
}

// Counts its runs in a file and prints token "run-<n>" valid for `expiry`.
std::string CountingPlugin(const std::string& dir, const std::string& expiry) {
  std::string status = expiry.empty() ? R"({"token":"run-'$n'"})"
                                      : R"({"token":"run-'$n'","expirationTimestamp":")" + expiry + "\"}";
  return "#!/bin/sh\nn=$(cat " + dir + "/count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > " +
         dir + "/count\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
               "\"ExecCredential\",\"status\":" + status + "}'\n";
}

TEST(CredentialsTest, ExecCachedUntilExpiryAndRerunOn401) {
  testing::TempDir dir;
  RestConfig cfg = Cluster();
  cfg.exec = Exec(dir.Write("plugin.sh", CountingPlugin(dir.path(), "2999-01-01T00:00:00Z"), 0755));
  Credentials creds(cfg);
  EXPECT_EQ(*creds.Token(), "run-1");
  EXPECT_EQ(*creds.Token(), "run-1");  // cached
  EXPECT_TRUE(creds.OnUnauthorized("run-1"));
  EXPECT_EQ(*creds.Token(), "run-2");
  EXPECT_TRUE(creds.OnUnauthorized("run-1"));  // stale 401: already refreshed, no new run
  EXPECT_EQ(*creds.Token(), "run-2");

  testing::TempDir expired_dir;
  RestConfig expired = Cluster();
  expired.exec = Exec(expired_dir.Write(
      "plugin.sh", CountingPlugin(expired_dir.path(), "2000-01-01T00:00:00Z"), 0755));
  Credentials short_lived(expired);
  EXPECT_EQ(*short_lived.Token(), "run-1");
  EXPECT_EQ(*short_lived.Token(), "run-2");  // already expired: run again
}

TEST(CredentialsTest, ExecRerunOnceTheWallClockPassesItsExpiry) {
  testsupport::FakeEnv env;  // the wall reads 2024-01-01T00:00:00Z
  testing::TempDir dir;
  RestConfig cfg = Cluster();
  cfg.env = &env;
  cfg.exec = Exec(dir.Write("plugin.sh", CountingPlugin(dir.path(), "2024-01-01T00:10:00Z"), 0755));
  Credentials creds(cfg);
  EXPECT_EQ(*creds.Token(), "run-1");
  env.Advance(std::chrono::minutes(10) - std::chrono::seconds(1));
  EXPECT_EQ(*creds.Token(), "run-1") << "cached until its expirationTimestamp";
  env.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*creds.Token(), "run-2") << "expired on the client's clock: the plugin runs again";
}

TEST(CredentialsTest, TokenFileRereadOnceThePeriodHasPassedOnTheClock) {
  testsupport::FakeEnv env;
  testing::TempDir dir;
  RestConfig cfg = Cluster();
  cfg.env = &env;
  cfg.bearer_token = "one";
  cfg.bearer_token_file = dir.Write("token", "one\n");
  Credentials creds(cfg, std::chrono::seconds(60));
  dir.Write("token", "two\n");
  env.Advance(std::chrono::seconds(59));
  EXPECT_EQ(*creds.Token(), "one");
  env.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*creds.Token(), "two");
  dir.Write("token", "three\n");
  env.Advance(std::chrono::seconds(59));
  EXPECT_EQ(*creds.Token(), "two") << "the period counts from the last read";
  env.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*creds.Token(), "three");
}

TEST(CredentialsTest, ExecFailureIsReported) {
  testing::TempDir dir;
  RestConfig cfg = Cluster();
  cfg.exec = Exec(dir.Write("plugin.sh", "#!/bin/sh\necho 'login required' >&2\nexit 1\n", 0755));
  Credentials creds(cfg);
  auto t = creds.Token();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("login required"), std::string::npos);
}

TEST(CredentialsTest, TokenFileRereadPeriodicallyAndOn401) {
  testing::TempDir dir;
  std::string file = dir.Write("token", "one\n");
  RestConfig cfg = Cluster();
  cfg.bearer_token = "one";
  cfg.bearer_token_file = file;
  Credentials creds(cfg, std::chrono::seconds(3600));
  EXPECT_EQ(*creds.Token(), "one");
  dir.Write("token", "two\n");
  EXPECT_EQ(*creds.Token(), "one");  // within the period the cached token is used
  EXPECT_TRUE(creds.OnUnauthorized("one"));
  EXPECT_EQ(*creds.Token(), "two");
  EXPECT_FALSE(creds.OnUnauthorized("two"));  // same token on disk: a retry would not help

  Credentials eager(cfg, std::chrono::seconds(0));
  dir.Write("token", "three\n");
  EXPECT_EQ(*eager.Token(), "three");
  std::filesystem::remove(file);
  EXPECT_EQ(*eager.Token(), "three");  // a vanished file keeps the last good token
}

}  // namespace
}  // namespace kube
