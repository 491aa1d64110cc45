// The serving certificate of secure /metrics: made in memory at start, or read from a
// directory (tls.crt, tls.key); and the HTTPS server that serves it with a guard in front.
#include "runtime/serving_cert.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kube/tls.h"
#include "runtime/http_server.h"
#include "runtime/metrics.h"
#include "support/fake_env.h"

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/fo-serving-cert-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(path + "/" + name) << text; }
  std::string path;
};

std::vector<std::string> AltNames(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)));
    } else if (n->type == GEN_IPADD) {
      out.push_back("ip/" + std::to_string(ASN1_STRING_length(n->d.iPAddress)));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(ServingCert, GeneratedCertificateIsSelfSignedForTheHostsAndValidFromNow) {
  const auto now = std::chrono::system_clock::now();
  auto made = runtime::GenerateSelfSignedCert({"failover-operator", "localhost", "127.0.0.1", "::1"}, now);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto cert = kube::tls::CertificateFromPem(made->cert_chain_pem);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  auto key = kube::tls::PrivateKeyFromPem(made->key_pem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(kube::tls::KeyMatchesCertificate(cert->get(), key->get()));
  EXPECT_EQ(made->key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << "PKCS#8";
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_EC);
  // Self-signed: its own key verifies it.
  EXPECT_EQ(X509_verify(cert->get(), X509_get0_pubkey(cert->get())), 1);
  EXPECT_EQ(AltNames(cert->get()), (std::vector<std::string>{"failover-operator", "localhost", "ip/4", "ip/16"}));
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert->get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "failover-operator");
  // A server certificate, not a CA.
  EXPECT_EQ(X509_check_ca(cert->get()), 0);
  EXPECT_EQ(X509_check_purpose(cert->get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  // Valid now and for a year, not before an hour ago.
  const time_t t_now = std::chrono::system_clock::to_time_t(now);
  time_t t = t_now;
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert->get()), &t), 0);
  t = t_now - 2 * 3600;
  EXPECT_GT(X509_cmp_time(X509_get0_notBefore(cert->get()), &t), 0);
  t = t_now + 364 * 24 * 3600;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert->get()), &t), 0);
  // Each one new: another key, another serial.
  auto again = runtime::GenerateSelfSignedCert({"localhost"}, now);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->key_pem, made->key_pem);
}

TEST(ServingCert, RefusesNoHostsAndHostsThatAreNotNames) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(runtime::GenerateSelfSignedCert({}, now).ok());
  EXPECT_FALSE(runtime::GenerateSelfSignedCert({"a,DNS:evil"}, now).ok());
  EXPECT_FALSE(runtime::GenerateSelfSignedCert({""}, now).ok());
}

TEST(ServingCert, DefaultHostsNameTheLoopback) {
  const auto hosts = runtime::DefaultServingHosts();
  ASSERT_GE(hosts.size(), 3u);
  EXPECT_EQ(hosts[0], "localhost");
  EXPECT_EQ(hosts[1], "127.0.0.1");
  EXPECT_TRUE(runtime::GenerateSelfSignedCert(hosts, std::chrono::system_clock::now()).ok());
}

TEST(ServingCert, LoadsADirectoryAndNamesWhatIsWrong) {
  const auto now = std::chrono::system_clock::now();
  auto a = runtime::GenerateSelfSignedCert({"localhost"}, now);
  auto b = runtime::GenerateSelfSignedCert({"localhost"}, now);
  ASSERT_TRUE(a.ok() && b.ok());
  TempDir dir;
  auto missing = runtime::LoadServingCert(dir.path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("tls.crt"), std::string::npos) << missing.status().message();
  dir.Write("tls.crt", a->cert_chain_pem);
  dir.Write("tls.key", b->key_pem);
  auto mismatched = runtime::LoadServingCert(dir.path);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("is not the key"), std::string::npos) << mismatched.status().message();
  dir.Write("tls.key", "not a key");
  auto garbled = runtime::LoadServingCert(dir.path);
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.status().message().find("tls.key"), std::string::npos) << garbled.status().message();
  dir.Write("tls.key", a->key_pem);
  auto loaded = runtime::LoadServingCert(dir.path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->cert_chain_pem, a->cert_chain_pem);
}

// The HTTPS server: TLS only, the guard's answer before the registry's.
TEST(HttpsServer, ServesMetricsOverTlsOnlyAndOnlyWhatTheGuardLetsThrough) {
  auto cert = runtime::GenerateSelfSignedCert({"localhost", "127.0.0.1"}, std::chrono::system_clock::now());
  ASSERT_TRUE(cert.ok());
  runtime::RuntimeMetrics metrics(std::make_shared<prometheus::Registry>());
  metrics.WorkqueueAdds().Add({{"name", "https_test"}}).Increment();
  auto source = runtime::ServingCertSource::Fixed(*cert);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto server = runtime::HttpServer::WithTls(base::RealEnv(), *source);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string seen_authorization;
  (*server)->ServeMetrics(metrics.registry(), [&](const std::string& authorization, const std::string&) {
    seen_authorization = authorization;
    if (authorization.empty()) return runtime::GuardAnswer{401, "Unauthorized\n"};
    if (authorization != "Bearer good") return runtime::GuardAnswer{403, "Forbidden\n"};
    return runtime::GuardAnswer{};
  });
  ASSERT_TRUE((*server)->Start({false, "127.0.0.1", 0}).ok());
  const int port = (*server)->port();

  httplib::SSLClient tls("127.0.0.1", port);
  tls.enable_server_certificate_verification(false);
  auto r = tls.Get("/metrics");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(r->body.find("workqueue_adds_total"), std::string::npos);
  r = tls.Get("/metrics", {{"Authorization", "Bearer bad"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = tls.Get("/metrics", {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("workqueue_adds_total{name=\"https_test\"} 1"), std::string::npos) << r->body;

  // A client that verifies, trusting this very certificate, gets through as well.
  TempDir dir;
  dir.Write("ca.crt", cert->cert_chain_pem);
  httplib::SSLClient verifying("localhost", port);
  verifying.set_ca_cert_path((dir.path + "/ca.crt").c_str());
  verifying.enable_server_certificate_verification(true);
  r = verifying.Get("/metrics", {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);

  // Plain HTTP on the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(3, 0);
  auto p = plain.Get("/metrics", {{"Authorization", "Bearer good"}});
  EXPECT_FALSE(p && p->status == 200) << "plain HTTP was served on the TLS port";
  (*server)->Stop();
}

TEST(HttpsServer, RefusesAKeyThatIsNotTheCertificates) {
  const auto now = std::chrono::system_clock::now();
  auto a = runtime::GenerateSelfSignedCert({"localhost"}, now);
  auto b = runtime::GenerateSelfSignedCert({"localhost"}, now);
  ASSERT_TRUE(a.ok() && b.ok());
  auto source = runtime::ServingCertSource::Fixed({a->cert_chain_pem, b->key_pem});
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("private key"), std::string::npos) << source.status().message();
  EXPECT_FALSE(runtime::HttpServer::WithTls(base::RealEnv(), nullptr).ok());
}

// A certificate from a directory is presented anew once its files change (a rotation),
// without a restart; a half-written rotation keeps the one in use.
TEST(HttpsServer, PresentsARotatedCertificateWithoutARestart) {
  const auto now = std::chrono::system_clock::now();
  auto a = runtime::GenerateSelfSignedCert({"localhost"}, now);
  auto b = runtime::GenerateSelfSignedCert({"localhost"}, now);
  ASSERT_TRUE(a.ok() && b.ok());
  TempDir dir;
  dir.Write("tls.crt", a->cert_chain_pem);
  dir.Write("tls.key", a->key_pem);
  dir.Write("a.crt", a->cert_chain_pem);
  dir.Write("b.crt", b->cert_chain_pem);
  testsupport::FakeEnv env;  // the source's clock: when it looks at the files again
  auto source = runtime::ServingCertSource::FromDir(dir.path, env, std::chrono::seconds(10));
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto server = runtime::HttpServer::WithTls(base::RealEnv(), *source);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  (*server)->ServeMetrics(nullptr);
  ASSERT_TRUE((*server)->Start({false, "127.0.0.1", 0}).ok());
  // Whether a client trusting only `ca` gets an answer.
  auto trusted_by = [&](const std::string& ca) {
    httplib::SSLClient c("localhost", (*server)->port());
    c.set_ca_cert_path((dir.path + "/" + ca).c_str());
    c.enable_server_certificate_verification(true);
    auto r = c.Get("/metrics");
    return r && r->status == 200;
  };
  EXPECT_TRUE(trusted_by("a.crt"));
  EXPECT_FALSE(trusted_by("b.crt"));

  dir.Write("tls.crt", b->cert_chain_pem);  // half a rotation: the key is still a's
  env.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(trusted_by("a.crt")) << "a half-written rotation replaced the certificate";
  dir.Write("tls.key", b->key_pem);
  EXPECT_TRUE(trusted_by("a.crt")) << "looked again before the interval";
  env.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(trusted_by("b.crt"));
  EXPECT_FALSE(trusted_by("a.crt"));
  EXPECT_EQ((*source)->loads(), 2u);
  (*server)->Stop();
}

}  // namespace
