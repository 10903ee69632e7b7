#include "controllers/region_controller.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "kube/conditions.h"

namespace dwcp::controllers {

using json = nlohmann::json;

namespace {

int64_t intAt(const json& object, const json::json_pointer& pointer, int64_t fallback = 0) {
  if (!object.contains(pointer)) return fallback;
  const json& v = object.at(pointer);
  return v.is_number() ? v.get<int64_t>() : fallback;
}

std::string stringAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return {};
  const json& v = object.at(pointer);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// Phases that count a VMPlacement's resources against its region.
bool holdsCapacity(const std::string& phase) {
  return phase == "Placed" || phase == "Migrating";
}

// object[key] as a string, or "" when absent or not a string; no copy, no JSON-pointer parsing
// (the allocation scan runs it over every cached VMPlacement).
std::string_view memberString(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

int64_t memberInt(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<int64_t>() : 0;
}

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

double ratio(int64_t used, int64_t total) {
  return total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
}

void setCondition(json& conditions, const char* type, bool ok, const char* reason,
                  const std::string& message, int64_t generation, kube::Clock::WallTime now) {
  kube::Condition c{type, ok ? "True" : "False", reason, message, generation};
  (void)kube::setCondition(conditions, c, now);
}

}  // namespace

json computeRegionStatus(const RegionInputs& in, const json& current, kube::Clock::WallTime now) {
  const json& region = in.region;
  const int64_t generation = intAt(region, "/metadata/generation"_json_pointer);
  // Start from the current status: fields written by others (peers, epoch, failoverReadiness,
  // lastHeartbeatTime, message) survive; the fields set below are this controller's.
  json status = current.is_object() ? current : json::object();
  json conditions = current.is_object() && current.contains("conditions") && current["conditions"].is_array()
                        ? current["conditions"]
                        : json::array();
  status["observedGeneration"] = generation;

  if (!in.invalidSpec.empty()) {
    setCondition(conditions, "Valid", false, "InvalidSpec", in.invalidSpec, generation, now);
  } else if (!in.duplicateEndpointOf.empty()) {
    setCondition(conditions, "Valid", false, "DuplicateEndpoint",
                 "spec.endpoint is also the endpoint of Region " + in.duplicateEndpointOf +
                     "; each region needs its own peer endpoint",
                 generation, now);
  } else {
    setCondition(conditions, "Valid", true, "SpecValid", "spec passed validation", generation, now);
  }

  if (!in.local) {
    status["phase"] = "Unknown";
    for (const char* localOnly : {"allocated", "available", "healthScore", "routingWeight"}) {
      status.erase(localOnly);
    }
    kube::Condition ready{"Ready", "Unknown", "RemoteRegion",
                          "status of a remote region comes from its federation peer, which is not connected yet",
                          generation};
    (void)kube::setCondition(conditions, ready, now);
    status["conditions"] = conditions;
    return status;
  }

  const int64_t cpu = intAt(region, "/spec/capacity/cpu"_json_pointer);
  const int64_t memory = intAt(region, "/spec/capacity/memoryMiB"_json_pointer);
  const int64_t storage = intAt(region, "/spec/capacity/storageGiB"_json_pointer);
  const int64_t maxVMs = intAt(region, "/spec/capacity/maxVMs"_json_pointer, -1);
  status["allocated"] = {{"cpu", in.allocatedCpu},
                         {"memoryMiB", in.allocatedMemoryMiB},
                         {"storageGiB", in.allocatedStorageGiB},
                         {"vms", in.allocatedVMs}};
  json available = {{"cpu", std::max<int64_t>(0, cpu - in.allocatedCpu)},
                    {"memoryMiB", std::max<int64_t>(0, memory - in.allocatedMemoryMiB)},
                    {"storageGiB", std::max<int64_t>(0, storage - in.allocatedStorageGiB)}};
  if (maxVMs >= 0) available["vms"] = std::max<int64_t>(0, maxVMs - in.allocatedVMs);
  status["available"] = available;

  // healthScore: 100, less up to 60 for failed reconciles, 100 when the API server does not
  // answer, 10 when it answers slowly (over 1 s), and up to 20 for capacity above 90 % in use.
  double utilization = std::max({ratio(in.allocatedCpu, cpu), ratio(in.allocatedMemoryMiB, memory),
                                 ratio(in.allocatedStorageGiB, storage),
                                 maxVMs > 0 ? ratio(in.allocatedVMs, maxVMs) : 0.0});
  double score = 100.0;
  score -= 60.0 * in.signals.errorRatio;
  if (!in.signals.apiReachable) score -= 100.0;
  if (in.signals.apiLatencySeconds > 1.0) score -= 10.0;
  if (utilization > 0.9) score -= std::min(20.0, (utilization - 0.9) * 200.0);
  score = std::clamp(std::round(score), 0.0, 100.0);
  status["healthScore"] = score;

  // A non-boolean (a spec that bypassed the schema) is already reported by Valid=InvalidSpec;
  // treat it as enabled rather than failing the whole status computation.
  const json* enabledField = region.contains("/spec/enabled"_json_pointer) ? &region.at("/spec/enabled"_json_pointer) : nullptr;
  const bool enabled = !(enabledField && enabledField->is_boolean() && !enabledField->get<bool>());
  std::string phase;
  if (!enabled) {
    phase = "Disabled";
  } else if (score >= in.failoverThreshold) {
    phase = "Healthy";
  } else if (score > 0) {
    phase = "Degraded";
  } else {
    phase = "Failed";
  }
  status["phase"] = phase;
  status["routingWeight"] = phase == "Healthy" ? static_cast<int64_t>(score) : 0;

  std::string readyMessage;
  const char* readyReason;
  if (phase == "Healthy") {
    readyReason = "RegionHealthy";
    readyMessage = "health score " + std::to_string(static_cast<int>(score)) + " is at or above the failover threshold";
  } else if (phase == "Disabled") {
    readyReason = "RegionDisabled";
    readyMessage = "spec.enabled is false: the region takes no new placements and no traffic";
  } else {
    readyReason = "HealthBelowThreshold";
    readyMessage = "health score " + std::to_string(static_cast<int>(score)) + " is below the failover threshold " +
                   std::to_string(static_cast<int>(in.failoverThreshold));
    if (in.signals.errorRatio > 0) {
      readyMessage += "; " + std::to_string(static_cast<int>(std::round(in.signals.errorRatio * 100))) +
                      "% of recent reconciles failed";
    }
  }
  setCondition(conditions, "Ready", phase == "Healthy", readyReason, readyMessage, generation, now);

  bool full = available["cpu"] == 0 || available["memoryMiB"] == 0 || available["storageGiB"] == 0 ||
              (available.contains("vms") && available["vms"] == 0);
  setCondition(conditions, "CapacityAvailable", !full, full ? "CapacityExhausted" : "CapacityFree",
               full ? "no room left for another VM in at least one resource"
                    : std::to_string(static_cast<int>(std::round(utilization * 100))) + "% of the tightest resource in use",
               generation, now);
  status["conditions"] = conditions;
  return status;
}

RegionController::RegionController(RegionControllerDeps deps) : deps_(std::move(deps)) {}

kube::EventHandler RegionController::regionHandler(Enqueue enqueue) const {
  kube::EventHandler h;
  h.onAdd = [enqueue](const json& o) { enqueue(kube::objectKey(o), "Region added"); };
  h.onUpdate = [enqueue](const json& before, const json& after) {
    // Our own status writes come back as updates; only spec (generation) or metadata changes
    // need work, but a status edited by someone else must be converged too. Reconcile is
    // idempotent and writes nothing when status is unchanged, so enqueue every update.
    bool specChanged = before.value("/metadata/generation"_json_pointer, 0) !=
                       after.value("/metadata/generation"_json_pointer, 0);
    enqueue(kube::objectKey(after), specChanged ? "Region spec changed" : "Region updated");
  };
  h.onDelete = [enqueue](const json& o) { enqueue(kube::objectKey(o), "Region deleted"); };
  return h;
}

kube::EventHandler RegionController::vmPlacementHandler(Enqueue enqueue) const {
  auto regionOf = [](const json& o) { return stringAt(o, "/status/region"_json_pointer); };
  kube::EventHandler h;
  h.onAdd = [enqueue, regionOf](const json& o) {
    if (auto r = regionOf(o); !r.empty()) enqueue(r, "VMPlacement added in region");
  };
  h.onUpdate = [enqueue, regionOf](const json& before, const json& after) {
    auto a = regionOf(before), b = regionOf(after);
    if (!a.empty()) enqueue(a, "VMPlacement changed in region");
    if (!b.empty() && b != a) enqueue(b, "VMPlacement moved into region");
  };
  h.onDelete = [enqueue, regionOf](const json& o) {
    if (auto r = regionOf(o); !r.empty()) enqueue(r, "VMPlacement deleted from region");
  };
  return h;
}

RegionInputs RegionController::sumAllocated(const std::string& region, RegionInputs in) const {
  if (!deps_.vmPlacements) return in;
  for (const auto& vm : deps_.vmPlacements->list()) {
    const json& status = member(*vm, "status");
    if (memberString(status, "region") != region) continue;
    if (!holdsCapacity(std::string(memberString(status, "phase")))) continue;
    const json& resources = member(member(*vm, "spec"), "resources");
    in.allocatedCpu += memberInt(resources, "cpu");
    in.allocatedMemoryMiB += memberInt(resources, "memoryMiB");
    in.allocatedStorageGiB += memberInt(resources, "storageGiB");
    in.allocatedVMs += 1;
  }
  return in;
}

kube::ReconcileResult RegionController::reconcile(const std::string& key, const std::string& reason) {
  auto object = deps_.regions->get(key);
  if (!object) return kube::ReconcileResult::success();  // deleted: nothing to converge
  const json& region = *object;
  if (region.contains("/metadata/deletionTimestamp"_json_pointer)) return kube::ReconcileResult::success();
  const std::string name = stringAt(region, "/metadata/name"_json_pointer);

  RegionInputs in;
  in.region = region;
  in.local = name == deps_.localRegion;
  in.failoverThreshold = deps_.failoverThreshold;
  if (deps_.signals) in.signals = deps_.signals->snapshot();
  // The CRD's schema and CEL rules check one object as it is written; objects stored before a
  // schema change, or written around it, are checked again here with the same field names.
  if (auto parsed = api::parseRegion(region); !parsed.ok()) in.invalidSpec = parsed.error().message;
  const std::string endpoint = stringAt(region, "/spec/endpoint"_json_pointer);
  for (const auto& other : deps_.regions->list()) {
    std::string otherName = stringAt(*other, "/metadata/name"_json_pointer);
    if (otherName != name && !endpoint.empty() && stringAt(*other, "/spec/endpoint"_json_pointer) == endpoint) {
      in.duplicateEndpointOf = otherName;
      break;
    }
  }
  if (in.local) in = sumAllocated(name, std::move(in));

  const json current = region.value("status", json::object());
  json desired = computeRegionStatus(in, current, deps_.clock->wallNow());
  if (in.local && deps_.reportHealth && desired.contains("healthScore")) {
    deps_.reportHealth(name, desired["healthScore"].get<double>());
  }
  if (!kube::statusChanged(current, desired)) return kube::ReconcileResult::success();

  json updated = region;
  updated["status"] = desired;
  auto written = deps_.client->updateStatus(api::kRegionResource, updated);
  if (!written.ok()) {
    if (written.error().isConflict()) {
      // The cache is behind the server; the watch brings the newer object and a new reconcile.
      spdlog::debug("region {}: status write conflict, retrying from the cache", name);
      return kube::ReconcileResult::conflict("status write");
    }
    if (written.error().isNotFound()) return kube::ReconcileResult::success();
    return kube::ReconcileResult::failure("region " + name + ": status write failed: " + written.error().toString());
  }
  spdlog::info("region {}: status written (phase {}) after: {}", name, desired.value("phase", ""), reason);
  if (deps_.events && current.value("phase", "") != desired.value("phase", "")) {
    bool bad = desired["phase"] == "Degraded" || desired["phase"] == "Failed";
    deps_.events->record(written.value(), bad ? kube::EventType::kWarning : kube::EventType::kNormal,
                         "PhaseChanged", "UpdateStatus",
                         "phase " + current.value("phase", std::string("(none)")) + " -> " +
                             desired.value("phase", std::string()));
  }
  const json* valid = kube::findCondition(desired["conditions"], "Valid");
  const json* wasValid = current.contains("conditions") ? kube::findCondition(current["conditions"], "Valid") : nullptr;
  if (deps_.events && valid && valid->value("status", "") == "False" &&
      (!wasValid || wasValid->value("reason", "") != valid->value("reason", ""))) {
    deps_.events->record(written.value(), kube::EventType::kWarning, valid->value("reason", "Invalid"),
                         "Validate", valid->value("message", ""));
  }
  return kube::ReconcileResult::success();
}

}  // namespace dwcp::controllers
