#include "kube/kubeconfig.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path testdata() { return fs::path(DWCP_SOURCE_DIR) / "kube" / "testdata"; }
std::string fixture(const std::string& name) { return (testdata() / name).string(); }

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fresh directory under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("dwcp-kubeconfig-" + std::string(info->name()) + "-" + std::to_string(::getpid()) +
             "-" + std::to_string(++counter));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  fs::path path_;
};

struct GoodCase {
  std::string context;
  std::string server;
  std::string ns;
  bool hasCa;
  bool hasClientCert;
  std::string token;
  std::string tokenFileName;  // file name only, "" when none
  bool insecure;
};
void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.context; }

class KubeconfigGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(KubeconfigGoodTest, LoadsContext) {
  const GoodCase& c = GetParam();
  auto config = loadKubeconfig(fixture("kubeconfig-good.yaml"), c.context);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, c.server);
  EXPECT_EQ(config->defaultNamespace, c.ns);
  EXPECT_EQ(config->contextName, c.context.empty() ? "prod" : c.context);
  EXPECT_EQ(!config->caPem.empty(), c.hasCa);
  EXPECT_EQ(!config->clientCertPem.empty(), c.hasClientCert);
  EXPECT_EQ(!config->clientKeyPem.empty(), c.hasClientCert);
  EXPECT_EQ(config->token, c.token);
  EXPECT_EQ(config->insecureSkipTLSVerify, c.insecure);
  if (c.tokenFileName.empty()) {
    EXPECT_EQ(config->tokenFile, "");
  } else {
    EXPECT_EQ(fs::path(config->tokenFile), (testdata() / c.tokenFileName).lexically_normal());
  }
  EXPECT_EQ(config->source, fixture("kubeconfig-good.yaml"));
}

INSTANTIATE_TEST_SUITE_P(
    Kubeconfig, KubeconfigGoodTest,
    ::testing::Values(
        // current-context, inline -data fields, namespace from the context
        GoodCase{"", "https://127.0.0.1:6443", "team-a", true, true, "", "", false},
        GoodCase{"prod", "https://127.0.0.1:6443", "team-a", true, true, "", "", false},
        // file fields relative to the kubeconfig's folder; trailing '/' of server dropped
        GoodCase{"dev", "https://dev.example.test:8443", "default", true, true, "", "", false},
        GoodCase{"lab", "https://lab.example.test", "default", false, false, "static-token-value",
                 "", true},
        GoodCase{"lab-file-token", "https://lab.example.test", "lab-ns", false, false, "",
                 "token.txt", true}),
    [](const auto& info) {
      std::string name = info.param.context.empty() ? "current" : info.param.context;
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(KubeconfigTest, DataAndFileFieldsGiveTheSameBytes) {
  auto inlined = loadKubeconfig(fixture("kubeconfig-good.yaml"), "prod");
  auto files = loadKubeconfig(fixture("kubeconfig-good.yaml"), "dev");
  ASSERT_TRUE(inlined.ok()) << inlined.error().message;
  ASSERT_TRUE(files.ok()) << files.error().message;
  const std::string ca = readText(testdata() / "ca.crt");
  EXPECT_EQ(inlined->caPem, ca);
  EXPECT_EQ(files->caPem, ca);
  EXPECT_EQ(inlined->clientCertPem, readText(testdata() / "client.crt"));
  EXPECT_EQ(inlined->clientKeyPem, readText(testdata() / "client.key"));
  EXPECT_EQ(files->clientCertPem, inlined->clientCertPem);
  EXPECT_EQ(files->clientKeyPem, inlined->clientKeyPem);
}

TEST(KubeconfigTest, RelativePathsResolveAgainstTheKubeconfigFolderNotTheWorkingDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "certs");
  fs::copy_file(testdata() / "ca.crt", dir.path() / "certs" / "ca.crt");
  dir.write("config",
            "current-context: c\n"
            "clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority: certs/ca.crt}}]\n"
            "contexts: [{name: c, context: {cluster: c}}]\n");
  const fs::path before = fs::current_path();
  fs::current_path(fs::temp_directory_path());
  auto config = loadKubeconfig((dir.path() / "config").string());
  fs::current_path(before);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->caPem, readText(testdata() / "ca.crt"));
  EXPECT_EQ(config->userName, "");  // a context without a user: no credentials, not an error
}

struct BadCase {
  std::string file;
  std::string context;
  std::string expectedMessage;  // a substring of the error
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

class KubeconfigBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(KubeconfigBadTest, ErrorNamesTheKey) {
  const BadCase& c = GetParam();
  const std::string path = fixture(c.file);
  auto config = loadKubeconfig(path, c.context);
  ASSERT_FALSE(config.ok()) << config->redacted();
  EXPECT_THAT(config.error().message, HasSubstr("kubeconfig " + path + ": "));
  EXPECT_THAT(config.error().message, HasSubstr(c.expectedMessage));
}

INSTANTIATE_TEST_SUITE_P(
    Kubeconfig, KubeconfigBadTest,
    ::testing::Values(
        BadCase{"kubeconfig-no-current.yaml", "", "current-context: not set"},
        BadCase{"kubeconfig-bad-base64.yaml", "", "users[admin].client-key-data: not valid base64"},
        BadCase{"kubeconfig-good.yaml", "ghost-user", "users[ghost]: not found"},
        BadCase{"kubeconfig-good.yaml", "ghost-cluster", "clusters[nowhere]: not found"},
        BadCase{"kubeconfig-good.yaml", "no-such-context", "contexts[no-such-context]: not found"},
        BadCase{"kubeconfig-bad-files.yaml", "missing-ca-file",
                "clusters[missing-ca-file].certificate-authority: cannot read"},
        BadCase{"kubeconfig-bad-files.yaml", "no-server", "clusters[no-server].server: missing"},
        BadCase{"kubeconfig-bad-files.yaml", "cert-only",
                "users[cert-only].client-key-data: missing"},
        BadCase{"kubeconfig-bad-files.yaml", "exec-user",
                "users[exec-user].exec: credential plugins are not supported"},
        BadCase{"kubeconfig-bad-files.yaml", "not-pem",
                "clusters[not-pem].certificate-authority-data: not PEM data"},
        BadCase{"kubeconfig-bad-files.yaml", "no-cluster-key",
                "contexts[no-cluster-key].cluster: missing"},
        BadCase{"does-not-exist.yaml", "", "cannot read"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(KubeconfigTest, MissingFileInBadFilesNamesTheResolvedPath) {
  auto config = loadKubeconfig(fixture("kubeconfig-bad-files.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr((testdata() / "does-not-exist.crt").string()));
}

TEST(KubeconfigTest, InvalidYamlIsAnError) {
  TempDir dir;
  dir.write("config", "clusters: [unclosed\n");
  auto config = loadKubeconfig((dir.path() / "config").string());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("invalid YAML"));
}

TEST(KubeconfigTest, BadBase64Variants) {
  TempDir dir;
  for (const std::string data : {"QUJD=", "QU=D", "QUJ", "QUJD!", "=QUJ"}) {
    dir.write("config",
              "current-context: c\n"
              "clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority-data: '" +
                  data + "'}}]\n"
                         "contexts: [{name: c, context: {cluster: c}}]\n");
    auto config = loadKubeconfig((dir.path() / "config").string());
    ASSERT_FALSE(config.ok()) << data;
    EXPECT_THAT(config.error().message,
                HasSubstr("clusters[c].certificate-authority-data: not valid base64"))
        << data;
  }
}

TEST(KubeconfigTest, RedactedHidesSecrets) {
  auto config = loadKubeconfig(fixture("kubeconfig-good.yaml"), "prod");
  ASSERT_TRUE(config.ok()) << config.error().message;
  config->token = "super-secret-token";
  const std::string line = config->redacted();
  EXPECT_THAT(line, HasSubstr("server=https://127.0.0.1:6443"));
  EXPECT_THAT(line, HasSubstr("context=prod"));
  EXPECT_THAT(line, HasSubstr("token=set"));
  EXPECT_THAT(line, HasSubstr("clientCert=set"));
  EXPECT_THAT(line, Not(HasSubstr("super-secret-token")));
  EXPECT_THAT(line, Not(HasSubstr("BEGIN")));
  // No fragment of the key or certificate body either.
  const std::string keyBody = config->clientKeyPem.substr(40, 24);
  const std::string certBody = config->clientCertPem.substr(40, 24);
  EXPECT_THAT(line, Not(HasSubstr(keyBody)));
  EXPECT_THAT(line, Not(HasSubstr(certBody)));
}

// One cluster `c` with `clusterFields` and, when `userFields` is set, one user `u`.
std::string oneContext(const std::string& clusterFields, const std::string& userFields = "") {
  std::string text = "current-context: c\n"
                     "clusters: [{name: c, cluster: {" + clusterFields + "}}]\n";
  if (userFields.empty()) return text + "contexts: [{name: c, context: {cluster: c}}]\n";
  return text + "users: [{name: u, user: {" + userFields + "}}]\n" +
         "contexts: [{name: c, context: {cluster: c, user: u}}]\n";
}

TEST(KubeconfigTest, PlainHttpWithABearerTokenIsRefused) {
  TempDir dir;
  dir.write("token", "file-token\n");
  const std::string path = (dir.path() / "config").string();
  for (const std::string user : {"token: secret-value", "tokenFile: token"}) {
    dir.write("config", oneContext("server: 'http://10.0.0.1:8080'", user));
    auto config = loadKubeconfig(path);
    ASSERT_FALSE(config.ok()) << user;
    EXPECT_THAT(config.error().message, HasSubstr("clusters[c].server: "));
    EXPECT_THAT(config.error().message, HasSubstr("http://"));
    EXPECT_THAT(config.error().message, HasSubstr("dwcp.io/allow-plaintext-credentials"));
    EXPECT_THAT(config.error().message, Not(HasSubstr("secret-value")));
  }
  dir.write("config", oneContext("server: 'http://10.0.0.1:8080'"));
  auto anonymous = loadKubeconfig(path);
  ASSERT_TRUE(anonymous.ok()) << anonymous.error().message;  // nothing to leak
  EXPECT_FALSE(anonymous->allowPlaintextCredentials);
}

TEST(KubeconfigTest, PlainHttpWithATokenIsAllowedByTheClusterExtension) {
  TempDir dir;
  dir.write("config",
            oneContext("server: 'http://127.0.0.1:8080', extensions: [{name: "
                       "dwcp.io/allow-plaintext-credentials, extension: true}]",
                       "token: t"));
  auto config = loadKubeconfig((dir.path() / "config").string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->allowPlaintextCredentials);
  EXPECT_EQ(config->token, "t");

  dir.write("config",
            oneContext("server: 'http://127.0.0.1:8080', extensions: [{name: "
                       "dwcp.io/allow-plaintext-credentials, extension: maybe}]",
                       "token: t"));
  auto bad = loadKubeconfig((dir.path() / "config").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message,
              HasSubstr("clusters[c].extensions[dwcp.io/allow-plaintext-credentials]"));
}

TEST(KubeconfigTest, InsecureSkipVerifyWithACaIsAnError) {
  TempDir dir;
  dir.write("ca.crt", readText(testdata() / "ca.crt"));
  dir.write("config", oneContext("server: 'https://h:1', insecure-skip-tls-verify: true, "
                                 "certificate-authority: ca.crt"));
  auto config = loadKubeconfig((dir.path() / "config").string());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message,
              HasSubstr("clusters[c].insecure-skip-tls-verify: specifying a root certificates "
                        "file with the insecure flag is not allowed"));
}

TEST(KubeconfigTest, TlsServerNameIsRead) {
  TempDir dir;
  dir.write("config", oneContext("server: 'https://10.0.0.1:6443', tls-server-name: kube.internal"));
  auto config = loadKubeconfig((dir.path() / "config").string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->tlsServerName, "kube.internal");
  EXPECT_THAT(config->redacted(), HasSubstr("tlsServerName=kube.internal"));

  dir.write("config", oneContext("server: 'https://10.0.0.1:6443', tls-server-name: 'bad name/'"));
  auto bad = loadKubeconfig((dir.path() / "config").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("clusters[c].tls-server-name: "));
}

TEST(ValidateRestConfigTest, RefusesWhatLoadingRefuses) {
  RestConfig http;
  http.server = "http://127.0.0.1:8080";
  http.token = "t";
  EXPECT_FALSE(validateRestConfig(http).ok());
  http.token.clear();
  http.tokenFile = "/var/run/token";
  EXPECT_FALSE(validateRestConfig(http).ok());
  http.allowPlaintextCredentials = true;
  EXPECT_TRUE(validateRestConfig(http).ok());

  RestConfig insecure;
  insecure.server = "https://127.0.0.1:6443";
  insecure.insecureSkipTLSVerify = true;
  EXPECT_TRUE(validateRestConfig(insecure).ok());
  insecure.caPem = readText(testdata() / "ca.crt");
  auto status = validateRestConfig(insecure);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("insecure"));
}

// In-cluster config from a fake service-account folder.
class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("token", "sa-token\n");
    dir_.write("ca.crt", readText(testdata() / "ca.crt"));
    dir_.write("namespace", "operators\n");
  }
  TempDir dir_;
};

TEST_F(InClusterTest, ReadsServiceAccountFolder) {
  auto config = inClusterConfigFrom("10.96.0.1", "443", dir_.path().string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->tokenFile, (dir_.path() / "token").string());
  EXPECT_EQ(config->token, "");  // the transport reads the file, so rotation works
  EXPECT_EQ(config->caPem, readText(testdata() / "ca.crt"));
  EXPECT_EQ(config->defaultNamespace, "operators");
  EXPECT_EQ(config->source, "in-cluster");
}

TEST_F(InClusterTest, Ipv6HostGetsBrackets) {
  auto config = inClusterConfigFrom("fd00::1", "443", dir_.path().string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
}

TEST_F(InClusterTest, MissingNamespaceFileMeansDefault) {
  fs::remove(dir_.path() / "namespace");
  auto config = inClusterConfigFrom("10.96.0.1", "443", dir_.path().string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->defaultNamespace, "default");
}

TEST_F(InClusterTest, Errors) {
  auto noEnv = inClusterConfigFrom("", "443", dir_.path().string());
  ASSERT_FALSE(noEnv.ok());
  EXPECT_THAT(noEnv.error().message, HasSubstr("KUBERNETES_SERVICE_HOST"));

  fs::remove(dir_.path() / "ca.crt");
  auto noCa = inClusterConfigFrom("10.96.0.1", "443", dir_.path().string());
  ASSERT_FALSE(noCa.ok());
  EXPECT_THAT(noCa.error().message, HasSubstr("ca.crt"));

  dir_.write("token", "  \n");
  auto emptyToken = inClusterConfigFrom("10.96.0.1", "443", dir_.path().string());
  ASSERT_FALSE(emptyToken.ok());
  EXPECT_THAT(emptyToken.error().message, HasSubstr("token"));
}

TEST_F(InClusterTest, LoadDefaultOrder) {
  TempDir home;
  fs::create_directories(home.path() / ".kube");
  fs::copy_file(testdata() / "kubeconfig-no-current.yaml", home.path() / ".kube" / "config");

  ConfigEnvironment env;
  env.serviceAccountDir = dir_.path().string();
  env.homeDir = home.path().string();

  // Nothing but ~/.kube/config (which has no current-context, so ask for its context).
  auto fromHome = loadDefault("", "only", env);
  ASSERT_TRUE(fromHome.ok()) << fromHome.error().message;
  EXPECT_EQ(fromHome->source, (home.path() / ".kube" / "config").string());

  // In-cluster beats ~/.kube/config.
  env.serviceHost = "10.96.0.1";
  env.servicePort = "443";
  auto inCluster = loadDefault("", "", env);
  ASSERT_TRUE(inCluster.ok()) << inCluster.error().message;
  EXPECT_EQ(inCluster->source, "in-cluster");

  // $KUBECONFIG (first of the list) beats in-cluster.
  env.kubeconfigEnv = fixture("kubeconfig-good.yaml") + ":/nonexistent/other";
  auto fromEnv = loadDefault("", "", env);
  ASSERT_TRUE(fromEnv.ok()) << fromEnv.error().message;
  EXPECT_EQ(fromEnv->source, fixture("kubeconfig-good.yaml"));

  // An explicit path beats everything.
  auto explicitPath = loadDefault(fixture("kubeconfig-good.yaml"), "lab", env);
  ASSERT_TRUE(explicitPath.ok()) << explicitPath.error().message;
  EXPECT_EQ(explicitPath->contextName, "lab");

  // Nothing at all is an error.
  auto nothing = loadDefault("", "", ConfigEnvironment{"", "", "", dir_.path().string(), ""});
  ASSERT_FALSE(nothing.ok());
  EXPECT_THAT(nothing.error().message, HasSubstr("no configuration"));
}

}  // namespace
}  // namespace dwcp::kube
