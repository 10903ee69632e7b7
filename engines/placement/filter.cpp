// Filter implementation. resolve() does every string lookup once per request, so filterRegion()
// is table lookups and arithmetic; the only trigonometry left is one asin per region when the
// request has an origin.
#include "engines/placement/filter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace dwcp::placement {
namespace {

constexpr double kHoursPerMonth = 730.0;

std::optional<Error> validate(const Request& request) {
  const Constraints& c = request.constraints;
  if (request.key.empty()) return Error{"key: must not be empty"};
  if (request.resources.cpu < 1) return Error{"resources.cpu: must be at least 1"};
  if (request.resources.memoryMiB < 1) return Error{"resources.memoryMiB: must be at least 1"};
  if (request.resources.storageGiB < 0) return Error{"resources.storageGiB: must be at least 0"};
  if (request.priority < 0 || request.priority > 100) return Error{"priority: must be between 0 and 100"};
  if (c.origin) {
    if (c.origin->region.has_value() == c.origin->point.has_value()) {
      return Error{"constraints.origin: must set either region or both latitude and longitude"};
    }
    if (c.origin->point) {
      const GeoPoint& p = *c.origin->point;
      if (!(p.latitude >= -90 && p.latitude <= 90)) {
        return Error{"constraints.origin.latitude: must be between -90 and 90"};
      }
      if (!(p.longitude >= -180 && p.longitude <= 180)) {
        return Error{"constraints.origin.longitude: must be between -180 and 180"};
      }
    }
  }
  if (c.maxLatencyMs) {
    if (!c.origin) return Error{"constraints.maxLatencyMs: needs constraints.origin"};
    if (*c.maxLatencyMs < 1) return Error{"constraints.maxLatencyMs: must be at least 1"};
  }
  if (c.minHealth && std::isnan(*c.minHealth)) return Error{"constraints.minHealth: must be a number"};
  if (c.maxCostPerHour && !(*c.maxCostPerHour > 0)) return Error{"constraints.maxCostPerHour: must be above 0"};
  if (request.algorithm == Algorithm::kGeoProximity && !c.origin) {
    return Error{"constraints.origin: is required when algorithm is geo-proximity"};
  }
  if (request.weights) {
    if (request.algorithm != Algorithm::kHybrid) return Error{"weights: applies only to algorithm hybrid"};
    const Weights& w = *request.weights;
    const std::pair<double, const char*> factors[] = {{w.latency, "latency"}, {w.cost, "cost"},
                                                      {w.capacity, "capacity"}, {w.health, "health"},
                                                      {w.priority, "priority"}, {w.spread, "spread"}};
    double sum = 0;
    for (const auto& [value, name] : factors) {
      if (!(value >= 0) || !std::isfinite(value)) return Error{std::string("weights.") + name + ": must be at least 0"};
      sum += value;
    }
    if (!(sum > 0)) return Error{"weights: must give at least one factor a weight above 0"};
  }
  return std::nullopt;
}

}  // namespace

Expected<ResolvedRequest> resolve(const Snapshot& snapshot, const Request& request) {
  if (auto error = validate(request)) return *error;
  const Constraints& c = request.constraints;
  const size_t n = snapshot.size();
  ResolvedRequest r;
  r.request = &request;
  if (!c.regions.empty()) {
    r.allowed.assign(n, 0);
    for (const std::string& name : c.regions) {
      if (auto index = snapshot.indexOf(name)) r.allowed[*index] = 1;
    }
  }
  if (!c.excludeRegions.empty()) {
    r.excluded.assign(n, 0);
    for (const std::string& name : c.excludeRegions) {
      if (auto index = snapshot.indexOf(name)) r.excluded[*index] = 1;
    }
  }
  for (Continent continent : c.continents) r.continentMask |= static_cast<uint8_t>(1U << static_cast<int>(continent));
  if (!c.countries.empty()) {
    r.countries.reserve(c.countries.size());
    for (const std::string& code : c.countries) r.countries.push_back(Snapshot::packCountry(code));
    std::sort(r.countries.begin(), r.countries.end());
  }
  r.complianceIds.reserve(c.compliance.size());
  for (const std::string& tag : c.compliance) {
    auto id = snapshot.tagId(tag);
    r.complianceIds.push_back(id ? static_cast<int64_t>(*id) : -1);
  }
  if (c.origin) {
    r.hasOrigin = true;
    if (c.origin->region) {
      r.originRegion = snapshot.indexOf(*c.origin->region);
      if (!r.originRegion) return Error{"constraints.origin.region: unknown region \"" + *c.origin->region + "\""};
      r.originVector = snapshot.unitVector(*r.originRegion);
    } else {
      r.originVector = toUnitVector(*c.origin->point);
    }
  }
  r.spreadCounts = snapshot.spreadCounts(c.spreadGroup);
  r.ownVm = snapshot.vmId(request.key);
  if (r.ownVm) r.ownRegion = snapshot.vmRegion(*r.ownVm);
  return r;
}

double originRttMs(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t region) {
  if (resolved.originRegion) return snapshot.rttMs(*resolved.originRegion, region);
  return base::estimateRttMs(greatCircleKm(resolved.originVector, snapshot.unitVector(region)));
}

double originGeoRttMs(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t region) {
  if (resolved.originRegion && *resolved.originRegion == region) return 0;
  return base::estimateRttMs(greatCircleKm(resolved.originVector, snapshot.unitVector(region)));
}

double costPerHour(const Resources& resources, const RegionPrices& prices) {
  return static_cast<double>(resources.cpu) * prices.cpuHour +
         static_cast<double>(resources.memoryMiB) / 1024.0 * prices.memoryGiBHour +
         static_cast<double>(resources.storageGiB) * prices.storageGiBMonth / kHoursPerMonth;
}

std::optional<RejectionCode> filterConstraints(const Snapshot& snapshot, const ResolvedRequest& resolved,
                                               size_t index, RegionMetrics& metrics) {
  const RegionInfo& region = snapshot.region(index);
  const Request& request = *resolved.request;
  const Constraints& c = request.constraints;

  if (!region.enabled || region.phase == RegionPhase::kDisabled) return RejectionCode{Reason::kRegionDisabled};
  if (region.phase == RegionPhase::kFailed) return RejectionCode{Reason::kRegionFailed};
  if (region.phase == RegionPhase::kDraining) return RejectionCode{Reason::kRegionDraining};
  if (!region.reachable) return RejectionCode{Reason::kRegionUnreachable};
  if (!resolved.allowed.empty() && !resolved.allowed[index]) return RejectionCode{Reason::kNotAllowed};
  if (!resolved.excluded.empty() && resolved.excluded[index]) return RejectionCode{Reason::kExcluded};
  if (resolved.continentMask != 0 &&
      !(resolved.continentMask & (1U << static_cast<int>(region.continent)))) {
    return RejectionCode{Reason::kContinent};
  }
  if (!resolved.countries.empty() &&
      !std::binary_search(resolved.countries.begin(), resolved.countries.end(), snapshot.country(index))) {
    return RejectionCode{Reason::kCountry};
  }
  for (size_t i = 0; i < resolved.complianceIds.size(); ++i) {
    const int64_t id = resolved.complianceIds[i];
    if (id < 0 || !snapshot.hasTag(index, static_cast<uint32_t>(id))) {
      return RejectionCode{Reason::kCompliance, 0, 0, static_cast<int>(i)};
    }
  }
  if (c.minHealth) {
    // Unknown health reports as -1 (not NaN, so decisions stay comparable with ==).
    if (!region.healthScore || !(*region.healthScore >= *c.minHealth)) {
      return RejectionCode{Reason::kHealth, region.healthScore.value_or(-1), *c.minHealth};
    }
  }
  metrics.rttMs.reset();
  metrics.geoRttMs.reset();
  if (resolved.hasOrigin) {
    metrics.rttMs = originRttMs(snapshot, resolved, index);
    if (c.maxLatencyMs && *metrics.rttMs > *c.maxLatencyMs) {
      return RejectionCode{Reason::kLatency, *metrics.rttMs, static_cast<double>(*c.maxLatencyMs)};
    }
    if (request.algorithm == Algorithm::kGeoProximity) metrics.geoRttMs = originGeoRttMs(snapshot, resolved, index);
  }
  metrics.costPerHour = costPerHour(request.resources, region.cost);
  if (c.maxCostPerHour && metrics.costPerHour > *c.maxCostPerHour) {
    return RejectionCode{Reason::kCost, metrics.costPerHour, *c.maxCostPerHour};
  }
  metrics.allocated = region.allocated;
  if (resolved.ownRegion && *resolved.ownRegion == index) {
    const Resources& own = snapshot.vm(*resolved.ownVm).resources;
    metrics.allocated.cpu = std::max<int64_t>(0, metrics.allocated.cpu - own.cpu);
    metrics.allocated.memoryMiB = std::max<int64_t>(0, metrics.allocated.memoryMiB - own.memoryMiB);
    metrics.allocated.storageGiB = std::max<int64_t>(0, metrics.allocated.storageGiB - own.storageGiB);
    metrics.allocated.vms = std::max<int64_t>(0, metrics.allocated.vms - 1);
  }
  return std::nullopt;
}

std::optional<RejectionCode> filterCapacity(const RegionCapacity& capacity, const RegionAllocation& allocated,
                                            const Resources& need) {
  const int64_t freeCpu = capacity.cpu - allocated.cpu;
  if (need.cpu > freeCpu) {
    return RejectionCode{Reason::kInsufficientCpu, static_cast<double>(std::max<int64_t>(0, freeCpu)),
                         static_cast<double>(need.cpu)};
  }
  const int64_t freeMemory = capacity.memoryMiB - allocated.memoryMiB;
  if (need.memoryMiB > freeMemory) {
    return RejectionCode{Reason::kInsufficientMemory, static_cast<double>(std::max<int64_t>(0, freeMemory)),
                         static_cast<double>(need.memoryMiB)};
  }
  const int64_t freeStorage = capacity.storageGiB - allocated.storageGiB;
  if (need.storageGiB > freeStorage) {
    return RejectionCode{Reason::kInsufficientStorage, static_cast<double>(std::max<int64_t>(0, freeStorage)),
                         static_cast<double>(need.storageGiB)};
  }
  if (capacity.maxVMs && allocated.vms + 1 > *capacity.maxVMs) {
    return RejectionCode{Reason::kNoVmSlots, static_cast<double>(std::max<int64_t>(0, *capacity.maxVMs - allocated.vms)),
                         1.0};
  }
  return std::nullopt;
}

std::optional<RejectionCode> filterRegion(const Snapshot& snapshot, const ResolvedRequest& resolved, size_t index,
                                          RegionMetrics& metrics) {
  if (auto rejection = filterConstraints(snapshot, resolved, index, metrics)) return rejection;
  return filterCapacity(snapshot.region(index).capacity, metrics.allocated, resolved.request->resources);
}

}  // namespace dwcp::placement
