#include "routingapi/router_config.h"

#include <gtest/gtest.h>

namespace dwcp::routingapi {
namespace {

TEST(ParseRouterConfig, ReadsTheRoutingSection) {
  auto config = parseRouterConfig(R"(
federation: {placement: {algorithm: hybrid}}
routing:
  global: {algorithm: latency, enable_ddos_protection: false, enable_traffic_shaping: true}
  ddos_protection:
    thresholds: {max_requests_per_sec: 50, max_bytes_per_sec: 1000000}
    blacklist_duration: 30m
    trusted_proxies: [10.0.0.0/8, "192.0.2.7", "fd00::/8"]
)");
  ASSERT_TRUE(config.ok()) << config.error().toString();
  EXPECT_EQ(config->algorithm, routing::Algorithm::kLatency);
  EXPECT_FALSE(config->service.ddosProtection);
  EXPECT_TRUE(config->service.trafficShaping);
  EXPECT_DOUBLE_EQ(config->service.rateLimiter.maxRequestsPerSec, 50);
  EXPECT_DOUBLE_EQ(config->service.rateLimiter.maxBytesPerSec, 1000000);
  EXPECT_EQ(config->service.rateLimiter.blacklistDuration, std::chrono::minutes(30));
  EXPECT_EQ(config->service.trustedProxies.entries(), (std::vector<std::string>{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}));
  EXPECT_TRUE(config->service.trustedProxies.contains("10.20.30.40"));
  EXPECT_FALSE(config->service.trustedProxies.contains("192.0.2.8"));
  routing::RouterConfig engine;
  config->applyTo(engine);
  for (const auto& policy : engine.classes) EXPECT_EQ(policy.algorithm, routing::Algorithm::kLatency);
}

TEST(ParseRouterConfig, EmptyMeansDefaults) {
  auto config = parseRouterConfig("");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->algorithm.has_value());
  EXPECT_DOUBLE_EQ(config->service.rateLimiter.maxRequestsPerSec, 1000);
  EXPECT_TRUE(config->service.trustedProxies.empty());  // no forwarded address is believed
}

TEST(ParseRouterConfig, TheRepositoryConfigLoads) {
  auto config = loadRouterConfig(std::string(DWCP_SOURCE_DIR) + "/config/dwcp-operator.yaml");
  ASSERT_TRUE(config.ok()) << config.error().toString();
  EXPECT_EQ(config->service.rateLimiter.blacklistDuration, std::chrono::hours(1));
}

TEST(ParseRouterConfig, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"routing: {global: {algorithm: fastest}}", "routing.global.algorithm"},
      {"routing: {global: {enable_ddos_protection: perhaps}}", "routing.global.enable_ddos_protection"},
      {"routing: {ddos_protection: {thresholds: {max_requests_per_sec: -1}}}",
       "routing.ddos_protection.thresholds.max_requests_per_sec"},
      {"routing: {ddos_protection: {thresholds: {max_request_per_sec: 5}}}",
       "routing.ddos_protection.thresholds.max_request_per_sec"},
      {"routing: {ddos_protection: {blacklist_duration: 1y}}", "routing.ddos_protection.blacklist_duration"},
      {"routing: {shaping: {}}", "routing.shaping"},
      {"routing: {ddos_protection: {trusted_proxies: 10.0.0.0/8}}", "routing.ddos_protection.trusted_proxies"},
      {"routing: {ddos_protection: {trusted_proxies: [10.0.0.0/8, proxy.example.com]}}",
       "routing.ddos_protection.trusted_proxies[1]"},
      {"routing: {ddos_protection: {trusted_proxies: [10.0.0.1/8]}}", "routing.ddos_protection.trusted_proxies[0]"},
      {"routing: {ddos_protection: {trusted_proxies: [10.0.0.0/8, 127.0.0.1/33]}}",
       "routing.ddos_protection.trusted_proxies[1]"},
      {"routing: {ddos_protection: {trusted_proxies: [[10.0.0.0/8]]}}", "routing.ddos_protection.trusted_proxies[0]"},
  };
  for (const auto& [text, field] : cases) {
    auto config = parseRouterConfig(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().field, field) << config.error().message;
  }
}

TEST(ParseDurationSeconds, Units) {
  EXPECT_EQ(*parseDurationSeconds("90s"), std::chrono::seconds(90));
  EXPECT_EQ(*parseDurationSeconds("1h30m"), std::chrono::seconds(5400));
  EXPECT_EQ(*parseDurationSeconds("7d"), std::chrono::hours(168));
  EXPECT_FALSE(parseDurationSeconds("500ms").ok());  // below a second
  EXPECT_FALSE(parseDurationSeconds("").ok());
  EXPECT_FALSE(parseDurationSeconds("5").ok());
}

}  // namespace
}  // namespace dwcp::routingapi
