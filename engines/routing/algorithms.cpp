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

namespace {

// The client area clamped once per request, as latencyEstimateMs() does per region.
std::uint32_t clampedArea(const SelectionContext& ctx) {
  const std::uint32_t count = ctx.snapshot.grid().areaCount();
  return ctx.area < count ? ctx.area : count - 1;
}

double loadOf(const RegionLiveState& live, double inverseCapacity) {
  const auto inFlight = live.inFlight.load(std::memory_order_relaxed);
  const double reported = live.reportedLoad.load(std::memory_order_relaxed);
  return inFlight == 0 ? reported : reported + static_cast<double>(inFlight) * inverseCapacity;
}

}  // namespace

Selection selectLatency(const SelectionContext& ctx) {
  Selection out;
  out.algorithm = Algorithm::kLatency;
  const auto& hot = ctx.snapshot.hot();
  const auto& accepting = ctx.snapshot.acceptingTraffic();
  const std::uint32_t area = clampedArea(ctx);
  for (std::size_t k = 0; k < hot.size(); ++k) {
    if (hot.live[k]->outlier.isEjected(ctx.nowNanos)) continue;
    out.top.offer(accepting[k], hot.latency[k][area].estimateMs(ctx.nowNanos, ctx.recoveryTauNanos));
  }
  return out;
}

Selection selectCost(const SelectionContext& ctx) {
  Selection within, beyond;
  within.algorithm = beyond.algorithm = Algorithm::kCost;
  beyond.withinLatencyBound = false;
  const auto& hot = ctx.snapshot.hot();
  const auto& accepting = ctx.snapshot.acceptingTraffic();
  const std::uint32_t area = clampedArea(ctx);
  for (std::size_t k = 0; k < hot.size(); ++k) {
    if (hot.live[k]->outlier.isEjected(ctx.nowNanos)) continue;
    const double latencyMs = hot.latency[k][area].estimateMs(ctx.nowNanos, ctx.recoveryTauNanos);
    if (latencyMs <= ctx.latencyBoundMs) {
      within.top.offer(accepting[k], hot.effectiveCost[k], latencyMs);
    } else if (within.top.empty()) {
      beyond.top.offer(accepting[k], latencyMs, hot.effectiveCost[k]);
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
  const auto& hot = ctx.snapshot.hot();
  const auto& accepting = ctx.snapshot.acceptingTraffic();
  const auto& c = ctx.clientPosition;
  for (std::size_t k = 0; k < hot.size(); ++k) {
    if (hot.live[k]->outlier.isEjected(ctx.nowNanos)) continue;
    out.top.offer(accepting[k], -(hot.x[k] * c.x + hot.y[k] * c.y + hot.z[k] * c.z));  // larger dot = nearer
  }
  const auto& regions = ctx.snapshot.regions();
  for (std::size_t i = 0; i < out.top.size(); ++i) {
    auto& candidate = out.top[i];
    candidate.score = greatCircleKm(ctx.clientPosition, regions[candidate.regionIndex].position);
  }
  return out;
}

namespace {

// Per request: the weights with 1 / their sum folded in, and the latency bound.
struct HybridTerms {
  double latency, cost, load, health, halfDistance;
  double latencyBoundMs;
};

HybridTerms hybridTerms(const SelectionContext& ctx) {
  const auto& w = ctx.weights;
  const double total = w.latency + w.cost + w.load + w.distance + w.health;
  const double scale = total > 0 ? 1.0 / total : 0.0;
  return {w.latency * scale, w.cost * scale, w.load * scale, w.health * scale, w.distance * scale * 0.5,
          ctx.latencyBoundMs};
}

// One formula for the selection loop and scoreRegion(), so both give the same number.
// latency / (latency + bound) is 0.5 at the bound; half the chord, sin(angle / 2), is 0 at the
// client and 1 at the antipode.
inline double hybridFormula(const HybridTerms& t, double latencyMs, double load, double costFraction,
                            double illHealth, bool hasPosition, double dot) {
  double score = t.latency * (latencyMs / (latencyMs + t.latencyBoundMs)) + t.cost * costFraction +
                 t.load * (load / (1.0 + load)) + t.health * illHealth;
  if (hasPosition) score += t.halfDistance * std::sqrt(std::max(0.0, 2.0 - 2.0 * dot));
  return score;
}

double hybridScore(const SelectionContext& ctx, const RegionEntry& region) {
  const double costScale = ctx.snapshot.maxEffectiveCost() > 0 ? 1.0 / ctx.snapshot.maxEffectiveCost() : 0.0;
  const auto& c = ctx.clientPosition;
  const auto& p = region.position;
  return hybridFormula(hybridTerms(ctx), latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos),
                       loadOf(*region.live, 1.0 / region.spec.capacityWeight), region.effectiveCost * costScale,
                       1.0 - region.spec.healthScore / 100.0, ctx.hasClientPosition, p.x * c.x + p.y * c.y + p.z * c.z);
}

}  // namespace

Selection selectHybrid(const SelectionContext& ctx) {
  Selection out;
  out.algorithm = Algorithm::kHybrid;
  const HybridTerms terms = hybridTerms(ctx);
  const auto& hot = ctx.snapshot.hot();
  const auto& accepting = ctx.snapshot.acceptingTraffic();
  const std::uint32_t area = clampedArea(ctx);
  const auto& c = ctx.clientPosition;
  const bool hasPosition = ctx.hasClientPosition;
  for (std::size_t k = 0; k < hot.size(); ++k) {
    const RegionLiveState& live = *hot.live[k];
    if (live.outlier.isEjected(ctx.nowNanos)) continue;
    const double latencyMs = hot.latency[k][area].estimateMs(ctx.nowNanos, ctx.recoveryTauNanos);
    const double score =
        hybridFormula(terms, latencyMs, loadOf(live, hot.inverseCapacity[k]), hot.costFraction[k], hot.illHealth[k],
                      hasPosition, hot.x[k] * c.x + hot.y[k] * c.y + hot.z[k] * c.z);
    out.top.offer(accepting[k], score);
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
  return hybridScore(ctx, region);
}

}  // namespace dwcp::routing
