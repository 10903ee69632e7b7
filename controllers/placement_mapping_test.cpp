#include "controllers/placement_mapping.h"

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

// eu-central-1 of examples/regions.yaml, as the API server returns it, without a status.
json exampleRegion() {
  return json::parse(R"json({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "Region",
    "metadata": {"name": "eu-central-1", "uid": "uid-eu-central-1", "generation": 1, "resourceVersion": "5"},
    "spec": {
      "displayName": "EU Central (Frankfurt)", "cloudProvider": "aws",
      "location": {"latitude": 50.11, "longitude": 8.68, "country": "DE", "continent": "europe"},
      "capacity": {"cpu": 1536, "memoryMiB": 6291456, "storageGiB": 192000, "maxVMs": 4000},
      "cost": {"cpuHour": 0.048, "memoryGiBHour": 0.0064, "storageGiBMonth": 0.0952},
      "priority": 70,
      "compliance": ["gdpr", "soc2", "iso27001", "c5"],
      "endpoint": "https://dwcp-eu-central-1.example.com:7443",
      "enabled": true}})json");
}

api::Region parsedRegion(const json& object) {
  auto region = api::parseRegion(object);
  EXPECT_TRUE(region.ok()) << (region.ok() ? "" : region.error().message);
  return region.ok() ? *region : api::Region{};
}

// ---------------------------------------------------------------------------------------------
// toRegionInfo: fields that map one to one.

TEST(ToRegionInfoTest, MapsSpecFieldForField) {
  placement::RegionInfo info = toRegionInfo(parsedRegion(exampleRegion()));

  EXPECT_EQ(info.name, "eu-central-1");
  EXPECT_TRUE(info.enabled);
  EXPECT_EQ(info.priority, 70);
  EXPECT_DOUBLE_EQ(info.location.latitude, 50.11);
  EXPECT_DOUBLE_EQ(info.location.longitude, 8.68);
  EXPECT_EQ(info.continent, placement::Continent::kEurope);
  EXPECT_EQ(info.country, "DE");
  EXPECT_EQ(info.compliance, (std::vector<std::string>{"gdpr", "soc2", "iso27001", "c5"}));
  EXPECT_EQ(info.capacity.cpu, 1536);
  EXPECT_EQ(info.capacity.memoryMiB, 6291456);
  EXPECT_EQ(info.capacity.storageGiB, 192000);
  EXPECT_EQ(info.capacity.maxVMs, std::optional<int64_t>(4000));
  EXPECT_DOUBLE_EQ(info.cost.cpuHour, 0.048);
  EXPECT_DOUBLE_EQ(info.cost.memoryGiBHour, 0.0064);
  EXPECT_DOUBLE_EQ(info.cost.storageGiBMonth, 0.0952);
  // Allocation is the caller's (its ledger), never the Region's status.allocated.
  EXPECT_EQ(info.allocated, placement::RegionAllocation{});
}

// Every continent string of the CRD maps onto the engine's continent of the same name.
TEST(ToRegionInfoTest, EveryContinentMaps) {
  const std::vector<std::pair<const char*, placement::Continent>> cases = {
      {"africa", placement::Continent::kAfrica},
      {"antarctica", placement::Continent::kAntarctica},
      {"asia", placement::Continent::kAsia},
      {"europe", placement::Continent::kEurope},
      {"north-america", placement::Continent::kNorthAmerica},
      {"oceania", placement::Continent::kOceania},
      {"south-america", placement::Continent::kSouthAmerica},
  };
  for (const auto& [text, want] : cases) {
    json object = exampleRegion();
    object["spec"]["location"]["continent"] = text;
    EXPECT_EQ(toRegionInfo(parsedRegion(object)).continent, want) << text;
  }
}

struct RegionInfoCase {
  const char* name;
  std::function<void(json&)> edit;
  std::function<void(const placement::RegionInfo&)> check;
};

void PrintTo(const RegionInfoCase& c, std::ostream* os) { *os << c.name; }

class ToRegionInfoCaseTest : public ::testing::TestWithParam<RegionInfoCase> {};

TEST_P(ToRegionInfoCaseTest, Maps) {
  json object = exampleRegion();
  GetParam().edit(object);
  GetParam().check(toRegionInfo(parsedRegion(object)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ToRegionInfoCaseTest,
    ::testing::Values(
        RegionInfoCase{"NoStatusIsUnknownWithoutHealth", [](json&) {},
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kUnknown);
                         EXPECT_FALSE(info.healthScore.has_value());
                       }},
        RegionInfoCase{"HealthyKeepsItsScore",
                       [](json& r) { r["status"] = {{"phase", "Healthy"}, {"healthScore", 97.5}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kHealthy);
                         EXPECT_EQ(info.healthScore, std::optional<double>(97.5));
                       }},
        RegionInfoCase{"DegradedKeepsItsScore",
                       [](json& r) { r["status"] = {{"phase", "Degraded"}, {"healthScore", 55}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kDegraded);
                         EXPECT_EQ(info.healthScore, std::optional<double>(55));
                       }},
        // A remote region's status says Unknown: its score (if any) is not ours to trust.
        RegionInfoCase{"UnknownPhaseDropsTheScore",
                       [](json& r) { r["status"] = {{"phase", "Unknown"}, {"healthScore", 80}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kUnknown);
                         EXPECT_FALSE(info.healthScore.has_value());
                       }},
        RegionInfoCase{"ScoreWithoutPhaseIsDropped", [](json& r) { r["status"] = {{"healthScore", 90}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kUnknown);
                         EXPECT_FALSE(info.healthScore.has_value());
                       }},
        RegionInfoCase{"PhaseWithoutScoreHasNoScore", [](json& r) { r["status"] = {{"phase", "Healthy"}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kHealthy);
                         EXPECT_FALSE(info.healthScore.has_value());
                       }},
        RegionInfoCase{"FailedPhase",
                       [](json& r) { r["status"] = {{"phase", "Failed"}, {"healthScore", 0}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kFailed);
                         EXPECT_EQ(info.healthScore, std::optional<double>(0));
                       }},
        RegionInfoCase{"DrainingPhase", [](json& r) { r["status"] = {{"phase", "Draining"}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.phase, placement::RegionPhase::kDraining);
                       }},
        RegionInfoCase{"DisabledSpec",
                       [](json& r) {
                         r["spec"]["enabled"] = false;
                         r["status"] = {{"phase", "Disabled"}, {"healthScore", 100}};
                       },
                       [](const placement::RegionInfo& info) {
                         EXPECT_FALSE(info.enabled);
                         EXPECT_EQ(info.phase, placement::RegionPhase::kDisabled);
                       }},
        RegionInfoCase{"EnabledDefaultsToTrue", [](json& r) { r["spec"].erase("enabled"); },
                       [](const placement::RegionInfo& info) { EXPECT_TRUE(info.enabled); }},
        RegionInfoCase{"NoCostIsFree", [](json& r) { r["spec"].erase("cost"); },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.cost.cpuHour, 0);
                         EXPECT_EQ(info.cost.memoryGiBHour, 0);
                         EXPECT_EQ(info.cost.storageGiBMonth, 0);
                       }},
        RegionInfoCase{"PartialCostZeroesTheRest",
                       [](json& r) { r["spec"]["cost"] = {{"memoryGiBHour", 0.01}}; },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.cost.cpuHour, 0);
                         EXPECT_DOUBLE_EQ(info.cost.memoryGiBHour, 0.01);
                         EXPECT_EQ(info.cost.storageGiBMonth, 0);
                       }},
        RegionInfoCase{"NoMaxVMsIsUnlimited", [](json& r) { r["spec"]["capacity"].erase("maxVMs"); },
                       [](const placement::RegionInfo& info) { EXPECT_FALSE(info.capacity.maxVMs.has_value()); }},
        RegionInfoCase{"NoCountryIsEmpty", [](json& r) { r["spec"]["location"].erase("country"); },
                       [](const placement::RegionInfo& info) { EXPECT_EQ(info.country, ""); }},
        RegionInfoCase{"PriorityDefaultsTo50", [](json& r) { r["spec"].erase("priority"); },
                       [](const placement::RegionInfo& info) { EXPECT_EQ(info.priority, 50); }},
        RegionInfoCase{"StatusAllocatedIsIgnored",
                       [](json& r) {
                         r["status"] = {{"phase", "Healthy"},
                                        {"allocated", {{"cpu", 100}, {"memoryMiB", 200}, {"vms", 3}}}};
                       },
                       [](const placement::RegionInfo& info) {
                         EXPECT_EQ(info.allocated, placement::RegionAllocation{});
                       }}),
    [](const ::testing::TestParamInfo<RegionInfoCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// rttSamples

TEST(RttSamplesTest, OnePerPeerWithAMeasuredLatency) {
  json object = exampleRegion();
  object["status"] = {{"phase", "Healthy"},
                      {"peers",
                       {{{"region", "eu-west-1"}, {"latencyMs", 24.5}, {"reachable", true}},
                        {{"region", "us-east-1"}, {"reachable", false}},  // never measured
                        {{"region", "ap-south-1"}, {"latencyMs", 0}}}}};
  auto samples = rttSamples(parsedRegion(object));

  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].from, "eu-central-1");
  EXPECT_EQ(samples[0].to, "eu-west-1");
  EXPECT_DOUBLE_EQ(samples[0].rttMs, 24.5);
  EXPECT_EQ(samples[1].from, "eu-central-1");
  EXPECT_EQ(samples[1].to, "ap-south-1");
  EXPECT_DOUBLE_EQ(samples[1].rttMs, 0);
}

TEST(RttSamplesTest, NoStatusNoSamples) { EXPECT_TRUE(rttSamples(parsedRegion(exampleRegion())).empty()); }

TEST(RttSamplesTest, NegativeLatencyIsDropped) {
  api::Region region = parsedRegion(exampleRegion());
  region.status.peers.push_back({"eu-west-1", -1.0, std::nullopt, std::nullopt});
  region.status.peers.push_back({"us-east-1", 90.0, std::nullopt, std::nullopt});
  auto samples = rttSamples(region);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].to, "us-east-1");
}

// ---------------------------------------------------------------------------------------------
// toRequest

// examples/vmplacement.yaml, as the API server returns it.
json exampleVM() {
  return json::parse(R"json({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
    "metadata": {"name": "web-frontend-01", "namespace": "default", "generation": 1, "resourceVersion": "9",
                 "uid": "79faca11-c9f6-4f92-ba54-05ad4cf2dede"},
    "spec": {
      "resources": {"cpu": 4, "memoryMiB": 8192, "storageGiB": 100},
      "priority": 70, "preemptible": false, "algorithm": "hybrid",
      "weights": {"latency": 40, "cost": 20, "capacity": 15, "health": 15, "priority": 5, "spread": 5},
      "constraints": {
        "excludeRegions": ["ap-south-1"], "continents": ["europe"], "compliance": ["gdpr"],
        "origin": {"latitude": 48.86, "longitude": 2.35},
        "maxLatencyMs": 50, "minHealth": 80, "maxCostPerHour": 1.5, "spreadGroup": "web-frontend"}}})json");
}

api::VMPlacementSpec parsedSpec(const json& object) {
  auto vm = api::parseVMPlacement(object);
  EXPECT_TRUE(vm.ok()) << (vm.ok() ? "" : vm.error().message);
  return vm.ok() ? vm->spec : api::VMPlacementSpec{};
}

TEST(ToRequestTest, MapsTheExampleFieldForField) {
  placement::Request r = toRequest("default/web-frontend-01", parsedSpec(exampleVM()));

  EXPECT_EQ(r.key, "default/web-frontend-01");
  EXPECT_EQ(r.resources, (placement::Resources{4, 8192, 100}));
  EXPECT_EQ(r.priority, 70);
  EXPECT_FALSE(r.preemptible);
  EXPECT_EQ(r.algorithm, placement::Algorithm::kHybrid);
  ASSERT_TRUE(r.weights.has_value());
  EXPECT_EQ(*r.weights, (placement::Weights{40, 20, 15, 15, 5, 5}));
  EXPECT_TRUE(r.constraints.regions.empty());
  EXPECT_EQ(r.constraints.excludeRegions, std::vector<std::string>{"ap-south-1"});
  EXPECT_EQ(r.constraints.continents, std::vector<placement::Continent>{placement::Continent::kEurope});
  EXPECT_EQ(r.constraints.compliance, std::vector<std::string>{"gdpr"});
  ASSERT_TRUE(r.constraints.origin.has_value());
  EXPECT_FALSE(r.constraints.origin->region.has_value());
  ASSERT_TRUE(r.constraints.origin->point.has_value());
  EXPECT_DOUBLE_EQ(r.constraints.origin->point->latitude, 48.86);
  EXPECT_DOUBLE_EQ(r.constraints.origin->point->longitude, 2.35);
  EXPECT_EQ(r.constraints.maxLatencyMs, std::optional<int>(50));
  EXPECT_EQ(r.constraints.minHealth, std::optional<double>(80));
  EXPECT_EQ(r.constraints.maxCostPerHour, std::optional<double>(1.5));
  EXPECT_EQ(r.constraints.spreadGroup, "web-frontend");
}

struct RequestCase {
  const char* name;
  std::function<void(json& spec)> edit;
  std::function<void(const placement::Request&)> check;
};

void PrintTo(const RequestCase& c, std::ostream* os) { *os << c.name; }

class ToRequestCaseTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(ToRequestCaseTest, Maps) {
  json object = exampleVM();
  GetParam().edit(object["spec"]);
  GetParam().check(toRequest("default/web-frontend-01", parsedSpec(object)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ToRequestCaseTest,
    ::testing::Values(
        RequestCase{"UnsetWeightsAreZero", [](json& s) { s["weights"] = {{"latency", 3}}; },
                    [](const placement::Request& r) {
                      ASSERT_TRUE(r.weights.has_value());
                      EXPECT_EQ(*r.weights, (placement::Weights{.latency = 3}));
                    }},
        RequestCase{"NoWeightsUseTheConfig", [](json& s) { s.erase("weights"); },
                    [](const placement::Request& r) { EXPECT_FALSE(r.weights.has_value()); }},
        RequestCase{"OriginRegion",
                    [](json& s) { s["constraints"]["origin"] = {{"region", "eu-west-1"}}; },
                    [](const placement::Request& r) {
                      ASSERT_TRUE(r.constraints.origin.has_value());
                      EXPECT_EQ(r.constraints.origin->region, std::optional<std::string>("eu-west-1"));
                      EXPECT_FALSE(r.constraints.origin->point.has_value());
                    }},
        RequestCase{"NoOrigin",
                    [](json& s) {
                      s["constraints"].erase("origin");
                      s["constraints"].erase("maxLatencyMs");
                    },
                    [](const placement::Request& r) {
                      EXPECT_FALSE(r.constraints.origin.has_value());
                      EXPECT_FALSE(r.constraints.maxLatencyMs.has_value());
                    }},
        RequestCase{"NoSpreadGroupIsEmpty", [](json& s) { s["constraints"].erase("spreadGroup"); },
                    [](const placement::Request& r) { EXPECT_EQ(r.constraints.spreadGroup, ""); }},
        RequestCase{"NoConstraintsConstrainNothing", [](json& s) { s.erase("constraints"); },
                    [](const placement::Request& r) {
                      EXPECT_TRUE(r.constraints.regions.empty());
                      EXPECT_TRUE(r.constraints.excludeRegions.empty());
                      EXPECT_TRUE(r.constraints.continents.empty());
                      EXPECT_TRUE(r.constraints.countries.empty());
                      EXPECT_TRUE(r.constraints.compliance.empty());
                      EXPECT_FALSE(r.constraints.origin.has_value());
                      EXPECT_FALSE(r.constraints.minHealth.has_value());
                      EXPECT_FALSE(r.constraints.maxCostPerHour.has_value());
                      EXPECT_EQ(r.constraints.spreadGroup, "");
                    }},
        RequestCase{"AllowedRegionsAndCountries",
                    [](json& s) {
                      s["constraints"]["regions"] = {"eu-west-1", "eu-central-1"};
                      s["constraints"]["countries"] = {"IE", "DE"};
                      s["constraints"]["continents"] = {"europe", "north-america"};
                    },
                    [](const placement::Request& r) {
                      EXPECT_EQ(r.constraints.regions, (std::vector<std::string>{"eu-west-1", "eu-central-1"}));
                      EXPECT_EQ(r.constraints.countries, (std::vector<std::string>{"IE", "DE"}));
                      EXPECT_EQ(r.constraints.continents,
                                (std::vector<placement::Continent>{placement::Continent::kEurope,
                                                                   placement::Continent::kNorthAmerica}));
                    }},
        RequestCase{"GeoProximity",
                    [](json& s) {
                      s.erase("weights");
                      s["algorithm"] = "geo-proximity";
                    },
                    [](const placement::Request& r) {
                      EXPECT_EQ(r.algorithm, placement::Algorithm::kGeoProximity);
                    }},
        RequestCase{"Balanced",
                    [](json& s) {
                      s.erase("weights");
                      s["algorithm"] = "balanced";
                    },
                    [](const placement::Request& r) { EXPECT_EQ(r.algorithm, placement::Algorithm::kBalanced); }},
        RequestCase{"Defaults",
                    [](json& s) {
                      s = {{"resources", {{"cpu", 1}, {"memoryMiB", 512}}}};
                    },
                    [](const placement::Request& r) {
                      EXPECT_EQ(r.resources, (placement::Resources{1, 512, 0}));
                      EXPECT_EQ(r.priority, 50);
                      EXPECT_FALSE(r.preemptible);
                      EXPECT_EQ(r.algorithm, placement::Algorithm::kHybrid);
                      EXPECT_FALSE(r.weights.has_value());
                    }},
        RequestCase{"PreemptibleLowPriority",
                    [](json& s) {
                      s["priority"] = 0;
                      s["preemptible"] = true;
                    },
                    [](const placement::Request& r) {
                      EXPECT_EQ(r.priority, 0);
                      EXPECT_TRUE(r.preemptible);
                    }}),
    [](const ::testing::TestParamInfo<RequestCase>& info) { return std::string(info.param.name); });

TEST(ToPlacedVMTest, CarriesWhatTheLedgerNeeds) {
  json object = exampleVM();
  object["spec"]["preemptible"] = true;
  placement::PlacedVM vm = toPlacedVM("default/web-frontend-01", "eu-west-1", parsedSpec(object));
  EXPECT_EQ(vm.key, "default/web-frontend-01");
  EXPECT_EQ(vm.region, "eu-west-1");
  EXPECT_EQ(vm.resources, (placement::Resources{4, 8192, 100}));
  EXPECT_EQ(vm.priority, 70);
  EXPECT_TRUE(vm.preemptible);
  EXPECT_EQ(vm.spreadGroup, "web-frontend");

  object["spec"]["constraints"].erase("spreadGroup");
  EXPECT_EQ(toPlacedVM("k", "r", parsedSpec(object)).spreadGroup, "");
}

// ---------------------------------------------------------------------------------------------
// statusCandidates

TEST(StatusCandidatesTest, EmptyIsEmpty) { EXPECT_TRUE(statusCandidates({}).empty()); }

TEST(StatusCandidatesTest, RoundsToTwoDecimalsBestFirst) {
  std::vector<placement::Candidate> candidates = {
      {"eu-west-1", 87.6543, {66.666, 33.333, 100, 97.5, 75.0049, 0.004}},
      {"eu-central-1", 80.0, {1.0 / 3.0, 2.0 / 3.0, 12.125, 0, 99.999, 50}},
  };
  const std::vector<api::PlacementCandidate> out = statusCandidates(candidates);

  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].region, "eu-west-1");
  EXPECT_DOUBLE_EQ(out[0].score, 87.65);
  ASSERT_TRUE(out[0].factors.has_value());
  const api::FactorValues& f = *out[0].factors;
  EXPECT_EQ(f.latency, std::optional<double>(66.67));
  EXPECT_EQ(f.cost, std::optional<double>(33.33));
  EXPECT_EQ(f.capacity, std::optional<double>(100));
  EXPECT_EQ(f.health, std::optional<double>(97.5));
  EXPECT_EQ(f.priority, std::optional<double>(75.0));
  EXPECT_EQ(f.spread, std::optional<double>(0));

  EXPECT_EQ(out[1].region, "eu-central-1");
  EXPECT_DOUBLE_EQ(out[1].score, 80);
  ASSERT_TRUE(out[1].factors.has_value());
  EXPECT_EQ(out[1].factors->latency, std::optional<double>(0.33));
  EXPECT_EQ(out[1].factors->cost, std::optional<double>(0.67));
  EXPECT_EQ(out[1].factors->capacity, std::optional<double>(12.13));
  EXPECT_EQ(out[1].factors->priority, std::optional<double>(100));

  // What the controller writes is the CRD's candidate shape: it round-trips through JSON.
  api::VMPlacementStatus status;
  status.candidates = out;
  auto parsed = api::parseVMPlacementStatus(nlohmann::json(status));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->candidates, out);
}

}  // namespace
}  // namespace dwcp::controllers
