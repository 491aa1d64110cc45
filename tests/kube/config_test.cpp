#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kube/config.h"
#include "temp_dir.h"

namespace kube {
namespace {

const std::string kData = FO_KUBE_TESTDATA;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KubeconfigTest, FilesRelativeToTheKubeconfig) {
  auto cfg = LoadKubeconfig({kData + "/files.kubeconfig"});
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->tls_server_name, "kubernetes.default.svc");
  EXPECT_EQ(cfg->ca_pem, ReadFile(kData + "/ca.crt"));
  EXPECT_EQ(cfg->client_cert_pem, ReadFile(kData + "/client.crt"));
  EXPECT_EQ(cfg->client_key_pem, ReadFile(kData + "/client.key"));
  EXPECT_EQ(cfg->default_namespace, "shop");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_TRUE(cfg->bearer_token.empty());
  EXPECT_NE(cfg->source.find("context admin"), std::string::npos);
}

TEST(KubeconfigTest, NamedContextWithTokenFileAndInsecure) {
  auto cfg = LoadKubeconfig({kData + "/files.kubeconfig"}, "reader");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://other.example:8443");
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->bearer_token_file, kData + "/token.txt");
  EXPECT_EQ(cfg->bearer_token, "file-token-1");
  EXPECT_EQ(cfg->default_namespace, "default");
}

TEST(KubeconfigTest, InlineData) {
  auto cfg = LoadKubeconfig({kData + "/data.kubeconfig"});
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://[::1]:6443");
  EXPECT_EQ(cfg->ca_pem, ReadFile(kData + "/ca.crt"));
  EXPECT_EQ(cfg->client_cert_pem, ReadFile(kData + "/client.crt"));
  EXPECT_EQ(cfg->client_key_pem, ReadFile(kData + "/client.key"));
  EXPECT_EQ(cfg->bearer_token, "static-token");
}

TEST(KubeconfigTest, MergeFirstFileWins) {
  auto ab = LoadKubeconfig({kData + "/merge-a.kubeconfig", kData + "/merge-b.kubeconfig"});
  ASSERT_TRUE(ab.ok()) << ab.status().ToString();
  EXPECT_EQ(ab->server, "https://a.example:1");  // current-context a, cluster "shared" from a
  EXPECT_EQ(ab->bearer_token, "token-a");
  auto ab_b = LoadKubeconfig({kData + "/merge-a.kubeconfig", kData + "/merge-b.kubeconfig"}, "b");
  ASSERT_TRUE(ab_b.ok()) << ab_b.status().ToString();
  EXPECT_EQ(ab_b->server, "https://only-b.example:3");  // a context only b defines
  EXPECT_EQ(ab_b->bearer_token, "token-a");             // its user comes from a, first
  EXPECT_EQ(ab_b->default_namespace, "from-b");
  auto ba = LoadKubeconfig({kData + "/merge-b.kubeconfig", kData + "/merge-a.kubeconfig"});
  ASSERT_TRUE(ba.ok()) << ba.status().ToString();
  EXPECT_EQ(ba->server, "https://only-b.example:3");
  EXPECT_EQ(ba->bearer_token, "token-b");
  // A file without current-context takes it from a later one; missing files are skipped.
  auto nc = LoadKubeconfig({kData + "/no-current.kubeconfig", kData + "/does-not-exist",
                            kData + "/merge-a.kubeconfig"});
  ASSERT_TRUE(nc.ok()) << nc.status().ToString();
  EXPECT_EQ(nc->server, "https://a.example:1");
}

TEST(KubeconfigTest, NoFileAtAll) {
  auto cfg = LoadKubeconfig({"/nonexistent/a", "/nonexistent/b"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().reason(), Reason::kConfigError);
  EXPECT_NE(cfg.status().message().find("/nonexistent/a, /nonexistent/b"), std::string::npos);
}

struct Broken {
  const char* name;
  std::string yaml;
  std::string context;
  std::vector<std::string> want;  // every piece must appear in the message
};

std::string Doc(const std::string& cluster, const std::string& user,
                const std::string& context = "{cluster: c, user: u}") {
  return "current-context: x\nclusters:\n- name: c\n  cluster: " + cluster +
         "\nusers:\n- name: u\n  user: " + user + "\ncontexts:\n- name: x\n  context: " +
         context + "\n";
}

class BrokenKubeconfigTest : public ::testing::TestWithParam<Broken> {};

TEST_P(BrokenKubeconfigTest, NamesFileKeyAndProblem) {
  const Broken& b = GetParam();
  testing::TempDir dir;
  std::string path = dir.Write("config", b.yaml);
  auto cfg = LoadKubeconfig({path}, b.context);
  ASSERT_FALSE(cfg.ok()) << b.name;
  EXPECT_EQ(cfg.status().reason(), Reason::kConfigError);
  const std::string msg = cfg.status().message();
  EXPECT_NE(msg.find(path), std::string::npos) << b.name << ": " << msg;
  for (const auto& w : b.want) {
    EXPECT_NE(msg.find(w), std::string::npos) << b.name << ": want \"" << w << "\" in: " << msg;
  }
}

const std::string kServer = "{server: https://h:1}";

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenKubeconfigTest,
    ::testing::Values(
        Broken{"yaml", "clusters: [\n  - {name: c", "", {":2:", "not valid YAML"}},
        Broken{"top", "- a\n- b\n", "", {"top level"}},
        Broken{"kind", "kind: Pod\n", "", {"kind", "expected Config"}},
        Broken{"clusters-not-list", "clusters: {a: b}\n", "", {"clusters", "expected a list"}},
        Broken{"cluster-no-name", "clusters:\n- cluster: {server: x}\n", "", {"clusters[0]", "name: missing"}},
        Broken{"cluster-no-body", "clusters:\n- name: c\n", "", {"clusters[0] (c)", "cluster: missing"}},
        Broken{"no-current", "clusters: []\n", "", {"current-context", "not set"}},
        Broken{"unknown-context", Doc(kServer, "{}"), "nope", {"context", "\"nope\" is not defined"}},
        Broken{"unknown-current", "current-context: gone\n", "", {"current-context", "\"gone\""}},
        Broken{"context-no-cluster", Doc(kServer, "{}", "{user: u}"), "", {"context \"x\"", "cluster: missing"}},
        Broken{"context-unknown-cluster", Doc(kServer, "{}", "{cluster: zz}"), "", {"context \"x\"", "cluster: \"zz\" is not defined"}},
        Broken{"context-unknown-user", Doc(kServer, "{}", "{cluster: c, user: zz}"), "", {"user: \"zz\" is not defined"}},
        Broken{"no-server", Doc("{}", "{}"), "", {"cluster \"c\"", "server: missing"}},
        Broken{"bad-server", Doc("{server: 'h:1'}", "{}"), "", {"cluster \"c\"", "server", "not an http(s)://"}},
        Broken{"insecure-not-bool", Doc("{server: https://h:1, insecure-skip-tls-verify: maybe}", "{}"), "", {"insecure-skip-tls-verify", "expected true or false", "maybe"}},
        Broken{"ca-missing-file", Doc("{server: https://h:1, certificate-authority: nope.crt}", "{}"), "", {"certificate-authority", "nope.crt", "no such file"}},
        Broken{"ca-bad-base64", Doc("{server: https://h:1, certificate-authority-data: '!!!'}", "{}"), "", {"certificate-authority-data", "not valid base64"}},
        Broken{"ca-not-pem", Doc("{server: https://h:1, certificate-authority-data: aGVsbG8=}", "{}"), "", {"certificate-authority", "no PEM certificate"}},
        Broken{"ca-both", Doc("{server: https://h:1, certificate-authority: a, certificate-authority-data: aGVsbG8=}", "{}"), "", {"certificate-authority and certificate-authority-data are both set"}},
        Broken{"ca-and-insecure", Doc("{server: https://h:1, insecure-skip-tls-verify: true, certificate-authority: " + std::string(FO_KUBE_TESTDATA) + "/ca.crt}", "{}"), "", {"insecure-skip-tls-verify", "certificate authority"}},
        Broken{"cert-without-key", Doc(kServer, "{client-certificate: " + std::string(FO_KUBE_TESTDATA) + "/client.crt}"), "", {"user \"u\"", "client-key: missing"}},
        Broken{"key-without-cert", Doc(kServer, "{client-key: " + std::string(FO_KUBE_TESTDATA) + "/client.key}"), "", {"user \"u\"", "client-certificate: missing"}},
        Broken{"key-mismatch", Doc(kServer, "{client-certificate: " + std::string(FO_KUBE_TESTDATA) + "/client.crt, client-key: " + std::string(FO_KUBE_TESTDATA) + "/other.key}"), "", {"client-key", "does not match"}},
        Broken{"key-not-pem", Doc(kServer, "{client-certificate: " + std::string(FO_KUBE_TESTDATA) + "/client.crt, client-key-data: aGVsbG8=}"), "", {"client-key", "no PEM private key"}},
        Broken{"token-file-missing", Doc(kServer, "{tokenFile: missing-token}"), "", {"tokenFile", "missing-token", "no such file"}},
        Broken{"token-not-string", Doc(kServer, "{token: [a]}"), "", {"user \"u\"", "token", "expected a string"}},
        Broken{"auth-provider", Doc(kServer, "{auth-provider: {name: gcp}}"), "", {"auth-provider", "not supported"}},
        Broken{"exec-and-token", Doc(kServer, "{token: t, exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x}}"), "", {"exec", "only one authentication method"}},
        Broken{"exec-no-command", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1beta1}}"), "", {"exec.command: missing"}},
        Broken{"exec-bad-version", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}"), "", {"exec.apiVersion", "v1alpha1", "unsupported"}},
        Broken{"exec-no-version", Doc(kServer, "{exec: {command: x}}"), "", {"exec.apiVersion: missing"}},
        Broken{"exec-v1-no-mode", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}"), "", {"exec.interactiveMode: missing"}},
        Broken{"exec-bad-mode", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Sometimes}}"), "", {"exec.interactiveMode", "Sometimes"}},
        Broken{"exec-args", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x, args: a}}"), "", {"exec.args", "expected a list"}},
        Broken{"exec-env", Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x, env: [{value: v}]}}"), "", {"exec.env[0].name: missing"}}),
    [](const ::testing::TestParamInfo<Broken>& p) {
      std::string n = p.param.name;
      for (char& c : n) {
        if (c == '-') c = '_';
      }
      return n;
    });

TEST(KubeconfigTest, ExecConfigParsed) {
  std::string yaml = Doc(kServer,
                         "{exec: {apiVersion: client.authentication.k8s.io/v1, command: bin/plugin, "
                         "args: [--a, b], env: [{name: K, value: V}], provideClusterInfo: true, "
                         "interactiveMode: Never}}");
  auto cfg = ParseKubeconfig(yaml, "/etc/kube/config");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_TRUE(cfg->exec.has_value());
  EXPECT_EQ(cfg->exec->command, "/etc/kube/bin/plugin");
  EXPECT_EQ(cfg->exec->args, (std::vector<std::string>{"--a", "b"}));
  EXPECT_EQ(cfg->exec->env.at("K"), "V");
  EXPECT_TRUE(cfg->exec->provide_cluster_info);
  EXPECT_EQ(cfg->exec->interactive_mode, "Never");
  auto bare = ParseKubeconfig(Doc(kServer, "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: plugin}}"),
                              "/etc/kube/config");
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->exec->command, "plugin");  // looked up in PATH
}

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(InClusterTest, ReadsServiceAccountFiles) {
  EnvGuard h("KUBERNETES_SERVICE_HOST"), p("KUBERNETES_SERVICE_PORT");
  testing::TempDir dir;
  dir.Write("token", "sa-token\n");
  dir.Write("ca.crt", ReadFile(kData + "/ca.crt"));
  dir.Write("namespace", "team-a");
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto cfg = InClusterConfig(dir.path());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:443");
  EXPECT_EQ(cfg->bearer_token, "sa-token");
  EXPECT_EQ(cfg->bearer_token_file, dir.path() + "/token");
  EXPECT_EQ(cfg->default_namespace, "team-a");
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  EXPECT_EQ(InClusterConfig(dir.path())->server, "https://[fd00::1]:443");
  unsetenv("KUBERNETES_SERVICE_PORT");
  auto outside = InClusterConfig(dir.path());
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("KUBERNETES_SERVICE_PORT"), std::string::npos);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  std::filesystem::remove(dir.path() + "/ca.crt");
  auto no_ca = InClusterConfig(dir.path());
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.status().message().find("ca.crt"), std::string::npos);
}

TEST(LoadConfigTest, Order) {
  EnvGuard kc("KUBECONFIG"), h("KUBERNETES_SERVICE_HOST"), home("HOME");
  unsetenv("KUBERNETES_SERVICE_HOST");
  setenv("KUBECONFIG", (kData + "/merge-b.kubeconfig:" + kData + "/merge-a.kubeconfig").c_str(), 1);
  // The flag wins over KUBECONFIG.
  auto flag = LoadConfig(kData + "/merge-a.kubeconfig");
  ASSERT_TRUE(flag.ok()) << flag.status().ToString();
  EXPECT_EQ(flag->server, "https://a.example:1");
  auto env = LoadConfig();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->server, "https://only-b.example:3");
  auto missing_flag = LoadConfig("/nonexistent/kubeconfig");
  ASSERT_FALSE(missing_flag.ok());
  EXPECT_NE(missing_flag.status().message().find("--kubeconfig"), std::string::npos);
  // Without both, ~/.kube/config.
  unsetenv("KUBECONFIG");
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/.kube");
  dir.Write(".kube/config", ReadFile(kData + "/merge-a.kubeconfig"));
  setenv("HOME", dir.path().c_str(), 1);
  auto home_cfg = LoadConfig();
  ASSERT_TRUE(home_cfg.ok()) << home_cfg.status().ToString();
  EXPECT_EQ(home_cfg->bearer_token, "token-a");
  // In-cluster comes before ~/.kube/config.
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  EnvGuard p("KUBERNETES_SERVICE_PORT");
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  if (std::filesystem::exists("/var/run/secrets/kubernetes.io/serviceaccount")) return;
  auto in_cluster = LoadConfig();
  ASSERT_FALSE(in_cluster.ok());  // no service-account files on this machine
  EXPECT_NE(in_cluster.status().message().find("in-cluster"), std::string::npos);
}

}  // namespace
}  // namespace kube
