// Plain value types of the placement engine: regions and VMs in, decisions out. No Kubernetes
// types; the controller maps Region / VMPlacement objects onto these field for field (names follow
// crds/regions.yaml and crds/vmplacements.yaml). All types are copyable values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/geo.h"
#include "base/result.h"
#include "base/vocabulary.h"

namespace dwcp::placement {

// ---- Errors as values: the engine includes only base/. ----

struct Error {
  std::string message;  // names the field, e.g. "constraints.origin.region: unknown region \"x\""
};

// Either a T or an Error; check ok() before value().
template <class T>
using Expected = base::Result<T, Error>;

using Ok = base::Unit;
using Status = Expected<Ok>;

// ---- Enums (string forms are the CRD enum values). ----

using base::Continent;
using base::parseContinent;
using base::parseRegionPhase;
using base::RegionPhase;
using base::toString;
using Algorithm = base::PlacementAlgorithm;

inline std::optional<Algorithm> parseAlgorithm(std::string_view text) { return base::parsePlacementAlgorithm(text); }

// ---- Regions. ----

using base::GeoPoint;
using base::greatCircleKm;
using base::toUnitVector;
using base::UnitVector;

// What a VM asks for, or what a region holds.
struct Resources {
  int64_t cpu = 0;  // vCPUs
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  bool operator==(const Resources&) const = default;
};

struct RegionCapacity {
  int64_t cpu = 0;
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  std::optional<int64_t> maxVMs;  // unlimited when unset
};

// status.allocated: resources held by VMs placed in the region, and their number.
struct RegionAllocation {
  int64_t cpu = 0;
  int64_t memoryMiB = 0;
  int64_t storageGiB = 0;
  int64_t vms = 0;
  bool operator==(const RegionAllocation&) const = default;
};

// Prices in USD; an unset price in the Region maps to 0.
struct RegionPrices {
  double cpuHour = 0;
  double memoryGiBHour = 0;
  double storageGiBMonth = 0;  // a month is 730 hours for the per-hour cost
};

struct RegionInfo {
  std::string name;  // metadata.name
  bool enabled = true;
  bool reachable = true;  // false: nobody can admit a VM there now (a federated region not heard from)
  RegionPhase phase = RegionPhase::kUnknown;
  std::optional<double> healthScore;  // 0..100; unknown scores 0 and fails any minHealth
  int priority = 50;                  // 0..100
  GeoPoint location;
  Continent continent = Continent::kNorthAmerica;
  std::string country;                  // ISO 3166-1 alpha-2, may be empty
  std::vector<std::string> compliance;  // tags, e.g. "gdpr"
  RegionCapacity capacity;
  RegionAllocation allocated;  // must already include every PlacedVM of the region
  RegionPrices cost;
};

// A measured round trip between two regions (Region status.peers[].latencyMs of `from`).
struct RttSample {
  std::string from;
  std::string to;
  double rttMs = 0;
};

// A VM already running somewhere: counted for spread, and a possible preemption victim.
struct PlacedVM {
  std::string key;  // "namespace/name"
  std::string region;
  Resources resources;
  int priority = 50;
  bool preemptible = false;
  std::string spreadGroup;  // empty when none
};

// ---- Requests. ----

// One weight per scoring factor; relative (normalized by their sum), unset factors weigh 0.
struct Weights {
  double latency = 0;
  double cost = 0;
  double capacity = 0;
  double health = 0;
  double priority = 0;
  double spread = 0;
  bool operator==(const Weights&) const = default;
};

// Where the VM's users are: exactly one of region or point.
struct Origin {
  std::optional<std::string> region;
  std::optional<GeoPoint> point;
};

// Hard constraints (spec.constraints); empty lists constrain nothing.
struct Constraints {
  std::vector<std::string> regions;  // allowed regions
  std::vector<std::string> excludeRegions;
  std::vector<Continent> continents;
  std::vector<std::string> countries;   // ISO 3166-1 alpha-2
  std::vector<std::string> compliance;  // the region must have every one
  std::optional<Origin> origin;
  std::optional<int> maxLatencyMs;  // needs origin
  std::optional<double> minHealth;
  std::optional<double> maxCostPerHour;  // USD
  std::string spreadGroup;               // empty when none
};

struct Request {
  std::string key;  // "namespace/name"; when already placed, it is evaluated as if removed first
  Resources resources;
  int priority = 50;  // 0..100
  bool preemptible = false;
  Algorithm algorithm = Algorithm::kHybrid;
  std::optional<Weights> weights;  // hybrid only; replaces the config defaults
  Constraints constraints;
};

// ---- Decisions. ----

// Why a region was rejected. Filters run in this order and a region reports the first one it
// fails, so a capacity reason means every other hard constraint held.
enum class Reason : uint8_t {
  kRegionDisabled,
  kRegionFailed,
  kRegionDraining,
  kRegionUnreachable,  // federated: no region operator answers for it (no heartbeat)
  kNotAllowed,
  kExcluded,
  kContinent,
  kCountry,
  kCompliance,
  kHealth,
  kLatency,
  kCost,
  kInsufficientCpu,
  kInsufficientMemory,
  kInsufficientStorage,
  kNoVmSlots,
};
bool isCapacityReason(Reason reason);

struct Rejection {
  std::string region;
  Reason reason = Reason::kRegionDisabled;
  std::string subject;  // compliance tag, continent or country when the reason has one
  double actual = 0;    // e.g. latency in ms, free cpu; -1 for an unknown health score
  double limit = 0;     // e.g. max latency in ms, requested cpu
  bool operator==(const Rejection&) const = default;
};

struct FactorScores {  // each 0..100
  double latency = 0;
  double cost = 0;
  double capacity = 0;
  double health = 0;
  double priority = 0;
  double spread = 0;
  bool operator==(const FactorScores&) const = default;
};

struct Candidate {
  std::string region;
  double score = 0;  // 0..100, the weighted sum of factors
  FactorScores factors;
  bool operator==(const Candidate&) const = default;
};

struct Victim {
  std::string key;
  std::string region;
  Resources resources;
  int priority = 0;
  bool operator==(const Victim&) const = default;
};

enum class Outcome : uint8_t {
  kPlaced,                 // region is set, victims empty
  kPlacedWithPreemption,   // region is set; the victims must be preempted first
  kUnschedulable,          // no region fits, even with preemption
  kInvalid,                // the request itself is wrong; message names the field
};
std::string_view toString(Outcome outcome);

struct Decision {
  std::string key;
  Outcome outcome = Outcome::kUnschedulable;
  std::string region;  // empty unless placed
  double score = 0;    // the chosen region's score
  std::vector<Candidate> candidates;  // best first, at most EngineConfig::maxCandidates
  std::vector<Rejection> rejections;  // one per rejected region, in snapshot order
  std::vector<Victim> victims;        // kPlacedWithPreemption only
  std::string message;  // "0/5 regions fit: 2 insufficient cpu, 3 lack compliance gdpr"
  int regionsTotal = 0;
  int regionsFeasible = 0;  // regions that passed every filter without preemption
  bool operator==(const Decision&) const = default;
};

}  // namespace dwcp::placement
