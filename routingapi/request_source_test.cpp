#include "routingapi/request_source.h"

#include <gtest/gtest.h>

namespace dwcp::routingapi {
namespace {

TrustedProxies trusted(const std::vector<std::string>& entries) {
  auto parsed = TrustedProxies::parse(entries);
  EXPECT_TRUE(parsed.ok()) << parsed.error().toString();
  return parsed.ok() ? *parsed : TrustedProxies{};
}

TEST(TrustedProxiesTest, AddressesAndNetworks) {
  const auto proxies = trusted({"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1", "172.16.0.0/12"});
  EXPECT_FALSE(proxies.empty());
  for (const char* inside : {"10.0.0.1", "10.255.255.255", "192.0.2.7", "fd12::34", "::1", "172.31.0.9",
                             "::ffff:10.1.2.3"}) {
    EXPECT_TRUE(proxies.contains(inside)) << inside;
  }
  for (const char* outside : {"11.0.0.1", "192.0.2.8", "fe80::1", "::2", "172.32.0.1", "127.0.0.1", "", "10.0.0",
                              "not-an-address"}) {
    EXPECT_FALSE(proxies.contains(outside)) << outside;
  }
  EXPECT_TRUE(trusted({"0.0.0.0/0"}).contains("203.0.113.9"));
  EXPECT_FALSE(trusted({"0.0.0.0/0"}).contains("2001:db8::1"));  // an IPv4 network holds no IPv6 address
  EXPECT_TRUE(trusted({}).empty());
}

TEST(TrustedProxiesTest, BadEntriesNameTheirIndex) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"10.0.0.0/8", "proxy.example.com"}, "[1]"},
      {{"10.0.0.0/33"}, "[0]"},
      {{"::/129"}, "[0]"},
      {{"10.0.0.1/8"}, "[0]"},  // host bits set: a typo, not a network
      {{"10.0.0.0/"}, "[0]"},
      {{"10.0.0.0/-1"}, "[0]"},
      {{"10.0.0.0/8x"}, "[0]"},
      {{"192.0.2.1", ""}, "[1]"},
      {{"1.2.3.4", "5.6.7.8", " 9.9.9.9"}, "[2]"},
  };
  for (const auto& [entries, field] : cases) {
    auto parsed = TrustedProxies::parse(entries);
    ASSERT_FALSE(parsed.ok()) << entries.back();
    EXPECT_EQ(parsed.error().field, field) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(entries.back()), std::string::npos) << parsed.error().message;
  }
}

struct SourceCase {
  const char* peer;
  const char* forwardedFor;
  const char* expected;
};

TEST(RequestSourceTest, ForwardedForCountsOnlyFromTrustedProxies) {
  const auto proxies = trusted({"10.0.0.0/8", "2001:db8:1::/48"});
  const SourceCase cases[] = {
      // An untrusted peer: whatever it forwards is ignored.
      {"203.0.113.5", "198.51.100.1", "203.0.113.5"},
      {"203.0.113.5", "", "203.0.113.5"},
      // A trusted proxy: its rightmost untrusted hop; what the client prepended is ignored.
      {"10.0.0.2", "198.51.100.1", "198.51.100.1"},
      {"10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
      {"10.0.0.2", "6.6.6.6,198.51.100.1, 10.1.1.1", "198.51.100.1"},
      {"10.0.0.2", " 198.51.100.1 ,\t10.9.9.9 ", "198.51.100.1"},
      {"10.0.0.2", "", "10.0.0.2"},                             // no header: the proxy itself
      {"10.0.0.2", "10.1.1.1, 10.2.2.2", "10.1.1.1"},           // all hops trusted: the leftmost
      {"10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"},        // a hop that is no address: the nearest trusted
      {"10.0.0.2", "198.51.100.1, garbage, 10.3.3.3", "10.3.3.3"},
      {"10.0.0.2", "198.51.100.1, , 10.3.3.3", "10.3.3.3"},
      {"10.0.0.2", "::ffff:198.51.100.1", "198.51.100.1"},      // canonical text: one source, not two
      {"10.0.0.2", "2001:DB8:2::0001", "2001:db8:2::1"},
      {"10.0.0.2", "[2001:db8:2::1]:443", "2001:db8:2::1"},
      {"10.0.0.2", "198.51.100.1:5555", "198.51.100.1"},
      {"10.0.0.2", "2001:db8:1::7", "2001:db8:1::7"},           // a trusted IPv6 hop alone: the leftmost
      {"2001:db8:1::9", "198.51.100.1", "198.51.100.1"},
      {"10.0.0.2", ",,,", "10.0.0.2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(requestSource(c.peer, c.forwardedFor, proxies), c.expected) << c.peer << " <- " << c.forwardedFor;
  }
  // No trusted proxies (the default): always the peer.
  EXPECT_EQ(requestSource("10.0.0.2", "198.51.100.1", TrustedProxies{}), "10.0.0.2");
}

TEST(RequestSourceTest, AnyForwardedForYieldsAnAddressOfTheChain) {
  const auto proxies = trusted({"0.0.0.0/0", "::/0"});
  std::string huge;
  for (int i = 0; i < 4000; ++i) huge += std::string(i ? "," : "") + "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
  EXPECT_EQ(requestSource("10.0.0.2", huge, proxies), "10.0.0.0");
  EXPECT_EQ(requestSource("10.0.0.2", huge + ",", proxies), "10.0.0.2");  // an empty rightmost hop
  EXPECT_EQ(requestSource("10.0.0.2", std::string(10000, '['), proxies), "10.0.0.2");
  EXPECT_EQ(requestSource("10.0.0.2", std::string("1.2.3.4\0, 5.6.7.8", 17), proxies), "5.6.7.8");
}

}  // namespace
}  // namespace dwcp::routingapi
