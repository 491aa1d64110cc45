#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kube/status.h"

namespace kube::tls {

// Standard base64 (RFC 4648); whitespace is ignored. nullopt when the text is not base64.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

struct X509StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// A trust store holding every certificate of a PEM bundle; fails when there is none.
Result<X509StorePtr> StoreFromPem(const std::string& pem);
// The first certificate of a PEM text (a client certificate).
Result<std::shared_ptr<X509>> CertificateFromPem(const std::string& pem);
// A PEM private key (PKCS#8, RSA or EC).
Result<std::shared_ptr<EVP_PKEY>> PrivateKeyFromPem(const std::string& pem);
// True when the key belongs to the certificate.
bool KeyMatchesCertificate(X509* cert, EVP_PKEY* key);

// The text of the last OpenSSL error (and clears the queue).
std::string LastOpenSslError();

}  // namespace kube::tls
