#include "api/slapolicy.h"

#include <gtest/gtest.h>

#include "api/test_fixtures.h"

namespace dwcp::api {
namespace {

using namespace std::chrono;
using testing::loadFixture;

json minimalPolicy() {
  return json::parse(R"({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "SLAPolicy",
    "metadata": {"name": "availability", "namespace": "default"},
    "spec": {"metric": "availability", "target": 99.9, "operator": "greater_than"}})");
}

std::string errorOf(const json& j) {
  auto policy = parseSLAPolicy(j);
  return policy.ok() ? "" : policy.error().message;
}

TEST(SLAPolicyTest, ParsesTheApiServerObject) {
  const json fixture = loadFixture("slapolicy.json");
  ASSERT_FALSE(fixture.is_null());
  auto policy = parseSLAPolicy(fixture);
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  const SLAPolicySpec& spec = policy->spec;
  EXPECT_EQ(spec.metric, SLAMetric::kPlacementLatencyP99);
  EXPECT_EQ(spec.target, 100);
  EXPECT_EQ(spec.operator_, SLAOperator::kLessThan);
  EXPECT_EQ(spec.compliance, 99.9);
  EXPECT_EQ(spec.window, hours(24 * 30));
  EXPECT_EQ(spec.severity, Severity::kHigh);
  EXPECT_EQ(spec.regions.size(), 5u);
  ASSERT_TRUE(spec.incidents.has_value());
  EXPECT_EQ(spec.incidents->openAfter, minutes(5));
  EXPECT_EQ(spec.incidents->webhookURL, "https://alerts.example.com/dwcp/incidents");

  const SLAPolicyStatus& status = policy->status;
  EXPECT_EQ(status.state, SLAState::kAtRisk);
  EXPECT_EQ(status.compliance, 99.92);
  EXPECT_EQ(status.errorBudgetRemaining, 20.5);
  ASSERT_EQ(status.burnRates.size(), 2u);
  EXPECT_EQ(status.burnRates[0], (BurnRate{"1h", 2.5}));
  ASSERT_EQ(status.openIncidents.size(), 1u);
  EXPECT_EQ(status.openIncidents[0].severity, Severity::kHigh);
  EXPECT_EQ(status.openIncidents[0].resolvedAt, std::nullopt);
  ASSERT_EQ(status.recentIncidents.size(), 1u);
  ASSERT_TRUE(status.recentIncidents[0].resolvedAt.has_value());
  EXPECT_EQ(*status.recentIncidents[0].resolvedAt - status.recentIncidents[0].openedAt, minutes(20));
}

TEST(SLAPolicyTest, SerializesSpecAndStatusAsTheApiServerDoes) {
  const json fixture = loadFixture("slapolicy.json");
  auto policy = parseSLAPolicy(fixture);
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  json out = *policy;
  EXPECT_EQ(out["kind"], "SLAPolicy");
  EXPECT_EQ(out["spec"], fixture["spec"]);
  EXPECT_EQ(out["status"], fixture["status"]);
}

TEST(SLAPolicyTest, RoundTripIsLossless) {
  for (const json& input : {loadFixture("slapolicy.json"), minimalPolicy()}) {
    auto first = parseSLAPolicy(input);
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = parseSLAPolicy(json(*first));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, *first);
  }
}

TEST(SLAPolicyTest, DefaultsMatchTheCrd) {
  auto policy = parseSLAPolicy(minimalPolicy());
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy->spec.compliance, 99.9);
  EXPECT_EQ(policy->spec.window, hours(24 * 30));
  EXPECT_EQ(policy->spec.severity, Severity::kMedium);
  EXPECT_EQ(policy->spec.incidents, std::nullopt);
  EXPECT_EQ(json(*policy)["spec"]["window"], "30d");
}

TEST(SLAPolicyTest, WindowUnits) {
  for (auto [text, expected] : {std::pair<const char*, milliseconds>{"7d", hours(24 * 7)},
                                std::pair<const char*, milliseconds>{"36h", hours(36)},
                                std::pair<const char*, milliseconds>{"90m", minutes(90)}}) {
    json j = minimalPolicy();
    j["spec"]["window"] = text;
    auto policy = parseSLAPolicy(j);
    ASSERT_TRUE(policy.ok()) << text << ": " << policy.error().message;
    EXPECT_EQ(policy->spec.window, expected) << text;
    EXPECT_EQ(json(*policy)["spec"]["window"], text);
  }
  json j = minimalPolicy();
  j["spec"]["window"] = "24h";
  auto policy = parseSLAPolicy(j);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(json(*policy)["spec"]["window"], "1d") << "written in the largest whole unit";
}

TEST(SLAPolicyTest, BadInputNamesTheField) {
  struct Case {
    const char* pointer;
    json value;
    const char* expected;
  };
  const Case cases[] = {
      {"/spec/metric", "cpu_usage", "spec.metric: must be one of: p99_latency"},
      {"/spec/metric", nullptr, "spec.metric: is required"},
      {"/spec/target", "99.9", "spec.target: must be a number"},
      {"/spec/operator", "equals", "spec.operator: must be one of: less_than, greater_than"},
      {"/spec/operator", nullptr, "spec.operator: is required"},
      {"/spec/compliance", 0, "spec.compliance: must be greater than 0 and at most 100"},
      {"/spec/compliance", 100.5, "spec.compliance: must be greater than 0 and at most 100"},
      {"/spec/window", "30 days", "spec.window: must be a duration"},
      {"/spec/window", "0d", "spec.window: must be greater than 0"},
      {"/spec/severity", "urgent", "spec.severity: must be one of: low, medium, high, critical"},
      {"/spec/selector", {{"regions", "all"}}, "spec.selector.regions: must be a list"},
      {"/spec/incidents", {{"openAfter", "soon"}}, "spec.incidents.openAfter: must be a duration"},
      {"/spec/incidents", {{"webhookURL", "alerts-example-com"}},
       "spec.incidents.webhookURL: must be an http:// or https:// URL"},
      {"/spec/target", 150, "spec.target: must be between 0 and 100"},
      {"/spec/operator", "less_than", "spec.operator: must be greater_than for a percent or score metric"},
      {"/status/state", "Fine", "status.state: must be one of: Compliant, AtRisk, Violated"},
      {"/status/openIncidents", {{{"id", "x"}}}, "status.openIncidents[0].openedAt: is required"},
      {"/status/burnRates", {{{"window", "1h"}, {"rate", "fast"}}}, "status.burnRates[0].rate: must be a number"},
  };
  for (const Case& c : cases) {
    json j = minimalPolicy();
    j[json::json_pointer(c.pointer)] = c.value;
    const std::string message = errorOf(j);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.pointer << " -> '" << message << "'";
  }
}

TEST(SLAPolicyTest, LatencyMetricRules) {
  json j = minimalPolicy();
  j["spec"] = {{"metric", "state_sync_latency_p99"}, {"target", 250}, {"operator", "less_than"}};
  EXPECT_EQ(errorOf(j), "");
  j["spec"]["target"] = 0;
  EXPECT_NE(errorOf(j).find("spec.target: must be greater than 0 for a latency or duration metric"),
            std::string::npos);
  j["spec"]["target"] = 250;
  j["spec"]["operator"] = "greater_than";
  EXPECT_NE(errorOf(j).find("spec.operator: must be less_than for a latency or duration metric"), std::string::npos);
}

TEST(SLAPolicyTest, MetricClasses) {
  EXPECT_TRUE(isLatencyMetric(SLAMetric::kP99Latency));
  EXPECT_TRUE(isLatencyMetric(SLAMetric::kFailoverDuration));
  EXPECT_TRUE(isLatencyMetric(SLAMetric::kReplicationLag));
  EXPECT_FALSE(isLatencyMetric(SLAMetric::kAvailability));
  EXPECT_TRUE(isPercentMetric(SLAMetric::kRegionHealth));
  EXPECT_TRUE(isPercentMetric(SLAMetric::kStateConsistency));
  EXPECT_EQ(toString(SLAMetric::kRoutingDecisionLatencyP99), "routing_decision_latency_p99");
  EXPECT_EQ(parseSLAMetric("migration_downtime"), SLAMetric::kMigrationDowntime);
  EXPECT_EQ(parseSLAOperator("greater_than"), SLAOperator::kGreaterThan);
  EXPECT_EQ(parseSeverity("critical"), Severity::kCritical);
  EXPECT_EQ(parseSLAState("Violated"), SLAState::kViolated);
}

}  // namespace
}  // namespace dwcp::api
