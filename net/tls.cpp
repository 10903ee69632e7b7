// Contexts are built from PEM text (files are read once at start-up). The server sets
// verify_peer | verify_fail_if_no_peer_cert, so a client without a certificate, or with one
// from another CA, fails the handshake before any request is read. The verify callback also
// requires the peer's leaf certificate to carry the extended key usage of its role (OpenSSL's
// purpose check alone accepts a certificate without the extension).
#include "net/tls.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace dwcp::net {
namespace ssl = boost::asio::ssl;

namespace {

Result<std::string> readFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{std::string("cannot read the ") + what + " file " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<TlsMaterial> loadTlsMaterial(const std::string& caFile, const std::string& certFile,
                                           const std::string& keyFile) {
  auto ca = readFile(caFile, "CA certificate");
  if (!ca.ok()) return ca.error();
  auto cert = readFile(certFile, "certificate");
  if (!cert.ok()) return cert.error();
  auto key = readFile(keyFile, "private key");
  if (!key.ok()) return key.error();
  return TlsMaterial{ca.value(), cert.value(), key.value()};
}

Result<std::shared_ptr<ssl::context>> makeTlsContext(const TlsMaterial& material, TlsRole role) {
  auto context = std::make_shared<ssl::context>(role == TlsRole::kServer ? ssl::context::tls_server
                                                                         : ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  auto fail = [&](const char* what) -> Result<std::shared_ptr<ssl::context>> {
    return Error{std::string("TLS setup failed: ") + what + ": " + ec.message()};
  };
  if (ec) return fail("options");
  context->add_certificate_authority(boost::asio::buffer(material.caPem), ec);
  if (ec) return fail("the CA certificate is not valid PEM");
  context->use_certificate_chain(boost::asio::buffer(material.certificatePem), ec);
  if (ec) return fail("the certificate is not valid PEM");
  context->use_private_key(boost::asio::buffer(material.privateKeyPem), ssl::context::pem, ec);
  if (ec) return fail("the private key is not valid PEM or does not match");
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Error{"TLS setup failed: the private key does not match the certificate"};
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return fail("verify mode");
  // A server checks its clients for clientAuth, a client its server for serverAuth.
  const uint32_t usage = role == TlsRole::kServer ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
  SSL_CTX_set_purpose(context->native_handle(), role == TlsRole::kServer ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
  context->set_verify_callback(
      [usage](bool preverified, ssl::verify_context& verify) {
        X509_STORE_CTX* store = verify.native_handle();
        if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
        X509* leaf = X509_STORE_CTX_get_current_cert(store);
        const bool carriesUsage = leaf != nullptr && (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
                                  (X509_get_extended_key_usage(leaf) & usage) != 0;
        if (!carriesUsage) X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
        return carriesUsage;
      },
      ec);
  if (ec) return fail("verify callback");
  return context;
}

std::vector<std::string> certificateNames(SSL* ssl) {
  std::vector<std::string> names;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return names;
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    X509_free(cert);
    return names;
  }
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type != GEN_DNS) continue;
      const auto* data = ASN1_STRING_get0_data(name->d.dNSName);
      names.emplace_back(reinterpret_cast<const char*>(data), static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
  }
  X509_free(cert);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace dwcp::net
