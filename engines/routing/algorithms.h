// The five region-selection algorithms over one snapshot. Each returns its best candidates,
// lowest score first (ties: lower tie-break, then region name order), considering only regions
// that accept traffic and are not ejected. Pure functions of their inputs; thread-safe.
//   latency        score = estimated RTT ms (peak-EWMA of the client's area, prior by distance)
//   cost           score = USD per request, among regions within the latency bound; when none is
//                  within, the lowest-latency regions (withinLatencyBound = false)
//   load-balanced  score = normalised load; power of two random choices
//   geo-proximity  score = great-circle km from the client (needs its location)
//   hybrid         score = weighted mean of normalised latency, cost, load, distance, ill-health
#pragma once

#include <array>
#include <cstdint>

#include "base/geo.h"
#include "engines/routing/region_table.h"
#include "engines/routing/types.h"

namespace dwcp::routing {

using base::GeoPoint;
using base::UnitVector;

inline constexpr std::size_t kMaxAlternatives = 4;

struct Candidate {
  std::uint32_t regionIndex = 0;
  double score = 0;
  double tieBreak = 0;
};

// The best kMaxAlternatives + 1 candidates offered, kept sorted. offer() rejects a candidate
// that cannot enter with one inline comparison; only entrants pay for the insertion.
class TopCandidates {
 public:
  void offer(std::uint32_t regionIndex, double score, double tieBreak = 0) {
    if (size_ == items_.size() && !(score <= items_[size_ - 1].score)) return;
    insert(regionIndex, score, tieBreak);
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Candidate& operator[](std::size_t i) const { return items_[i]; }
  Candidate& operator[](std::size_t i) { return items_[i]; }

 private:
  void insert(std::uint32_t regionIndex, double score, double tieBreak);
  std::array<Candidate, kMaxAlternatives + 1> items_{};
  std::size_t size_ = 0;
};

struct HybridWeights {
  double latency = 0.35;
  double cost = 0.15;
  double load = 0.2;
  double distance = 0.2;
  double health = 0.1;
};

struct SelectionContext {
  explicit SelectionContext(const RegionSnapshot& snapshot) : snapshot(snapshot) {}
  const RegionSnapshot& snapshot;
  std::int64_t nowNanos = 0;
  std::uint32_t area = 0;         // client area for the latency table
  bool hasClientPosition = false;
  UnitVector clientPosition;
  double latencyBoundMs = 300;
  double recoveryTauNanos = 30e9;
  HybridWeights weights;
};

struct Selection {
  TopCandidates top;
  Algorithm algorithm = Algorithm::kHybrid;  // the one actually applied
  bool withinLatencyBound = true;
};

bool isRoutable(const RegionEntry& region, std::int64_t nowNanos);
double latencyEstimateMs(const RegionEntry& region, std::uint32_t area, std::int64_t nowNanos,
                         double recoveryTauNanos);
// reportedLoad + inFlight / capacityWeight.
double normalizedLoad(const RegionEntry& region);

Selection selectLatency(const SelectionContext& ctx);
Selection selectCost(const SelectionContext& ctx);
// random1 and random2 are independent uniform 64-bit numbers.
Selection selectLoadBalanced(const SelectionContext& ctx, std::uint64_t random1, std::uint64_t random2);
// Falls back to hybrid when the client's position is unknown.
Selection selectGeoProximity(const SelectionContext& ctx);
Selection selectHybrid(const SelectionContext& ctx);

// One region's score under an algorithm, on the same scale its selection uses (geo-proximity
// without a client position scores as hybrid; load-balanced scores the normalised load).
double scoreRegion(const SelectionContext& ctx, Algorithm algorithm, std::uint32_t regionIndex);

}  // namespace dwcp::routing
