#include "api/vmplacement.h"

#include <algorithm>

#include "api/decode.h"
#include "api/groupversion.h"

namespace dwcp::api {
namespace {


constexpr std::pair<PlacementPhase, std::string_view> kPhaseNames[] = {
    {PlacementPhase::kPending, "Pending"},     {PlacementPhase::kPlaced, "Placed"},
    {PlacementPhase::kUnschedulable, "Unschedulable"}, {PlacementPhase::kMigrating, "Migrating"},
    {PlacementPhase::kPreempted, "Preempted"}, {PlacementPhase::kFailed, "Failed"},
};

json toJson(const FactorValues& v) {
  json j = json::object();
  detail::putOptional(j, "latency", v.latency);
  detail::putOptional(j, "cost", v.cost);
  detail::putOptional(j, "capacity", v.capacity);
  detail::putOptional(j, "health", v.health);
  detail::putOptional(j, "priority", v.priority);
  detail::putOptional(j, "spread", v.spread);
  return j;
}

json toJson(const PlacementConstraints& c) {
  json j = json::object();
  detail::putList(j, "regions", c.regions);
  detail::putList(j, "excludeRegions", c.excludeRegions);
  if (!c.continents.empty()) {
    json continents = json::array();
    for (Continent continent : c.continents) continents.push_back(std::string(toString(continent)));
    j["continents"] = std::move(continents);
  }
  detail::putList(j, "countries", c.countries);
  detail::putList(j, "compliance", c.compliance);
  if (c.origin) {
    json origin = json::object();
    detail::putOptional(origin, "region", c.origin->region);
    detail::putOptional(origin, "latitude", c.origin->latitude);
    detail::putOptional(origin, "longitude", c.origin->longitude);
    j["origin"] = std::move(origin);
  }
  detail::putOptional(j, "maxLatencyMs", c.maxLatencyMs);
  detail::putOptional(j, "minHealth", c.minHealth);
  detail::putOptional(j, "maxCostPerHour", c.maxCostPerHour);
  detail::putOptional(j, "spreadGroup", c.spreadGroup);
  return j;
}

}  // namespace

std::string_view toString(PlacementPhase phase) { return detail::enumName(phase, kPhaseNames); }
std::optional<PlacementPhase> parsePlacementPhase(std::string_view text) {
  return detail::enumValue(text, kPhaseNames);
}

namespace detail {

static void read(Decoder& d, const json& j, const std::string& path, PlacementAlgorithm& out) {
  readEnum(d, j, path, out, base::kPlacementAlgorithmNames);
}

static void read(Decoder& d, const json& j, const std::string& path, PlacementPhase& out) {
  readEnum(d, j, path, out, kPhaseNames);
}

static void read(Decoder& d, const json& j, const std::string& path, Continent& out) {
  if (auto continent = j.is_string() ? parseContinent(j.get_ref<const std::string&>()) : std::nullopt) {
    out = *continent;
  } else {
    d.fail(path, "must be one of: africa, antarctica, asia, europe, north-america, oceania, south-america (got " +
                     j.dump() + ")");
  }
}

static void read(Decoder& d, const json& j, const std::string& path, VMResources& out) {
  Fields f(d, j, path);
  f.required("cpu", out.cpu);
  f.required("memoryMiB", out.memoryMiB);
  f.optional("storageGiB", out.storageGiB);
  if (f.has("cpu")) checkAtLeast(d, f.at("cpu"), static_cast<double>(out.cpu), 1);
  if (f.has("memoryMiB")) checkAtLeast(d, f.at("memoryMiB"), static_cast<double>(out.memoryMiB), 1);
  checkAtLeast(d, f.at("storageGiB"), static_cast<double>(out.storageGiB), 0);
}

static void read(Decoder& d, const json& j, const std::string& path, FactorValues& out) {
  Fields f(d, j, path);
  f.optional("latency", out.latency);
  f.optional("cost", out.cost);
  f.optional("capacity", out.capacity);
  f.optional("health", out.health);
  f.optional("priority", out.priority);
  f.optional("spread", out.spread);
}

static void read(Decoder& d, const json& j, const std::string& path, Origin& out) {
  Fields f(d, j, path);
  f.optional("region", out.region);
  f.optional("latitude", out.latitude);
  f.optional("longitude", out.longitude);
  checkRange(d, f.at("latitude"), out.latitude, -90, 90);
  checkRange(d, f.at("longitude"), out.longitude, -180, 180);
  const bool point = out.latitude.has_value() && out.longitude.has_value();
  const bool anyCoordinate = out.latitude.has_value() || out.longitude.has_value();
  if (out.region ? anyCoordinate : !point) {
    d.fail(path, "must set either region or both latitude and longitude");
  }
}

static void read(Decoder& d, const json& j, const std::string& path, PlacementConstraints& out) {
  Fields f(d, j, path);
  f.optional("regions", out.regions);
  f.optional("excludeRegions", out.excludeRegions);
  f.optional("continents", out.continents);
  f.optional("countries", out.countries);
  f.optional("compliance", out.compliance);
  f.optional("origin", out.origin);
  f.optional("maxLatencyMs", out.maxLatencyMs);
  f.optional("minHealth", out.minHealth);
  f.optional("maxCostPerHour", out.maxCostPerHour);
  f.optional("spreadGroup", out.spreadGroup);
  for (const auto& region : out.excludeRegions) {
    if (std::find(out.regions.begin(), out.regions.end(), region) != out.regions.end()) {
      d.fail(f.at("excludeRegions"), "must not overlap regions (" + region + " is in both)");
      break;
    }
  }
  checkAtLeast(d, f.at("maxLatencyMs"), out.maxLatencyMs, 1);
  if (out.maxLatencyMs && !out.origin) {
    d.fail(f.at("maxLatencyMs"), "needs origin (latency is measured from the origin)");
  }
  checkRange(d, f.at("minHealth"), out.minHealth, 0, 100);
  if (out.maxCostPerHour) checkGreaterThan(d, f.at("maxCostPerHour"), *out.maxCostPerHour, 0);
}

void read(Decoder& d, const json& j, const std::string& path, VMPlacementSpec& out) {
  Fields f(d, j, path);
  f.required("resources", out.resources);
  f.optional("priority", out.priority);
  f.optional("preemptible", out.preemptible);
  f.optional("algorithm", out.algorithm);
  f.optional("weights", out.weights);
  f.optional("constraints", out.constraints);
  f.optional("template", out.template_);
  checkRange(d, f.at("priority"), out.priority, 0, 100);
  if (out.weights) {
    const auto& w = *out.weights;
    bool positive = false;
    for (const auto& [name, value] : {std::pair{"latency", w.latency}, std::pair{"cost", w.cost},
                                      std::pair{"capacity", w.capacity}, std::pair{"health", w.health},
                                      std::pair{"priority", w.priority}, std::pair{"spread", w.spread}}) {
      checkAtLeast(d, join(f.at("weights"), name), value, 0);
      positive = positive || (value && *value > 0);
    }
    if (!positive) d.fail(f.at("weights"), "must give at least one factor a weight above 0");
  }
  if (out.weights && out.algorithm != PlacementAlgorithm::kHybrid) {
    d.fail(f.at("weights"), "applies only to algorithm hybrid");
  }
  if (out.algorithm == PlacementAlgorithm::kGeoProximity && !out.constraints.origin) {
    d.fail(join(f.at("constraints"), "origin"), "is required when algorithm is geo-proximity");
  }
  if (out.template_ && !out.template_->is_object()) d.fail(f.at("template"), "must be an object");
}

static void read(Decoder& d, const json& j, const std::string& path, PlacementCandidate& out) {
  Fields f(d, j, path);
  f.required("region", out.region);
  f.required("score", out.score);
  f.optional("factors", out.factors);
}

void read(Decoder& d, const json& j, const std::string& path, WorkloadRef& out) {
  Fields f(d, j, path);
  f.optional("apiVersion", out.apiVersion);
  f.optional("kind", out.kind);
  f.optional("namespace", out.namespace_);
  f.optional("name", out.name);
  f.optional("uid", out.uid);
  f.optional("cluster", out.cluster);
}

static void read(Decoder& d, const json& j, const std::string& path, VMPlacementStatus& out) {
  Fields f(d, j, path);
  f.optional("observedGeneration", out.observedGeneration);
  f.optional("phase", out.phase);
  f.optional("region", out.region);
  f.optional("score", out.score);
  f.optional("candidates", out.candidates);
  f.optional("message", out.message);
  f.optional("placedAt", out.placedAt);
  f.optional("epoch", out.epoch);
  f.optional("workloadRef", out.workloadRef);
  f.optional("conditions", out.conditions);
}

static void read(Decoder& d, const json& j, const std::string& path, VMPlacement& out) {
  Fields root(d, j, path);
  readTypeMeta(d, root, "VMPlacement");
  root.optional("metadata", out.metadata);
  root.required("spec", out.spec);
  root.optional("status", out.status);
}

}  // namespace detail

void to_json(json& j, const VMPlacementSpec& spec) {
  j = json{{"resources",
            {{"cpu", spec.resources.cpu},
             {"memoryMiB", spec.resources.memoryMiB},
             {"storageGiB", spec.resources.storageGiB}}},
           {"priority", spec.priority},
           {"preemptible", spec.preemptible},
           {"algorithm", std::string(toString(spec.algorithm))}};
  if (spec.weights) j["weights"] = toJson(*spec.weights);
  if (json constraints = toJson(spec.constraints); !constraints.empty()) {
    j["constraints"] = std::move(constraints);
  }
  detail::putOptional(j, "template", spec.template_);
}

void to_json(json& j, const WorkloadRef& ref) {
  j = json::object();
  detail::putOptional(j, "apiVersion", ref.apiVersion);
  detail::putOptional(j, "kind", ref.kind);
  detail::putOptional(j, "namespace", ref.namespace_);
  detail::putOptional(j, "name", ref.name);
  detail::putOptional(j, "uid", ref.uid);
  detail::putOptional(j, "cluster", ref.cluster);
}

void to_json(json& j, const VMPlacementStatus& status) {
  j = json::object();
  detail::putOptional(j, "observedGeneration", status.observedGeneration);
  if (status.phase) j["phase"] = std::string(toString(*status.phase));
  detail::putOptional(j, "region", status.region);
  detail::putOptional(j, "score", status.score);
  if (!status.candidates.empty()) {
    json candidates = json::array();
    for (const auto& candidate : status.candidates) {
      json c{{"region", candidate.region}, {"score", candidate.score}};
      if (candidate.factors) c["factors"] = toJson(*candidate.factors);
      candidates.push_back(std::move(c));
    }
    j["candidates"] = std::move(candidates);
  }
  detail::putOptional(j, "message", status.message);
  detail::putTime(j, "placedAt", status.placedAt);
  detail::putOptional(j, "epoch", status.epoch);
  if (status.workloadRef) j["workloadRef"] = *status.workloadRef;
  detail::putConditions(j, status.conditions);
}

void to_json(json& j, const VMPlacement& placement) {
  j = json{{"apiVersion", std::string(kApiVersion)}, {"kind", "VMPlacement"},
           {"metadata", placement.metadata}, {"spec", placement.spec}};
  json status = placement.status;
  if (!status.empty()) j["status"] = std::move(status);
}

void from_json(const json& j, VMPlacement& placement) {
  auto parsed = parseVMPlacement(j);
  if (!parsed.ok()) throw json::other_error::create(599, parsed.error().message, &j);
  placement = std::move(parsed).value();
}

kube::Result<VMPlacement> parseVMPlacement(const json& j) {
  return detail::decodeObject<VMPlacement>(
      j, [](detail::Decoder& d, const json& in, VMPlacement& out) { detail::read(d, in, "", out); });
}

kube::Result<VMPlacementSpec> parseVMPlacementSpec(const json& spec) {
  return detail::decodeObject<VMPlacementSpec>(
      spec, [](detail::Decoder& d, const json& in, VMPlacementSpec& out) { detail::read(d, in, "spec", out); });
}

kube::Result<VMPlacementStatus> parseVMPlacementStatus(const json& status) {
  return detail::decodeObject<VMPlacementStatus>(status,
      [](detail::Decoder& d, const json& in, VMPlacementStatus& out) { detail::read(d, in, "status", out); });
}

}  // namespace dwcp::api
