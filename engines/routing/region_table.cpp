#include "engines/routing/region_table.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace dwcp::routing {
namespace {

Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

bool finiteAtLeast(double v, double min) { return std::isfinite(v) && v >= min; }

}  // namespace

Status validate(const RegionSpec& spec) {
  if (spec.name.empty()) return invalid("name", "must not be empty");
  if (!std::isfinite(spec.location.latitude) || std::abs(spec.location.latitude) > 90)
    return invalid("location.latitude", "must be within [-90, 90]");
  if (!std::isfinite(spec.location.longitude) || std::abs(spec.location.longitude) > 180)
    return invalid("location.longitude", "must be within [-180, 180]");
  if (!std::isfinite(spec.healthScore) || spec.healthScore < 0 || spec.healthScore > 100)
    return invalid("healthScore", "must be within [0, 100]");
  if (!finiteAtLeast(spec.costPerRequest, 0)) return invalid("costPerRequest", "must be >= 0");
  if (!finiteAtLeast(spec.costPerCpuHour, 0)) return invalid("costPerCpuHour", "must be >= 0");
  if (!std::isfinite(spec.capacityWeight) || spec.capacityWeight <= 0)
    return invalid("capacityWeight", "must be > 0");
  return okStatus();
}

std::optional<std::uint32_t> RegionSnapshot::indexOf(std::string_view name) const {
  auto it = std::lower_bound(regions_.begin(), regions_.end(), name,
                             [](const RegionEntry& e, std::string_view n) { return e.spec.name < n; });
  if (it == regions_.end() || it->spec.name != name) return std::nullopt;
  return static_cast<std::uint32_t>(it - regions_.begin());
}

RegionTable::RegionTable(RegionTableOptions options) : options_(options), grid_(options.areaCellDegrees) {
  std::lock_guard lock(writeMu_);
  (void)publishLocked({});
}

Status RegionTable::replaceAll(std::vector<RegionSpec> specs) {
  std::lock_guard lock(writeMu_);
  return publishLocked(std::move(specs));
}

Status RegionTable::upsert(RegionSpec spec) {
  std::lock_guard lock(writeMu_);
  auto specs = specs_;
  auto it = std::find_if(specs.begin(), specs.end(), [&](const RegionSpec& s) { return s.name == spec.name; });
  if (it != specs.end()) {
    *it = std::move(spec);
  } else {
    specs.push_back(std::move(spec));
  }
  return publishLocked(std::move(specs));
}

Status RegionTable::remove(std::string_view name) {
  std::lock_guard lock(writeMu_);
  auto specs = specs_;
  auto it = std::find_if(specs.begin(), specs.end(), [&](const RegionSpec& s) { return s.name == name; });
  if (it == specs.end()) return Error{ErrorCode::kNotFound, "name", "no region named " + std::string(name)};
  specs.erase(it);
  return publishLocked(std::move(specs));
}

Status RegionTable::setPhase(std::string_view name, RegionPhase phase, std::optional<double> healthScore) {
  std::lock_guard lock(writeMu_);
  auto specs = specs_;
  auto it = std::find_if(specs.begin(), specs.end(), [&](const RegionSpec& s) { return s.name == name; });
  if (it == specs.end()) return Error{ErrorCode::kNotFound, "name", "no region named " + std::string(name)};
  it->phase = phase;
  if (healthScore) it->healthScore = *healthScore;
  return publishLocked(std::move(specs));
}

Status RegionTable::reportLoad(std::string_view name, double load) {
  if (!std::isfinite(load) || load < 0) return invalid("load", "must be >= 0");
  auto snap = snapshot();
  auto index = snap->indexOf(name);
  if (!index) return Error{ErrorCode::kNotFound, "name", "no region named " + std::string(name)};
  snap->regions()[*index].live->reportedLoad.store(load, std::memory_order_relaxed);
  return okStatus();
}

std::shared_ptr<RegionLiveState> RegionTable::liveFor(const RegionSpec& spec) {
  auto it = live_.find(spec.name);
  if (it != live_.end() && it->second.first.latitude == spec.location.latitude &&
      it->second.first.longitude == spec.location.longitude) {
    return it->second.second;
  }
  // New region, or it moved: start from distance-based latency priors.
  auto live = std::make_shared<RegionLiveState>(grid_.areaCount());
  for (std::uint32_t area = 0; area < grid_.unknownArea(); ++area) {
    const double km = base::greatCircleKm(grid_.centreOf(area), spec.location);
    live->latency[area].setPrior(static_cast<float>(options_.baseRttMs + km * options_.rttMsPerKm));
  }
  live->latency[grid_.unknownArea()].setPrior(static_cast<float>(options_.unknownClientRttMs));
  if (it != live_.end()) {
    live->reportedLoad.store(it->second.second->reportedLoad.load());
  }
  return live;
}

Status RegionTable::publishLocked(std::vector<RegionSpec> specs) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (auto status = validate(specs[i]); !status.ok()) {
      Error e = status.error();
      e.message = "region " + (specs[i].name.empty() ? "#" + std::to_string(i) : specs[i].name) + ": " + e.message;
      return e;
    }
    if (!names.insert(specs[i].name).second) return invalid("name", "duplicate region " + specs[i].name);
  }
  std::sort(specs.begin(), specs.end(), [](const RegionSpec& a, const RegionSpec& b) { return a.name < b.name; });

  auto snap = std::shared_ptr<RegionSnapshot>(new RegionSnapshot(grid_));
  snap->version_ = ++version_;
  snap->regions_.reserve(specs.size());
  decltype(live_) nextLive;
  for (const auto& spec : specs) {
    RegionEntry entry;
    entry.spec = spec;
    entry.position = toUnitVector(spec.location);
    entry.effectiveCost = spec.costPerRequest > 0
                              ? spec.costPerRequest
                              : spec.costPerCpuHour * options_.cpuSecondsPerRequest / 3600.0;
    entry.acceptsTraffic = phaseAcceptsTraffic(spec.phase) && spec.healthScore >= options_.minHealthScore;
    entry.live = liveFor(spec);
    nextLive.emplace(spec.name, std::make_pair(spec.location, entry.live));
    snap->maxEffectiveCost_ = std::max(snap->maxEffectiveCost_, entry.effectiveCost);
    snap->regions_.push_back(std::move(entry));
  }
  for (std::uint32_t i = 0; i < snap->regions_.size(); ++i) {
    auto& entry = snap->regions_[i];
    for (const auto& name : entry.spec.failoverRegions) {
      if (auto index = snap->indexOf(name); index && *index != i) entry.failoverIndices.push_back(*index);
    }
    if (entry.acceptsTraffic) snap->accepting_.push_back(i);
  }
  auto& hot = snap->hot_;
  const double costScale = snap->maxEffectiveCost_ > 0 ? 1.0 / snap->maxEffectiveCost_ : 0.0;
  for (std::uint32_t index : snap->accepting_) {
    const auto& entry = snap->regions_[index];
    hot.x.push_back(entry.position.x);
    hot.y.push_back(entry.position.y);
    hot.z.push_back(entry.position.z);
    hot.costFraction.push_back(entry.effectiveCost * costScale);
    hot.illHealth.push_back(1.0 - entry.spec.healthScore / 100.0);
    hot.inverseCapacity.push_back(1.0 / entry.spec.capacityWeight);
    hot.effectiveCost.push_back(entry.effectiveCost);
    hot.live.push_back(entry.live.get());
    hot.latency.push_back(entry.live->latency.get());
  }
  const std::size_t padded = (hot.size() + kHotRegionsPadding - 1) / kHotRegionsPadding * kHotRegionsPadding;
  for (auto* column : {&hot.x, &hot.y, &hot.z, &hot.costFraction, &hot.illHealth, &hot.inverseCapacity,
                       &hot.effectiveCost}) {
    column->resize(padded, 0.0);
  }
  live_ = std::move(nextLive);
  specs_ = std::move(specs);
  current_.store(std::move(snap), std::memory_order_release);
  return okStatus();
}

}  // namespace dwcp::routing
