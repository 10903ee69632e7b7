#include "net/tls_files.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/testing/eventually.h"
#include "net/testing/pki.h"

namespace dwcp::net {
namespace {

namespace fs = std::filesystem;

// The DNS name of the certificate a context presents. The context is held while it is read: a
// reload on the watch thread may replace it meanwhile.
std::string presentedName(const std::shared_ptr<TlsContextSource>& source) {
  const std::shared_ptr<boost::asio::ssl::context> context = source->current();
  X509* cert = SSL_CTX_get0_certificate(context->native_handle());
  if (cert == nullptr) return "";
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string out;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)), ASN1_STRING_length(name->d.dNSName));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dwcp-tls-files-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto ca = makeCertificateAuthority("test-federation-ca");
    ASSERT_TRUE(ca.ok());
    ca_ = ca.value();
    writeRegion("eu-west-1");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the CA and a certificate for `region` the way a rotation does: new files renamed over
  // the old ones.
  void writeRegion(const std::string& region) {
    auto leaf = issueCertificate(ca_, region);
    ASSERT_TRUE(leaf.ok());
    write("ca.crt", ca_.certificatePem);
    write("tls.crt", leaf->certificatePem);
    write("tls.key", leaf->privateKeyPem);
  }
  void write(const std::string& name, const std::string& text) {
    const fs::path next = dir_ / (name + ".next");
    std::ofstream(next, std::ios::binary) << text;
    fs::rename(next, dir_ / name);
  }
  TlsFilePaths paths() const {
    return {(dir_ / "ca.crt").string(), (dir_ / "tls.crt").string(), (dir_ / "tls.key").string()};
  }

  fs::path dir_;
  PemPair ca_;
};

TEST_F(TlsFilesTest, LoadsBothContextsAndChangesNothingWhileTheFilesStay) {
  auto files = TlsFiles::load(paths());
  ASSERT_TRUE(files.ok()) << files.error().message;
  TlsFiles& tls = *files.value();
  EXPECT_EQ(presentedName(tls.server()), "eu-west-1");
  EXPECT_EQ(presentedName(tls.client()), "eu-west-1");
  const auto before = tls.server()->current();
  auto reloaded = tls.reloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(reloaded.value());
  EXPECT_EQ(tls.server()->current(), before);
  EXPECT_EQ(tls.reloads(), 0u);
}

TEST_F(TlsFilesTest, ARotatedCertificateReplacesBothContexts) {
  auto files = TlsFiles::load(paths());
  ASSERT_TRUE(files.ok());
  TlsFiles& tls = *files.value();
  const auto server = tls.server();  // what a server holds keeps working: same source object
  writeRegion("eu-central-1");
  auto reloaded = tls.reloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_TRUE(reloaded.value());
  EXPECT_EQ(tls.server(), server);
  EXPECT_EQ(presentedName(server), "eu-central-1");
  EXPECT_EQ(presentedName(tls.client()), "eu-central-1");
  EXPECT_EQ(tls.reloads(), 1u);
}

TEST_F(TlsFilesTest, BadNewFilesKeepTheOldContextsUntilTheNextChange) {
  auto files = TlsFiles::load(paths());
  ASSERT_TRUE(files.ok());
  TlsFiles& tls = *files.value();
  const auto before = tls.server()->current();

  // A certificate written before its key: the key no longer matches.
  auto other = issueCertificate(ca_, "us-east-1");
  ASSERT_TRUE(other.ok());
  write("tls.crt", other->certificatePem);
  auto reloaded = tls.reloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.error().message.find("private key"), std::string::npos) << reloaded.error().message;
  EXPECT_EQ(tls.server()->current(), before);
  EXPECT_EQ(presentedName(tls.server()), "eu-west-1");
  EXPECT_EQ(tls.failures(), 1u);
  // The same files are not tried again...
  reloaded = tls.reloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(reloaded.value());
  EXPECT_EQ(tls.failures(), 1u);
  // ...the key that completes them is.
  write("tls.key", other->privateKeyPem);
  reloaded = tls.reloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_TRUE(reloaded.value());
  EXPECT_EQ(presentedName(tls.server()), "us-east-1");
}

TEST_F(TlsFilesTest, ErrorsNameTheFileAndNeverCarryItsContent) {
  write("tls.key", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n");
  auto files = TlsFiles::load(paths());
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find("private key"), std::string::npos) << files.error().message;
  EXPECT_EQ(files.error().message.find("c2VjcmV0"), std::string::npos) << files.error().message;

  fs::remove(dir_ / "ca.crt");
  files = TlsFiles::load(paths());
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find((dir_ / "ca.crt").string()), std::string::npos) << files.error().message;
}

TEST_F(TlsFilesTest, WatchPicksUpARotationOnItsOwn) {
  auto files = TlsFiles::load(paths());
  ASSERT_TRUE(files.ok());
  TlsFiles& tls = *files.value();
  tls.watch(std::chrono::milliseconds(5));
  writeRegion("ap-south-1");
  EXPECT_TRUE(base::testing::eventually([&] { return presentedName(tls.server()) == "ap-south-1"; }));
  EXPECT_EQ(tls.reloads(), 1u);
  tls.stop();
  tls.stop();  // idempotent; the destructor stops too
}

}  // namespace
}  // namespace dwcp::net
