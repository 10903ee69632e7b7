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
using namespace std::chrono_literals;

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
      {"observedGeneration", "phase", "healthScore", "allocated", "available", "routingWeight", "peers",
       "lastHeartbeatTime", "epoch"},
      {"Valid", "Ready", "CapacityAvailable"}};
  return owned;
}

namespace {

std::string score(double value) { return std::to_string(static_cast<int>(std::round(value))); }

// A measured RTT moves a little at every sample: keep the written one while the new one is within
// 20 % (or 1 ms) of it, so a steady link does not rewrite status. Values are written to 0.1 ms.
std::vector<api::PeerStatus> stablePeers(const std::vector<api::PeerStatus>& current,
                                         const std::vector<api::PeerLink>& measured) {
  std::vector<api::PeerStatus> out;
  out.reserve(measured.size());
  for (const api::PeerLink& link : measured) {
    api::PeerStatus peer;
    peer.region = link.region;
    peer.reachable = link.reachable;
    if (link.rttMs) peer.latencyMs = std::round(*link.rttMs * 10) / 10;
    auto was = std::find_if(current.begin(), current.end(), [&](const api::PeerStatus& p) { return p.region == link.region; });
    if (was != current.end() && was->latencyMs && peer.latencyMs &&
        std::abs(*was->latencyMs - *peer.latencyMs) <= std::max(1.0, 0.2 * *was->latencyMs)) {
      peer.latencyMs = was->latencyMs;
    }
    out.push_back(std::move(peer));
  }
  std::sort(out.begin(), out.end(), [](const api::PeerStatus& a, const api::PeerStatus& b) { return a.region < b.region; });
  return out;
}

// allocated, available and the CapacityAvailable condition from what the region holds; returns the
// share of its tightest resource in use.
double setCapacity(api::RegionStatus& status, const api::RegionCapacity& capacity, const api::RegionResources& held,
                   const std::function<void(api::Condition)>& set, int64_t generation) {
  const int64_t maxVMs = capacity.maxVMs.value_or(-1);
  const int64_t vms = held.vms.value_or(0);
  status.allocated = api::RegionResources{held.cpu, held.memoryMiB, held.storageGiB, vms};
  api::RegionResources available{std::max<int64_t>(0, capacity.cpu - held.cpu),
                                 std::max<int64_t>(0, capacity.memoryMiB - held.memoryMiB),
                                 std::max<int64_t>(0, capacity.storageGiB - held.storageGiB), std::nullopt};
  if (maxVMs >= 0) available.vms = std::max<int64_t>(0, maxVMs - vms);
  status.available = available;
  const double utilization =
      std::max({ratio(held.cpu, capacity.cpu), ratio(held.memoryMiB, capacity.memoryMiB),
                ratio(held.storageGiB, capacity.storageGiB), maxVMs > 0 ? ratio(vms, maxVMs) : 0.0});
  const bool full = available.cpu == 0 || available.memoryMiB == 0 || available.storageGiB == 0 || available.vms == 0;
  set(condition("CapacityAvailable", trueIf(!full), full ? "CapacityExhausted" : "CapacityFree",
                full ? "no room left for another VM in at least one resource"
                     : std::to_string(static_cast<int>(std::round(utilization * 100))) + "% of the tightest resource in use",
                generation));
  return utilization;
}

// The status of a region that is not this operator's.
void computeRemote(const RegionInputs& in, const api::RegionStatus& current, api::RegionStatus& status,
                   const std::function<void(api::Condition)>& set) {
  const int64_t generation = in.region.metadata.generation;
  const std::string& name = in.region.metadata.name;
  auto unknown = [&](const char* reason, const std::string& message) {
    status.phase = api::RegionPhase::kUnknown;
    status.allocated.reset();
    status.available.reset();
    status.healthScore.reset();
    status.routingWeight.reset();
    set(condition("Ready", api::ConditionStatus::kUnknown, reason, message, generation));
  };
  if (!in.federated) {
    return unknown("RemoteRegion", "status of a remote region comes from its federation peer, which is not connected yet");
  }
  if (!in.heard) {
    return unknown("NoHeartbeat", "no heartbeat from region " + name + " since this operator started" +
                                      (in.region.spec.endpoint.empty() ? "" : " (its peer endpoint is " +
                                                                                    in.region.spec.endpoint + ")"));
  }
  const api::Heartbeat& beat = in.heard->heartbeat;
  const auto heardAt = std::chrono::time_point_cast<std::chrono::seconds>(in.heard->heardAtWall);
  if (in.steadyNow - in.heard->heardAt > in.suspectAfter) {
    status.lastHeartbeatTime = heardAt;
    return unknown("HeartbeatMissed", "no heartbeat from region " + name + " since " + api::formatTime(heardAt) +
                                          " (suspected after " + std::to_string(in.suspectAfter.count()) + "ms)");
  }
  const double health = std::clamp(std::round(beat.healthScore), 0.0, 100.0);
  status.phase = beat.phase;
  status.healthScore = health;
  status.routingWeight = beat.phase == api::RegionPhase::kHealthy ? static_cast<int>(health) : 0;
  status.epoch = beat.epoch;
  status.peers = stablePeers(current.peers, beat.peers);
  setCapacity(status, in.region.spec.capacity, beat.allocated, set, generation);
  const bool healthy = beat.phase == api::RegionPhase::kHealthy;
  set(condition("Ready", trueIf(healthy), healthy ? "HeartbeatHealthy" : "HeartbeatUnhealthy",
                "region " + name + " reports phase " + std::string(api::toString(beat.phase)) + " and health score " +
                    score(health) + " in its heartbeats",
                generation));
  // Refreshed with any other change, and at least every kHeartbeatTimeRefresh.
  const api::RegionStatus withOldTime = [&] {
    api::RegionStatus s = status;
    s.lastHeartbeatTime = current.lastHeartbeatTime;
    return s;
  }();
  if (!current.lastHeartbeatTime || !(withOldTime == current) || heardAt - *current.lastHeartbeatTime >= kHeartbeatTimeRefresh) {
    status.lastHeartbeatTime = heardAt;
  } else {
    status.lastHeartbeatTime = current.lastHeartbeatTime;
  }
}

}  // namespace

kube::Result<api::RegionStatus> computeRegionStatus(const RegionInputs& in, const api::RegionStatus& current,
                                                    api::Time now) {
  const int64_t generation = in.region.metadata.generation;
  // Start from the current status: fields written by others (failoverReadiness, message) survive;
  // the fields set below are this controller's.
  api::RegionStatus status = current;
  status.observedGeneration = generation;
  kube::Status failed = kube::okStatus();
  const std::function<void(api::Condition)> set = [&](api::Condition c) {
    auto changed = api::setCondition(status.conditions, std::move(c), now);
    if (!changed.ok() && failed.ok()) failed = changed.error();
  };
  auto done = [&]() -> kube::Result<api::RegionStatus> {
    if (!failed.ok()) return failed.error();
    return status;
  };

  if (!in.invalidSpec.empty()) {
    set(condition("Valid", api::ConditionStatus::kFalse, "InvalidSpec", in.invalidSpec, generation));
    return done();
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
    computeRemote(in, current, status, set);
    return done();
  }

  const double utilization =
      setCapacity(status, in.region.spec.capacity,
                  api::RegionResources{in.allocatedCpu, in.allocatedMemoryMiB, in.allocatedStorageGiB, in.allocatedVMs},
                  set, generation);
  if (in.federated) status.peers = stablePeers(current.peers, in.links);

  // healthScore: 100, less up to 60 for failed reconciles, 100 when the API server does not
  // answer, 10 when it answers slowly (over 1 s), and up to 20 for capacity above 90 % in use.
  double health = 100.0;
  health -= 60.0 * in.signals.errorRatio;
  if (!in.signals.apiReachable) health -= 100.0;
  if (in.signals.apiLatencySeconds > 1.0) health -= 10.0;
  if (utilization > 0.9) health -= std::min(20.0, (utilization - 0.9) * 200.0);
  health = std::clamp(std::round(health), 0.0, 100.0);
  status.healthScore = health;

  api::RegionPhase phase;
  if (!in.region.spec.enabled) {
    phase = api::RegionPhase::kDisabled;
  } else if (health >= in.failoverThreshold) {
    phase = api::RegionPhase::kHealthy;
  } else if (health > 0) {
    phase = api::RegionPhase::kDegraded;
  } else {
    phase = api::RegionPhase::kFailed;
  }
  status.phase = phase;
  status.routingWeight = phase == api::RegionPhase::kHealthy ? static_cast<int>(health) : 0;

  std::string readyMessage;
  const char* readyReason;
  if (phase == api::RegionPhase::kHealthy) {
    readyReason = "RegionHealthy";
    readyMessage = "health score " + score(health) + " is at or above the failover threshold";
  } else if (phase == api::RegionPhase::kDisabled) {
    readyReason = "RegionDisabled";
    readyMessage = "spec.enabled is false: the region takes no new placements and no traffic";
  } else {
    readyReason = "HealthBelowThreshold";
    readyMessage = "health score " + score(health) + " is below the failover threshold " +
                   std::to_string(static_cast<int>(in.failoverThreshold));
    if (in.signals.errorRatio > 0) {
      readyMessage += "; " + score(in.signals.errorRatio * 100) + "% of recent reconciles failed";
    }
  }
  set(condition("Ready", trueIf(phase == api::RegionPhase::kHealthy), readyReason, readyMessage, generation));
  return done();
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
  if (Federation* federation = deps_.federation) {
    in.federated = true;
    in.suspectAfter = federation->suspectAfter();
    in.steadyNow = deps_.clock->steadyNow();
    if (in.local) {
      in.links = federation->links();
    } else {
      in.heard = federation->heartbeat(name);
    }
  }

  const api::RegionStatus& current = in.region.status;
  auto computed = computeRegionStatus(in, current, deps_.clock->wallNow());
  if (!computed.ok()) return kube::ReconcileResult::failure("region " + name + ": " + computed.error().message);
  const api::RegionStatus& desired = *computed;
  if (in.local && deps_.reportHealth && desired.healthScore) deps_.reportHealth(name, *desired.healthScore);

  // A remote region heard from is looked at again when it would become suspect, should no
  // heartbeat come first (each heartbeat enqueues it anyway).
  kube::ReconcileResult settled = kube::ReconcileResult::success();
  if (in.heard) {
    const auto due = in.heard->heardAt + in.suspectAfter - in.steadyNow;
    if (due >= std::chrono::milliseconds(0)) {
      settled = kube::ReconcileResult::requeue(std::chrono::duration_cast<std::chrono::milliseconds>(due) + 50ms);
    }
  }
  StatusWrite written = writeStatus(*deps_.client, api::kRegionResource, in.region.metadata, current, desired,
                                    regionStatusOwnership());
  if (written.outcome == StatusWrite::Outcome::kUnchanged) return settled;
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
  return settled;
}

}  // namespace dwcp::controllers
