// Test-only helpers for the placement engine's tests: the five-region example federation
// (examples/regions.yaml) and small builders. Header-only so it never enters the library.
#pragma once

#include <string>
#include <vector>

#include "engines/placement/types.h"

namespace dwcp::placement::testing {

inline RegionInfo makeRegion(std::string name, GeoPoint location, Continent continent, std::string country,
                             std::vector<std::string> compliance, RegionCapacity capacity, RegionPrices cost,
                             int priority) {
  RegionInfo r;
  r.name = std::move(name);
  r.enabled = true;
  r.phase = RegionPhase::kHealthy;
  r.healthScore = 95;
  r.priority = priority;
  r.location = location;
  r.continent = continent;
  r.country = std::move(country);
  r.compliance = std::move(compliance);
  r.capacity = capacity;
  r.cost = cost;
  return r;
}

// examples/regions.yaml, all Healthy with health 95 and nothing allocated.
inline std::vector<RegionInfo> fiveRegions() {
  return {
      makeRegion("us-east-1", {38.13, -78.45}, Continent::kNorthAmerica, "US", {"hipaa", "soc2", "pci-dss"},
                 {4096, 16777216, 512000, 10000}, {0.0416, 0.0056, 0.08}, 90),
      makeRegion("us-west-2", {45.84, -119.70}, Continent::kNorthAmerica, "US", {"soc2", "pci-dss"},
                 {2048, 8388608, 256000, 5000}, {0.0416, 0.0056, 0.08}, 80),
      makeRegion("eu-west-1", {53.35, -6.26}, Continent::kEurope, "IE", {"gdpr", "soc2", "iso27001"},
                 {2048, 8388608, 256000, 5000}, {0.0464, 0.0062, 0.088}, 75),
      makeRegion("eu-central-1", {50.11, 8.68}, Continent::kEurope, "DE", {"gdpr", "soc2", "iso27001", "c5"},
                 {1536, 6291456, 192000, 4000}, {0.048, 0.0064, 0.0952}, 70),
      makeRegion("ap-south-1", {19.08, 72.88}, Continent::kAsia, "IN", {"soc2"},
                 {1024, 4194304, 128000, 2500}, {0.0352, 0.0047, 0.1140}, 60),
  };
}

inline Request makeRequest(std::string key, int64_t cpu = 2, int64_t memoryMiB = 4096, int64_t storageGiB = 20) {
  Request r;
  r.key = std::move(key);
  r.resources = {cpu, memoryMiB, storageGiB};
  return r;
}

}  // namespace dwcp::placement::testing
