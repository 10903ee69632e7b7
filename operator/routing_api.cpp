#include "operator/routing_api.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <spdlog/spdlog.h>

#include "operator/options.h"
#include "routingapi/region_file.h"

namespace dwcp::op {

namespace {

constexpr const char* kFlag = "--routing-bind-address";

}  // namespace

routing::RegionSpec routingRegionOf(const api::Region& region) {
  routing::RegionSpec spec;
  spec.name = region.metadata.name;
  spec.endpoint = region.spec.endpoint;
  spec.location = {region.spec.location.latitude, region.spec.location.longitude};
  if (region.spec.cost && region.spec.cost->cpuHour) spec.costPerCpuHour = *region.spec.cost->cpuHour;
  spec.capacityWeight = static_cast<double>(region.spec.capacity.cpu);
  if (!region.spec.enabled) {
    spec.phase = routing::RegionPhase::kDisabled;  // whatever its status says
    return spec;
  }
  spec.phase = region.status.phase.value_or(routing::RegionPhase::kHealthy);
  if (region.status.healthScore) spec.healthScore = *region.status.healthScore;
  return spec;
}

std::optional<double> reportedLoadOf(const api::Region& region) {
  if (!region.status.allocated) return std::nullopt;
  const api::RegionResources& used = *region.status.allocated;
  const api::RegionCapacity& capacity = region.spec.capacity;
  auto share = [](int64_t part, int64_t whole) { return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0; };
  double load = std::max({share(used.cpu, capacity.cpu), share(used.memoryMiB, capacity.memoryMiB),
                          share(used.storageGiB, capacity.storageGiB),
                          capacity.maxVMs ? share(used.vms.value_or(0), *capacity.maxVMs) : 0.0});
  return std::clamp(load, 0.0, 1.0);
}

namespace {

// The engine's spec of a Region that parsed, or what the engine refuses of it.
kube::Result<routing::RegionSpec> validatedRegionOf(const api::Region& region) {
  routing::RegionSpec spec = routingRegionOf(region);
  if (auto valid = routing::validate(spec); !valid.ok()) {
    // What the engine refuses, named by the Region field it came from.
    static const std::map<std::string, std::string> kRegionField = {
        {"name", "metadata.name"},
        {"location.latitude", "spec.location.latitude"},
        {"location.longitude", "spec.location.longitude"},
        {"healthScore", "status.healthScore"},
        {"costPerCpuHour", "spec.cost.cpuHour"},
        {"capacityWeight", "spec.capacity.cpu"},
    };
    const auto field = kRegionField.find(valid.error().field);
    const std::string name = field == kRegionField.end() ? valid.error().field : field->second;
    return kube::Error{0, "Invalid", name + ": " + valid.error().message};
  }
  return spec;
}

}  // namespace

kube::Result<routing::RegionSpec> routingRegionOf(const nlohmann::json& object) {
  auto region = api::parseRegion(object);
  if (!region.ok()) return region.error();
  return validatedRegionOf(*region);
}

kube::Result<routing::RegionSpec> routingRegionOf(const kube::CachedObject& object) {
  if (const api::Region* region = object.as<api::Region>()) return validatedRegionOf(*region);
  // Refused by the cache's decoder: its reason is parseRegion's, already at hand.
  if (!object.decodeError().empty()) return kube::Error{0, "Invalid", object.decodeError()};
  if (const nlohmann::json* raw = object.json()) return routingRegionOf(*raw);  // a cache with no decoder
  return kube::Error{0, "Invalid", "not a Region"};
}

RoutingApi::RoutingApi(const config::RoutingConfig& config)
    : router_(table_, config.routerConfig()), service_(table_, router_, config.service) {}

RoutingApi::~RoutingApi() { stop(); }

void RoutingApi::rebuild(const kube::Store& regions) {
  std::lock_guard lock(mu_);
  std::vector<routing::RegionSpec> specs;
  std::vector<std::pair<std::string, double>> loads;
  std::map<std::string, LeftOut> leftOut;
  for (const auto& object : regions.list()) {
    auto spec = routingRegionOf(*object);
    if (spec.ok()) {
      if (const api::Region* region = object->as<api::Region>()) {
        if (auto load = reportedLoadOf(*region)) loads.emplace_back(spec->name, *load);
      }
      specs.push_back(std::move(*spec));
      continue;
    }
    const std::string& name = object->key();
    const std::string& version = object->resourceVersion();
    LeftOut entry{version, spec.error().message};
    if (auto it = leftOut_.find(name); it == leftOut_.end() || it->second.resourceVersion != version) {
      spdlog::warn("routing api: Region {} (resourceVersion {}) gets no traffic: {}", name, version, entry.reason);
    }
    leftOut.emplace(name, std::move(entry));
  }
  for (const auto& [name, entry] : leftOut_) {
    if (!leftOut.count(name) && regions.get(name)) spdlog::info("routing api: Region {} is routable again", name);
  }
  leftOut_ = std::move(leftOut);
  const std::size_t count = specs.size();
  if (auto s = table_.replaceAll(std::move(specs)); !s.ok()) {
    // Every spec passed the same validation already and cache keys are unique, so this is a bug.
    spdlog::error("routing api: region table not updated: {}", s.error().toString());
    return;
  }
  for (const auto& [name, load] : loads) (void)table_.reportLoad(name, load);
  auto snapshot = table_.snapshot();
  spdlog::debug("routing api: {} regions, {} accept traffic (table version {})", count,
                snapshot->acceptingTraffic().size(), snapshot->version());
}

kube::EventHandler RoutingApi::regionHandler(const kube::Store& regions) {
  kube::EventHandler h;
  h.onAdd = [this, &regions](const kube::CachedObject&) { rebuild(regions); };
  h.onUpdate = [this, &regions](const kube::CachedObject&, const kube::CachedObject&) { rebuild(regions); };
  h.onDelete = [this, &regions](const kube::CachedObject&) { rebuild(regions); };
  return h;
}

std::map<std::string, std::string> RoutingApi::leftOut() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [name, entry] : leftOut_) out.emplace(name, entry.reason);
  return out;
}

kube::Result<int> RoutingApi::start(const std::string& bindAddress) {
  auto options = bindOptions(kFlag, bindAddress, routingapi::routingServerOptions());
  if (!options.ok()) return options.error();
  auto server = net::makeHttpServer(*options, service_.handler());
  if (auto s = server->start(); !s.ok()) {
    // "--routing-bind-address: cannot bind 0.0.0.0:8090: Address already in use"
    return kube::Error{0, "BindFailed", std::string(kFlag) + ": " + s.error().message};
  }
  server_ = std::move(server);
  return static_cast<int>(server_->port());
}

void RoutingApi::stop() {
  if (server_) server_->stop();
}

}  // namespace dwcp::op
