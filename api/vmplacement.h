// VMPlacement (namespaced, federation.dwcp.io/v1alpha1): a VM's resources, priority and hard
// constraints, an optional workload template the chosen region creates; status says where it went
// and why. Value types mirroring crds/vmplacements.yaml; parsing never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "api/region.h"
#include "kube/result.h"

namespace dwcp::api {

using base::parsePlacementAlgorithm;
using base::PlacementAlgorithm;  // "hybrid", ..., "geo-proximity"
using base::toString;

struct VMResources {
  int64_t cpu = 0;  // vCPUs, >= 1
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  bool operator==(const VMResources&) const = default;
};

// One value per scoring factor: weights in spec (unset weighs 0), per-factor scores in status.
struct FactorValues {
  std::optional<double> latency;
  std::optional<double> cost;
  std::optional<double> capacity;
  std::optional<double> health;
  std::optional<double> priority;
  std::optional<double> spread;
  bool operator==(const FactorValues&) const = default;
};

// Where the VM's users are: a region, or a point.
struct Origin {
  std::optional<std::string> region;
  std::optional<double> latitude;
  std::optional<double> longitude;
  bool operator==(const Origin&) const = default;
};

// Hard constraints; empty lists constrain nothing.
struct PlacementConstraints {
  std::vector<std::string> regions;
  std::vector<std::string> excludeRegions;
  std::vector<Continent> continents;
  std::vector<std::string> countries;
  std::vector<std::string> compliance;  // the region must have all of these tags
  std::optional<Origin> origin;
  std::optional<int> maxLatencyMs;
  std::optional<double> minHealth;       // 0..100
  std::optional<double> maxCostPerHour;  // USD
  std::optional<std::string> spreadGroup;
  bool operator==(const PlacementConstraints&) const = default;
};

struct VMPlacementSpec {
  VMResources resources;
  int priority = 50;  // 0..100
  bool preemptible = false;
  PlacementAlgorithm algorithm = PlacementAlgorithm::kHybrid;
  std::optional<FactorValues> weights;
  PlacementConstraints constraints;
  // spec.template kept verbatim (any namespaced object, e.g. a KubeVirt VirtualMachine).
  std::optional<json> template_;
  bool operator==(const VMPlacementSpec&) const = default;
};

enum class PlacementPhase { kPending, kPlaced, kUnschedulable, kMigrating, kPreempted, kFailed };
std::string_view toString(PlacementPhase phase);
std::optional<PlacementPhase> parsePlacementPhase(std::string_view text);
// Placed and Migrating VMs count against their region's capacity.
constexpr bool holdsCapacity(PlacementPhase phase) {
  return phase == PlacementPhase::kPlaced || phase == PlacementPhase::kMigrating;
}

struct PlacementCandidate {
  std::string region;
  double score = 0;  // 0..100
  std::optional<FactorValues> factors;
  bool operator==(const PlacementCandidate&) const = default;
};

struct WorkloadRef {
  std::optional<std::string> apiVersion;
  std::optional<std::string> kind;
  std::optional<std::string> namespace_;
  std::optional<std::string> name;
  std::optional<std::string> uid;
  std::optional<std::string> cluster = std::nullopt;  // the region whose cluster holds it, when not this VMPlacement's
  bool operator==(const WorkloadRef&) const = default;
};

struct VMPlacementStatus {
  std::optional<int64_t> observedGeneration;
  std::optional<PlacementPhase> phase;
  std::optional<std::string> region;
  std::optional<double> score;
  std::vector<PlacementCandidate> candidates;  // best first
  std::optional<std::string> message;          // why regions were rejected
  std::optional<Time> placedAt;
  std::optional<int64_t> epoch;
  std::optional<WorkloadRef> workloadRef;
  std::vector<Condition> conditions;
  bool operator==(const VMPlacementStatus&) const = default;
};

struct VMPlacement {
  ObjectMeta metadata;
  VMPlacementSpec spec;
  VMPlacementStatus status;
  bool operator==(const VMPlacement&) const = default;
};

void to_json(json& j, const VMPlacement& placement);
void to_json(json& j, const VMPlacementSpec& spec);
void to_json(json& j, const VMPlacementStatus& status);
void to_json(json& j, const WorkloadRef& ref);
// For j.get<VMPlacement>(): throws json::other_error with parseVMPlacement's message.
void from_json(const json& j, VMPlacement& placement);

// Validates types, required fields, ranges and the single-object rules of spec (origin is a region
// or a point; regions and excludeRegions disjoint; weights not all zero). The Error (422 Invalid)
// names each bad field, e.g. "spec.resources.cpu: must be an integer".
kube::Result<VMPlacement> parseVMPlacement(const json& j);
kube::Result<VMPlacementSpec> parseVMPlacementSpec(const json& spec);  // errors name "spec.<field>"
kube::Result<VMPlacementStatus> parseVMPlacementStatus(const json& status);

}  // namespace dwcp::api
