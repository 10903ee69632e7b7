// Peer identity over mutual TLS: a peer is named by its certificate's DNS SANs only (never
// its CN), clients must carry the clientAuth extended key usage and servers serverAuth; a
// certificate without the extension is refused at the handshake.
#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <memory>

#include "net/http_server.h"
#include "net/testing/pki.h"

namespace dwcp::net {
namespace {
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

struct LeafSpec {
  std::string commonName;
  std::string san;  // e.g. "DNS:eu-west-1"; empty: no SAN extension
  std::string eku;  // e.g. "clientAuth"; empty: no EKU extension
};

// A leaf signed by `ca` with exactly the extensions of `spec` (pki.cpp always adds both EKUs).
PemPair issueLeaf(const PemPair& ca, const LeafSpec& spec) {
  auto read = [](const std::string& pem) { return BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())); };
  BIO* certBio = read(ca.certificatePem);
  BIO* keyBio = read(ca.privateKeyPem);
  X509* caCert = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
  EVP_PKEY* caKey = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(caCert));
  auto add = [&](int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, caCert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_basic_constraints, "critical,CA:FALSE");
  add(NID_key_usage, "critical,digitalSignature,keyEncipherment");
  if (!spec.eku.empty()) add(NID_ext_key_usage, spec.eku);
  if (!spec.san.empty()) add(NID_subject_alt_name, spec.san);
  X509_sign(cert, caKey, EVP_sha256());
  PemPair out;
  BIO* mem = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(mem, cert);
  char* data = nullptr;
  out.certificatePem.assign(data, static_cast<size_t>(BIO_get_mem_data(mem, &data)));
  BIO_free(mem);
  mem = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(mem, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.privateKeyPem.assign(data, static_cast<size_t>(BIO_get_mem_data(mem, &data)));
  BIO_free(mem);
  X509_free(cert);
  X509_free(caCert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(caKey);
  BIO_free(certBio);
  BIO_free(keyBio);
  return out;
}

const PemPair& testCa() {
  static const PemPair ca = makeCertificateAuthority("tls test CA").value();
  return ca;
}

TlsMaterial material(const PemPair& leaf) { return TlsMaterial{testCa().certificatePem, leaf.certificatePem, leaf.privateKeyPem}; }

// The server's view of one GET / from a client holding `client`: the status and the names
// the handler was given, or connected=false when the handshake failed.
struct Outcome {
  bool connected = false;
  unsigned status = 0;
  std::string names;
  std::string error;
};

Outcome exchange(const PemPair& server, const PemPair& client) {
  HttpServerOptions options;
  options.tls = std::make_shared<TlsContextSource>(makeTlsContext(material(server), TlsRole::kServer).value());
  auto httpServer = makeHttpServer(options, [](const HttpRequest& request, HttpResponse& response) {
    for (const auto& name : *request.peerNames) response.body += name + ";";
  });
  EXPECT_TRUE(httpServer->start().ok());
  Outcome outcome;
  auto context = makeTlsContext(material(client), TlsRole::kClient);
  if (!context.ok()) {
    outcome.error = context.error().message;
    return outcome;
  }
  boost::asio::io_context io;
  ssl::stream<tcp::socket> stream(io, *context.value());
  boost::system::error_code ec;
  stream.lowest_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), httpServer->port()), ec);
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
  http::request<http::string_body> request{http::verb::get, "/", 11};
  request.set(http::field::host, "server");
  if (!ec) http::write(stream, request, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!ec) http::read(stream, buffer, response, ec);
  if (ec) {
    outcome.error = ec.message();
    return outcome;
  }
  outcome.connected = true;
  outcome.status = response.result_int();
  outcome.names = response.body();
  return outcome;
}

const PemPair& goodServer() {
  static const PemPair leaf = issueLeaf(testCa(), {"us-east-1", "DNS:us-east-1", "serverAuth"});
  return leaf;
}

TEST(TlsIdentityTest, AClientIsNamedByItsDnsSansOnlyNeverItsCommonName) {
  const PemPair client = issueLeaf(testCa(), {"eu-west-1", "DNS:ap-south-1", "clientAuth"});
  const Outcome outcome = exchange(goodServer(), client);
  ASSERT_TRUE(outcome.connected) << outcome.error;
  EXPECT_EQ(outcome.names, "ap-south-1;");
}

TEST(TlsIdentityTest, AClientWithoutASanHasNoName) {
  const PemPair client = issueLeaf(testCa(), {"eu-west-1", "", "clientAuth"});
  const Outcome outcome = exchange(goodServer(), client);
  ASSERT_TRUE(outcome.connected) << outcome.error;
  EXPECT_EQ(outcome.names, "") << "the CN is not an identity";
}

TEST(TlsIdentityTest, AClientCertificateWithoutClientAuthIsRefused) {
  const PemPair serverOnly = issueLeaf(testCa(), {"eu-west-1", "DNS:eu-west-1", "serverAuth"});
  EXPECT_FALSE(exchange(goodServer(), serverOnly).connected);
  const PemPair noEku = issueLeaf(testCa(), {"eu-west-1", "DNS:eu-west-1", ""});
  EXPECT_FALSE(exchange(goodServer(), noEku).connected) << "a certificate without an EKU extension is refused";
}

TEST(TlsIdentityTest, AServerCertificateWithoutServerAuthIsRefusedByTheClient) {
  const PemPair client = issueLeaf(testCa(), {"eu-west-1", "DNS:eu-west-1", "clientAuth"});
  const PemPair clientOnly = issueLeaf(testCa(), {"us-east-1", "DNS:us-east-1", "clientAuth"});
  EXPECT_FALSE(exchange(clientOnly, client).connected);
  const PemPair noEku = issueLeaf(testCa(), {"us-east-1", "DNS:us-east-1", ""});
  EXPECT_FALSE(exchange(noEku, client).connected) << "a certificate without an EKU extension is refused";
}

TEST(TlsIdentityTest, CertificatesFromPkiCarryBothUsagesAndAreAccepted) {
  const PemPair server = issueCertificate(testCa(), "us-east-1").value();
  const PemPair client = issueCertificate(testCa(), "eu-west-1").value();
  const Outcome outcome = exchange(server, client);
  ASSERT_TRUE(outcome.connected) << outcome.error;
  EXPECT_EQ(outcome.names, "eu-west-1;");
}

}  // namespace
}  // namespace dwcp::net
