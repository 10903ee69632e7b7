// Scoring arithmetic; values are clamped to 0..100 so bad inputs (over-committed regions,
// out-of-range health) cannot push a score out of its documented range.
#include "engines/placement/scorer.h"

#include <algorithm>

namespace dwcp::placement {
namespace {

double clamp100(double value) { return std::clamp(value, 0.0, 100.0); }

Weights normalized(Weights w) {
  const double sum = w.latency + w.cost + w.capacity + w.health + w.priority + w.spread;
  if (!(sum > 0)) return Weights{1, 1, 1, 1, 1, 1};  // unreachable after validation; stays defined
  return Weights{w.latency / sum, w.cost / sum, w.capacity / sum, w.health / sum, w.priority / sum, w.spread / sum};
}

double fractionFree(int64_t capacity, int64_t allocated, int64_t need) {
  if (capacity <= 0) return need > 0 ? 0.0 : 1.0;
  return static_cast<double>(capacity - allocated - need) / static_cast<double>(capacity);
}

}  // namespace

Weights effectiveWeights(const Request& request, const Weights& hybridDefaults) {
  switch (request.algorithm) {
    case Algorithm::kLatency:
    case Algorithm::kGeoProximity:
      return normalized({.latency = 70, .capacity = 10, .health = 10, .priority = 5, .spread = 5});
    case Algorithm::kCost:
      return normalized({.cost = 70, .capacity = 10, .health = 10, .priority = 5, .spread = 5});
    case Algorithm::kBalanced:
      return normalized({.capacity = 70, .health = 10, .priority = 5, .spread = 15});
    case Algorithm::kHybrid:
      break;
  }
  return normalized(request.weights.value_or(hybridDefaults));
}

FactorScores scoreFactors(const ScoreInputs& in) {
  FactorScores f;
  f.latency = in.latencyMs ? clamp100(100.0 * (1.0 - *in.latencyMs / kLatencyScaleMs)) : 100.0;
  f.cost = in.costPerHour <= 0 ? 100.0 : clamp100(100.0 * in.cheapestCostPerHour / in.costPerHour);
  f.capacity = clamp100(100.0 * in.headroom);
  f.health = clamp100(in.healthScore.value_or(0));
  f.priority = clamp100(in.priority);
  f.spread = 100.0 / (1.0 + in.spreadCount);
  return f;
}

double weightedScore(const FactorScores& f, const Weights& w) {
  return clamp100(f.latency * w.latency + f.cost * w.cost + f.capacity * w.capacity + f.health * w.health +
                  f.priority * w.priority + f.spread * w.spread);
}

double headroomAfter(const RegionCapacity& capacity, const RegionAllocation& allocated, const Resources& need) {
  double least = fractionFree(capacity.cpu, allocated.cpu, need.cpu);
  least = std::min(least, fractionFree(capacity.memoryMiB, allocated.memoryMiB, need.memoryMiB));
  if (capacity.storageGiB > 0 || need.storageGiB > 0) {
    least = std::min(least, fractionFree(capacity.storageGiB, allocated.storageGiB, need.storageGiB));
  }
  if (capacity.maxVMs) least = std::min(least, fractionFree(*capacity.maxVMs, allocated.vms, 1));
  return std::clamp(least, 0.0, 1.0);
}

}  // namespace dwcp::placement
