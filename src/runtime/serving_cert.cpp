#include "runtime/serving_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "kube/tls.h"
#include "runtime/logger.h"

namespace runtime {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};

kube::Status CertError(const std::string& what) {
  return kube::Status(kube::Reason::kInternalError, what + ": " + kube::tls::LastOpenSslError());
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string ReadPem(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

bool AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

kube::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return kube::Status(kube::Reason::kConfigError, path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

kube::Result<ServingCert> GenerateSelfSignedCert(const std::vector<std::string>& hosts,
                                                 base::Env::WallTime now, std::chrono::hours validity) {
  if (hosts.empty()) {
    return kube::Status(kube::Reason::kInvalidArgument, "a serving certificate needs at least one host");
  }
  std::string alt_names;
  for (const auto& host : hosts) {
    // The names go into an OpenSSL configuration value, where a comma separates entries.
    if (host.empty() || host.find_first_of(", \t\n") != std::string::npos) {
      return kube::Status(kube::Reason::kInvalidArgument, "\"" + host + "\" is not a host name or IP address");
    }
    alt_names += (alt_names.empty() ? "" : ",") + std::string(IsIpAddress(host) ? "IP:" : "DNS:") + host;
  }
  kube::tls::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return CertError("generating an ECDSA P-256 key");
  kube::tls::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return CertError("making a certificate");

  // A random positive 127-bit serial number (RFC 5280: at most 20 octets, positive).
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return CertError("making a serial number");
  }
  const time_t start = std::chrono::system_clock::to_time_t(now - std::chrono::hours(1));
  const time_t end = std::chrono::system_clock::to_time_t(now + validity);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), end)) {
    return CertError("setting the validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = hosts.front();
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                 -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return CertError("setting the subject");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  if (!AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth") ||
      !AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !AddExtension(cert.get(), &ctx, NID_subject_alt_name, alt_names)) {
    return CertError("adding the extensions (subjectAltName " + alt_names + ")");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return CertError("signing the certificate");

  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return CertError("encoding the certificate and key");
  }
  return ServingCert{ReadPem(cert_bio.get()), ReadPem(key_bio.get())};
}

kube::Result<std::shared_ptr<const ParsedServingCert>> ParseServingCert(const ServingCert& cert) {
  auto parsed = std::make_shared<ParsedServingCert>();
  parsed->pem = cert;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(cert.cert_chain_pem.data(),
                                                    static_cast<int>(cert.cert_chain_pem.size())));
  ERR_clear_error();
  while (bio) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    std::shared_ptr<X509> owned(x, kube::tls::X509Free());
    if (!parsed->leaf) {
      parsed->leaf = owned;
    } else {
      parsed->chain.push_back(owned);
    }
  }
  ERR_clear_error();  // the end of the chain leaves a "no start line" error queued
  if (!parsed->leaf) return kube::Status(kube::Reason::kConfigError, "no PEM certificate");
  auto key = kube::tls::PrivateKeyFromPem(cert.key_pem);
  if (!key.ok()) return kube::Status(kube::Reason::kConfigError, "no PEM private key");
  parsed->key = *key;
  if (!kube::tls::KeyMatchesCertificate(parsed->leaf.get(), parsed->key.get())) {
    return kube::Status(kube::Reason::kConfigError, "the private key is not the certificate's");
  }
  return std::shared_ptr<const ParsedServingCert>(std::move(parsed));
}

kube::Result<std::shared_ptr<ServingCertSource>> ServingCertSource::Fixed(const ServingCert& cert) {
  auto parsed = ParseServingCert(cert);
  if (!parsed.ok()) return parsed.status();
  std::shared_ptr<ServingCertSource> source(new ServingCertSource());
  source->current_ = *parsed;
  source->loads_ = 1;
  return source;
}

kube::Result<std::shared_ptr<ServingCertSource>> ServingCertSource::FromDir(const std::string& dir, base::Env& env,
                                                                          std::chrono::milliseconds interval) {
  auto loaded = LoadServingCert(dir);
  if (!loaded.ok()) return loaded.status();
  auto parsed = ParseServingCert(*loaded);
  if (!parsed.ok()) return parsed.status();
  std::shared_ptr<ServingCertSource> source(new ServingCertSource());
  source->dir_ = dir;
  source->env_ = &env;
  source->interval_ = interval;
  source->current_ = *parsed;
  source->next_look_ = env.Now() + interval;
  source->loads_ = 1;
  return source;
}

std::shared_ptr<const ParsedServingCert> ServingCertSource::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dir_.empty() || env_->Now() < next_look_) return current_;
  next_look_ = env_->Now() + interval_;
  auto cert_pem = ReadFile(dir_ + "/tls.crt");
  auto key_pem = ReadFile(dir_ + "/tls.key");
  if (!cert_pem.ok() || !key_pem.ok()) {
    Logger("metrics").Warn("serving certificate not read again; keeping the one in use",
                           {{"error", (!cert_pem.ok() ? cert_pem : key_pem).status().message()}});
    return current_;
  }
  if (*cert_pem == current_->pem.cert_chain_pem && *key_pem == current_->pem.key_pem) return current_;
  auto parsed = ParseServingCert({*cert_pem, *key_pem});
  if (!parsed.ok()) {
    // A rotation may be caught between its two files: the next look reads them again.
    Logger("metrics").Warn("changed serving certificate does not load yet; keeping the one in use",
                           {{"dir", dir_}, {"error", parsed.status().message()}});
    return current_;
  }
  current_ = *parsed;
  ++loads_;
  Logger("metrics").Info("serving certificate reloaded", {{"dir", dir_}, {"loads", loads_}});
  return current_;
}

uint64_t ServingCertSource::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

kube::Result<ServingCert> LoadServingCert(const std::string& dir) {
  const std::string cert_path = dir + "/tls.crt";
  const std::string key_path = dir + "/tls.key";
  auto cert_pem = ReadFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  auto cert = kube::tls::CertificateFromPem(*cert_pem);
  if (!cert.ok()) {
    return kube::Status(kube::Reason::kConfigError, cert_path + ": no PEM certificate (" + cert.status().message() + ")");
  }
  auto key = kube::tls::PrivateKeyFromPem(*key_pem);
  if (!key.ok()) {
    return kube::Status(kube::Reason::kConfigError, key_path + ": no PEM private key (" + key.status().message() + ")");
  }
  if (!kube::tls::KeyMatchesCertificate(cert->get(), key->get())) {
    return kube::Status(kube::Reason::kConfigError, key_path + " is not the key of the first certificate in " + cert_path);
  }
  return ServingCert{*cert_pem, *key_pem};
}

std::vector<std::string> DefaultServingHosts() {
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) {
    const std::string host = name;
    if (!host.empty() && host != "localhost" && host.find_first_of(", \t\n") == std::string::npos) {
      hosts.push_back(host);
    }
  }
  const char* pod_ip = std::getenv("POD_IP");
  if (pod_ip && *pod_ip && IsIpAddress(pod_ip)) hosts.emplace_back(pod_ip);
  return hosts;
}

}  // namespace runtime
