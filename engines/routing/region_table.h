// The set of regions the router chooses from. Writers (the Region cache, a file loader, tests)
// replace the table copy-on-write under a mutex and publish an immutable RegionSnapshot; readers
// take the current snapshot with one atomic shared_ptr load and never wait for a writer's work.
// Live state (load, latency, ejection) is per region and carried across snapshots.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engines/routing/client_area.h"
#include "base/geo.h"
#include "engines/routing/region_live_state.h"
#include "engines/routing/result.h"
#include "engines/routing/types.h"

namespace dwcp::routing {

using base::GeoPoint;
using base::UnitVector;

// One region as the router sees it (a plain copy of what the Region object says).
struct RegionSpec {
  std::string name;      // unique, non-empty
  std::string endpoint;  // where clients are sent
  GeoPoint location;
  RegionPhase phase = RegionPhase::kUnknown;
  double healthScore = 100;     // [0, 100]
  double costPerRequest = 0;    // USD; used when > 0
  double costPerCpuHour = 0;    // USD; converted with RegionTableOptions::cpuSecondsPerRequest
  double capacityWeight = 1;    // > 0; relative capacity for load normalisation
  std::vector<std::string> failoverRegions;  // preferred order when this region is gone
};

// Names the first offending field, e.g. "location.latitude".
Status validate(const RegionSpec& spec);

struct RegionTableOptions {
  double areaCellDegrees = 15;        // client-area grid for the latency table
  double baseRttMs = 2;               // latency prior: base + distance * rttMsPerKm
  double rttMsPerKm = 0.015;          // ~ 2 x 1.5 route factor / 200 km per ms in fibre
  double unknownClientRttMs = 100;    // prior for clients of unknown location
  double cpuSecondsPerRequest = 0.01; // converts costPerCpuHour into a per-request cost
  double minHealthScore = 0;          // regions below get no traffic
};

// An immutable region with everything the hot path needs precomputed.
struct RegionEntry {
  RegionSpec spec;
  UnitVector position;
  double effectiveCost = 0;           // USD per request
  bool acceptsTraffic = false;        // phase and health allow traffic (ejection is separate)
  std::vector<std::uint32_t> failoverIndices;  // spec.failoverRegions resolved, unknown names dropped
  std::shared_ptr<RegionLiveState> live;
};

// The regions that accept traffic as structure-of-arrays, in acceptingTraffic() order: what the
// scoring loops read per region, contiguous, with the divisions done at publish time. The
// double arrays are zero-padded to a multiple of kHotRegionsPadding so that vectorized loops
// may read whole chunks; size() is the number of regions.
inline constexpr std::size_t kHotRegionsPadding = 8;

struct HotRegions {
  std::vector<double> x, y, z;           // unit-vector position
  std::vector<double> costFraction;      // effectiveCost / the snapshot's highest (0 when all free)
  std::vector<double> illHealth;         // 1 - healthScore / 100
  std::vector<double> inverseCapacity;   // 1 / capacityWeight
  std::vector<double> effectiveCost;
  std::vector<RegionLiveState*> live;    // owned by the RegionEntry's shared_ptr
  std::vector<const PeakEwma*> latency;  // live->latency, one cell per client area
  std::size_t size() const { return live.size(); }
};

class RegionSnapshot {
 public:
  const std::vector<RegionEntry>& regions() const { return regions_; }  // sorted by name
  const std::vector<std::uint32_t>& acceptingTraffic() const { return accepting_; }
  const HotRegions& hot() const { return hot_; }  // parallel to acceptingTraffic()
  std::optional<std::uint32_t> indexOf(std::string_view name) const;
  double maxEffectiveCost() const { return maxEffectiveCost_; }
  std::uint64_t version() const { return version_; }
  const ClientAreaGrid& grid() const { return grid_; }

 private:
  friend class RegionTable;
  RegionSnapshot(ClientAreaGrid grid) : grid_(grid) {}
  std::vector<RegionEntry> regions_;
  std::vector<std::uint32_t> accepting_;
  HotRegions hot_;
  double maxEffectiveCost_ = 0;
  std::uint64_t version_ = 0;
  ClientAreaGrid grid_;
};

class RegionTable {
 public:
  explicit RegionTable(RegionTableOptions options = {});

  // All-or-nothing: on error (invalid spec, duplicate name) the table is unchanged.
  Status replaceAll(std::vector<RegionSpec> specs);
  Status upsert(RegionSpec spec);
  Status remove(std::string_view name);
  Status setPhase(std::string_view name, RegionPhase phase, std::optional<double> healthScore = {});
  // Live load, no new snapshot. load >= 0 (utilisation; 1 = full).
  Status reportLoad(std::string_view name, double load);

  std::shared_ptr<const RegionSnapshot> snapshot() const { return current_.load(std::memory_order_acquire); }
  const RegionTableOptions& options() const { return options_; }
  const ClientAreaGrid& grid() const { return grid_; }

 private:
  Status publishLocked(std::vector<RegionSpec> specs);
  std::shared_ptr<RegionLiveState> liveFor(const RegionSpec& spec);

  const RegionTableOptions options_;
  const ClientAreaGrid grid_;
  std::mutex writeMu_;
  std::vector<RegionSpec> specs_;
  std::map<std::string, std::pair<GeoPoint, std::shared_ptr<RegionLiveState>>, std::less<>> live_;
  std::uint64_t version_ = 0;
  std::atomic<std::shared_ptr<const RegionSnapshot>> current_;
};

}  // namespace dwcp::routing
