#include "api/region.h"

#include "api/decode.h"
#include "api/groupversion.h"

namespace dwcp::api {
namespace {

using base::kContinentNames;
using base::kRegionPhaseNames;

bool isCountryCode(const std::string& text) {
  return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

// "https://HOST[:PORT][/...]" with a non-empty host; the CRD's CEL rule is the full check.
bool isHttpsUrl(const std::string& text) {
  constexpr std::string_view kScheme = "https://";
  if (text.rfind(kScheme, 0) != 0) return false;
  const size_t hostEnd = text.find_first_of(":/?#", kScheme.size());
  return (hostEnd == std::string::npos ? text.size() : hostEnd) > kScheme.size();
}

}  // namespace

namespace detail {

static void read(Decoder& d, const json& j, const std::string& path, Continent& out) {
  readEnum(d, j, path, out, kContinentNames);
}

void read(Decoder& d, const json& j, const std::string& path, RegionPhase& out) {
  readEnum(d, j, path, out, kRegionPhaseNames);
}

static void read(Decoder& d, const json& j, const std::string& path, Location& out) {
  Fields f(d, j, path);
  f.required("latitude", out.latitude);
  f.required("longitude", out.longitude);
  f.optional("country", out.country);
  f.required("continent", out.continent);
  if (f.has("latitude")) checkRange(d, f.at("latitude"), out.latitude, -90, 90);
  if (f.has("longitude")) checkRange(d, f.at("longitude"), out.longitude, -180, 180);
  if (out.country && !isCountryCode(*out.country)) {
    d.fail(f.at("country"), "must be an ISO 3166-1 alpha-2 code such as US or DE");
  }
}

static void read(Decoder& d, const json& j, const std::string& path, RegionCapacity& out) {
  Fields f(d, j, path);
  f.required("cpu", out.cpu);
  f.required("memoryMiB", out.memoryMiB);
  f.required("storageGiB", out.storageGiB);
  f.optional("maxVMs", out.maxVMs);
  if (f.has("cpu")) checkAtLeast(d, f.at("cpu"), static_cast<double>(out.cpu), 1);
  if (f.has("memoryMiB")) checkAtLeast(d, f.at("memoryMiB"), static_cast<double>(out.memoryMiB), 1);
  if (f.has("storageGiB")) checkAtLeast(d, f.at("storageGiB"), static_cast<double>(out.storageGiB), 1);
  checkAtLeast(d, f.at("maxVMs"), out.maxVMs, 1);
}

static void read(Decoder& d, const json& j, const std::string& path, RegionCost& out) {
  Fields f(d, j, path);
  f.optional("cpuHour", out.cpuHour);
  f.optional("memoryGiBHour", out.memoryGiBHour);
  f.optional("storageGiBMonth", out.storageGiBMonth);
  checkAtLeast(d, f.at("cpuHour"), out.cpuHour, 0);
  checkAtLeast(d, f.at("memoryGiBHour"), out.memoryGiBHour, 0);
  checkAtLeast(d, f.at("storageGiBMonth"), out.storageGiBMonth, 0);
}

static void read(Decoder& d, const json& j, const std::string& path, RegionSpec& out) {
  Fields f(d, j, path);
  f.optional("displayName", out.displayName);
  f.optional("cloudProvider", out.cloudProvider);
  f.required("location", out.location);
  f.required("capacity", out.capacity);
  f.optional("cost", out.cost);
  f.optional("priority", out.priority);
  f.optional("compliance", out.compliance);
  f.required("endpoint", out.endpoint);
  f.optional("enabled", out.enabled);
  checkRange(d, f.at("priority"), out.priority, 0, 100);
  for (size_t i = 0; i < out.compliance.size(); ++i) {
    if (out.compliance[i].empty()) d.fail(index(f.at("compliance"), i), "must not be empty");
  }
  if (f.has("endpoint") && !isHttpsUrl(out.endpoint)) {
    d.fail(f.at("endpoint"), "must be an https:// URL with a host");
  }
}

void read(Decoder& d, const json& j, const std::string& path, RegionResources& out) {
  Fields f(d, j, path);
  f.optional("cpu", out.cpu);
  f.optional("memoryMiB", out.memoryMiB);
  f.optional("storageGiB", out.storageGiB);
  f.optional("vms", out.vms);
}

static void read(Decoder& d, const json& j, const std::string& path, PeerStatus& out) {
  Fields f(d, j, path);
  f.required("region", out.region);
  f.optional("latencyMs", out.latencyMs);
  f.optional("lastHeartbeatTime", out.lastHeartbeatTime);
  f.optional("reachable", out.reachable);
}

static void read(Decoder& d, const json& j, const std::string& path, FailoverReadiness& out) {
  Fields f(d, j, path);
  f.optional("ready", out.ready);
  f.optional("unplaceableVMs", out.unplaceableVMs);
  f.optional("message", out.message);
  f.optional("evaluatedAt", out.evaluatedAt);
}

static void read(Decoder& d, const json& j, const std::string& path, RegionStatus& out) {
  Fields f(d, j, path);
  f.optional("observedGeneration", out.observedGeneration);
  f.optional("phase", out.phase);
  f.optional("healthScore", out.healthScore);
  f.optional("allocated", out.allocated);
  f.optional("available", out.available);
  f.optional("peers", out.peers);
  f.optional("lastHeartbeatTime", out.lastHeartbeatTime);
  f.optional("routingWeight", out.routingWeight);
  f.optional("epoch", out.epoch);
  f.optional("failoverReadiness", out.failoverReadiness);
  f.optional("message", out.message);
  f.optional("conditions", out.conditions);
}

static void read(Decoder& d, const json& j, const std::string& path, Region& out) {
  Fields root(d, j, path);
  readTypeMeta(d, root, "Region");
  root.optional("metadata", out.metadata);
  root.required("spec", out.spec);
  root.optional("status", out.status);
}

}  // namespace detail

void to_json(json& j, const RegionSpec& spec) {
  j = json::object();
  detail::putOptional(j, "displayName", spec.displayName);
  detail::putOptional(j, "cloudProvider", spec.cloudProvider);
  json location{{"latitude", spec.location.latitude},
                {"longitude", spec.location.longitude},
                {"continent", std::string(toString(spec.location.continent))}};
  detail::putOptional(location, "country", spec.location.country);
  j["location"] = std::move(location);
  json capacity{{"cpu", spec.capacity.cpu},
                {"memoryMiB", spec.capacity.memoryMiB},
                {"storageGiB", spec.capacity.storageGiB}};
  detail::putOptional(capacity, "maxVMs", spec.capacity.maxVMs);
  j["capacity"] = std::move(capacity);
  if (spec.cost) {
    json cost = json::object();
    detail::putOptional(cost, "cpuHour", spec.cost->cpuHour);
    detail::putOptional(cost, "memoryGiBHour", spec.cost->memoryGiBHour);
    detail::putOptional(cost, "storageGiBMonth", spec.cost->storageGiBMonth);
    j["cost"] = std::move(cost);
  }
  j["priority"] = spec.priority;
  detail::putList(j, "compliance", spec.compliance);
  j["endpoint"] = spec.endpoint;
  j["enabled"] = spec.enabled;
}

void to_json(json& j, const RegionResources& r) {
  j = json{{"cpu", r.cpu}, {"memoryMiB", r.memoryMiB}, {"storageGiB", r.storageGiB}};
  detail::putOptional(j, "vms", r.vms);
}

void to_json(json& j, const RegionStatus& status) {
  j = json::object();
  detail::putOptional(j, "observedGeneration", status.observedGeneration);
  if (status.phase) j["phase"] = std::string(toString(*status.phase));
  detail::putOptional(j, "healthScore", status.healthScore);
  if (status.allocated) j["allocated"] = *status.allocated;
  if (status.available) j["available"] = *status.available;
  if (!status.peers.empty()) {
    json peers = json::array();
    for (const auto& peer : status.peers) {
      json p{{"region", peer.region}};
      detail::putOptional(p, "latencyMs", peer.latencyMs);
      detail::putTime(p, "lastHeartbeatTime", peer.lastHeartbeatTime);
      detail::putOptional(p, "reachable", peer.reachable);
      peers.push_back(std::move(p));
    }
    j["peers"] = std::move(peers);
  }
  detail::putTime(j, "lastHeartbeatTime", status.lastHeartbeatTime);
  detail::putOptional(j, "routingWeight", status.routingWeight);
  detail::putOptional(j, "epoch", status.epoch);
  if (status.failoverReadiness) {
    json readiness = json::object();
    detail::putOptional(readiness, "ready", status.failoverReadiness->ready);
    detail::putOptional(readiness, "unplaceableVMs", status.failoverReadiness->unplaceableVMs);
    detail::putOptional(readiness, "message", status.failoverReadiness->message);
    detail::putTime(readiness, "evaluatedAt", status.failoverReadiness->evaluatedAt);
    j["failoverReadiness"] = std::move(readiness);
  }
  detail::putOptional(j, "message", status.message);
  detail::putConditions(j, status.conditions);
}

void to_json(json& j, const Region& region) {
  j = json{{"apiVersion", std::string(kApiVersion)}, {"kind", "Region"}, {"metadata", region.metadata},
           {"spec", region.spec}};
  json status = region.status;
  if (!status.empty()) j["status"] = std::move(status);
}

void from_json(const json& j, Region& region) {
  auto parsed = parseRegion(j);
  if (!parsed.ok()) throw json::other_error::create(599, parsed.error().message, &j);
  region = std::move(parsed).value();
}

kube::Result<Region> parseRegion(const json& j) {
  return detail::decodeObject<Region>(
      j, [](detail::Decoder& d, const json& in, Region& out) { detail::read(d, in, "", out); });
}

kube::Result<RegionStatus> parseRegionStatus(const json& status) {
  return detail::decodeObject<RegionStatus>(
      status, [](detail::Decoder& d, const json& in, RegionStatus& out) { detail::read(d, in, "status", out); });
}

}  // namespace dwcp::api
