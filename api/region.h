// Region (cluster-scoped, federation.dwcp.io/v1alpha1): one member cluster of the federation, its
// location, capacity, prices, compliance tags and peer endpoint; status is what the federation
// observes of it. Value types mirroring crds/regions.yaml; parsing never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "base/vocabulary.h"
#include "kube/result.h"

namespace dwcp::api {

using base::Continent;
using base::parseContinent;
using base::parseRegionPhase;
using base::RegionPhase;
using base::toString;

struct Location {
  double latitude = 0;   // degrees north, -90..90
  double longitude = 0;  // degrees east, -180..180
  std::optional<std::string> country;  // ISO 3166-1 alpha-2
  Continent continent = Continent::kNorthAmerica;
  bool operator==(const Location&) const = default;
};

struct RegionCapacity {
  int64_t cpu = 0;  // vCPUs, > 0
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  std::optional<int64_t> maxVMs;  // unlimited when unset
  bool operator==(const RegionCapacity&) const = default;
};

// Prices in USD.
struct RegionCost {
  std::optional<double> cpuHour;
  std::optional<double> memoryGiBHour;
  std::optional<double> storageGiBMonth;
  bool operator==(const RegionCost&) const = default;
};

struct RegionSpec {
  std::optional<std::string> displayName;
  std::optional<std::string> cloudProvider;
  Location location;
  RegionCapacity capacity;
  std::optional<RegionCost> cost;
  int priority = 50;  // 0..100
  std::vector<std::string> compliance;
  std::string endpoint;  // https:// peer URL
  bool enabled = true;
  bool operator==(const RegionSpec&) const = default;
};


// status.allocated / status.available.
struct RegionResources {
  int64_t cpu = 0;
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  std::optional<int64_t> vms;  // available: only when spec.capacity.maxVMs limits the count
  bool operator==(const RegionResources&) const = default;
};

struct PeerStatus {
  std::string region;
  std::optional<double> latencyMs;
  std::optional<Time> lastHeartbeatTime;
  std::optional<bool> reachable;
  bool operator==(const PeerStatus&) const = default;
};

// N-1 readiness: would this region's VMs fit elsewhere if it failed now.
struct FailoverReadiness {
  std::optional<bool> ready;
  std::optional<int64_t> unplaceableVMs;
  std::optional<std::string> message;
  std::optional<Time> evaluatedAt;
  bool operator==(const FailoverReadiness&) const = default;
};

struct RegionStatus {
  std::optional<int64_t> observedGeneration;
  std::optional<RegionPhase> phase;
  std::optional<double> healthScore;  // 0..100
  std::optional<RegionResources> allocated;
  std::optional<RegionResources> available;
  std::vector<PeerStatus> peers;
  std::optional<Time> lastHeartbeatTime;
  std::optional<int> routingWeight;
  std::optional<int64_t> epoch;
  std::optional<FailoverReadiness> failoverReadiness;
  std::optional<std::string> message;
  std::vector<Condition> conditions;
  bool operator==(const RegionStatus&) const = default;
};

struct Region {
  ObjectMeta metadata;
  RegionSpec spec;
  RegionStatus status;
  bool operator==(const Region&) const = default;
};

// The full object with apiVersion and kind; status only when it has content.
void to_json(json& j, const Region& region);
void to_json(json& j, const RegionSpec& spec);
void to_json(json& j, const RegionStatus& status);
void to_json(json& j, const RegionResources& resources);
// For nlohmann's j.get<Region>(): throws json::other_error with parseRegion's message. Prefer
// parseRegion for outside input.
void from_json(const json& j, Region& region);

// Validates types, required fields and ranges of spec (status: types only). The Error (422
// Invalid) names each bad field, e.g. "spec.capacity.cpu: must be an integer".
kube::Result<Region> parseRegion(const json& j);
kube::Result<RegionStatus> parseRegionStatus(const json& status);

}  // namespace dwcp::api
