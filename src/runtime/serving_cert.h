#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "kube/status.h"

namespace runtime {

// A TLS server's certificate chain and private key, both PEM. The chain starts with the
// serving certificate; intermediates (as cert-manager writes tls.crt) may follow.
struct ServingCert {
  std::string cert_chain_pem;
  std::string key_pem;
};

// A self-signed serving certificate made in memory, as controller-runtime's metrics server
// makes one when given no certificate: an ECDSA P-256 key, CA:FALSE, serverAuth, valid from
// an hour before `now` for `validity`, its subjectAltNames `hosts` (each an IP address or a
// DNS name), its subject CN the first host. Nothing is written to disk. Clients cannot
// verify it; they skip verification (Prometheus: tls_config insecure_skip_verify).
kube::Result<ServingCert> GenerateSelfSignedCert(const std::vector<std::string>& hosts,
                                                 base::Env::WallTime now,
                                                 std::chrono::hours validity = std::chrono::hours(24 * 365));

// Reads `dir`/tls.crt and `dir`/tls.key (the key names of a kubernetes.io/tls Secret, as
// cert-manager writes them) and checks that the key belongs to the first certificate. An
// error names the file and what is wrong with it.
kube::Result<ServingCert> LoadServingCert(const std::string& dir);

// A ServingCert parsed for a TLS context: the serving certificate, the intermediates that
// followed it, and its key (checked to belong to it).
struct ParsedServingCert {
  ServingCert pem;
  std::shared_ptr<X509> leaf;
  std::vector<std::shared_ptr<X509>> chain;
  std::shared_ptr<EVP_PKEY> key;
};
kube::Result<std::shared_ptr<const ParsedServingCert>> ParseServingCert(const ServingCert& cert);

// The certificate a TLS server presents, for each handshake (HttpServer::WithTls). From a
// directory it is read again when tls.crt or tls.key change, as controller-runtime's
// certwatcher does for rotations (cert-manager renews a certificate before it expires and
// the kubelet updates the mounted Secret's files): a handshake at least `interval` after
// the last look reads both files and, when either differs, loads the pair; a pair that
// does not load (a rotation half written) is logged and the one in use kept until the
// next look. Thread-safe.
class ServingCertSource {
 public:
  // Always `cert` (a self-signed certificate made at start).
  static kube::Result<std::shared_ptr<ServingCertSource>> Fixed(const ServingCert& cert);
  // `dir`/tls.crt and `dir`/tls.key, read now (an error when they do not load) and again
  // on change. `env` outlives the source.
  static kube::Result<std::shared_ptr<ServingCertSource>> FromDir(
      const std::string& dir, base::Env& env, std::chrono::milliseconds interval = std::chrono::seconds(10));

  // The pair to present; first reloads it when a look is due and the files changed.
  std::shared_ptr<const ParsedServingCert> Current();
  // How many pairs were loaded (1 after the first).
  uint64_t loads() const;

 private:
  ServingCertSource() = default;

  std::string dir_;  // empty: fixed
  base::Env* env_ = nullptr;
  std::chrono::milliseconds interval_{0};
  mutable std::mutex mu_;
  std::shared_ptr<const ParsedServingCert> current_;
  base::Env::SteadyTime next_look_{};
  uint64_t loads_ = 0;
};

// The hosts a generated certificate names: localhost, 127.0.0.1, ::1, the host name, and
// $POD_IP when set.
std::vector<std::string> DefaultServingHosts();

}  // namespace runtime
