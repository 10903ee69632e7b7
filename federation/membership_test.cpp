#include "federation/membership.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "base/clock.h"

namespace dwcp::federation {
namespace {

// Two names whose FNV-1a hashes collide (found by a search over "region-N").
constexpr const char* kCollidingA = "region-412789";
constexpr const char* kCollidingB = "region-649192";

TEST(MembershipTest, ReplicaIdsComeFromTheNameAloneAndDifferForTheExampleRegions) {
  EXPECT_EQ(replicaIdOf("us-east-1"), 3819221319u);  // FNV-1a 32-bit: the same in every operator
  std::set<state::ReplicaId> ids;
  for (const char* region : {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"}) {
    EXPECT_NE(replicaIdOf(region), 0u);
    ids.insert(replicaIdOf(region));
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(replicaIdOf(kCollidingA), replicaIdOf(kCollidingB));
}

struct EndpointCase {
  const char* endpoint;
  const char* host;  // nullptr: refused
  uint16_t port;
  const char* why;   // part of the error when refused
};

class PeerEndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(PeerEndpointTest, ParsesOrNamesTheField) {
  const EndpointCase& c = GetParam();
  auto peer = peerEndpointOf({"eu-west-1", c.endpoint});
  if (c.host == nullptr) {
    ASSERT_FALSE(peer.ok()) << c.endpoint;
    EXPECT_NE(peer.error().message.find("Region eu-west-1: spec.endpoint"), std::string::npos) << peer.error().message;
    EXPECT_NE(peer.error().message.find(c.why), std::string::npos) << peer.error().message;
    return;
  }
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  EXPECT_EQ(peer->host, c.host);
  EXPECT_EQ(peer->port, c.port);
  EXPECT_EQ(peer->region, "eu-west-1");
  EXPECT_EQ(peer->id, replicaIdOf("eu-west-1"));
}

INSTANTIATE_TEST_SUITE_P(
    Endpoints, PeerEndpointTest,
    ::testing::Values(EndpointCase{"https://dwcp-eu-west-1.example.com:7443", "dwcp-eu-west-1.example.com", 7443, ""},
                      EndpointCase{"https://dwcp-eu-west-1.example.com", "dwcp-eu-west-1.example.com", 7443, ""},
                      EndpointCase{"https://127.0.0.1:17443/", "127.0.0.1", 17443, ""},
                      EndpointCase{"https://[::1]:8443", "::1", 8443, ""},
                      EndpointCase{"https://[::1]", "::1", 7443, ""},
                      EndpointCase{"http://dwcp.example.com:7443", nullptr, 0, "must start with https://"},
                      EndpointCase{"https://dwcp.example.com:7443/peers", nullptr, 0, "no path"},
                      EndpointCase{"https://user@dwcp.example.com", nullptr, 0, "no path, query or user"},
                      EndpointCase{"https://dwcp.example.com:", nullptr, 0, "empty port"},
                      EndpointCase{"https://dwcp.example.com:0", nullptr, 0, "1-65535"},
                      EndpointCase{"https://dwcp.example.com:70000", nullptr, 0, "1-65535"},
                      EndpointCase{"https://dwcp.example.com:74x3", nullptr, 0, "1-65535"},
                      EndpointCase{"https://:7443", nullptr, 0, "no host"},
                      EndpointCase{"https://[::1:7443", nullptr, 0, "unclosed ["},
                      EndpointCase{"https://[::1]7443", nullptr, 0, "text after"}));

TEST(MembershipTest, EveryOtherRegionWithAValidEndpointIsAPeer) {
  const Membership m = membershipOf({{"us-east-1", "https://127.0.0.1:17441"},
                                     {"eu-west-1", "https://127.0.0.1:17442"},
                                     {"ap-south-1", "ftp://nowhere"},
                                     {"eu-central-1", "https://dwcp-eu-central-1.example.com"}},
                                    "us-east-1");
  std::set<std::string> regions;
  for (const auto& peer : m.peers) regions.insert(peer.region);
  EXPECT_EQ(regions, (std::set<std::string>{"eu-west-1", "eu-central-1"}));
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_NE(m.problems[0].find("Region ap-south-1"), std::string::npos) << m.problems[0];
}

TEST(MembershipTest, RegionsWhoseIdsCollideAreLeftOutAndNamed) {
  Membership m = membershipOf({{kCollidingA, "https://a.example.com"},
                               {kCollidingB, "https://b.example.com"},
                               {"eu-west-1", "https://c.example.com"}},
                              "us-east-1");
  ASSERT_EQ(m.peers.size(), 1u);
  EXPECT_EQ(m.peers[0].region, "eu-west-1");
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_NE(m.problems[0].find(kCollidingA), std::string::npos);
  EXPECT_NE(m.problems[0].find(kCollidingB), std::string::npos);

  m = membershipOf({{kCollidingA, "https://a.example.com"}, {kCollidingB, "https://b.example.com"}}, kCollidingA);
  EXPECT_TRUE(m.peers.empty());
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_NE(m.problems[0].find("replica id of this region"), std::string::npos) << m.problems[0];
}

TEST(MembershipTest, ApplyAddsMovesAndRemovesPeersOfTheTransportAndTheReplica) {
  TransportConfig config;
  config.self = replicaIdOf("us-east-1");
  config.region = "us-east-1";
  HttpsPeerTransport transport(config);  // not started: membership needs no network
  base::FakeClock clock;
  state::GeoStateConfig stateConfig;
  stateConfig.self = config.self;
  state::GeoDistributedState state(stateConfig, clock, transport);

  apply(membershipOf({{"us-east-1", "https://127.0.0.1:1"}, {"eu-west-1", "https://127.0.0.1:2"},
                      {"ap-south-1", "https://127.0.0.1:3"}},
                     "us-east-1"),
        transport, state);
  EXPECT_EQ(transport.peers().size(), 2u);
  std::vector<state::ReplicaId> want = {replicaIdOf("eu-west-1"), replicaIdOf("ap-south-1")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(state.peers(), want);

  // ap-south-1 deleted, eu-west-1 moved.
  apply(membershipOf({{"eu-west-1", "https://127.0.0.1:4"}}, "us-east-1"), transport, state);
  ASSERT_EQ(transport.peers().size(), 1u);
  EXPECT_EQ(transport.peers()[0].region, "eu-west-1");
  EXPECT_EQ(transport.peers()[0].port, 4);
  EXPECT_EQ(state.peers(), std::vector<state::ReplicaId>{replicaIdOf("eu-west-1")});

  apply(Membership{}, transport, state);
  EXPECT_TRUE(transport.peers().empty());
  EXPECT_TRUE(state.peers().empty());
}

}  // namespace
}  // namespace dwcp::federation
