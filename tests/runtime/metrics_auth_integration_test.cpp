// Secure /metrics against the real kube-apiserver: the manager runs as a ServiceAccount
// allowed nothing but to create TokenReviews and SubjectAccessReviews (as the shipped
// metrics-auth ClusterRole allows), and scrapers present ServiceAccount tokens from the
// TokenRequest API: one bound to a metrics-reader ClusterRole (nonResourceURLs /metrics,
// get) gets 200 over HTTPS, one without it 403, no token or a forged one 401, and plain
// HTTP on the secure port gets no answer. With metrics_secure off, plain HTTP as before.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "cluster_env.h"
#include "runtime/manager.h"

using namespace std::chrono_literals;

namespace {

const kube::Resource kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", false};
const kube::Resource kClusterRoleBindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", false};

// Cluster-scoped objects made for one test, deleted at its end.
class ClusterObjects {
 public:
  explicit ClusterObjects(std::shared_ptr<kube::Client> client) : client_(std::move(client)) {}
  ~ClusterObjects() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) client_->Delete(it->first, "", it->second);
  }
  void Create(const kube::Resource& res, const kube::json& obj) {
    auto r = client_->Create(res, "", obj);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    made_.emplace_back(res, obj["metadata"]["name"].get<std::string>());
  }

 private:
  std::shared_ptr<kube::Client> client_;
  std::vector<std::pair<kube::Resource, std::string>> made_;
};

kube::json ClusterRole(const std::string& name, const kube::json& rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", {{"name", name}}},
          {"rules", rules}};
}

kube::json Binding(const std::string& name, const std::string& role, const std::string& ns, const std::string& sa) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRoleBinding"},
          {"metadata", {{"name", name}}},
          {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}}},
          {"subjects", {{{"kind", "ServiceAccount"}, {"name", sa}, {"namespace", ns}}}}};
}

// A ServiceAccount in `ns` and a bound token for it (TokenRequest, 10 minutes).
std::string ServiceAccountToken(kube::Client& client, const std::string& ns, const std::string& name) {
  auto sa = client.Create(kube::resources::kServiceAccounts, ns,
                          {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}});
  EXPECT_TRUE(sa.ok()) << sa.status().ToString();
  const kube::json request = {{"apiVersion", "authentication.k8s.io/v1"},
                              {"kind", "TokenRequest"},
                              {"spec", {{"expirationSeconds", 600}}}};
  auto answer = client.Raw("POST", kube::resources::kServiceAccounts.ObjectPath(ns, name, "token"), request.dump());
  EXPECT_TRUE(answer.ok()) << answer.status().ToString();
  if (!answer.ok()) return "";
  return kube::json::parse(*answer)["status"]["token"].get<std::string>();
}

struct Answer {
  int status = 0;  // 0: no HTTP answer
  std::string body;
};

Answer HttpsGet(int port, const std::string& token) {
  httplib::SSLClient c("127.0.0.1", port);
  c.enable_server_certificate_verification(false);  // self-signed, made at start
  c.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto r = c.Get("/metrics", headers);
  return r ? Answer{r->status, r->body} : Answer{};
}

Answer HttpGet(int port, const std::string& token) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto r = c.Get("/metrics", headers);
  return r ? Answer{r->status, r->body} : Answer{};
}

runtime::ManagerOptions LocalOptions() {
  runtime::ManagerOptions o;
  o.metrics_bind_address = "127.0.0.1:0";
  o.health_probe_bind_address = "0";
  o.graceful_shutdown_timeout = 10s;
  o.memory_trim_interval = 0ms;
  return o;
}

TEST(MetricsAuthIntegration, TokenReviewAndSubjectAccessReviewDecideWhoReadsMetrics) {
  auto admin = runtime_test::ClusterClient();
  ASSERT_NE(admin, nullptr);
  runtime_test::TestNamespace ns(admin, "rt-metrics-auth");
  const std::string id = ns.name();  // unique: names the cluster-scoped objects too
  ClusterObjects cluster(admin);
  cluster.Create(kClusterRoles, ClusterRole(id + "-auth", {{{"apiGroups", {"authentication.k8s.io"}},
                                                            {"resources", {"tokenreviews"}},
                                                            {"verbs", {"create"}}},
                                                           {{"apiGroups", {"authorization.k8s.io"}},
                                                            {"resources", {"subjectaccessreviews"}},
                                                            {"verbs", {"create"}}}}));
  cluster.Create(kClusterRoles, ClusterRole(id + "-reader", {{{"nonResourceURLs", {"/metrics"}},
                                                              {"verbs", {"get"}}}}));
  const std::string operator_token = ServiceAccountToken(*admin, ns.name(), "operator");
  const std::string reader_token = ServiceAccountToken(*admin, ns.name(), "reader");
  const std::string stranger_token = ServiceAccountToken(*admin, ns.name(), "stranger");
  ASSERT_FALSE(operator_token.empty() || reader_token.empty() || stranger_token.empty());
  cluster.Create(kClusterRoleBindings, Binding(id + "-auth", id + "-auth", ns.name(), "operator"));
  cluster.Create(kClusterRoleBindings, Binding(id + "-reader", id + "-reader", ns.name(), "reader"));

  // The manager as the operator ServiceAccount: no admin credentials.
  kube::RestConfig rc = admin->config();
  rc.client_cert_pem.clear();
  rc.client_key_pem.clear();
  rc.exec.reset();
  rc.bearer_token_file.clear();
  rc.bearer_token = operator_token;
  auto operator_client = kube::Client::Create(rc);
  ASSERT_TRUE(operator_client.ok()) << operator_client.status().ToString();
  runtime::Manager mgr(*operator_client, LocalOptions());
  std::thread run([&] { mgr.Run(); });
  ASSERT_TRUE(runtime_test::WaitFor([&] { return mgr.metrics_port() != 0; }, 10s));
  const int port = mgr.metrics_port();

  // The apiserver's RBAC authorizer sees a new binding after a moment (through its
  // informers); a refusal in between is kept 10 s by the operator, hence up to 20 s.
  Answer reader;
  EXPECT_TRUE(runtime_test::WaitFor([&] {
    reader = HttpsGet(port, reader_token);
    return reader.status == 200;
  }, 20s)) << "reader: " << reader.status << " " << reader.body;
  EXPECT_NE(reader.body.find("rest_client_requests_total"), std::string::npos) << reader.body;

  const Answer stranger = HttpsGet(port, stranger_token);
  EXPECT_EQ(stranger.status, 403) << stranger.body;
  EXPECT_NE(stranger.body.find("system:serviceaccount:" + ns.name() + ":stranger"), std::string::npos)
      << stranger.body;
  EXPECT_EQ(stranger.body.find("rest_client_requests_total"), std::string::npos);

  const Answer anonymous = HttpsGet(port, "");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  const Answer forged = HttpsGet(port, reader_token.substr(0, reader_token.size() - 4) + "AAAA");
  EXPECT_EQ(forged.status, 401) << forged.body;

  const Answer plain = HttpGet(port, reader_token);
  EXPECT_NE(plain.status, 200) << "plain HTTP was served on the secure port";
  EXPECT_EQ(plain.body.find("rest_client_requests_total"), std::string::npos);

  // Repeated scrapes are answered from the cache: no further reviews.
  auto authorizer = mgr.metrics_authorizer();
  ASSERT_NE(authorizer, nullptr);
  const uint64_t sent = authorizer->reviews_sent();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(HttpsGet(port, reader_token).status, 200);
  EXPECT_EQ(HttpsGet(port, stranger_token).status, 403);
  EXPECT_EQ(authorizer->reviews_sent(), sent);

  mgr.RequestStop();
  run.join();
}

TEST(MetricsAuthIntegration, PlainHttpOnlyWhenAsked) {
  auto admin = runtime_test::ClusterClient();
  ASSERT_NE(admin, nullptr);
  auto opts = LocalOptions();
  opts.metrics_secure = false;
  runtime::Manager mgr(admin, opts);
  std::thread run([&] { mgr.Run(); });
  ASSERT_TRUE(runtime_test::WaitFor([&] { return mgr.metrics_port() != 0; }, 10s));
  const Answer plain = HttpGet(mgr.metrics_port(), "");
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(mgr.metrics_authorizer(), nullptr);
  mgr.RequestStop();
  run.join();
}

}  // namespace
