#include "operator/options.h"

#include <gtest/gtest.h>

namespace dwcp::op {
namespace {

TEST(OptionsTest, ParsesEveryFlag) {
  auto o = parseOptions({"--region", "us-east-1", "--kubeconfig=/k", "--config", "/c.yaml",
                         "--leader-elect", "--metrics-bind-address", "127.0.0.1:9090",
                         "--health-probe-bind-address=:0", "--log-level", "debug",
                         "--leader-election-namespace", "ns", "--leader-election-id", "id",
                         "--routing-bind-address", "127.0.0.1:18090"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->region, "us-east-1");
  EXPECT_EQ(o->kubeconfig, "/k");
  EXPECT_EQ(o->configFile, "/c.yaml");
  EXPECT_TRUE(o->leaderElect);
  EXPECT_EQ(o->metricsBindAddress, "127.0.0.1:9090");
  EXPECT_EQ(o->healthProbeBindAddress, ":0");
  EXPECT_EQ(o->logLevel, "debug");
  EXPECT_EQ(o->leaderElectionNamespace, "ns");
  EXPECT_EQ(o->leaderElectionId, "id");
  EXPECT_EQ(o->routingBindAddress, "127.0.0.1:18090");
}

TEST(OptionsTest, Defaults) {
  auto o = parseOptions({"--region=eu-west-1"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->leaderElect);
  EXPECT_EQ(o->metricsBindAddress, ":8080");
  EXPECT_EQ(o->healthProbeBindAddress, ":8081");
  EXPECT_EQ(o->routingBindAddress, ":8090");
  EXPECT_EQ(o->peerBindAddress, ":7443");
  EXPECT_FALSE(o->federated()) << "no peer files: this operator alone";
}

TEST(OptionsTest, ThePeerFilesTogetherTurnFederationOn) {
  auto o = parseOptions({"--region=eu-west-1", "--peer-tls-cert", "c.crt", "--peer-tls-key=c.key", "--peer-ca", "ca.crt",
                         "--peer-bind-address", "127.0.0.1:17443"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_TRUE(o->federated());
  EXPECT_EQ(o->peerTlsCert, "c.crt");
  EXPECT_EQ(o->peerTlsKey, "c.key");
  EXPECT_EQ(o->peerCa, "ca.crt");
  EXPECT_EQ(o->peerBindAddress, "127.0.0.1:17443");
  EXPECT_NE(usage().find("--peer-ca PATH"), std::string::npos);
}

TEST(OptionsTest, RoutingApiCanBeDisabledOrMoved) {
  auto o = parseOptions({"--region=eu-west-1", "--routing-bind-address=0"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->routingBindAddress, "0");
  o = parseOptions({"--region=eu-west-1", "--routing-bind-address", ":0"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->routingBindAddress, ":0");
  EXPECT_NE(usage().find("--routing-bind-address ADDR"), std::string::npos);
}

TEST(OptionsTest, Help) {
  auto o = parseOptions({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->showHelp);
  EXPECT_NE(usage().find("--region"), std::string::npos);
}

struct Bad {
  std::vector<std::string> args;
  std::string expect;
};

TEST(OptionsTest, BadArgumentsNameTheFlag) {
  const std::vector<Bad> cases = {
      {{}, "--region: is required"},
      {{"--region", "US_EAST"}, "--region: \"US_EAST\" is not a DNS label"},
      {{"--region"}, "--region: needs a value"},
      {{"--region", "a", "--bogus"}, "unknown flag \"--bogus\""},
      {{"--region", "a", "--metrics-bind-address", "8080"}, "--metrics-bind-address: \"8080\" is not HOST:PORT"},
      {{"--region", "a", "--health-probe-bind-address=:99999"}, "--health-probe-bind-address: port 99999 is out of range"},
      {{"--region", "a", "--routing-bind-address", "localhost"}, "--routing-bind-address: \"localhost\" is not HOST:PORT"},
      {{"--region", "a", "--routing-bind-address=:70000"}, "--routing-bind-address: port 70000 is out of range"},
      {{"--region", "a", "--routing-bind-address"}, "--routing-bind-address: needs a value"},
      {{"--region", "a", "--leader-elect=yes"}, "--leader-elect: \"yes\" is not true or false"},
      {{"--region", "a", "--log-level", "loud"}, "--log-level: \"loud\""},
      {{"--region", "a", "--config", "--leader-elect"}, "--config: needs a value"},
      {{"--region", "a", "--peer-tls-cert", "c"}, "--peer-tls-key: is required with the other --peer-tls-* flags"},
      {{"--region", "a", "--peer-tls-cert", "c", "--peer-tls-key", "k"}, "--peer-ca: is required with the other"},
      {{"--region", "a", "--peer-ca", "ca"}, "--peer-tls-cert: is required with the other"},
      {{"--region", "a", "--peer-bind-address", "7443"}, "--peer-bind-address: \"7443\" is not HOST:PORT"},
      {{"--region", "a", "--peer-tls-cert=c", "--peer-tls-key=k", "--peer-ca=ca", "--peer-bind-address=0"},
       "--peer-bind-address: cannot be \"0\" when the --peer-tls-* flags turn federation on"},
  };
  for (const auto& c : cases) {
    auto o = parseOptions(c.args);
    ASSERT_FALSE(o.ok()) << c.expect;
    EXPECT_NE(o.error().message.find(c.expect), std::string::npos) << o.error().message;
  }
}

TEST(BindAddressTest, Splits) {
  auto b = parseBindAddress("--x", ":8080");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "");
  EXPECT_EQ(b->port, 8080);
  b = parseBindAddress("--x", "[::1]:9");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "[::1]");
}

}  // namespace
}  // namespace dwcp::op
