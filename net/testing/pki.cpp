// X509 building with EVP keys; every OpenSSL object is owned by a unique_ptr with its free
// function, so an early error return leaks nothing.
#include "net/testing/pki.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <optional>

namespace dwcp::net {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Error pkiError(const std::string& what) {
  return Error{"certificate generation failed: " + what};
}

// The region name goes into the SAN as "DNS:<name>", so it must be one DNS label: lowercase
// letters, digits and '-', 1 to 63 characters, not starting or ending with '-'.
std::optional<Error> invalidRegionName(const std::string& name) {
  auto refuse = [&](const std::string& why) {
    std::string shown;
    for (unsigned char c : name) {
      if (c >= 0x20 && c < 0x7f) {
        shown += static_cast<char>(c);
      } else {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        shown += hex;
      }
    }
    return Error{"region name \"" + shown +
                            "\" is not a DNS label (lowercase letters, digits and '-', 1 to 63 characters, " +
                            "not starting or ending with '-'): " + why};
  };
  if (name.empty()) return refuse("it is empty");
  if (name.size() > 63) return refuse("it has " + std::to_string(name.size()) + " characters, more than 63");
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') continue;
    char what[16];
    if (c >= 0x20 && c < 0x7f) {
      std::snprintf(what, sizeof what, "'%c'", c);
    } else {
      std::snprintf(what, sizeof what, "byte 0x%02x", c);
    }
    return refuse(std::string(what) + " at position " + std::to_string(i));
  }
  if (name.front() == '-' || name.back() == '-') return refuse("it starts or ends with '-'");
  return std::nullopt;
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

Result<std::string> keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return pkiError("cannot encode the private key");
  }
  return bioString(bio.get());
}

Result<std::string> certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return pkiError("cannot encode the certificate");
  return bioString(bio.get());
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<CertPtr> newCertificate(EVP_PKEY* key, const std::string& commonName, int validDays) {
  CertPtr cert(X509_new());
  if (!cert) return pkiError("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    return pkiError("cannot draw a random serial number (RAND_bytes failed)");
  }
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validDays) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(commonName.c_str()), -1,
                             -1, 0);
  return cert;
}

}  // namespace

Result<PemPair> makeCertificateAuthority(const std::string& commonName, int validDays) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return pkiError("cannot generate a P-256 key");
  auto made = newCertificate(key.get(), commonName, validDays);
  if (!made.ok()) return made.error();
  CertPtr cert = std::move(made).value();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  if (!addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash")) {
    return pkiError("cannot add CA extensions");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return pkiError("cannot sign the CA certificate");
  auto certText = certPem(cert.get());
  auto keyText = keyPem(key.get());
  if (!certText.ok()) return certText.error();
  if (!keyText.ok()) return keyText.error();
  return PemPair{certText.value(), keyText.value()};
}

Result<PemPair> issueCertificate(const PemPair& ca, const std::string& regionName, int validDays) {
  if (auto invalid = invalidRegionName(regionName)) return *invalid;
  BioPtr caCertBio(BIO_new_mem_buf(ca.certificatePem.data(), static_cast<int>(ca.certificatePem.size())));
  BioPtr caKeyBio(BIO_new_mem_buf(ca.privateKeyPem.data(), static_cast<int>(ca.privateKeyPem.size())));
  CertPtr caCert(PEM_read_bio_X509(caCertBio.get(), nullptr, nullptr, nullptr));
  KeyPtr caKey(PEM_read_bio_PrivateKey(caKeyBio.get(), nullptr, nullptr, nullptr));
  if (!caCert || !caKey) return pkiError("cannot read the CA certificate or key");
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return pkiError("cannot generate a P-256 key");
  auto made = newCertificate(key.get(), regionName, validDays);
  if (!made.ok()) return made.error();
  CertPtr cert = std::move(made).value();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert.get()));
  const std::string san = "DNS:" + regionName;
  if (!addExtension(cert.get(), caCert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(cert.get(), caCert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !addExtension(cert.get(), caCert.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(cert.get(), caCert.get(), NID_subject_alt_name, san.c_str())) {
    return pkiError("cannot add leaf extensions");
  }
  if (X509_sign(cert.get(), caKey.get(), EVP_sha256()) == 0) return pkiError("cannot sign the certificate");
  auto certText = certPem(cert.get());
  auto keyText = keyPem(key.get());
  if (!certText.ok()) return certText.error();
  if (!keyText.ok()) return keyText.error();
  return PemPair{certText.value(), keyText.value()};
}

}  // namespace dwcp::net
