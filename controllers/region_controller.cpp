#include "controllers/region_controller.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "api/vmplacement.h"
#include "controllers/cached_types.h"
#include "kube/json_fields.h"

namespace dwcp::controllers {

using json = nlohmann::json;

using kube::member;
using kube::memberString;

namespace {

double ratio(int64_t used, int64_t total) {
  return total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
}

api::Condition condition(const char* type, api::ConditionStatus status, const char* reason, std::string message,
                         int64_t generation) {
  return api::Condition{type, status, reason, std::move(message), {}, generation};
}

api::ConditionStatus trueIf(bool ok) { return ok ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse; }

// status.region of a cached VMPlacement ("" when it has none); read from the JSON of one whose
// spec does not parse, so a VM that turned invalid still wakes the region it was counted in.
std::string placedRegionOf(const kube::CachedObject& vm) {
  if (const api::VMPlacement* placed = asVMPlacement(vm)) return placed->status.region.value_or("");
  const json* raw = vm.json();
  return raw ? std::string(memberString(member(*raw, "status"), "region")) : std::string();
}

// spec.endpoint of a cached Region, typed or kept as JSON.
std::string endpointOf(const kube::CachedObject& region) {
  if (const api::Region* typed = asRegion(region)) return typed->spec.endpoint;
  const json* raw = region.json();
  return raw ? std::string(memberString(member(*raw, "spec"), "endpoint")) : std::string();
}

}  // namespace

const StatusOwnership& regionStatusOwnership() {
  static const StatusOwnership owned{
      {"observedGeneration", "phase", "healthScore", "allocated", "available", "routingWeight"},
      {"Valid", "Ready", "CapacityAvailable"}};
  return owned;
}

kube::Result<api::RegionStatus> computeRegionStatus(const RegionInputs& in, const api::RegionStatus& current,
                                                    api::Time now) {
  const int64_t generation = in.region.metadata.generation;
  // Start from the current status: fields written by others (peers, epoch, failoverReadiness,
  // lastHeartbeatTime, message) survive; the fields set below are this controller's.
  api::RegionStatus status = current;
  status.observedGeneration = generation;
  kube::Status failed = kube::okStatus();
  auto set = [&](api::Condition c) {
    auto changed = api::setCondition(status.conditions, std::move(c), now);
    if (!changed.ok() && failed.ok()) failed = changed.error();
  };

  if (!in.invalidSpec.empty()) {
    set(condition("Valid", api::ConditionStatus::kFalse, "InvalidSpec", in.invalidSpec, generation));
    if (!failed.ok()) return failed.error();
    return status;
  }
  if (!in.duplicateEndpointOf.empty()) {
    set(condition("Valid", api::ConditionStatus::kFalse, "DuplicateEndpoint",
                  "spec.endpoint is also the endpoint of Region " + in.duplicateEndpointOf +
                      "; each region needs its own peer endpoint",
                  generation));
  } else {
    set(condition("Valid", api::ConditionStatus::kTrue, "SpecValid", "spec passed validation", generation));
  }

  if (!in.local) {
    status.phase = api::RegionPhase::kUnknown;
    status.allocated.reset();
    status.available.reset();
    status.healthScore.reset();
    status.routingWeight.reset();
    set(condition("Ready", api::ConditionStatus::kUnknown, "RemoteRegion",
                  "status of a remote region comes from its federation peer, which is not connected yet",
                  generation));
    if (!failed.ok()) return failed.error();
    return status;
  }

  const api::RegionCapacity& capacity = in.region.spec.capacity;
  const int64_t maxVMs = capacity.maxVMs.value_or(-1);
  status.allocated = api::RegionResources{in.allocatedCpu, in.allocatedMemoryMiB, in.allocatedStorageGiB,
                                          in.allocatedVMs};
  api::RegionResources available{std::max<int64_t>(0, capacity.cpu - in.allocatedCpu),
                                 std::max<int64_t>(0, capacity.memoryMiB - in.allocatedMemoryMiB),
                                 std::max<int64_t>(0, capacity.storageGiB - in.allocatedStorageGiB), std::nullopt};
  if (maxVMs >= 0) available.vms = std::max<int64_t>(0, maxVMs - in.allocatedVMs);
  status.available = available;

  // healthScore: 100, less up to 60 for failed reconciles, 100 when the API server does not
  // answer, 10 when it answers slowly (over 1 s), and up to 20 for capacity above 90 % in use.
  double utilization =
      std::max({ratio(in.allocatedCpu, capacity.cpu), ratio(in.allocatedMemoryMiB, capacity.memoryMiB),
                ratio(in.allocatedStorageGiB, capacity.storageGiB), maxVMs > 0 ? ratio(in.allocatedVMs, maxVMs) : 0.0});
  double score = 100.0;
  score -= 60.0 * in.signals.errorRatio;
  if (!in.signals.apiReachable) score -= 100.0;
  if (in.signals.apiLatencySeconds > 1.0) score -= 10.0;
  if (utilization > 0.9) score -= std::min(20.0, (utilization - 0.9) * 200.0);
  score = std::clamp(std::round(score), 0.0, 100.0);
  status.healthScore = score;

  api::RegionPhase phase;
  if (!in.region.spec.enabled) {
    phase = api::RegionPhase::kDisabled;
  } else if (score >= in.failoverThreshold) {
    phase = api::RegionPhase::kHealthy;
  } else if (score > 0) {
    phase = api::RegionPhase::kDegraded;
  } else {
    phase = api::RegionPhase::kFailed;
  }
  status.phase = phase;
  status.routingWeight = phase == api::RegionPhase::kHealthy ? static_cast<int>(score) : 0;

  std::string readyMessage;
  const char* readyReason;
  if (phase == api::RegionPhase::kHealthy) {
    readyReason = "RegionHealthy";
    readyMessage = "health score " + std::to_string(static_cast<int>(score)) + " is at or above the failover threshold";
  } else if (phase == api::RegionPhase::kDisabled) {
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
  set(condition("Ready", trueIf(phase == api::RegionPhase::kHealthy), readyReason, readyMessage, generation));

  const bool full = available.cpu == 0 || available.memoryMiB == 0 || available.storageGiB == 0 ||
                    available.vms == 0;
  set(condition("CapacityAvailable", trueIf(!full), full ? "CapacityExhausted" : "CapacityFree",
                full ? "no room left for another VM in at least one resource"
                     : std::to_string(static_cast<int>(std::round(utilization * 100))) + "% of the tightest resource in use",
                generation));
  if (!failed.ok()) return failed.error();
  return status;
}

RegionController::RegionController(RegionControllerDeps deps) : deps_(std::move(deps)) {}

kube::EventHandler RegionController::regionHandler(Enqueue enqueue) const {
  kube::EventHandler h;
  h.onAdd = [enqueue](const kube::CachedObject& o) { enqueue(o.key(), "Region added"); };
  h.onUpdate = [enqueue](const kube::CachedObject& before, const kube::CachedObject& after) {
    // Our own status writes come back as updates; only spec (generation) or metadata changes
    // need work, but a status edited by someone else must be converged too. Reconcile is
    // idempotent and writes nothing when status is unchanged, so enqueue every update.
    const bool specChanged = before.generation() != after.generation();
    enqueue(after.key(), specChanged ? "Region spec changed" : "Region updated");
  };
  h.onDelete = [enqueue](const kube::CachedObject& o) { enqueue(o.key(), "Region deleted"); };
  return h;
}

kube::EventHandler RegionController::vmPlacementHandler(Enqueue enqueue) const {
  kube::EventHandler h;
  h.onAdd = [enqueue](const kube::CachedObject& o) {
    if (auto r = placedRegionOf(o); !r.empty()) enqueue(r, "VMPlacement added in region");
  };
  h.onUpdate = [enqueue](const kube::CachedObject& before, const kube::CachedObject& after) {
    auto a = placedRegionOf(before), b = placedRegionOf(after);
    if (!a.empty()) enqueue(a, "VMPlacement changed in region");
    if (!b.empty() && b != a) enqueue(b, "VMPlacement moved into region");
  };
  h.onDelete = [enqueue](const kube::CachedObject& o) {
    if (auto r = placedRegionOf(o); !r.empty()) enqueue(r, "VMPlacement deleted from region");
  };
  return h;
}

kube::IndexFunc vmPlacementsByRegion() {
  return [](const kube::CachedObject& vm) -> std::vector<std::string> {
    std::string region = placedRegionOf(vm);
    if (region.empty()) return {};
    return {std::move(region)};
  };
}

RegionInputs RegionController::sumAllocated(const std::string& region, RegionInputs in) const {
  if (!deps_.vmPlacements) return in;
  const bool indexed = deps_.vmPlacements->hasIndex(kVMPlacementsByRegion);
  for (const auto& vm : indexed ? deps_.vmPlacements->byIndex(kVMPlacementsByRegion, region)
                                : deps_.vmPlacements->list()) {
    // A VM whose spec does not parse holds nothing: the VMPlacement controller refuses it.
    const api::VMPlacement* placed = asVMPlacement(*vm);
    if (!placed || placed->status.region != region) continue;
    const auto& phase = placed->status.phase;
    if (!phase || !api::holdsCapacity(*phase)) continue;
    const api::VMResources& resources = placed->spec.resources;
    in.allocatedCpu += resources.cpu;
    in.allocatedMemoryMiB += resources.memoryMiB;
    in.allocatedStorageGiB += resources.storageGiB;
    in.allocatedVMs += 1;
  }
  return in;
}

kube::ReconcileResult RegionController::reconcile(const std::string& key, const std::string& reason) {
  auto object = deps_.regions->get(key);
  if (!object) return kube::ReconcileResult::success();  // deleted: nothing to converge
  if (object->deleting()) return kube::ReconcileResult::success();

  RegionInputs in;
  // The CRD's schema and CEL rules check one object as it is written; objects stored before a
  // schema change, or written around it, were checked again when the cache decoded them, with
  // the same field names, and are kept as JSON with the reason.
  if (const api::Region* typed = asRegion(*object)) {
    in.region = *typed;
  } else {
    const json region = object->toJson();  // kept as JSON: the reason is in decodeError()
    in.invalidSpec = object->decodeError();
    auto meta = api::parseObjectMeta(region.value("metadata", json::object()));
    if (!meta.ok()) return kube::ReconcileResult::failure("region " + key + ": " + meta.error().message);
    in.region.metadata = std::move(meta).value();
    if (auto status = api::parseRegionStatus(region.value("status", json::object())); status.ok()) {
      in.region.status = std::move(status).value();
    }
  }
  const std::string name = in.region.metadata.name;
  in.local = name == deps_.localRegion;
  in.failoverThreshold = deps_.failoverThreshold;
  if (deps_.signals) in.signals = deps_.signals->snapshot();
  const std::string endpoint = endpointOf(*object);
  for (const auto& other : deps_.regions->list()) {
    const std::string& otherName = other->key();  // cluster-scoped: the key is the name
    if (otherName != name && !endpoint.empty() && endpointOf(*other) == endpoint) {
      in.duplicateEndpointOf = otherName;
      break;
    }
  }
  if (in.local) in = sumAllocated(name, std::move(in));

  const api::RegionStatus& current = in.region.status;
  auto computed = computeRegionStatus(in, current, deps_.clock->wallNow());
  if (!computed.ok()) return kube::ReconcileResult::failure("region " + name + ": " + computed.error().message);
  const api::RegionStatus& desired = *computed;
  if (in.local && deps_.reportHealth && desired.healthScore) deps_.reportHealth(name, *desired.healthScore);

  StatusWrite written = writeStatus(*deps_.client, api::kRegionResource, in.region.metadata, current, desired,
                                    regionStatusOwnership());
  if (!written.written()) {
    if (written.outcome == StatusWrite::Outcome::kConflict) {
      // The cache is behind the server; the watch brings the newer object and a new reconcile.
      spdlog::debug("region {}: status write conflict, retrying from the cache", name);
    }
    return written.result();
  }
  auto phaseName = [](const api::RegionStatus& s) {
    return s.phase ? std::string(api::toString(*s.phase)) : std::string();
  };
  spdlog::info("region {}: status written (phase {}) after: {}", name, phaseName(desired), reason);
  if (deps_.events && current.phase != desired.phase) {
    const bool bad = desired.phase == api::RegionPhase::kDegraded || desired.phase == api::RegionPhase::kFailed;
    deps_.events->record(written.object, bad ? kube::EventType::kWarning : kube::EventType::kNormal, "PhaseChanged",
                         "UpdateStatus",
                         "phase " + (current.phase ? phaseName(current) : std::string("(none)")) + " -> " +
                             phaseName(desired));
  }
  const api::Condition* valid = api::findCondition(desired.conditions, "Valid");
  const api::Condition* wasValid = api::findCondition(current.conditions, "Valid");
  if (deps_.events && valid && valid->status == api::ConditionStatus::kFalse &&
      (!wasValid || wasValid->reason != valid->reason)) {
    deps_.events->record(written.object, kube::EventType::kWarning, valid->reason, "Validate", valid->message);
  }
  return kube::ReconcileResult::success();
}

}  // namespace dwcp::controllers
