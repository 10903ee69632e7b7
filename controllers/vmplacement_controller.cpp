#include "controllers/vmplacement_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "controllers/placement_mapping.h"
#include "engines/placement/explain.h"
#include "kube/finalizers.h"
#include "kube/json_fields.h"

namespace dwcp::controllers {

using json = nlohmann::json;
using namespace std::chrono_literals;

using kube::intAt;
using kube::stringAt;

namespace {

using api::ConditionStatus;
using api::PlacementPhase;

// The phase a cached VMPlacement shows; nullopt when it has none (new) or an unknown one.
std::optional<PlacementPhase> phaseOf(const json& object) {
  static const json::json_pointer kPhase("/status/phase");
  return api::parsePlacementPhase(stringAt(object, kPhase));
}

bool holdsCapacity(const std::optional<PlacementPhase>& phase) { return phase && api::holdsCapacity(*phase); }

// VMs with no phase yet, Pending, Unschedulable or Preempted wait for capacity and are retried
// when it changes.
bool waitsForCapacity(const json& object) {
  static const json::json_pointer kPhase("/status/phase");
  const std::string text = stringAt(object, kPhase);
  if (text.empty()) return true;
  const auto phase = api::parsePlacementPhase(text);
  return phase == PlacementPhase::kPending || phase == PlacementPhase::kUnschedulable ||
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

// The status a cached VMPlacement holds; one that does not parse (written around the schema)
// starts over from empty, and the next write replaces what this controller owns of it.
api::VMPlacementStatus statusOf(const json& object) {
  auto parsed = api::parseVMPlacementStatus(object.value("status", json::object()));
  return parsed.ok() ? std::move(parsed).value() : api::VMPlacementStatus{};
}

// Region fields that change where VMs may go; allocation figures are ours and are not.
bool placementRelevantChange(const json& before, const json& after) {
  auto pick = [](const json& r) {
    return json{{"generation", r.value("/metadata/generation"_json_pointer, json())},
                {"phase", r.value("/status/phase"_json_pointer, json())},
                {"health", r.value("/status/healthScore"_json_pointer, json())},
                {"peers", r.value("/status/peers"_json_pointer, json())}};
  };
  return pick(before) != pick(after);
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
  h.onAdd = [enqueue](const json& o) { enqueue(kube::objectKey(o), "VMPlacement added"); };
  h.onUpdate = [this, enqueue](const json& before, const json& after) {
    const std::string key = kube::objectKey(after);
    if (before.value("/metadata/generation"_json_pointer, 0) != after.value("/metadata/generation"_json_pointer, 0)) {
      enqueue(key, "VMPlacement spec changed");
    } else if (after.contains("/metadata/deletionTimestamp"_json_pointer)) {
      enqueue(key, "VMPlacement deleting");
    } else {
      enqueue(key, "VMPlacement updated");
    }
    // A VM that stopped holding capacity (preempted, failed) frees room for the waiting ones.
    if (holdsCapacity(phaseOf(before)) && !holdsCapacity(phaseOf(after))) {
      enqueueWaiting("capacity released by " + key);
    }
  };
  h.onDelete = [this, enqueue](const json& o) {
    const std::string key = kube::objectKey(o);
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
  h.onAdd = [changed](const json& o) { changed("Region " + kube::objectKey(o) + " added"); };
  h.onUpdate = [changed](const json& before, const json& after) {
    if (placementRelevantChange(before, after)) changed("Region " + kube::objectKey(after) + " changed");
  };
  h.onDelete = [changed](const json& o) { changed("Region " + kube::objectKey(o) + " deleted"); };
  return h;
}

void VMPlacementController::enqueueWaiting(const std::string& reason) {
  if (!enqueue_ || !deps_.vmPlacements) return;
  // Highest priority first (then key): the work queue is FIFO, so freed capacity goes to the
  // most important waiting VM, as a batch placement would give it.
  // Runs over every cached VMPlacement: the pointers are parsed once, phase is looked at first.
  static const json::json_pointer kDeleting("/metadata/deletionTimestamp"), kPriority("/spec/priority");
  std::vector<std::pair<int64_t, std::string>> waiting;
  for (const auto& vm : deps_.vmPlacements->list()) {
    if (!waitsForCapacity(*vm)) continue;
    if (vm->contains(kDeleting)) continue;
    const int64_t priority = vm->contains(kPriority) ? intAt(*vm, kPriority) : 50;
    waiting.emplace_back(-priority, kube::objectKey(*vm));
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
                                              intAt(*object, "/metadata/generation"_json_pointer), deps_.clock->wallNow());
    const std::string& message = *draft.status.message;
    // Status first: a victim whose write fails (a conflict while the cache is behind) keeps running.
    json written = *object;
    auto result = writeStatus(written, draft);
    if (result.gone) continue;  // deleted meanwhile: it holds nothing
    if (result.stop) {
      restoreVictims(victims, i);
      return *result.stop;
    }
    if (auto removed = workloads_.remove(*object); !removed.ok()) {
      spdlog::warn("preempting {}: deleting its workload: {}", victim.key, removed.error().toString());
    }
    if (deps_.events) deps_.events->record(*object, kube::EventType::kWarning, "Preempted", "Preempt", message);
  }
  return kube::ReconcileResult::success();
}

void VMPlacementController::restoreVictims(const std::vector<placement::Victim>& victims, size_t from) {
  std::vector<placement::PlacedVM> back;
  for (size_t i = from; i < victims.size(); ++i) {
    const placement::Victim& victim = victims[i];
    auto object = deps_.vmPlacements->get(victim.key);
    if (!object) continue;  // gone: it holds nothing
    auto parsed = api::parseVMPlacement(*object);
    back.push_back(parsed.ok() ? toPlacedVM(victim.key, victim.region, parsed->spec)
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
  json object = *cached;
  if (object.contains("/metadata/deletionTimestamp"_json_pointer)) return finalize(key, object);
  const auto now = deps_.clock->wallNow();
  const int64_t generation = intAt(object, "/metadata/generation"_json_pointer);
  using Kind = PlacementOutcome::Kind;

  auto parsed = api::parseVMPlacement(object);
  if (!parsed.ok() && object.contains("status")) {
    // A status written around the schema is not the spec's fault: start over from none, and the
    // next write replaces what this controller owns of it.
    json withoutStatus = object;
    withoutStatus.erase("status");
    if (auto specOnly = api::parseVMPlacement(withoutStatus); specOnly.ok()) parsed = std::move(specOnly);
  }
  if (!parsed.ok()) {
    forget(key);
    if (auto removed = workloads_.remove(object); !removed.ok()) {
      return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
    }
    const api::VMPlacementStatus current = statusOf(object);
    const StatusDraft draft = computeStatus({Kind::kInvalidSpec, "", 0, {}, parsed.error().message}, current,
                                            generation, now);
    if (deps_.events && current.message != draft.status.message) {
      deps_.events->record(object, kube::EventType::kWarning, "InvalidSpec", "Validate", parsed.error().message);
    }
    return done(writeStatus(object, draft));
  }
  const api::VMPlacement& vm = *parsed;
  const api::VMPlacementStatus& current = vm.status;  // decoded once, with the spec

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
