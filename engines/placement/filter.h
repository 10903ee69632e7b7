// Filter: the hard constraints of a request, checked region by region. resolve() validates the
// request once and turns its constraints into lookups against one snapshot (region flags, tag ids,
// packed countries, the origin); filterRegion() then checks a region without allocating. The
// ResolvedRequest borrows the Request and Snapshot: both must outlive it. Thread-safe (const).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/geo.h"
#include "engines/placement/snapshot.h"
#include "engines/placement/types.h"

namespace dwcp::placement {

struct ResolvedRequest {
  const Request* request = nullptr;
  std::vector<uint8_t> allowed;   // per region; empty means every region is allowed
  std::vector<uint8_t> excluded;  // per region; empty means none is excluded
  uint8_t continentMask = 0;      // bit per Continent; 0 means any
  std::vector<uint16_t> countries;          // packed, sorted; empty means any
  std::vector<int64_t> complianceIds;       // per requested tag; -1 when no region has it
  bool hasOrigin = false;
  std::optional<size_t> originRegion;       // origin given as a region
  UnitVector originVector;                  // origin as a point on the sphere
  const std::vector<uint32_t>* spreadCounts = nullptr;
  std::optional<uint32_t> ownVm;            // the request's key when already placed
  std::optional<size_t> ownRegion;
};

// Checks the request (ranges, origin exactly one of region and point, maxLatencyMs and
// geo-proximity need an origin, weights only with hybrid, >= 0 and not all 0, a known origin
// region) and resolves it. The error names the field, e.g. "resources.cpu: must be at least 1".
Expected<ResolvedRequest> resolve(const Snapshot& snapshot, const Request& request);

// What the filter learned about a region that the scorer reuses.
struct RegionMetrics {
  std::optional<double> rttMs;    // from the origin: measured when known, else estimated
  std::optional<double> geoRttMs; // from the origin by great-circle distance alone
  double costPerHour = 0;         // of this VM in this region
  RegionAllocation allocated;     // the region's allocation without the request's own VM
};

// A rejection without strings: complianceIndex points into request.constraints.compliance.
struct RejectionCode {
  Reason reason = Reason::kRegionDisabled;
  double actual = 0;
  double limit = 0;
  int complianceIndex = -1;
};

// Round trip from the origin to a region (0 for the origin region itself).
double originRttMs(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t region);
double originGeoRttMs(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t region);

// The VM's price per hour in a region: cpu, memory per GiB and storage per GiB-month / 730.
double costPerHour(const Resources& resources, const RegionPrices& prices);

// Every hard constraint except capacity, in Reason order; fills metrics. nullopt when all hold.
std::optional<RejectionCode> filterConstraints(const Snapshot& snapshot, const ResolvedRequest& resolved,
                                               size_t region, RegionMetrics& metrics);
// Capacity fit (cpu, memory, storage, VM slots) of `need` against capacity minus `allocated`.
std::optional<RejectionCode> filterCapacity(const RegionCapacity& capacity, const RegionAllocation& allocated,
                                            const Resources& need);
// Both, constraints first: the first reason a region fails, as the Decision reports it.
std::optional<RejectionCode> filterRegion(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t region,
                                          RegionMetrics& metrics);

}  // namespace dwcp::placement
