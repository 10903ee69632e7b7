#include "controllers/vmplacement_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "controllers/cached_types.h"
#include "controllers/mirror.h"
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

// What the region holding a VM reports of its workload, in the VM's status at home: the
// workloadRef (cluster set) and WorkloadReady, whose message names the region.
void showAnswer(StatusDraft& draft, const api::ReservationAnswer& answer, const api::VMPlacement& vm, api::Time now) {
  const int64_t generation = vm.metadata.generation;
  draft.status.workloadRef = answer.workloadRef;
  if (answer.workloadReady) {
    const api::Condition& ready = *answer.workloadReady;
    const std::string& message = ready.message;
    draft.condition("WorkloadReady", ready.status, ready.reason.c_str(),
                    message.find("region " + answer.region) == std::string::npos ? "region " + answer.region + ": " + message
                                                                                : message,
                    generation, now);
  } else if (vm.spec.template_) {
    draft.condition("WorkloadReady", api::ConditionStatus::kUnknown, "RemoteRegion",
                    "the operator of region " + answer.region + " materializes spec.template", generation, now);
  }
}

// Region fields that change where VMs may go. The local region's allocation figures are this
// controller's own and are not; a remote region's, federated, are what it reports it holds.
bool placementRelevantChange(const kube::CachedObject& before, const kube::CachedObject& after, bool federated,
                             const std::string& localRegion) {
  const api::Region* a = asRegion(before);
  const api::Region* b = asRegion(after);
  if (!a || !b) return true;  // a Region that became (or stopped being) invalid
  if (federated && after.key() != localRegion && a->status.allocated != b->status.allocated) return true;
  return before.generation() != after.generation() || a->status.phase != b->status.phase ||
         a->status.healthScore != b->status.healthScore || a->status.peers != b->status.peers;
}

}  // namespace

VMPlacementController::VMPlacementController(VMPlacementControllerDeps deps)
    : deps_(std::move(deps)),
      engine_(deps_.engine),
      ledger_(std::make_shared<PlacementLedger>(deps_.regions, deps_.localRegion, deps_.federation != nullptr)),
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
    ledger_->regionsChanged();
    enqueueWaiting(why);
  };
  kube::EventHandler h;
  h.onAdd = [changed](const kube::CachedObject& o) { changed("Region " + o.key() + " added"); };
  h.onUpdate = [this, changed](const kube::CachedObject& before, const kube::CachedObject& after) {
    if (placementRelevantChange(before, after, deps_.federation != nullptr, deps_.localRegion)) {
      changed("Region " + after.key() + " changed");
    }
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

void VMPlacementController::seedLedger() { ledger_->seed(*deps_.vmPlacements); }

api::PlacementRecord VMPlacementController::recordOf(const api::VMPlacement& vm, const std::string& region,
                                                     api::RecordState state, int64_t epoch) const {
  return {vm.metadata.uid, vm.metadata.namespace_, vm.metadata.name, deps_.localRegion, region, state, epoch, vm.spec};
}

void VMPlacementController::excludeRefusers(const std::string& key, int64_t generation, placement::Request& request,
                                            std::string& note) {
  std::lock_guard lock(pendingMu_);
  auto it = refusals_.find(key);
  if (it == refusals_.end()) return;
  for (auto refusal = it->second.begin(); refusal != it->second.end();) {
    auto region = deps_.regions->get(refusal->first);
    if (!region || region->resourceVersion() != refusal->second.regionVersion || refusal->second.generation != generation) {
      refusal->second.excluding = false;  // it changed since: worth asking again (its epoch stays used)
    }
    if (!refusal->second.excluding) {
      ++refusal;
      continue;
    }
    request.constraints.excludeRegions.push_back(refusal->first);
    note += "region " + refusal->first + " refused: " + refusal->second.reason + "; ";
    ++refusal;
  }
}

void VMPlacementController::withdrawRecord(const std::string& key, const std::string& uid) {
  {
    std::lock_guard lock(pendingMu_);
    pending_.erase(key);  // refusals stay: a VM that waits keeps away from who refused it
  }
  if (!deps_.federation || uid.empty()) return;
  if (auto record = deps_.federation->record(uid); record && record->home == deps_.localRegion) {
    deps_.federation->removeRecord(uid);
  }
}

std::map<std::string, std::string> VMPlacementController::ledger() const { return ledger_->placements(); }

void VMPlacementController::forget(const std::string& key) { ledger_->forget(key); }

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
  // A VM of this home placed elsewhere: its region deletes its copy when the record goes.
  withdrawRecord(key, stringAt(object, "/metadata/uid"_json_pointer));
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
  ledger_->assume(back);
}

kube::ReconcileResult VMPlacementController::reconcile(const std::string& key, const std::string& /*reason: logged by the runner*/) {
  auto cached = deps_.vmPlacements->get(key);
  if (!cached) {
    forget(key);
    std::string uid;
    {
      std::lock_guard lock(pendingMu_);
      if (auto it = pending_.find(key); it != pending_.end()) {
        uid = it->second.uid;
        pending_.erase(it);
      }
      refusals_.erase(key);
    }
    // Deleted while its reservation was in flight (the record controller sweeps what a restart forgot).
    if (deps_.federation && !uid.empty()) deps_.federation->removeRecord(uid);
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
    withdrawRecord(key, stringAt(object, "/metadata/uid"_json_pointer));
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
  Federation* federation = deps_.federation;
  if (federation) {
    if (std::string home = mirrorHome(vm, deps_.localRegion); !home.empty()) {
      return reconcileMirror(key, object, vm, home);
    }
  }

  const std::optional<PlacementPhase> phase = current.phase;
  // The finalizer guards the capacity a VM holds. One that holds capacity already (placed before
  // a restart, or an earlier finalizer write failed) gets it before anything else; a new VM gets
  // its Placed status first and the finalizer right after, keeping one API round trip off the
  // way from create to Placed. A deletion in between arrives as a watch DELETE, which releases
  // the ledger entry just as the finalizer would (the API server's admission policy in
  // config/admission/ usually adds the finalizer at create, and then neither write happens).
  bool hadFinalizer = kube::hasFinalizer(object, kPlacementFinalizer);
  if (!hadFinalizer && holdsCapacity(phase)) {
    if (auto added = addFinalizer(object); added.stop) return *added.stop;
    hadFinalizer = true;
  }
  if (phase == PlacementPhase::kMigrating) return kube::ReconcileResult::success();  // the Migration controller's
  std::string currentRegion = holdsCapacity(phase) ? current.region.value_or("") : "";
  placement::Request request = toRequest(key, vm.spec);
  const bool specChanged = current.observedGeneration != generation;
  std::string moveReason;

  // Federated: a reservation in flight, and a VM held by another region.
  if (federation) {
    const auto record = federation->record(vm.metadata.uid);
    if (record && record->home == deps_.localRegion && record->state == api::RecordState::kPlaced &&
        record->epoch > current.epoch.value_or(0)) {
      // This home wrote Placed at that epoch; the cache has not brought the write back yet.
      return kube::ReconcileResult::requeue(100ms);
    }
    if (record && record->home == deps_.localRegion && record->state == api::RecordState::kReserving &&
        record->region != deps_.localRegion) {
      std::string excluded, note;
      if (auto result = continueReservation(key, object, vm, *record, hadFinalizer, excluded, note)) return *result;
      if (!excluded.empty()) request.constraints.excludeRegions.push_back(excluded);
      moveReason += note;
    }
    excludeRefusers(key, generation, request, moveReason);
    const auto& excludedRegions = request.constraints.excludeRegions;
    if (!currentRegion.empty() &&
        std::find(excludedRegions.begin(), excludedRegions.end(), currentRegion) != excludedRegions.end()) {
      currentRegion.clear();  // it refused the changed spec
    }
    if (!currentRegion.empty() && currentRegion != deps_.localRegion) {
      const auto answer = federation->answer(currentRegion, vm.metadata.uid);
      const bool released = answer && answer->epoch == current.epoch.value_or(0) && !answer->admitted;
      if (released) {
        moveReason += "region " + currentRegion + " released it: " + answer->reason + "; ";
        request.constraints.excludeRegions.push_back(currentRegion);
        currentRegion.clear();
      } else if (!specChanged) {
        if (!record || record->region != currentRegion || record->epoch != current.epoch.value_or(0)) {
          federation->putRecord(recordOf(vm, currentRegion, api::RecordState::kPlaced, current.epoch.value_or(0)));
        } else if (record->state != api::RecordState::kPlaced || !(record->spec == vm.spec)) {
          federation->putRecord(recordOf(vm, currentRegion, api::RecordState::kPlaced, record->epoch));
        }
        StatusDraft draft{current, {}};
        if (answer && answer->admitted) showAnswer(draft, *answer, vm, now);
        return done(writeStatus(object, draft));
      }
    }
  }

  if (!currentRegion.empty()) {
    if (!specChanged) {
      ledger_->assume(toPlacedVM(key, currentRegion, vm.spec));  // after a restart or another writer
      if (federation) federation->putRecord(recordOf(vm, currentRegion, api::RecordState::kPlaced, current.epoch.value_or(0)));
      return done(ensureWorkload(object, vm, StatusDraft{current, {}}, currentRegion));
    }
    auto rechecked = ledger_->recheck(engine_, request, toPlacedVM(key, currentRegion, vm.spec));
    if (!rechecked.ok()) return kube::ReconcileResult::failure(rechecked.error().message);
    const std::optional<placement::Rejection>& misfit = *rechecked;
    if (!misfit) {
      if (federation && currentRegion != deps_.localRegion) {
        // The region holding it decides whether the changed spec still fits its capacity.
        ledger_->forget(key);
        placement::Decision same;
        same.region = currentRegion;
        same.score = current.score.value_or(0);
        same.message = "spec changed; region " + currentRegion + " still satisfies every constraint";
        return startReservation(key, vm, currentRegion, same, "");
      }
      if (federation) federation->putRecord(recordOf(vm, currentRegion, api::RecordState::kPlaced, current.epoch.value_or(0)));
      return done(ensureWorkload(object, vm, computeStatus({Kind::kStillFits, currentRegion, 0, {}, ""}, current, generation, now),
                                 currentRegion));
    }
    moveReason += "region " + currentRegion + " no longer fits: " + placement::describe(*misfit) + "; ";
  }

  auto placed = ledger_->place(engine_, request, toPlacedVM(key, "", vm.spec));
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
      if (federation && decision.region != deps_.localRegion) {
        if (!hadFinalizer) {  // before anything is made outside this object
          if (auto added = addFinalizer(object); added.stop) {
            ledger_->forget(key);
            return *added.stop;
          }
        }
        return startReservation(key, vm, decision.region, decision, moveReason);
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
      const int64_t epoch = draft.status.epoch.value_or(0);
      // The finalizer is guarded by the resourceVersion the status write returned.
      Write written = ensureWorkload(object, vm, std::move(draft), decision.region, /*addFinalizerAfter=*/!hadFinalizer);
      if (federation && !written.stop && !written.gone) {
        federation->putRecord(recordOf(vm, decision.region, api::RecordState::kPlaced, epoch));
      }
      return done(written);
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
      withdrawRecord(key, vm.metadata.uid);
      return done(writeStatus(object, draft));
    }
    case placement::Outcome::kInvalid:
      withdrawRecord(key, vm.metadata.uid);
      if (auto removed = workloads_.remove(object); !removed.ok()) {
        return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
      }
      return done(writeStatus(object, computeStatus({Kind::kInvalidSpec, "", 0, {}, decision.message}, current,
                                                    generation, now)));
  }
  return kube::ReconcileResult::success();
}

kube::ReconcileResult VMPlacementController::startReservation(const std::string& key, const api::VMPlacement& vm,
                                                              const std::string& region,
                                                              const placement::Decision& decision,
                                                              const std::string& note) {
  Federation& federation = *deps_.federation;
  // Each attempt has an epoch of its own, above the status's and any earlier record's, so the
  // region answers this attempt and not an earlier refusal.
  int64_t epoch = vm.status.epoch.value_or(0);
  if (auto previous = federation.record(vm.metadata.uid)) epoch = std::max(epoch, previous->epoch);
  {
    // A refused attempt's record is withdrawn when the VM waits: its epoch is not reused, or the
    // region's refusal of it would answer the new attempt.
    std::lock_guard lock(pendingMu_);
    if (auto it = refusals_.find(key); it != refusals_.end()) {
      for (const auto& [region, refusal] : it->second) epoch = std::max(epoch, refusal.epoch);
    }
  }
  ++epoch;
  federation.putRecord(recordOf(vm, region, api::RecordState::kReserving, epoch));
  {
    std::lock_guard lock(pendingMu_);
    Pending& pending = pending_[key];
    pending = Pending{vm.metadata.uid, region, epoch, vm.metadata.generation, decision.score,
                      statusCandidates(decision.candidates), note + decision.message, deps_.clock->steadyNow(), false};
  }
  spdlog::info("VMPlacement {}: reserving capacity in region {} (epoch {})", key, region, epoch);
  // The answer enqueues the VM; this only notices a reservation nobody answers.
  return kube::ReconcileResult::requeue(deps_.reservationTimeout);
}

std::optional<kube::ReconcileResult> VMPlacementController::continueReservation(
    const std::string& key, json& object, const api::VMPlacement& vm, const api::PlacementRecord& record,
    bool hadFinalizer, std::string& excluded, std::string& note) {
  Federation& federation = *deps_.federation;
  const auto now = deps_.clock->wallNow();
  const int64_t generation = vm.metadata.generation;
  Pending pending;
  {
    std::lock_guard lock(pendingMu_);
    auto [it, fresh] = pending_.try_emplace(key);
    if (fresh) {  // after a restart: what the decision said is gone, the wait starts now
      it->second = Pending{vm.metadata.uid, record.region, record.epoch, generation, 0, {}, "",
                           deps_.clock->steadyNow(), false};
    }
    pending = it->second;
  }
  if (pending.generation != generation || pending.epoch != record.epoch || !(record.spec == vm.spec)) {
    ledger_->forget(key);
    return std::nullopt;  // the spec changed meanwhile: decide again (the new record replaces this one)
  }
  const auto answer = federation.answer(record.region, vm.metadata.uid);
  if (!answer || answer->epoch != record.epoch) {
    // Still waiting. A region that stopped being heard from will not answer: place elsewhere.
    auto region = deps_.regions->get(record.region);
    const api::Region* typed = region ? asRegion(*region) : nullptr;
    if (!typed || !typed->status.phase || *typed->status.phase == api::RegionPhase::kUnknown ||
        *typed->status.phase == api::RegionPhase::kFailed) {
      ledger_->forget(key);
      excluded = record.region;
      note = "region " + record.region + " did not answer the reservation and is not heard from; ";
      return std::nullopt;
    }
    const auto waited = deps_.clock->steadyNow() - pending.since;
    if (waited < deps_.reservationTimeout) {
      return kube::ReconcileResult::requeue(std::chrono::duration_cast<std::chrono::milliseconds>(deps_.reservationTimeout - waited));
    }
    if (!pending.reported) {
      {
        std::lock_guard lock(pendingMu_);
        if (auto it = pending_.find(key); it != pending_.end()) it->second.reported = true;
      }
      const StatusDraft draft = computeStatus(
          {PlacementOutcome::Kind::kReserving, record.region, 0, {},
           "waiting for region " + record.region + " to admit the reservation (epoch " + std::to_string(record.epoch) +
               "); no answer after " + std::to_string(deps_.reservationTimeout.count() / 1000) + "s"},
          vm.status, generation, now);
      if (auto written = writeStatus(object, draft); written.stop) return *written.stop;
    }
    return kube::ReconcileResult::requeue(deps_.reservationTimeout);
  }
  ledger_->forget(key);  // admitted: the region counts it; refused: it holds nothing
  if (!answer->admitted) {
    auto region = deps_.regions->get(record.region);
    std::lock_guard lock(pendingMu_);
    pending_.erase(key);
    refusals_[key][record.region] = Refusal{answer->reason, region ? region->resourceVersion() : "", generation, record.epoch};
    spdlog::info("VMPlacement {}: region {} refused the reservation: {}", key, record.region, answer->reason);
    return std::nullopt;
  }
  const std::string& previous = vm.status.region.value_or("");
  const bool leavesLocal = vm.status.phase && api::holdsCapacity(*vm.status.phase) && previous == deps_.localRegion;
  if (leavesLocal) {
    if (auto removed = workloads_.remove(object); !removed.ok()) {
      return kube::ReconcileResult::failure("removing the workload from " + previous + ": " + removed.error().toString());
    }
  }
  PlacementOutcome outcome{PlacementOutcome::Kind::kPlaced, record.region, pending.score, pending.candidates,
                           pending.message.empty() ? "admitted by region " + record.region : pending.message,
                           leavesLocal, record.epoch};
  StatusDraft draft = computeStatus(outcome, vm.status, generation, now);
  if (pending.candidates.empty()) {  // after a restart: keep what the last decision wrote
    draft.status.score = vm.status.score;
    draft.status.candidates = vm.status.candidates;
  }
  showAnswer(draft, *answer, vm, now);
  if (deps_.events) {
    deps_.events->record(object, kube::EventType::kNormal, "Placed", "Place",
                         "placed in " + record.region + " (admitted by region " + record.region + ", epoch " +
                             std::to_string(record.epoch) + ")");
  }
  Write written = writeStatus(object, draft);
  if (!written.stop && !written.gone && !hadFinalizer) written = addFinalizer(object);
  if (written.stop || written.gone) return done(written);
  {
    std::lock_guard lock(pendingMu_);
    pending_.erase(key);
    refusals_.erase(key);
  }
  api::PlacementRecord placedRecord = record;
  placedRecord.state = api::RecordState::kPlaced;
  federation.putRecord(placedRecord);
  return kube::ReconcileResult::success();
}

kube::ReconcileResult VMPlacementController::reconcileMirror(const std::string& key, json& object,
                                                             const api::VMPlacement& vm, const std::string& home) {
  // It holds room here from the moment the reservation controller admitted and created it.
  if (!kube::hasFinalizer(object, kPlacementFinalizer)) {
    if (auto added = addFinalizer(object); added.stop) return *added.stop;
  }
  ledger_->assume(mirrorHold(key, deps_.localRegion, vm.spec));
  const int64_t epoch = mirrorEpoch(vm);
  StatusDraft draft = computeStatus({PlacementOutcome::Kind::kMirrored, deps_.localRegion, 0, {},
                                     "holds capacity here for VMPlacement " + vm.metadata.namespace_ + "/" +
                                         mirroredName(vm) + " of region " + home +
                                         " (reservation admitted at epoch " + std::to_string(epoch) + ")",
                                     false, epoch},
                                    vm.status, vm.metadata.generation, deps_.clock->wallNow());
  if (vm.status.phase == PlacementPhase::kPlaced && vm.status.region == deps_.localRegion) {
    draft.status.placedAt = vm.status.placedAt;
  }
  return done(ensureWorkload(object, vm, std::move(draft), deps_.localRegion));
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
