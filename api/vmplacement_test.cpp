#include "api/vmplacement.h"

#include <gtest/gtest.h>

#include "api/test_fixtures.h"

namespace dwcp::api {
namespace {

using testing::loadFixture;

json minimalPlacement() {
  return json::parse(R"({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
    "metadata": {"name": "vm-001", "namespace": "default"},
    "spec": {"resources": {"cpu": 4, "memoryMiB": 8192}}})");
}

std::string errorOf(const json& j) {
  auto placement = parseVMPlacement(j);
  return placement.ok() ? "" : placement.error().message;
}

TEST(VMPlacementTest, ParsesTheApiServerObject) {
  const json fixture = loadFixture("vmplacement.json");
  ASSERT_FALSE(fixture.is_null());
  auto placement = parseVMPlacement(fixture);
  ASSERT_TRUE(placement.ok()) << placement.error().message;

  const VMPlacementSpec& spec = placement->spec;
  EXPECT_EQ(placement->metadata.namespace_, "default");
  EXPECT_EQ(placement->metadata.labels.at("app.kubernetes.io/name"), "web-frontend");
  EXPECT_EQ(spec.resources.cpu, 4);
  EXPECT_EQ(spec.resources.memoryMiB, 8192);
  EXPECT_EQ(spec.resources.storageGiB, 100);
  EXPECT_EQ(spec.priority, 70);
  EXPECT_EQ(spec.algorithm, PlacementAlgorithm::kHybrid);
  ASSERT_TRUE(spec.weights.has_value());
  EXPECT_EQ(spec.weights->latency, 40);
  EXPECT_EQ(spec.constraints.continents, std::vector<Continent>{Continent::kEurope});
  EXPECT_EQ(spec.constraints.compliance, std::vector<std::string>{"gdpr"});
  ASSERT_TRUE(spec.constraints.origin.has_value());
  EXPECT_EQ(spec.constraints.origin->latitude, 48.86);
  EXPECT_EQ(spec.constraints.origin->region, std::nullopt);
  EXPECT_EQ(spec.constraints.maxLatencyMs, 50);
  EXPECT_EQ(spec.constraints.minHealth, 80);
  EXPECT_EQ(spec.constraints.spreadGroup, "web-frontend");

  const VMPlacementStatus& status = placement->status;
  EXPECT_EQ(status.phase, PlacementPhase::kPlaced);
  EXPECT_EQ(status.region, "eu-west-1");
  ASSERT_EQ(status.candidates.size(), 2u);
  ASSERT_TRUE(status.candidates[0].factors.has_value());
  EXPECT_EQ(status.candidates[0].factors->health, 99);
  EXPECT_EQ(status.candidates[1].factors, std::nullopt);
  ASSERT_TRUE(status.workloadRef.has_value());
  EXPECT_EQ(status.workloadRef->kind, "VirtualMachine");
  EXPECT_EQ(status.workloadRef->namespace_, "default");
}

TEST(VMPlacementTest, TemplateIsKeptVerbatim) {
  const json fixture = loadFixture("vmplacement.json");
  auto placement = parseVMPlacement(fixture);
  ASSERT_TRUE(placement.ok()) << placement.error().message;
  ASSERT_TRUE(placement->spec.template_.has_value());
  EXPECT_EQ(*placement->spec.template_, fixture["spec"]["template"]);
  EXPECT_EQ((*placement->spec.template_)["spec"]["runStrategy"], "Always");
}

TEST(VMPlacementTest, SerializesSpecAndStatusAsTheApiServerDoes) {
  const json fixture = loadFixture("vmplacement.json");
  auto placement = parseVMPlacement(fixture);
  ASSERT_TRUE(placement.ok()) << placement.error().message;
  json out = *placement;
  EXPECT_EQ(out["kind"], "VMPlacement");
  EXPECT_EQ(out["spec"], fixture["spec"]);
  EXPECT_EQ(out["status"], fixture["status"]);
}

TEST(VMPlacementTest, RoundTripIsLossless) {
  for (const json& input : {loadFixture("vmplacement.json"), minimalPlacement()}) {
    auto first = parseVMPlacement(input);
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = parseVMPlacement(json(*first));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, *first);
  }
}

TEST(VMPlacementTest, DefaultsMatchTheCrd) {
  auto placement = parseVMPlacement(minimalPlacement());
  ASSERT_TRUE(placement.ok()) << placement.error().message;
  EXPECT_EQ(placement->spec.priority, 50);
  EXPECT_FALSE(placement->spec.preemptible);
  EXPECT_EQ(placement->spec.algorithm, PlacementAlgorithm::kHybrid);
  EXPECT_EQ(placement->spec.resources.storageGiB, 0);
  EXPECT_EQ(placement->spec.constraints, PlacementConstraints{});
  EXPECT_FALSE(json(*placement)["spec"].contains("constraints"));
}

TEST(VMPlacementTest, BadInputNamesTheField) {
  struct Case {
    const char* pointer;
    json value;
    const char* expected;
  };
  const Case cases[] = {
      {"/spec/resources/memoryMiB", "8Gi", "spec.resources.memoryMiB: must be an integer"},
      {"/spec/resources/cpu", 0, "spec.resources.cpu: must be at least 1"},
      {"/spec/resources", nullptr, "spec.resources: is required"},
      {"/spec/priority", 100.5, "spec.priority: must be an integer"},
      {"/spec/priority", 250, "spec.priority: must be between 0 and 100"},
      {"/spec/preemptible", 1, "spec.preemptible: must be a boolean"},
      {"/spec/algorithm", "random", "spec.algorithm: must be one of: hybrid, latency, cost, balanced, geo-proximity"},
      {"/spec/constraints/continents", {"europe", "mars"}, "spec.constraints.continents[1]: must be one of"},
      {"/spec/constraints/regions", "us-east-1", "spec.constraints.regions: must be a list"},
      {"/spec/constraints/minHealth", 101, "spec.constraints.minHealth: must be between 0 and 100"},
      {"/spec/constraints/maxCostPerHour", 0, "spec.constraints.maxCostPerHour: must be greater than 0"},
      {"/spec/constraints/origin", {{"latitude", 10}}, "spec.constraints.origin: must set either region or both"},
      {"/spec/constraints/origin", {{"region", "eu-west-1"}, {"latitude", 10}},
       "spec.constraints.origin: must set either region or both"},
      {"/spec/constraints/origin", {{"latitude", 100}, {"longitude", 0}},
       "spec.constraints.origin.latitude: must be between -90 and 90"},
      {"/spec/constraints/maxLatencyMs", 50, "spec.constraints.maxLatencyMs: needs origin"},
      {"/spec/weights", {{"latency", 0}, {"cost", 0}}, "spec.weights: must give at least one factor a weight above 0"},
      {"/spec/weights", {{"latency", 1}, {"cost", -1}}, "spec.weights.cost: must be at least 0"},
      {"/spec/template", "VirtualMachine", "spec.template: must be an object"},
      {"/status/phase", "Running", "status.phase: must be one of: Pending, Placed"},
      {"/status/candidates", {{{"region", "a"}}}, "status.candidates[0].score: is required"},
      {"/status/placedAt", "now", "status.placedAt: must be an RFC 3339"},
  };
  for (const Case& c : cases) {
    json j = minimalPlacement();
    j[json::json_pointer(c.pointer)] = c.value;
    const std::string message = errorOf(j);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.pointer << " -> '" << message << "'";
  }
}

TEST(VMPlacementTest, CrossFieldRules) {
  json overlap = minimalPlacement();
  overlap["spec"]["constraints"] = {{"regions", {"us-east-1", "eu-west-1"}}, {"excludeRegions", {"eu-west-1"}}};
  EXPECT_NE(errorOf(overlap).find("spec.constraints.excludeRegions: must not overlap regions (eu-west-1"),
            std::string::npos)
      << errorOf(overlap);

  json disjoint = overlap;
  disjoint["spec"]["constraints"]["excludeRegions"] = {"ap-south-1"};
  EXPECT_EQ(errorOf(disjoint), "");

  json weightsWithLatency = minimalPlacement();
  weightsWithLatency["spec"]["algorithm"] = "latency";
  weightsWithLatency["spec"]["weights"] = {{"latency", 1}};
  EXPECT_NE(errorOf(weightsWithLatency).find("spec.weights: applies only to algorithm hybrid"), std::string::npos);

  json geo = minimalPlacement();
  geo["spec"]["algorithm"] = "geo-proximity";
  EXPECT_NE(errorOf(geo).find("spec.constraints.origin: is required when algorithm is geo-proximity"),
            std::string::npos);
  geo["spec"]["constraints"]["origin"] = {{"region", "eu-west-1"}};
  EXPECT_EQ(errorOf(geo), "");
}

TEST(VMPlacementTest, GarbageNeverThrows) {
  for (const json& garbage : {json(nullptr), json(1.5), json::array(), json{{"spec", {{"resources", {1, 2}}}}},
                              json{{"spec", {{"resources", {{"cpu", 1}, {"memoryMiB", 1}}}, {"weights", "heavy"}}}},
                              json{{"spec", {{"resources", {{"cpu", 1}, {"memoryMiB", 1}}}, {"constraints", 3}}}}}) {
    auto placement = parseVMPlacement(garbage);
    EXPECT_FALSE(placement.ok()) << garbage.dump();
  }
}

TEST(VMPlacementTest, StatusAlone) {
  auto status = parseVMPlacementStatus(loadFixture("vmplacement.json")["status"]);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->epoch, 1);
  auto bad = parseVMPlacementStatus({{"score", "high"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "status.score: must be a number");
}

}  // namespace
}  // namespace dwcp::api
