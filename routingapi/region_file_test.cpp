#include "routingapi/region_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace dwcp::routingapi {
namespace {

using routing::RegionPhase;

TEST(ParseRegionsTest, PlainYamlList) {
  auto specs = parseRegions(R"(
- name: eu-west-1
  endpoint: https://eu.example.com
  latitude: 53.35
  longitude: -6.26
  phase: Degraded
  healthScore: 80
  costPerRequest: 0.0001
  capacityWeight: 4
  failoverRegions: [us-east-1]
- name: us-east-1
  location: {latitude: 38.13, longitude: -78.45}
  costPerCpuHour: 0.04
)");
  ASSERT_TRUE(specs.ok()) << specs.error().toString();
  ASSERT_EQ(specs->size(), 2u);
  const auto& eu = (*specs)[0];
  EXPECT_EQ(eu.name, "eu-west-1");
  EXPECT_EQ(eu.endpoint, "https://eu.example.com");
  EXPECT_DOUBLE_EQ(eu.location.latitude, 53.35);
  EXPECT_EQ(eu.phase, RegionPhase::kDegraded);
  EXPECT_DOUBLE_EQ(eu.healthScore, 80);
  EXPECT_DOUBLE_EQ(eu.capacityWeight, 4);
  EXPECT_EQ(eu.failoverRegions, std::vector<std::string>{"us-east-1"});
  const auto& us = (*specs)[1];
  EXPECT_EQ(us.phase, RegionPhase::kHealthy);
  EXPECT_DOUBLE_EQ(us.location.longitude, -78.45);
  EXPECT_DOUBLE_EQ(us.costPerCpuHour, 0.04);
}

TEST(ParseRegionsTest, JsonObjectWithRegionsList) {
  auto specs = parseRegions(R"({"regions": [{"name": "a", "latitude": 1, "longitude": 2, "phase": "Failed"}]})");
  ASSERT_TRUE(specs.ok()) << specs.error().toString();
  ASSERT_EQ(specs->size(), 1u);
  EXPECT_EQ((*specs)[0].phase, RegionPhase::kFailed);
}

TEST(ParseRegionsTest, RegionResourcesLikeTheExamples) {
  auto specs = parseRegions(R"(
apiVersion: federation.dwcp.io/v1alpha1
kind: Region
metadata: {name: us-east-1}
spec:
  location: {latitude: 38.13, longitude: -78.45, country: US}
  capacity: {cpu: 4096}
  cost: {cpuHour: 0.0416}
  endpoint: https://dwcp-us-east-1.example.com:7443
  enabled: true
status: {phase: Degraded, healthScore: 75}
---
apiVersion: federation.dwcp.io/v1alpha1
kind: Region
metadata: {name: eu-west-1}
spec:
  location: {latitude: 53.35, longitude: -6.26}
  enabled: false
)");
  ASSERT_TRUE(specs.ok()) << specs.error().toString();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].name, "us-east-1");
  EXPECT_DOUBLE_EQ((*specs)[0].capacityWeight, 4096);
  EXPECT_DOUBLE_EQ((*specs)[0].costPerCpuHour, 0.0416);
  EXPECT_EQ((*specs)[0].phase, RegionPhase::kDegraded);
  EXPECT_DOUBLE_EQ((*specs)[0].healthScore, 75);
  EXPECT_EQ((*specs)[1].phase, RegionPhase::kDisabled);
}

TEST(ParseRegionsTest, TheRepositoryExampleLoads) {
  auto specs = loadRegionsFile(std::string(DWCP_SOURCE_DIR) + "/examples/regions.yaml");
  ASSERT_TRUE(specs.ok()) << specs.error().toString();
  EXPECT_GE(specs->size(), 3u);
}

struct BadFile {
  const char* name;
  const char* text;
  const char* field;
};
void PrintTo(const BadFile& c, std::ostream* os) { *os << c.name; }

class ParseRegionsBadTest : public testing::TestWithParam<BadFile> {};

TEST_P(ParseRegionsBadTest, NamesTheField) {
  auto specs = parseRegions(GetParam().text);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.error().field, GetParam().field) << specs.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseRegionsBadTest,
    testing::Values(
        BadFile{"empty", "", "regions"},
        BadFile{"not_yaml", "- name: [a", "file"},
        BadFile{"scalar", "hello", "regions"},
        BadFile{"lat_range", "- {name: a, latitude: 91, longitude: 0}", "regions[0].latitude"},
        BadFile{"lat_text", "- {name: a, latitude: north, longitude: 0}", "regions[0].latitude"},
        BadFile{"lon_missing", "- {name: a, latitude: 1}", "regions[0].longitude"},
        BadFile{"name_missing", "- {latitude: 1, longitude: 1}", "regions[0].name"},
        BadFile{"phase_bad", "- {name: a, latitude: 1, longitude: 1, phase: Sleepy}", "regions[0].phase"},
        BadFile{"health_range", "- {name: a, latitude: 1, longitude: 1, healthScore: 101}", "regions[0].healthScore"},
        BadFile{"weight_zero", "- {name: a, latitude: 1, longitude: 1, capacityWeight: 0}", "regions[0].capacityWeight"},
        BadFile{"unknown", "- {name: a, latitude: 1, longitude: 1, colour: red}", "regions[0].colour"},
        BadFile{"duplicate", "- {name: a, latitude: 1, longitude: 1}\n- {name: a, latitude: 2, longitude: 2}",
                "regions[1].name"},
        BadFile{"cr_lat", "kind: Region\nmetadata: {name: a}\nspec: {location: {latitude: 95, longitude: 1}}",
                "documents[0].spec.location.latitude"},
        BadFile{"cr_name", "kind: Region\nmetadata: {}\nspec: {location: {latitude: 5, longitude: 1}}",
                "documents[0].metadata.name"},
        BadFile{"cr_enabled", "kind: Region\nmetadata: {name: a}\nspec: {enabled: maybe, location: {latitude: 5, longitude: 1}}",
                "documents[0].spec.enabled"},
        BadFile{"cr_mixed", "kind: Region\nmetadata: {name: a}\nspec: {location: {latitude: 5, longitude: 1}}\n---\nkind: Pod\n",
                "documents[1].kind"}),
    [](const testing::TestParamInfo<BadFile>& info) { return std::string(info.param.name); });

// A Region as the API server returns it (what dwcp-operator's informer cache holds).
TEST(LoadRegionsFileTest, MissingFileNamesTheFlag) {
  auto specs = loadRegionsFile("/nonexistent/regions.yaml");
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.error().field, "--regions");
}

}  // namespace
}  // namespace dwcp::routingapi
