#include "api/region.h"

#include <gtest/gtest.h>

#include "api/test_fixtures.h"

namespace dwcp::api {
namespace {

using testing::loadFixture;

json minimalRegion() {
  return json::parse(R"({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "Region",
    "metadata": {"name": "eu-west-1"},
    "spec": {
      "location": {"latitude": 53.35, "longitude": -6.26, "continent": "europe"},
      "capacity": {"cpu": 64, "memoryMiB": 262144, "storageGiB": 2048},
      "endpoint": "https://dwcp-eu-west-1.example.com:7443"
    }})");
}

// The error message of parsing `j`, or "" when it parsed.
std::string errorOf(const json& j) {
  auto region = parseRegion(j);
  return region.ok() ? "" : region.error().message;
}

TEST(RegionTest, ParsesTheApiServerObject) {
  const json fixture = loadFixture("region.json");
  ASSERT_FALSE(fixture.is_null());
  auto region = parseRegion(fixture);
  ASSERT_TRUE(region.ok()) << region.error().message;

  EXPECT_EQ(region->metadata.name, "us-east-1");
  EXPECT_EQ(region->metadata.generation, 1);
  const RegionSpec& spec = region->spec;
  EXPECT_EQ(spec.displayName, "US East (N. Virginia)");
  EXPECT_EQ(spec.location.continent, Continent::kNorthAmerica);
  EXPECT_EQ(spec.location.country, "US");
  EXPECT_DOUBLE_EQ(spec.location.latitude, 38.13);
  EXPECT_EQ(spec.capacity.cpu, 4096);
  EXPECT_EQ(spec.capacity.memoryMiB, 16777216);
  EXPECT_EQ(spec.capacity.maxVMs, 10000);
  ASSERT_TRUE(spec.cost.has_value());
  EXPECT_DOUBLE_EQ(*spec.cost->cpuHour, 0.0416);
  EXPECT_EQ(spec.priority, 90);
  EXPECT_EQ(spec.compliance, (std::vector<std::string>{"hipaa", "soc2", "pci-dss"}));
  EXPECT_EQ(spec.endpoint, "https://dwcp-us-east-1.example.com:7443");
  EXPECT_TRUE(spec.enabled);

  const RegionStatus& status = region->status;
  EXPECT_EQ(status.phase, RegionPhase::kHealthy);
  EXPECT_EQ(status.healthScore, 97.5);
  ASSERT_TRUE(status.available.has_value());
  EXPECT_EQ(status.available->vms, 9690);
  ASSERT_EQ(status.peers.size(), 2u);
  EXPECT_EQ(status.peers[0].region, "eu-west-1");
  EXPECT_EQ(status.peers[0].latencyMs, 71.2);
  ASSERT_TRUE(status.failoverReadiness.has_value());
  EXPECT_EQ(status.failoverReadiness->ready, false);
  EXPECT_EQ(status.failoverReadiness->unplaceableVMs, 12);
  ASSERT_EQ(status.conditions.size(), 1u);
  EXPECT_EQ(status.conditions[0].reason, "HeartbeatsOK");
}

TEST(RegionTest, SerializesSpecAndStatusAsTheApiServerDoes) {
  const json fixture = loadFixture("region.json");
  auto region = parseRegion(fixture);
  ASSERT_TRUE(region.ok()) << region.error().message;
  json out = *region;
  EXPECT_EQ(out["apiVersion"], "federation.dwcp.io/v1alpha1");
  EXPECT_EQ(out["kind"], "Region");
  EXPECT_EQ(out["spec"], fixture["spec"]);
  EXPECT_EQ(out["status"], fixture["status"]);
  EXPECT_EQ(out["metadata"]["name"], "us-east-1");
  EXPECT_EQ(out["metadata"]["creationTimestamp"], fixture["metadata"]["creationTimestamp"]);
}

TEST(RegionTest, RoundTripIsLossless) {
  for (const json& input : {loadFixture("region.json"), minimalRegion()}) {
    auto first = parseRegion(input);
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = parseRegion(json(*first));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, *first);
  }
}

TEST(RegionTest, AvailableWithoutAVMLimitHasNoVMsField) {
  // No maxVMs: the VM count is unlimited, and "vms": 0 would read as no room left.
  auto status = parseRegionStatus({{"available", {{"cpu", 4}, {"memoryMiB", 8}, {"storageGiB", 16}}}});
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_TRUE(status->available.has_value());
  EXPECT_FALSE(status->available->vms.has_value());
  const json written = *status;
  EXPECT_FALSE(written["available"].contains("vms")) << written.dump();
}

TEST(RegionTest, DefaultsMatchTheCrd) {
  auto region = parseRegion(minimalRegion());
  ASSERT_TRUE(region.ok()) << region.error().message;
  EXPECT_EQ(region->spec.priority, 50);
  EXPECT_TRUE(region->spec.enabled);
  EXPECT_EQ(region->spec.cost, std::nullopt);
  EXPECT_EQ(region->spec.capacity.maxVMs, std::nullopt);
  EXPECT_EQ(region->status, RegionStatus{});
  EXPECT_FALSE(json(*region).contains("status")) << "an empty status is not written";
}

TEST(RegionTest, WrongTypesNameTheField) {
  json j = minimalRegion();
  j["spec"]["capacity"]["cpu"] = "4";
  j["spec"]["priority"] = "high";
  j["spec"]["enabled"] = "yes";
  j["spec"]["location"]["latitude"] = "north";
  j["spec"]["compliance"] = {"gdpr", 7};
  const std::string message = errorOf(j);
  EXPECT_NE(message.find("spec.capacity.cpu: must be an integer"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.priority: must be an integer"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.enabled: must be a boolean"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.location.latitude: must be a number"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.compliance[1]: must be a string"), std::string::npos) << message;
}

TEST(RegionTest, MissingRequiredFieldsAreNamed) {
  json j = minimalRegion();
  j["spec"].erase("capacity");
  j["spec"]["location"].erase("continent");
  j["spec"]["endpoint"] = nullptr;  // null counts as absent
  const std::string message = errorOf(j);
  EXPECT_NE(message.find("spec.capacity: is required"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.location.continent: is required"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.endpoint: is required"), std::string::npos) << message;

  EXPECT_EQ(errorOf(json{{"metadata", {{"name", "x"}}}}), "spec: is required");
}

TEST(RegionTest, RangesAndFormats) {
  struct Case {
    const char* pointer;
    json value;
    const char* expected;
  };
  const Case cases[] = {
      {"/spec/priority", 101, "spec.priority: must be between 0 and 100"},
      {"/spec/priority", -1, "spec.priority: must be between 0 and 100"},
      {"/spec/location/latitude", 90.5, "spec.location.latitude: must be between -90 and 90"},
      {"/spec/location/longitude", -180.01, "spec.location.longitude: must be between -180 and 180"},
      {"/spec/location/country", "USA", "spec.location.country: must be an ISO 3166-1 alpha-2"},
      {"/spec/location/continent", "atlantis", "spec.location.continent: must be one of: africa"},
      {"/spec/capacity/cpu", 0, "spec.capacity.cpu: must be at least 1"},
      {"/spec/capacity/memoryMiB", 1.5, "spec.capacity.memoryMiB: must be an integer"},
      {"/spec/capacity/maxVMs", 0, "spec.capacity.maxVMs: must be at least 1"},
      {"/spec/cost", {{"cpuHour", -0.5}}, "spec.cost.cpuHour: must be at least 0"},
      {"/spec/endpoint", "http://dwcp.example.com:7443", "spec.endpoint: must be an https:// URL"},
      {"/spec/endpoint", "https://", "spec.endpoint: must be an https:// URL"},
      {"/spec/endpoint", "https://:7443", "spec.endpoint: must be an https:// URL"},
      {"/status/phase", "Sleeping", "status.phase: must be one of: Unknown, Healthy"},
      {"/status/healthScore", "high", "status.healthScore: must be a number"},
      {"/status/peers", {{{"latencyMs", 3}}}, "status.peers[0].region: is required"},
      {"/kind", "VMPlacement", "kind: must be Region"},
      {"/apiVersion", "federation.dwcp.io/v2", "apiVersion: must be federation.dwcp.io/v1alpha1"},
  };
  for (const Case& c : cases) {
    json j = minimalRegion();
    j[json::json_pointer(c.pointer)] = c.value;
    const std::string message = errorOf(j);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.pointer << " -> '" << message << "'";
  }
}

TEST(RegionTest, OneProblemPerField) {
  json j = minimalRegion();
  j["spec"]["capacity"]["cpu"] = "4";  // not an integer, so not also "at least 1"
  j["spec"]["location"]["continent"] = "atlantis";
  EXPECT_EQ(errorOf(j),
            "spec.location.continent: must be one of: africa, antarctica, asia, europe, north-america, "
            "oceania, south-america (got \"atlantis\"); spec.capacity.cpu: must be an integer");
}

TEST(RegionTest, IntegralFloatsAreIntegers) {
  json j = minimalRegion();
  j["spec"]["capacity"]["cpu"] = 64.0;
  auto region = parseRegion(j);
  ASSERT_TRUE(region.ok()) << region.error().message;
  EXPECT_EQ(region->spec.capacity.cpu, 64);
}

TEST(RegionTest, GarbageNeverThrows) {
  for (const json& garbage : {json(nullptr), json(42), json("Region"), json::array({1, 2}), json::object(),
                              json{{"spec", json::array()}}, json{{"spec", {{"location", 5}, {"capacity", "big"}}}},
                              json{{"metadata", "x"}, {"spec", nullptr}}}) {
    auto region = parseRegion(garbage);
    EXPECT_FALSE(region.ok()) << garbage.dump();
    EXPECT_FALSE(region.error().message.empty());
  }
}

TEST(RegionTest, NlohmannGetUsesTheParser) {
  auto region = minimalRegion().get<Region>();
  EXPECT_EQ(region.metadata.name, "eu-west-1");
  json bad = minimalRegion();
  bad["spec"]["priority"] = 500;
  try {
    (void)bad.get<Region>();
    FAIL() << "expected json::other_error";
  } catch (const json::other_error& e) {
    EXPECT_NE(std::string(e.what()).find("spec.priority"), std::string::npos) << e.what();
  }
}

TEST(RegionTest, EnumNames) {
  EXPECT_EQ(toString(Continent::kNorthAmerica), "north-america");
  EXPECT_EQ(parseContinent("south-america"), Continent::kSouthAmerica);
  EXPECT_EQ(parseContinent("Europe"), std::nullopt);
  EXPECT_EQ(toString(RegionPhase::kUnknown), "Unknown");
  EXPECT_EQ(parseRegionPhase("Draining"), RegionPhase::kDraining);
}

}  // namespace
}  // namespace dwcp::api
