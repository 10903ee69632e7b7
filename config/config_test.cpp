#include "config/config.h"

#include <gtest/gtest.h>

namespace dwcp::config {
namespace {

TEST(ConfigTest, EmptyFileGivesDefaults) {
  auto c = parseConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->placement.algorithm, "hybrid");
  EXPECT_DOUBLE_EQ(c->failover.failoverThreshold, 70.0);
  EXPECT_EQ(c->failover.maxFailoverTime, std::chrono::seconds(30));
  EXPECT_FALSE(c->routing.algorithm) << "unset: each traffic class keeps its own default";
  EXPECT_EQ(c->routing.routerConfig().classes[0].algorithm, routing::RouterConfig{}.classes[0].algorithm);
  EXPECT_TRUE(c->routing.service.ddosProtection);
  EXPECT_TRUE(c->routing.service.trafficShaping);
  EXPECT_DOUBLE_EQ(c->routing.service.rateLimiter.maxRequestsPerSec, 1000);
  EXPECT_DOUBLE_EQ(c->routing.service.rateLimiter.maxBytesPerSec, 100000000);
  EXPECT_EQ(c->routing.service.rateLimiter.blacklistDuration, std::chrono::hours(1));
  EXPECT_TRUE(c->routing.service.trustedProxies.empty());
  EXPECT_EQ(c->monitoring.interval, std::chrono::seconds(10));
  EXPECT_EQ(c->monitoring.traceRetention, std::chrono::hours(24 * 7));
  EXPECT_EQ(c->runtime.regionStatusInterval, std::chrono::milliseconds(500));
  EXPECT_EQ(c->peers.heartbeatInterval, std::chrono::milliseconds(500));
  EXPECT_EQ(c->peers.suspectAfterHeartbeats, 3);
  EXPECT_EQ(c->peers.reservationTimeout, std::chrono::seconds(10));
}

TEST(ConfigTest, PeerTimingsParse) {
  auto c = parseConfig("federation: {heartbeat_interval: 250ms, suspect_after: 4, reservation_timeout: 30s}\n", "peers.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->peers.heartbeatInterval, std::chrono::milliseconds(250));
  EXPECT_EQ(c->peers.suspectAfterHeartbeats, 4);
  EXPECT_EQ(c->peers.reservationTimeout, std::chrono::seconds(30));
}

TEST(ConfigTest, RegionStatusIntervalMayBeZero) {
  auto c = parseConfig("runtime: {region_status_interval: 0s}\n", "zero.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->runtime.regionStatusInterval, std::chrono::milliseconds(0));
  c = parseConfig("runtime: {region_status_interval: 2s}\n", "two.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->runtime.regionStatusInterval, std::chrono::seconds(2));
}

TEST(ConfigTest, FullFileParses) {
  const char* yaml = R"(
federation:
  region_defaults: {priority: 60, enabled: true}
  regions:
    - id: us-east-1
      name: US East
      cloud_provider: aws
      capacity: {total_cpu: 10000, total_memory: 40960000}
      priority: 90
    - id: eu-west-1
      enabled: false
  placement:
    algorithm: cost
    enable_preemption: false
    max_concurrent_migrations: 9
    weights: {latency: 1, cost: 2, capacity: 0, health: 0, priority: 0}
  failover: {auto_failover: false, failover_threshold: 65.5, max_failover_time: 20s}
routing:
  global: {algorithm: geo-proximity, enable_ddos_protection: false, enable_traffic_shaping: true}
  ddos_protection:
    thresholds: {max_requests_per_sec: 500, max_bytes_per_sec: 1000000}
    blacklist_duration: 30m
    trusted_proxies: [10.0.0.0/8, "2001:db8::7"]
monitoring:
  interval: 5s
  enable_tracing: false
  trace_retention: 2d
  sla_definitions:
    - {id: latency, name: P99 latency, metric: p99_latency, target: 100, operator: less_than, compliance: 99.9, severity: high}
state: {consistency: strong, replication_workers: 20, compression: true}
runtime: {region_workers: 4}
)";
  auto c = parseConfig(yaml, "full.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->regions.size(), 2u);
  EXPECT_EQ(c->regions[0].id, "us-east-1");
  EXPECT_DOUBLE_EQ(c->regions[0].totalCpu, 10000);
  EXPECT_EQ(c->regions[0].priority, 90);
  EXPECT_EQ(c->regions[1].priority, 60);  // from region_defaults
  EXPECT_FALSE(c->regions[1].enabled);
  EXPECT_EQ(c->placement.algorithm, "cost");
  EXPECT_FALSE(c->placement.enablePreemption);
  EXPECT_EQ(c->placement.maxConcurrentMigrations, 9);
  EXPECT_DOUBLE_EQ(c->placement.weights.cost, 2);
  EXPECT_FALSE(c->failover.autoFailover);
  EXPECT_DOUBLE_EQ(c->failover.failoverThreshold, 65.5);
  EXPECT_EQ(c->failover.maxFailoverTime, std::chrono::seconds(20));
  EXPECT_EQ(c->routing.algorithm, routing::Algorithm::kGeoProximity);
  for (const auto& policy : c->routing.routerConfig().classes) {
    EXPECT_EQ(policy.algorithm, routing::Algorithm::kGeoProximity) << "routing.global.algorithm is every class's";
  }
  EXPECT_EQ(c->routing.service.rateLimiter.blacklistDuration, std::chrono::minutes(30));
  EXPECT_EQ(c->routing.service.trustedProxies.entries(), (std::vector<std::string>{"10.0.0.0/8", "2001:db8::7"}));
  EXPECT_TRUE(c->routing.service.trustedProxies.contains("10.1.2.3"));
  ASSERT_EQ(c->monitoring.slaDefinitions.size(), 1u);
  EXPECT_EQ(c->monitoring.slaDefinitions[0].metric, "p99_latency");
  EXPECT_EQ(c->state.consistency, "strong");
  EXPECT_EQ(c->state.replicationWorkers, 20);
  EXPECT_EQ(c->runtime.regionWorkers, 4);
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* expect;  // substring of the error message: the key path
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ConfigBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigBadTest, ErrorNamesTheKey) {
  auto c = parseConfig(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(GetParam().expect), std::string::npos) << c.error().message;
  EXPECT_EQ(c.error().message.rfind("bad.yaml: ", 0), 0u) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigBadTest,
    ::testing::Values(
        BadCase{"unknown_top", "federaton: {}\n", "federaton: unknown key"},
        BadCase{"unknown_nested", "federation: {placement: {algoritm: cost}}\n", "federation.placement.algoritm: unknown key"},
        BadCase{"bad_algorithm", "federation: {placement: {algorithm: fastest}}\n", "federation.placement.algorithm: must be one of"},
        BadCase{"threshold_range", "federation: {failover: {failover_threshold: 170}}\n", "federation.failover.failover_threshold: must be between 0 and 100"},
        BadCase{"threshold_type", "federation: {failover: {failover_threshold: high}}\n", "federation.failover.failover_threshold: must be a number"},
        BadCase{"heartbeat_too_fast", "federation: {heartbeat_interval: 10ms}\n", "federation.heartbeat_interval: must be between 50ms and 1m"},
        BadCase{"heartbeat_not_duration", "federation: {heartbeat_interval: often}\n", "federation.heartbeat_interval: invalid duration"},
        BadCase{"suspect_zero", "federation: {suspect_after: 0}\n", "federation.suspect_after: must be between 1 and 100"},
        BadCase{"suspect_text", "federation: {suspect_after: 3s}\n", "federation.suspect_after: must be"},
        BadCase{"reservation_zero", "federation: {reservation_timeout: 0s}\n", "federation.reservation_timeout: must be positive"},
        BadCase{"bad_duration", "federation: {failover: {max_failover_time: 30 seconds}}\n", "federation.failover.max_failover_time: invalid duration"},
        BadCase{"bad_unit", "routing: {ddos_protection: {blacklist_duration: 1y}}\n", "routing.ddos_protection.blacklist_duration: invalid duration \"1y\": unknown unit"},
        BadCase{"bool_type", "routing: {global: {enable_ddos_protection: maybe}}\n", "routing.global.enable_ddos_protection: must be true or false"},
        BadCase{"rps_zero", "routing: {ddos_protection: {thresholds: {max_requests_per_sec: 0}}}\n", "routing.ddos_protection.thresholds.max_requests_per_sec: must be between"},
        BadCase{"proxies_not_list", "routing: {ddos_protection: {trusted_proxies: 10.0.0.0/8}}\n", "routing.ddos_protection.trusted_proxies: must be a list"},
        BadCase{"proxy_not_ip", "routing: {ddos_protection: {trusted_proxies: [10.0.0.0/8, lb.example.com]}}\n", "routing.ddos_protection.trusted_proxies[1]: \"lb.example.com\": not an IP address or CIDR"},
        BadCase{"proxy_host_bits", "routing: {ddos_protection: {trusted_proxies: [10.0.0.1/8]}}\n", "routing.ddos_protection.trusted_proxies[0]: \"10.0.0.1/8\": has host bits set"},
        BadCase{"proxy_prefix", "routing: {ddos_protection: {trusted_proxies: [\"::/129\"]}}\n", "routing.ddos_protection.trusted_proxies[0]: \"::/129\": prefix length"},
        BadCase{"proxy_not_string", "routing: {ddos_protection: {trusted_proxies: [{ip: 10.0.0.1}]}}\n", "routing.ddos_protection.trusted_proxies[0]: must be a string"},
        BadCase{"regions_not_list", "federation: {regions: {id: x}}\n", "federation.regions: must be a list"},
        BadCase{"region_no_id", "federation: {regions: [{name: x}]}\n", "federation.regions[0].id: is required"},
        BadCase{"region_dup", "federation: {regions: [{id: a}, {id: a}]}\n", "federation.regions[1].id: duplicate"},
        BadCase{"region_priority", "federation: {regions: [{id: a, priority: 101}]}\n", "federation.regions[0].priority: must be between 0 and 100"},
        BadCase{"region_priority_frac", "federation: {regions: [{id: a, priority: 5.5}]}\n", "federation.regions[0].priority: must be an integer"},
        BadCase{"kinds_not_list", "federation: {placement: {workload_kinds: v1/ConfigMap}}\n", "federation.placement.workload_kinds: must be a list"},
        BadCase{"kind_not_map", "federation: {placement: {workload_kinds: [v1/ConfigMap]}}\n", "federation.placement.workload_kinds[0]: must be a mapping"},
        BadCase{"kind_unknown_key", "federation: {placement: {workload_kinds: [{apiVersion: v1, kind: ConfigMap}]}}\n", "federation.placement.workload_kinds[0].apiVersion: unknown key"},
        BadCase{"kind_missing", "federation: {placement: {workload_kinds: [{api_version: v1}]}}\n", "federation.placement.workload_kinds[0].kind: is required"},
        BadCase{"kind_api_version", "federation: {placement: {workload_kinds: [{api_version: a/b/c, kind: X}]}}\n", "federation.placement.workload_kinds[0].api_version: must be VERSION or GROUP/VERSION"},
        BadCase{"kind_dup", "federation: {placement: {workload_kinds: [{api_version: v1, kind: ConfigMap}, {api_version: v1, kind: ConfigMap}]}}\n", "federation.placement.workload_kinds[1]: duplicate v1 ConfigMap"},
        BadCase{"weights_zero", "federation: {placement: {weights: {latency: 0, cost: 0, capacity: 0, health: 0, priority: 0, spread: 0}}}\n", "federation.placement.weights: at least one weight"},
        BadCase{"sla_operator", "monitoring: {sla_definitions: [{id: a, metric: m, target: 1, operator: equals}]}\n", "monitoring.sla_definitions[0].operator: must be one of"},
        BadCase{"sla_target_missing", "monitoring: {sla_definitions: [{id: a, metric: m}]}\n", "monitoring.sla_definitions[0].target: is required"},
        BadCase{"status_interval_long", "runtime: {region_status_interval: 5m}\n", "runtime.region_status_interval: must be within [0s, 60000ms]"},
        BadCase{"status_interval_bad", "runtime: {region_status_interval: soon}\n", "runtime.region_status_interval: invalid duration"},
        BadCase{"consistency", "state: {consistency: linearizable}\n", "state.consistency: must be one of eventual, local, quorum, strong"},
        BadCase{"not_yaml", "federation: [unclosed\n", "not valid YAML"},
        BadCase{"root_not_map", "- a\n- b\n", "(root): must be a mapping"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigTest, WorkloadKindsDefaultToTheControllersAndParse) {
  auto c = parseConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->placement.workloadKinds.has_value());  // unset: the controller's default

  c = parseConfig(R"(
federation:
  placement:
    workload_kinds:
      - {api_version: kubevirt.io/v1, kind: VirtualMachine}
      - {api_version: v1, kind: ConfigMap}
)", "kinds.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->placement.workloadKinds.has_value());
  ASSERT_EQ(c->placement.workloadKinds->size(), 2u);
  EXPECT_EQ((*c->placement.workloadKinds)[0].apiVersion, "kubevirt.io/v1");
  EXPECT_EQ((*c->placement.workloadKinds)[0].kind, "VirtualMachine");
  EXPECT_EQ((*c->placement.workloadKinds)[1].apiVersion, "v1");
  EXPECT_EQ((*c->placement.workloadKinds)[1].kind, "ConfigMap");

  c = parseConfig("federation: {placement: {workload_kinds: []}}\n", "none.yaml");  // templates disabled
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->placement.workloadKinds.has_value());
  EXPECT_TRUE(c->placement.workloadKinds->empty());
}

TEST(DurationTest, Parses) {
  EXPECT_EQ(*parseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*parseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*parseDuration("7d"), std::chrono::hours(168));
  EXPECT_EQ(*parseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(parseDuration("").ok());
  EXPECT_FALSE(parseDuration("s").ok());
  EXPECT_FALSE(parseDuration("10").ok());
}

TEST(ConfigTest, MissingFileNamesIt) {
  auto c = loadConfig("/nonexistent/dwcp.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/nonexistent/dwcp.yaml"), std::string::npos);
}

}  // namespace
}  // namespace dwcp::config

namespace dwcp::config {
namespace {

TEST(ConfigTest, ShippedExampleParses) {
  auto c = loadConfig(std::string(DWCP_SOURCE_DIR) + "/config/dwcp-operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->regions.size(), 1u);
  EXPECT_EQ(c->monitoring.slaDefinitions.size(), 1u);
  EXPECT_EQ(c->runtime.leaseNamespace, "dwcp-system");
  ASSERT_TRUE(c->placement.workloadKinds.has_value());
  EXPECT_EQ(c->placement.workloadKinds->size(), 4u);
}

// The routing section as the routing API takes it (dwcp-router --config reads the same parser).
TEST(RoutingSectionTest, IsReadIntoTheRoutingApisOwnOptions) {
  auto c = parseConfig(R"(
federation: {placement: {algorithm: hybrid}}
routing:
  global: {algorithm: latency, enable_ddos_protection: false, enable_traffic_shaping: true}
  ddos_protection:
    thresholds: {max_requests_per_sec: 50, max_bytes_per_sec: 1000000}
    blacklist_duration: 1h30m
    trusted_proxies: [10.0.0.0/8, "192.0.2.7", "fd00::/8"]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& service = c->routing.service;
  EXPECT_EQ(c->routing.algorithm, routing::Algorithm::kLatency);
  EXPECT_FALSE(service.ddosProtection);
  EXPECT_TRUE(service.trafficShaping);
  EXPECT_DOUBLE_EQ(service.rateLimiter.maxRequestsPerSec, 50);
  EXPECT_DOUBLE_EQ(service.rateLimiter.maxBytesPerSec, 1000000);
  EXPECT_EQ(service.rateLimiter.blacklistDuration, std::chrono::minutes(90));
  EXPECT_TRUE(service.trustedProxies.contains("10.20.30.40"));
  EXPECT_TRUE(service.trustedProxies.contains("fd00::1"));
  EXPECT_FALSE(service.trustedProxies.contains("192.0.2.8"));
  for (const auto& policy : c->routing.routerConfig().classes) EXPECT_EQ(policy.algorithm, routing::Algorithm::kLatency);
}

TEST(RoutingSectionTest, TheRepositoryConfigSetsEveryClassToHybrid) {
  auto c = loadConfig(std::string(DWCP_SOURCE_DIR) + "/config/dwcp-operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->routing.algorithm, routing::Algorithm::kHybrid);
  EXPECT_EQ(c->routing.service.rateLimiter.blacklistDuration, std::chrono::hours(1));
}

TEST(RoutingSectionTest, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"routing: {global: {algorithm: fastest}}", "routing.global.algorithm: must be one of"},
      {"routing: {global: {enable_ddos_protection: perhaps}}", "routing.global.enable_ddos_protection: must be true"},
      {"routing: {ddos_protection: {thresholds: {max_requests_per_sec: -1}}}",
       "routing.ddos_protection.thresholds.max_requests_per_sec: must be between"},
      {"routing: {ddos_protection: {thresholds: {max_request_per_sec: 5}}}",
       "routing.ddos_protection.thresholds.max_request_per_sec: unknown key"},
      {"routing: {ddos_protection: {blacklist_duration: 1y}}", "routing.ddos_protection.blacklist_duration: invalid"},
      {"routing: {ddos_protection: {blacklist_duration: 500ms}}",
       "routing.ddos_protection.blacklist_duration: must be between 1s and 365d"},
      {"routing: {ddos_protection: {blacklist_duration: 400d}}",
       "routing.ddos_protection.blacklist_duration: must be between 1s and 365d"},
      {"routing: {shaping: {}}", "routing.shaping: unknown key"},
      {"routing: {ddos_protection: {trusted_proxies: [10.0.0.0/8, 127.0.0.1/33]}}",
       "routing.ddos_protection.trusted_proxies[1]"},
  };
  for (const auto& [text, expected] : cases) {
    auto c = parseConfig(text, "dwcp.yaml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message.rfind(std::string("dwcp.yaml: ") + expected, 0), 0u) << c.error().message;
  }
}

}  // namespace
}  // namespace dwcp::config
