// Scorer: the soft factors of a feasible region, each 0..100, and their weighted sum. The
// algorithm chooses the weights (hybrid: the spec's or the config's; the others emphasise one
// factor). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "engines/placement/types.h"

namespace dwcp::placement {

// Latency scores 100 at 0 ms falling linearly to 0 at this round trip (about half the globe).
inline constexpr double kLatencyScaleMs = 300.0;

// Weights of an algorithm preset, or for hybrid the spec's weights else hybridDefaults;
// normalized to sum 1. Presets: latency / cost / balanced (capacity) / geo-proximity (latency by
// distance) weigh their factor 0.70, health 0.10, capacity 0.10 (balanced: spread 0.15),
// priority 0.05, spread 0.05.
Weights effectiveWeights(const Request& request, const Weights& hybridDefaults);

struct ScoreInputs {
  std::optional<double> latencyMs;  // nullopt without an origin: every region scores 100
  double costPerHour = 0;
  double cheapestCostPerHour = 0;   // over the regions being compared
  double headroom = 0;              // 0..1, see headroomAfter
  std::optional<double> healthScore;
  int priority = 0;                 // region priority, 0..100
  uint32_t spreadCount = 0;         // VMs of the request's spread group already in the region
};

// latency 100*(1 - ms/300); cost 100*cheapest/cost (100 when free); capacity 100*headroom;
// health the health score (0 when unknown); priority the region priority; spread 100/(1+count).
FactorScores scoreFactors(const ScoreInputs& inputs);
double weightedScore(const FactorScores& factors, const Weights& normalizedWeights);

// Smallest fraction left free over cpu, memory, storage and VM slots (when bounded) after the
// VM is placed; 0 when it would not fit.
double headroomAfter(const RegionCapacity& capacity, const RegionAllocation& allocated, const Resources& need);

}  // namespace dwcp::placement
