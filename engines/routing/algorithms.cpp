#include "engines/routing/algorithms.h"

#include <algorithm>
#include <cmath>

namespace dwcp::routing {
namespace {

bool better(double score, double tieBreak, const Candidate& than) {
  return score < than.score || (score == than.score && tieBreak < than.tieBreak);
}

// Maps a uniform 64-bit number onto [0, n) without modulo bias worth mentioning.
std::uint32_t pick(std::uint64_t random, std::size_t n) {
  return static_cast<std::uint32_t>((static_cast<unsigned __int128>(random) * n) >> 64);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

void TopCandidates::offer(std::uint32_t regionIndex, double score, double tieBreak) {
  if (size_ == items_.size() && !better(score, tieBreak, items_[size_ - 1])) return;
  std::size_t i = size_ < items_.size() ? size_++ : size_ - 1;
  while (i > 0 && better(score, tieBreak, items_[i - 1])) {
    items_[i] = items_[i - 1];
    --i;
  }
  items_[i] = Candidate{regionIndex, score, tieBreak};
}

bool isRoutable(const RegionEntry& region, std::int64_t nowNanos) {
  return region.acceptsTraffic && !region.live->outlier.isEjected(nowNanos);
}

double latencyEstimateMs(const RegionEntry& region, std::uint32_t area, std::int64_t nowNanos,
                         double recoveryTauNanos) {
  const auto& live = *region.live;
  if (area >= live.areaCount) area = live.areaCount - 1;
  return live.latency[area].estimateMs(nowNanos, recoveryTauNanos);
}

double normalizedLoad(const RegionEntry& region) {
  const auto& live = *region.live;
  return live.reportedLoad.load(std::memory_order_relaxed) +
         static_cast<double>(live.inFlight.load(std::memory_order_relaxed)) / region.spec.capacityWeight;
}

Selection selectLatency(const SelectionContext& ctx) {
  Selection out;
  out.algorithm = Algorithm::kLatency;
  const auto& regions = ctx.snapshot.regions();
  for (std::uint32_t index : ctx.snapshot.acceptingTraffic()) {
    const auto& region = regions[index];
    if (region.live->outlier.isEjected(ctx.nowNanos)) continue;
    out.top.offer(index, latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos));
  }
  return out;
}

Selection selectCost(const SelectionContext& ctx) {
  Selection within, beyond;
  within.algorithm = beyond.algorithm = Algorithm::kCost;
  beyond.withinLatencyBound = false;
  const auto& regions = ctx.snapshot.regions();
  for (std::uint32_t index : ctx.snapshot.acceptingTraffic()) {
    const auto& region = regions[index];
    if (region.live->outlier.isEjected(ctx.nowNanos)) continue;
    const double latencyMs = latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos);
    if (latencyMs <= ctx.latencyBoundMs) {
      within.top.offer(index, region.effectiveCost, latencyMs);
    } else if (within.top.empty()) {
      beyond.top.offer(index, latencyMs, region.effectiveCost);
    }
  }
  return within.top.empty() ? beyond : within;
}

Selection selectLoadBalanced(const SelectionContext& ctx, std::uint64_t random1, std::uint64_t random2) {
  Selection out;
  out.algorithm = Algorithm::kLoadBalanced;
  const auto& regions = ctx.snapshot.regions();
  const auto& accepting = ctx.snapshot.acceptingTraffic();
  const std::size_t n = accepting.size();
  if (n >= 2) {
    // Two distinct random regions; resample a few times if ejection hides one of them.
    for (int attempt = 0; attempt < 4; ++attempt) {
      const std::uint32_t a = pick(random1, n);
      std::uint32_t b = pick(random2, n - 1);
      if (b >= a) ++b;
      const auto& first = regions[accepting[a]];
      const auto& second = regions[accepting[b]];
      const bool firstOk = !first.live->outlier.isEjected(ctx.nowNanos);
      const bool secondOk = !second.live->outlier.isEjected(ctx.nowNanos);
      if (firstOk && secondOk) {
        out.top.offer(accepting[a], normalizedLoad(first));
        out.top.offer(accepting[b], normalizedLoad(second));
        return out;
      }
      random1 = splitmix64(random1);
      random2 = splitmix64(random2);
    }
  }
  // One region, or many ejected: the least loaded of the rest.
  for (std::uint32_t index : accepting) {
    const auto& region = regions[index];
    if (!region.live->outlier.isEjected(ctx.nowNanos)) out.top.offer(index, normalizedLoad(region));
  }
  return out;
}

Selection selectGeoProximity(const SelectionContext& ctx) {
  if (!ctx.hasClientPosition) return selectHybrid(ctx);
  Selection out;
  out.algorithm = Algorithm::kGeoProximity;
  const auto& regions = ctx.snapshot.regions();
  for (std::uint32_t index : ctx.snapshot.acceptingTraffic()) {
    const auto& region = regions[index];
    if (region.live->outlier.isEjected(ctx.nowNanos)) continue;
    out.top.offer(index, -region.position.dot(ctx.clientPosition));  // larger dot = nearer
  }
  for (std::size_t i = 0; i < out.top.size(); ++i) {
    auto& c = out.top[i];
    c.score = greatCircleKm(ctx.clientPosition, regions[c.regionIndex].position);
  }
  return out;
}

namespace {

struct HybridScales {
  double scale;      // 1 / sum of weights
  double costScale;  // 1 / the snapshot's highest cost
};

HybridScales hybridScales(const SelectionContext& ctx) {
  const auto& w = ctx.weights;
  const double total = w.latency + w.cost + w.load + w.distance + w.health;
  return {total > 0 ? 1.0 / total : 0.0,
          ctx.snapshot.maxEffectiveCost() > 0 ? 1.0 / ctx.snapshot.maxEffectiveCost() : 0.0};
}

double hybridScore(const SelectionContext& ctx, const HybridScales& scales, const RegionEntry& region) {
  const auto& w = ctx.weights;
  const double scale = scales.scale, costScale = scales.costScale;
  const double latencyMs = latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos);
  const double load = normalizedLoad(region);
  double score = w.latency * (latencyMs / (latencyMs + ctx.latencyBoundMs)) +  // 0.5 at the bound
                 w.cost * region.effectiveCost * costScale + w.load * (load / (1.0 + load)) +
                 w.health * (1.0 - region.spec.healthScore / 100.0);
  if (ctx.hasClientPosition) {
    // Half the chord: sin(angle / 2), 0 here and 1 at the antipode.
    score += w.distance * 0.5 * std::sqrt(std::max(0.0, 2.0 - 2.0 * region.position.dot(ctx.clientPosition)));
  }
  return score * scale;
}

}  // namespace

Selection selectHybrid(const SelectionContext& ctx) {
  Selection out;
  out.algorithm = Algorithm::kHybrid;
  const HybridScales scales = hybridScales(ctx);
  const auto& regions = ctx.snapshot.regions();
  for (std::uint32_t index : ctx.snapshot.acceptingTraffic()) {
    const auto& region = regions[index];
    if (region.live->outlier.isEjected(ctx.nowNanos)) continue;
    out.top.offer(index, hybridScore(ctx, scales, region));
  }
  return out;
}

double scoreRegion(const SelectionContext& ctx, Algorithm algorithm, std::uint32_t regionIndex) {
  const auto& region = ctx.snapshot.regions()[regionIndex];
  switch (algorithm) {
    case Algorithm::kLatency:
      return latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos);
    case Algorithm::kCost:
      return region.effectiveCost;
    case Algorithm::kLoadBalanced:
      return normalizedLoad(region);
    case Algorithm::kGeoProximity:
      if (ctx.hasClientPosition) return greatCircleKm(ctx.clientPosition, region.position);
      break;
    case Algorithm::kHybrid:
      break;
  }
  return hybridScore(ctx, hybridScales(ctx), region);
}

}  // namespace dwcp::routing
