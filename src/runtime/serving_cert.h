#pragma once

#include <chrono>
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

// The hosts a generated certificate names: localhost, 127.0.0.1, ::1, the host name, and
// $POD_IP when set.
std::vector<std::string> DefaultServingHosts();

}  // namespace runtime
