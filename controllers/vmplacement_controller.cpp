#include "controllers/vmplacement_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "controllers/cached_types.h"
#include "controllers/placement_mapping.h"
#include "engines/placement/explain.h"
#include "kube/finalizers.h"
#include "kube/json_fields.h"

namespace dwcp::controllers {

using json = nlohmann::json;
using namespace std::chrono_literals;

using kube::stringAt;

namespace {

using api::PlacementPhase;

// The phase a cached VMPlacement shows; nullopt when it has none (new) or an unknown one. A VM
// kept as JSON (its spec does not parse) is read from the JSON.
std::optional<PlacementPhase> phaseOf(const kube::CachedObject& object) {
  if (const api::VMPlacement* vm = asVMPlacement(object)) return vm->status.phase;
  static const json::json_pointer kPhase("/status/phase");
  const json* raw = object.json();
  return raw ? api::parsePlacementPhase(stringAt(*raw, kPhase)) : std::nullopt;
}

bool holdsCapacity(const std::optional<PlacementPhase>& phase) { return phase && api::holdsCapacity(*phase); }

// VMs with no phase yet, Pending, Unschedulable or Preempted wait for capacity and are retried
// when it changes. One whose spec does not parse waits for nothing until it changes.
bool waitsForCapacity(const kube::CachedObject& object) {
  const api::VMPlacement* vm = asVMPlacement(object);
  if (!vm) return false;
  const auto& phase = vm->status.phase;
  return !phase || phase == PlacementPhase::kPending || phase == PlacementPhase::kUnschedulable ||
         phase == PlacementPhase::kPreempted;
}

// Name, namespace and resourceVersion: what a status apply sends of metadata.
api::ObjectMeta writeMeta(const json& object) {
  api::ObjectMeta meta;
  meta.name = stringAt(object, "/metadata/name"_json_pointer);
  meta.namespace_ = stringAt(object, "/metadata/namespace"_json_pointer);
  meta.resourceVersion = stringAt(object, "/metadata/resourceVersion"_json_pointer);
  return meta;
}

// The status a VMPlacement holds; one that does not parse (written around the schema) starts
// over from empty, and the next write replaces what this controller owns of it.
api::VMPlacementStatus statusOf(const json& object) {
  auto parsed = api::parseVMPlacementStatus(object.value("status", json::object()));
  return parsed.ok() ? std::move(parsed).value() : api::VMPlacementStatus{};
}

api::VMPlacementStatus statusOf(const kube::CachedObject& object) {
  if (const api::VMPlacement* vm = asVMPlacement(object)) return vm->status;
  const json* raw = object.json();
  return raw ? statusOf(*raw) : api::VMPlacementStatus{};
}

// Region fields that change where VMs may go; allocation figures are ours and are not.
bool placementRelevantChange(const kube::CachedObject& before, const kube::CachedObject& after) {
  const api::Region* a = asRegion(before);
  const api::Region* b = asRegion(after);
  if (!a || !b) return true;  // a Region that became (or stopped being) invalid
  return before.generation() != after.generation() || a->status.phase != b->status.phase ||
         a->status.healthScore != b->status.healthScore || a->status.peers != b->status.peers;
}

}  // namespace

VMPlacementController::VMPlacementController(VMPlacementControllerDeps deps)
    : deps_(std::move(deps)),
      engine_(deps_.engine),
      ledger_(deps_.regions),
      workloads_({deps_.client, deps_.discovery, deps_.events, deps_.clock, deps_.localRegion, deps_.workloadKinds}) {}

kube::EventHandler VMPlacementController::vmPlacementHandler(Enqueue enqueue) {
  enqueue_ = enqueue;
  kube::EventHandler h;
  h.onAdd = [enqueue](const kube::CachedObject& o) { enqueue(o.key(), "VMPlacement added"); };
  h.onUpdate = [this, enqueue](const kube::CachedObject& before, const kube::CachedObject& after) {
    const std::string& key = after.key();
    if (before.generation() != after.generation()) {
      enqueue(key, "VMPlacement spec changed");
    } else if (after.deleting()) {
      enqueue(key, "VMPlacement deleting");
    } else {
      enqueue(key, "VMPlacement updated");
    }
    // A VM that stopped holding capacity (preempted, failed) frees room for the waiting ones.
    if (holdsCapacity(phaseOf(before)) && !holdsCapacity(phaseOf(after))) {
      enqueueWaiting("capacity released by " + key);
    }
  };
  h.onDelete = [this](const kube::CachedObject& o) {
    const std::string& key = o.key();
    forget(key);  // normally done by the finalizer already
    enqueueWaiting("VMPlacement " + key + " deleted");
  };
  return h;
}

kube::EventHandler VMPlacementController::regionHandler(Enqueue enqueue) {
  enqueue_ = enqueue;
  auto changed = [this](const std::string& why) {
    ledger_.regionsChanged();
    enqueueWaiting(why);
  };
  kube::EventHandler h;
  h.onAdd = [changed](const kube::CachedObject& o) { changed("Region " + o.key() + " added"); };
  h.onUpdate = [changed](const kube::CachedObject& before, const kube::CachedObject& after) {
    if (placementRelevantChange(before, after)) changed("Region " + after.key() + " changed");
  };
  h.onDelete = [changed](const kube::CachedObject& o) { changed("Region " + o.key() + " deleted"); };
  return h;
}

void VMPlacementController::enqueueWaiting(const std::string& reason) {
  if (!enqueue_ || !deps_.vmPlacements) return;
  // Highest priority first (then key): the work queue is FIFO, so freed capacity goes to the
  // most important waiting VM, as a batch placement would give it.
  std::vector<std::pair<int64_t, std::string>> waiting;
  for (const auto& vm : deps_.vmPlacements->list()) {
    if (vm->deleting() || !waitsForCapacity(*vm)) continue;
    waiting.emplace_back(-int64_t{asVMPlacement(*vm)->spec.priority}, vm->key());
  }
  std::sort(waiting.begin(), waiting.end());
  for (const auto& [negativePriority, key] : waiting) enqueue_(key, reason);
}

void VMPlacementController::seedLedger() { ledger_.seed(*deps_.vmPlacements); }

std::map<std::string, std::string> VMPlacementController::ledger() const { return ledger_.placements(); }

void VMPlacementController::forget(const std::string& key) { ledger_.forget(key); }

kube::ReconcileResult VMPlacementController::done(const Write& write) {
  return write.stop.value_or(kube::ReconcileResult::success());
}

VMPlacementController::Write VMPlacementController::gone(const std::string& key) {
  forget(key);
  enqueueWaiting("VMPlacement " + key + " is gone");
  return {kube::ReconcileResult::success(), true};
}

VMPlacementController::Write VMPlacementController::writeStatus(json& object, const StatusDraft& draft) {
  const std::string key = kube::objectKey(object);
  if (!draft.error.empty()) return {kube::ReconcileResult::failure("VMPlacement " + key + " status: " + draft.error)};
  StatusWrite written = controllers::writeStatus(*deps_.client, api::kVMPlacementResource, writeMeta(object),
                                                 statusOf(object), draft.status, vmPlacementStatusOwnership());
  switch (written.outcome) {
    case StatusWrite::Outcome::kUnchanged: return {};
    case StatusWrite::Outcome::kWritten: object = std::move(written.object); return {};
    case StatusWrite::Outcome::kGone: return gone(key);
    default: return {written.result()};
  }
}

VMPlacementController::Write VMPlacementController::addFinalizer(json& object) {
  auto patched =
      kube::addFinalizer(*deps_.client, api::kVMPlacementResource, object, kPlacementFinalizer, kFieldManager);
  if (!patched.ok()) {
    if (patched.error().isConflict()) return {kube::ReconcileResult::conflict("adding finalizer")};
    if (patched.error().isNotFound()) return gone(kube::objectKey(object));
    return {kube::ReconcileResult::failure("adding finalizer: " + patched.error().toString())};
  }
  object = std::move(patched.value());  // carries the new resourceVersion for a later write
  return {};
}

kube::ReconcileResult VMPlacementController::finalize(const std::string& key, const json& object) {
  if (!kube::hasFinalizer(object, kPlacementFinalizer)) return kube::ReconcileResult::success();
  if (auto removed = workloads_.remove(object); !removed.ok()) {
    return kube::ReconcileResult::failure("deleting the workload of " + key + ": " + removed.error().toString());
  }
  forget(key);
  auto patched = kube::removeFinalizer(*deps_.client, api::kVMPlacementResource, object, kPlacementFinalizer,
                                      kFieldManager);
  if (!patched.ok()) {
    if (patched.error().isConflict()) return kube::ReconcileResult::conflict("removing finalizer");
    if (!patched.error().isNotFound()) return kube::ReconcileResult::failure("removing finalizer: " + patched.error().toString());
  }
  enqueueWaiting("capacity released by " + key);
  return kube::ReconcileResult::success();
}

kube::ReconcileResult VMPlacementController::preemptVictims(const std::string& preemptor, int priority,
                                                            const std::vector<placement::Victim>& victims) {
  for (size_t i = 0; i < victims.size(); ++i) {
    const placement::Victim& victim = victims[i];
    auto object = deps_.vmPlacements->get(victim.key);
    if (!object) continue;
    const StatusDraft draft = preemptedStatus(statusOf(*object), preemptor, priority, victim.region,
                                              object->generation(), deps_.clock->wallNow());
    const std::string& message = *draft.status.message;
    // Status first: a victim whose write fails (a conflict while the cache is behind) keeps running.
    const json victimObject = object->toJson();
    json written = victimObject;
    auto result = writeStatus(written, draft);
    if (result.gone) continue;  // deleted meanwhile: it holds nothing
    if (result.stop) {
      restoreVictims(victims, i);
      return *result.stop;
    }
    if (auto removed = workloads_.remove(victimObject); !removed.ok()) {
      spdlog::warn("preempting {}: deleting its workload: {}", victim.key, removed.error().toString());
    }
    if (deps_.events) deps_.events->record(victimObject, kube::EventType::kWarning, "Preempted", "Preempt", message);
  }
  return kube::ReconcileResult::success();
}

void VMPlacementController::restoreVictims(const std::vector<placement::Victim>& victims, size_t from) {
  std::vector<placement::PlacedVM> back;
  for (size_t i = from; i < victims.size(); ++i) {
    const placement::Victim& victim = victims[i];
    auto object = deps_.vmPlacements->get(victim.key);
    if (!object) continue;  // gone: it holds nothing
    const api::VMPlacement* vm = asVMPlacement(*object);
    back.push_back(vm ? toPlacedVM(victim.key, victim.region, vm->spec)
                      : placement::PlacedVM{victim.key, victim.region, victim.resources, victim.priority,
                                            /*preemptible=*/true, ""});
  }
  ledger_.assume(back);
}

kube::ReconcileResult VMPlacementController::reconcile(const std::string& key, const std::string& /*reason: logged by the runner*/) {
  auto cached = deps_.vmPlacements->get(key);
  if (!cached) {
    forget(key);
    return kube::ReconcileResult::success();
  }
  // The JSON form the write helpers (finalizer patches, events, workloads) take; the decisions
  // below read the typed object the cache decoded when it arrived.
  json object = cached->toJson();
  if (cached->deleting()) return finalize(key, object);
  const auto now = deps_.clock->wallNow();
  const int64_t generation = cached->generation();
  using Kind = PlacementOutcome::Kind;

  const api::VMPlacement* typed = asVMPlacement(*cached);
  if (!typed) {  // the spec does not parse: the cache kept the JSON and the reason
    forget(key);
    if (auto removed = workloads_.remove(object); !removed.ok()) {
      return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
    }
    const std::string& invalid = cached->decodeError();
    const api::VMPlacementStatus current = statusOf(object);
    const StatusDraft draft = computeStatus({Kind::kInvalidSpec, "", 0, {}, invalid}, current, generation, now);
    if (deps_.events && current.message != draft.status.message) {
      deps_.events->record(object, kube::EventType::kWarning, "InvalidSpec", "Validate", invalid);
    }
    return done(writeStatus(object, draft));
  }
  const api::VMPlacement& vm = *typed;
  const api::VMPlacementStatus& current = vm.status;

  const std::optional<PlacementPhase> phase = current.phase;
  // The finalizer guards the capacity a VM holds. One that holds capacity already (placed before
  // a restart, or an earlier finalizer write failed) gets it before anything else; a new VM gets
  // its Placed status first and the finalizer right after, keeping one API round trip off the
  // way from create to Placed. A deletion in between arrives as a watch DELETE, which releases
  // the ledger entry just as the finalizer would (the API server's admission policy in
  // config/admission/ usually adds the finalizer at create, and then neither write happens).
  const bool hadFinalizer = kube::hasFinalizer(object, kPlacementFinalizer);
  if (!hadFinalizer && holdsCapacity(phase)) {
    if (auto added = addFinalizer(object); added.stop) return *added.stop;
  }
  if (phase == PlacementPhase::kMigrating) return kube::ReconcileResult::success();  // the Migration controller's
  const std::string currentRegion = holdsCapacity(phase) ? current.region.value_or("") : "";
  const placement::Request request = toRequest(key, vm.spec);

  std::string moveReason;
  if (!currentRegion.empty()) {
    const bool specChanged = current.observedGeneration != generation;
    if (!specChanged) {
      ledger_.assume(toPlacedVM(key, currentRegion, vm.spec));  // after a restart or another writer
      return done(ensureWorkload(object, vm, StatusDraft{current, {}}, currentRegion));
    }
    auto rechecked = ledger_.recheck(engine_, request, toPlacedVM(key, currentRegion, vm.spec));
    if (!rechecked.ok()) return kube::ReconcileResult::failure(rechecked.error().message);
    const std::optional<placement::Rejection>& misfit = *rechecked;
    if (!misfit) {
      return done(ensureWorkload(object, vm, computeStatus({Kind::kStillFits, currentRegion, 0, {}, ""}, current, generation, now),
                                 currentRegion));
    }
    moveReason = "region " + currentRegion + " no longer fits: " + placement::describe(*misfit) + "; ";
  }

  auto placed = ledger_.place(engine_, request, toPlacedVM(key, "", vm.spec));
  if (!placed.ok()) return kube::ReconcileResult::failure(placed.error().message);
  const placement::Decision& decision = placed->decision;
  if (deps_.observeDecision) {
    static const char* names[] = {"placed", "preempting", "unschedulable", "invalid"};
    deps_.observeDecision(placed->seconds, names[static_cast<int>(decision.outcome)]);
  }
  // The workload of the region a VM leaves is ours to delete when that region is this one.
  const bool leavesLocalRegion = !currentRegion.empty() && currentRegion == deps_.localRegion;

  switch (decision.outcome) {
    case placement::Outcome::kPlaced:
    case placement::Outcome::kPlacedWithPreemption: {
      if (!decision.victims.empty()) {
        auto preempted = preemptVictims(key, vm.spec.priority, decision.victims);
        if (!preempted.isSuccess()) return preempted;  // not all victims are out
      }
      const bool moves = leavesLocalRegion && currentRegion != decision.region;
      if (moves) {
        if (auto removed = workloads_.remove(object); !removed.ok()) {
          return kube::ReconcileResult::failure("removing the workload from " + currentRegion + ": " +
                                                removed.error().toString());
        }
      }
      StatusDraft draft = computeStatus({Kind::kPlaced, decision.region, decision.score,
                                         statusCandidates(decision.candidates), moveReason + decision.message, moves},
                                        current, generation, now);
      if (deps_.events) {
        deps_.events->record(object, kube::EventType::kNormal, "Placed", "Place",
                             "placed in " + decision.region + " (score " +
                                 std::to_string(static_cast<int>(std::round(decision.score))) + "): " +
                                 decision.message);
      }
      // The finalizer is guarded by the resourceVersion the status write returned.
      return done(ensureWorkload(object, vm, std::move(draft), decision.region, /*addFinalizerAfter=*/!hadFinalizer));
    }
    case placement::Outcome::kUnschedulable: {
      const StatusDraft draft =
          computeStatus({Kind::kUnschedulable, "", 0, {}, moveReason + decision.message}, current, generation, now);
      if (deps_.events && current.message != draft.status.message) {
        deps_.events->record(object, kube::EventType::kWarning, "Unschedulable", "Place", *draft.status.message);
      }
      if (leavesLocalRegion) {
        if (auto removed = workloads_.remove(object); !removed.ok()) {
          return kube::ReconcileResult::failure("removing the workload: " + removed.error().toString());
        }
      }
      return done(writeStatus(object, draft));
    }
    case placement::Outcome::kInvalid:
      if (auto removed = workloads_.remove(object); !removed.ok()) {
        return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
      }
      return done(writeStatus(object, computeStatus({Kind::kInvalidSpec, "", 0, {}, decision.message}, current,
                                                    generation, now)));
  }
  return kube::ReconcileResult::success();
}

VMPlacementController::Write VMPlacementController::ensureWorkload(json& object, const api::VMPlacement& vm,
                                                                  StatusDraft draft, const std::string& region,
                                                                  bool addFinalizerAfter) {
  auto record = [&]() -> Write {
    if (auto written = writeStatus(object, draft); written.stop) return written;
    if (!addFinalizerAfter) return {};
    addFinalizerAfter = false;
    return addFinalizer(object);
  };
  if (auto stop = workloads_.ensure(object, vm, draft, region, [&] { return record().stop; })) return {*stop};
  return record();
}

}  // namespace dwcp::controllers
