#include "engines/routing/algorithms.h"

#include <algorithm>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dwcp::routing {
namespace {

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

void TopCandidates::insert(std::uint32_t regionIndex, double score, double tieBreak) {
  const auto better = [&](const Candidate& than) {
    return score < than.score || (score == than.score && tieBreak < than.tieBreak);
  };
  if (size_ == items_.size() && !better(items_[size_ - 1])) return;
  std::size_t i = size_ < items_.size() ? size_++ : size_ - 1;
  for (; i > 0 && better(items_[i - 1]); --i) items_[i] = items_[i - 1];
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
  // Raw pointers in locals: the compiler need not reload them after each offer().
  const std::uint32_t* accepting = ctx.snapshot.acceptingTraffic().data();
  RegionLiveState* const* live = hot.live.data();
  const PeakEwma* const* latency = hot.latency.data();
  const std::size_t n = hot.size();
  const std::uint32_t area = clampedArea(ctx);
  const std::int64_t now = ctx.nowNanos;
  const double recoveryTau = ctx.recoveryTauNanos;
  for (std::size_t k = 0; k < n; ++k) {
    if (live[k]->outlier.isEjected(now)) continue;
    out.top.offer(accepting[k], latency[k][area].estimateMs(now, recoveryTau));
  }
  return out;
}

Selection selectCost(const SelectionContext& ctx) {
  Selection within, beyond;
  within.algorithm = beyond.algorithm = Algorithm::kCost;
  beyond.withinLatencyBound = false;
  const auto& hot = ctx.snapshot.hot();
  const std::uint32_t* accepting = ctx.snapshot.acceptingTraffic().data();
  RegionLiveState* const* live = hot.live.data();
  const PeakEwma* const* latency = hot.latency.data();
  const double* effectiveCost = hot.effectiveCost.data();
  const std::size_t n = hot.size();
  const std::uint32_t area = clampedArea(ctx);
  const std::int64_t now = ctx.nowNanos;
  const double recoveryTau = ctx.recoveryTauNanos;
  const double bound = ctx.latencyBoundMs;
  for (std::size_t k = 0; k < n; ++k) {
    if (live[k]->outlier.isEjected(now)) continue;
    const double latencyMs = latency[k][area].estimateMs(now, recoveryTau);
    if (latencyMs <= bound) {
      within.top.offer(accepting[k], effectiveCost[k], latencyMs);
    } else if (within.top.empty()) {
      beyond.top.offer(accepting[k], latencyMs, effectiveCost[k]);
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
  const std::uint32_t* accepting = ctx.snapshot.acceptingTraffic().data();
  RegionLiveState* const* live = hot.live.data();
  const double *x = hot.x.data(), *y = hot.y.data(), *z = hot.z.data();
  const std::size_t n = hot.size();
  const std::int64_t now = ctx.nowNanos;
  const double cx = ctx.clientPosition.x, cy = ctx.clientPosition.y, cz = ctx.clientPosition.z;
  for (std::size_t k = 0; k < n; ++k) {
    if (live[k]->outlier.isEjected(now)) continue;
    out.top.offer(accepting[k], -(x[k] * cx + y[k] * cy + z[k] * cz));  // larger dot = nearer
  }
  // Only the winners get the exact great-circle distance.
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
// latency / (latency + bound) is 0.5 at the bound, load / (1 + load) is 0.5 at full load; the
// two fractions share one division. Half the chord, sin(angle / 2), is 0 at the client and 1 at
// the antipode; chord = sqrt(max(0, 2 - 2 * dot)) is computed by the caller. Branch-free
// (distanceWeight is 0 without a client position) so that the selection loop vectorizes.
inline double hybridFormula(const HybridTerms& t, double distanceWeight, double latencyMs, double load,
                            double costFraction, double illHealth, double chord) {
  const double latencyDenominator = latencyMs + t.latencyBoundMs;
  const double loadDenominator = 1.0 + load;
  return (t.latency * latencyMs * loadDenominator + t.load * load * latencyDenominator) /
             (latencyDenominator * loadDenominator) +
         t.cost * costFraction + t.health * illHealth +
         distanceWeight * chord;
}

inline double chordSquared(double dot) { return std::max(0.0, 2.0 - 2.0 * dot); }

// Square roots of a chunk in place. std::sqrt may set errno, which keeps the compiler from
// vectorizing it (without -fno-math-errno); the SSE2 instruction gives the same correctly
// rounded result two at a time. chunk is even.
inline void sqrtInPlace(double* values, std::size_t chunk) {
#if defined(__SSE2__)
  for (std::size_t j = 0; j < chunk; j += 2) _mm_storeu_pd(values + j, _mm_sqrt_pd(_mm_loadu_pd(values + j)));
#else
  for (std::size_t j = 0; j < chunk; ++j) values[j] = std::sqrt(values[j]);
#endif
}

double hybridScore(const SelectionContext& ctx, const RegionEntry& region) {
  const double costScale = ctx.snapshot.maxEffectiveCost() > 0 ? 1.0 / ctx.snapshot.maxEffectiveCost() : 0.0;
  const auto& c = ctx.clientPosition;
  const auto& p = region.position;
  const HybridTerms terms = hybridTerms(ctx);
  return hybridFormula(terms, ctx.hasClientPosition ? terms.halfDistance : 0.0,
                       latencyEstimateMs(region, ctx.area, ctx.nowNanos, ctx.recoveryTauNanos),
                       loadOf(*region.live, 1.0 / region.spec.capacityWeight), region.effectiveCost * costScale,
                       1.0 - region.spec.healthScore / 100.0,
                       std::sqrt(chordSquared(p.x * c.x + p.y * c.y + p.z * c.z)));
}

}  // namespace

Selection selectHybrid(const SelectionContext& ctx) {
  Selection out;
  out.algorithm = Algorithm::kHybrid;
  const HybridTerms terms = hybridTerms(ctx);
  const double distanceWeight = ctx.hasClientPosition ? terms.halfDistance : 0.0;
  const auto& hot = ctx.snapshot.hot();
  // Raw pointers in locals: the compiler need not reload them after each offer().
  const std::uint32_t* accepting = ctx.snapshot.acceptingTraffic().data();
  RegionLiveState* const* live = hot.live.data();
  const PeakEwma* const* latency = hot.latency.data();
  const double *x = hot.x.data(), *y = hot.y.data(), *z = hot.z.data();
  const double *costFraction = hot.costFraction.data(), *illHealth = hot.illHealth.data();
  const double* inverseCapacity = hot.inverseCapacity.data();
  const std::size_t n = hot.size();
  const std::uint32_t area = clampedArea(ctx);
  const std::int64_t now = ctx.nowNanos;
  const double recoveryTau = ctx.recoveryTauNanos;
  const double cx = ctx.clientPosition.x, cy = ctx.clientPosition.y, cz = ctx.clientPosition.z;
  // In chunks: gather the live values (scalar), then score the whole chunk in a fixed-length
  // loop the compiler vectorizes (divisions and square roots two at a time; the hot arrays are
  // padded to whole chunks), then offer.
  constexpr std::size_t kChunk = kHotRegionsPadding;
  for (std::size_t base = 0; base < n; base += kChunk) {
    const std::size_t count = std::min(kChunk, n - base);
    double latencyMs[kChunk], load[kChunk], chord[kChunk], score[kChunk];
    bool ejected[kChunk];
    for (std::size_t j = 0; j < count; ++j) {
      const RegionLiveState& state = *live[base + j];
      ejected[j] = state.outlier.isEjected(now);
      latencyMs[j] = latency[base + j][area].estimateMs(now, recoveryTau);
      load[j] = loadOf(state, inverseCapacity[base + j]);
    }
    for (std::size_t j = count; j < kChunk; ++j) latencyMs[j] = load[j] = 0;
    const double *chunkX = x + base, *chunkY = y + base, *chunkZ = z + base;
    for (std::size_t j = 0; j < kChunk; ++j) {
      chord[j] = chordSquared(chunkX[j] * cx + chunkY[j] * cy + chunkZ[j] * cz);
    }
    sqrtInPlace(chord, kChunk);
    const double *chunkCost = costFraction + base, *chunkIllHealth = illHealth + base;
    for (std::size_t j = 0; j < kChunk; ++j) {
      score[j] = hybridFormula(terms, distanceWeight, latencyMs[j], load[j], chunkCost[j], chunkIllHealth[j], chord[j]);
    }
    for (std::size_t j = 0; j < count; ++j) {
      if (!ejected[j]) out.top.offer(accepting[base + j], score[j]);
    }
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
