// The test CA: region names that are not DNS labels are refused, with the reason, before they
// reach a certificate's SAN; a random source that fails is an error, not a predictable serial.
#define OPENSSL_SUPPRESS_DEPRECATED  // RAND_set_rand_method: the only way to make RAND_bytes fail
#include "net/testing/pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/random.h>

#include <string>
#include <vector>

namespace dwcp::net {
namespace {

const PemPair& testCa() {
  static const PemPair ca = makeCertificateAuthority("pki test CA").value();
  return ca;
}

// The DNS names in the certificate's subjectAltName.
std::vector<std::string> sanNames(const std::string& pem) {
  std::vector<std::string> names;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type != GEN_DNS) {
      names.push_back("(not DNS)");
      continue;
    }
    const ASN1_IA5STRING* dns = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)), ASN1_STRING_length(dns));
  }
  GENERAL_NAMES_free(sans);
  X509_free(cert);
  return names;
}

TEST(PkiTest, IssuesCertificatesForDnsLabelRegionNames) {
  const std::vector<std::string> names = {"us-east-1", "a", "0", "eu-west-1-b2", std::string(63, 'r')};
  for (const std::string& name : names) {
    auto leaf = issueCertificate(testCa(), name);
    ASSERT_TRUE(leaf.ok()) << name << ": " << leaf.error().message;
    EXPECT_EQ(sanNames(leaf->certificatePem), std::vector<std::string>{name});
  }
}

TEST(PkiTest, RefusesRegionNamesThatAreNotDnsLabels) {
  struct Case {
    std::string name;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {std::string(64, 'r'), "64 characters, more than 63"},
      {"US-East-1", "'U' at position 0"},
      {"eu-west-1,DNS:us-east-1", "',' at position 9"},  // would add a second SAN
      {"eu.west", "'.' at position 2"},
      {"eu west", "' ' at position 2"},
      {"-east", "starts or ends with '-'"},
      {"east-", "starts or ends with '-'"},
      {std::string("eu\0west", 7), "position 2"},
      {"r\xc3\xa9gion", "position 1"},
  };
  for (const Case& c : cases) {
    auto leaf = issueCertificate(testCa(), c.name);
    ASSERT_FALSE(leaf.ok()) << "accepted region name [" << c.name << "]";
    const std::string& message = leaf.error().message;
    EXPECT_NE(message.find("region name"), std::string::npos) << message;
    EXPECT_NE(message.find("DNS label"), std::string::npos) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
  }
}

// Fails the 16-byte draws (certificate serials) and serves every other draw (keys, signature
// nonces) from the kernel, so only the serial's RAND_bytes fails.
int failSerialDraws(unsigned char* buf, int num) {
  if (num == 16) return 0;
  for (int done = 0; done < num;) {
    const ssize_t n = getrandom(buf + done, static_cast<size_t>(num - done), 0);
    if (n <= 0) return 0;
    done += static_cast<int>(n);
  }
  return 1;
}
int randStatus() { return 1; }

class FailingSerials {
 public:
  FailingSerials() {
    method_.bytes = failSerialDraws;
    method_.pseudorand = failSerialDraws;
    method_.status = randStatus;
    previous_ = RAND_get_rand_method();
    RAND_set_rand_method(&method_);
  }
  ~FailingSerials() { RAND_set_rand_method(previous_); }

 private:
  RAND_METHOD method_{};
  const RAND_METHOD* previous_ = nullptr;
};

TEST(PkiTest, AFailingRandomSourceIsAnErrorNotAFixedSerial) {
  const PemPair& ca = testCa();
  Result<PemPair> leaf = Error{};
  Result<PemPair> authority = Error{};
  {
    FailingSerials failing;
    leaf = issueCertificate(ca, "us-east-1");
    authority = makeCertificateAuthority("another CA");
  }
  ASSERT_FALSE(leaf.ok()) << "issued a certificate without a random serial";
  EXPECT_NE(leaf.error().message.find("random serial"), std::string::npos) << leaf.error().message;
  ASSERT_FALSE(authority.ok()) << "made a CA without a random serial";
  EXPECT_NE(authority.error().message.find("random serial"), std::string::npos) << authority.error().message;
  // The random source restored, issuing works again.
  EXPECT_TRUE(issueCertificate(ca, "us-east-1").ok());
}

}  // namespace
}  // namespace dwcp::net
