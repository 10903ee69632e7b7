#include "engines/routing/router.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace dwcp::routing {
namespace {

Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

std::uint64_t mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

Status validateRequest(const RouteRequest& request) {
  if (request.clientLocation) {
    const auto& p = *request.clientLocation;
    if (!std::isfinite(p.latitude) || std::abs(p.latitude) > 90)
      return invalid("clientLocation.latitude", "must be within [-90, 90]");
    if (!std::isfinite(p.longitude) || std::abs(p.longitude) > 180)
      return invalid("clientLocation.longitude", "must be within [-180, 180]");
  }
  if (static_cast<int>(request.trafficClass) >= kTrafficClassCount)
    return invalid("trafficClass", "unknown traffic class");
  if (request.algorithm && static_cast<int>(*request.algorithm) >= kAlgorithmCount)
    return invalid("algorithm", "unknown algorithm");
  if (request.maxLatencyMs && (!std::isfinite(*request.maxLatencyMs) || *request.maxLatencyMs <= 0))
    return invalid("maxLatencyMs", "must be > 0");
  return okStatus();
}

// Why nothing is eligible, e.g. "no eligible region among 3: 1 Failed, 1 Draining, 1 ejected".
Error noEligibleRegion(const RegionSnapshot& snapshot, std::int64_t nowNanos) {
  const auto& regions = snapshot.regions();
  if (regions.empty()) return Error{ErrorCode::kNoEligibleRegion, "", "no eligible region: the region table is empty"};
  std::array<int, 6> byPhase{};
  int lowHealth = 0, ejected = 0;
  for (const auto& r : regions) {
    if (!phaseAcceptsTraffic(r.spec.phase)) {
      ++byPhase[static_cast<std::size_t>(r.spec.phase)];
    } else if (!r.acceptsTraffic) {
      ++lowHealth;
    } else if (r.live->outlier.isEjected(nowNanos)) {
      ++ejected;
    }
  }
  std::string message = "no eligible region among " + std::to_string(regions.size()) + ":";
  const char* sep = " ";
  for (auto phase : {RegionPhase::kFailed, RegionPhase::kDraining, RegionPhase::kDisabled}) {
    if (int n = byPhase[static_cast<std::size_t>(phase)]; n > 0) {
      message += sep + std::to_string(n) + " " + std::string(toString(phase));
      sep = ", ";
    }
  }
  if (lowHealth > 0) message += sep + std::to_string(lowHealth) + " below the minimum health score", sep = ", ";
  if (ejected > 0) message += sep + std::to_string(ejected) + " ejected for errors";
  return Error{ErrorCode::kNoEligibleRegion, "", std::move(message)};
}

}  // namespace

Status validate(const RouterConfig& config) {
  if (auto status = validate(config.classes); !status.ok()) return status;
  const auto& w = config.hybridWeights;
  const std::pair<const char*, double> weights[] = {{"latency", w.latency},   {"cost", w.cost},
                                                    {"load", w.load},         {"distance", w.distance},
                                                    {"health", w.health}};
  double total = 0;
  for (const auto& [name, value] : weights) {
    if (!std::isfinite(value) || value < 0) return invalid(std::string("hybridWeights.") + name, "must be >= 0");
    total += value;
  }
  if (total <= 0) return invalid("hybridWeights", "at least one weight must be > 0");
  if (config.latencyEwmaTau.count() <= 0) return invalid("latencyEwmaTau", "must be > 0");
  if (config.latencyRecoveryTau.count() <= 0) return invalid("latencyRecoveryTau", "must be > 0");
  if (config.maxAlternatives > kMaxAlternatives)
    return invalid("maxAlternatives", "must be at most " + std::to_string(kMaxAlternatives));
  const auto& o = config.outlier;
  if (!std::isfinite(o.errorRateThreshold) || o.errorRateThreshold <= 0 || o.errorRateThreshold > 1)
    return invalid("outlier.errorRateThreshold", "must be within (0, 1]");
  if (o.window.count() <= 0) return invalid("outlier.window", "must be > 0");
  if (o.baseEjection.count() <= 0) return invalid("outlier.baseEjection", "must be > 0");
  if (o.maxEjection < o.baseEjection) return invalid("outlier.maxEjection", "must be >= baseEjection");
  if (o.maxEjectionPercent > 100) return invalid("outlier.maxEjectionPercent", "must be within [0, 100]");
  return okStatus();
}

Router::Router(const RegionTable& table, RouterConfig config, const base::Clock& clock)
    : table_(table), config_(config), clock_(clock), rngState_(config_.seed) {}

std::uint64_t Router::nextRandom() const {
  return mix(rngState_.fetch_add(0x9E3779B97F4A7C15ULL, std::memory_order_relaxed) + 0x9E3779B97F4A7C15ULL);
}

Result<Decision> Router::route(const RouteRequest& request) const {
  if (auto status = validateRequest(request); !status.ok()) return status.error();
  Decision decision;
  decision.snapshot = table_.snapshot();
  const RegionSnapshot& snapshot = *decision.snapshot;
  const auto& policy = policyOf(config_.classes, request.trafficClass);

  SelectionContext ctx(snapshot);
  ctx.nowNanos = clock_.steadyNanos();
  ctx.latencyBoundMs = request.maxLatencyMs.value_or(policy.latencyBoundMs);
  ctx.recoveryTauNanos = static_cast<double>(config_.latencyRecoveryTau.count());
  ctx.weights = config_.hybridWeights;
  if (request.clientLocation) {
    ctx.hasClientPosition = true;
    ctx.clientPosition = toUnitVector(*request.clientLocation);
    ctx.area = snapshot.grid().areaOf(*request.clientLocation);
  } else {
    ctx.area = snapshot.grid().unknownArea();
  }

  const Algorithm algorithm = request.algorithm.value_or(policy.algorithm);
  Selection selection;
  switch (algorithm) {
    case Algorithm::kLatency: selection = selectLatency(ctx); break;
    case Algorithm::kCost: selection = selectCost(ctx); break;
    case Algorithm::kLoadBalanced: {
      const std::uint64_t r1 = nextRandom();
      selection = selectLoadBalanced(ctx, r1, nextRandom());
      break;
    }
    case Algorithm::kGeoProximity: selection = selectGeoProximity(ctx); break;
    case Algorithm::kHybrid: selection = selectHybrid(ctx); break;
  }
  if (selection.top.empty()) return noEligibleRegion(snapshot, ctx.nowNanos);

  decision.algorithm = selection.algorithm;
  decision.trafficClass = request.trafficClass;
  decision.clientArea = ctx.area;
  decision.withinLatencyBound = selection.withinLatencyBound;
  std::optional<std::uint32_t> chosen;
  if (!request.regionHint.empty()) {
    const auto hinted = snapshot.indexOf(request.regionHint);
    if (hinted && isRoutable(snapshot.regions()[*hinted], ctx.nowNanos)) {
      chosen = *hinted;
      decision.hintHonoured = true;
    } else {
      decision.failover = true;
      if (hinted) {
        for (std::uint32_t index : snapshot.regions()[*hinted].failoverIndices) {
          if (isRoutable(snapshot.regions()[index], ctx.nowNanos)) {
            chosen = index;
            break;
          }
        }
      }
    }
  }
  if (chosen && *chosen != selection.top[0].regionIndex) {
    decision.regionIndex = *chosen;
    decision.score = scoreRegion(ctx, selection.algorithm, *chosen);
  } else {
    decision.regionIndex = selection.top[0].regionIndex;
    decision.score = selection.top[0].score;
  }
  for (std::size_t i = 0; i < selection.top.size() && decision.alternativeCount < config_.maxAlternatives; ++i) {
    if (selection.top[i].regionIndex != decision.regionIndex) {
      decision.alternatives[decision.alternativeCount++] = selection.top[i];
    }
  }
  if (request.trackInFlight) {
    decision.region().live->inFlight.fetch_add(1, std::memory_order_relaxed);
    decision.inFlightTracked = true;
  }
  return decision;
}

void Router::recordOutcome(const Decision& decision, double rttMs, bool success) {
  if (!decision.snapshot) return;
  const auto& region = decision.region();
  if (decision.inFlightTracked) region.live->inFlight.fetch_sub(1, std::memory_order_relaxed);
  observe(region, decision.clientArea, rttMs, success);
}

Status Router::recordOutcome(std::string_view regionName, std::optional<GeoPoint> clientLocation, double rttMs,
                             bool success) {
  if (clientLocation && !isValid(*clientLocation)) return invalid("clientLocation", "out of range");
  auto snapshot = table_.snapshot();
  const auto index = snapshot->indexOf(regionName);
  if (!index) return Error{ErrorCode::kNotFound, "region", "no region named " + std::string(regionName)};
  const auto area = clientLocation ? snapshot->grid().areaOf(*clientLocation) : snapshot->grid().unknownArea();
  observe(snapshot->regions()[*index], area, rttMs, success);
  return okStatus();
}

void Router::observe(const RegionEntry& region, std::uint32_t area, double rttMs,
                     bool success) {
  const std::int64_t now = clock_.steadyNanos();
  auto& live = *region.live;
  if (std::isfinite(rttMs) && rttMs > 0 && area < live.areaCount) {
    std::lock_guard lock(live.latencyMu);
    live.latency[area].observe(rttMs, now, static_cast<double>(config_.latencyEwmaTau.count()));
  }
  if (!live.outlier.record(success, now, config_.outlier)) return;
  // Never eject more than maxEjectionPercent of the regions (counted in the current table).
  auto current = table_.snapshot();
  std::size_t ejected = 0;
  for (const auto& r : current->regions()) ejected += r.live->outlier.isEjected(now) ? 1 : 0;
  if ((ejected + 1) * 100 <= config_.outlier.maxEjectionPercent * current->regions().size()) {
    live.outlier.eject(now, config_.outlier);
  }
}

bool Router::isEjected(std::string_view regionName) const {
  auto snapshot = table_.snapshot();
  const auto index = snapshot->indexOf(regionName);
  return index && snapshot->regions()[*index].live->outlier.isEjected(clock_.steadyNanos());
}

}  // namespace dwcp::routing
