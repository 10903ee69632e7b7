#include "controllers/placement_mapping.h"

#include <cmath>

namespace dwcp::controllers {

namespace {

placement::Continent toEngine(api::Continent c) {
  // Both enums use the CRD's strings; go through them so the two can never drift apart silently.
  return placement::parseContinent(api::toString(c)).value_or(placement::Continent::kNorthAmerica);
}

placement::Algorithm toEngine(api::PlacementAlgorithm a) {
  return placement::parseAlgorithm(api::toString(a)).value_or(placement::Algorithm::kHybrid);
}

placement::RegionPhase toEngine(std::optional<api::RegionPhase> phase) {
  if (!phase) return placement::RegionPhase::kUnknown;
  return placement::parseRegionPhase(api::toString(*phase)).value_or(placement::RegionPhase::kUnknown);
}

}  // namespace

placement::RegionInfo toRegionInfo(const api::Region& region) {
  placement::RegionInfo info;
  info.name = region.metadata.name;
  info.enabled = region.spec.enabled;
  info.phase = toEngine(region.status.phase);
  if (info.phase != placement::RegionPhase::kUnknown) info.healthScore = region.status.healthScore;
  info.priority = region.spec.priority;
  info.location = {region.spec.location.latitude, region.spec.location.longitude};
  info.continent = toEngine(region.spec.location.continent);
  info.country = region.spec.location.country.value_or("");
  info.compliance = region.spec.compliance;
  info.capacity = {region.spec.capacity.cpu, region.spec.capacity.memoryMiB, region.spec.capacity.storageGiB,
                   region.spec.capacity.maxVMs};
  if (region.spec.cost) {
    info.cost = {region.spec.cost->cpuHour.value_or(0), region.spec.cost->memoryGiBHour.value_or(0),
                 region.spec.cost->storageGiBMonth.value_or(0)};
  }
  return info;
}

std::vector<placement::RttSample> rttSamples(const api::Region& region) {
  std::vector<placement::RttSample> samples;
  for (const auto& peer : region.status.peers) {
    if (peer.latencyMs && *peer.latencyMs >= 0) samples.push_back({region.metadata.name, peer.region, *peer.latencyMs});
  }
  return samples;
}

placement::Request toRequest(const std::string& key, const api::VMPlacementSpec& spec) {
  placement::Request r;
  r.key = key;
  r.resources = {spec.resources.cpu, spec.resources.memoryMiB, spec.resources.storageGiB};
  r.priority = spec.priority;
  r.preemptible = spec.preemptible;
  r.algorithm = toEngine(spec.algorithm);
  if (spec.weights) {
    const auto& w = *spec.weights;
    r.weights = placement::Weights{w.latency.value_or(0), w.cost.value_or(0),     w.capacity.value_or(0),
                                   w.health.value_or(0),  w.priority.value_or(0), w.spread.value_or(0)};
  }
  const auto& c = spec.constraints;
  r.constraints.regions = c.regions;
  r.constraints.excludeRegions = c.excludeRegions;
  for (auto continent : c.continents) r.constraints.continents.push_back(toEngine(continent));
  r.constraints.countries = c.countries;
  r.constraints.compliance = c.compliance;
  if (c.origin) {
    placement::Origin origin;
    origin.region = c.origin->region;
    if (c.origin->latitude && c.origin->longitude) origin.point = placement::GeoPoint{*c.origin->latitude, *c.origin->longitude};
    r.constraints.origin = origin;
  }
  r.constraints.maxLatencyMs = c.maxLatencyMs;
  r.constraints.minHealth = c.minHealth;
  r.constraints.maxCostPerHour = c.maxCostPerHour;
  r.constraints.spreadGroup = c.spreadGroup.value_or("");
  return r;
}

placement::PlacedVM toPlacedVM(const std::string& key, const std::string& region, const api::VMPlacementSpec& spec) {
  return {key,
          region,
          {spec.resources.cpu, spec.resources.memoryMiB, spec.resources.storageGiB},
          spec.priority,
          spec.preemptible,
          spec.constraints.spreadGroup.value_or("")};
}

std::vector<api::PlacementCandidate> statusCandidates(const std::vector<placement::Candidate>& candidates) {
  auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
  std::vector<api::PlacementCandidate> out;
  out.reserve(candidates.size());
  for (const auto& c : candidates) {
    const auto& f = c.factors;
    out.push_back({c.region, round2(c.score),
                   api::FactorValues{round2(f.latency), round2(f.cost), round2(f.capacity), round2(f.health),
                                     round2(f.priority), round2(f.spread)}});
  }
  return out;
}

}  // namespace dwcp::controllers
