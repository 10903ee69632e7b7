#include "controllers/reservation_controller.h"

#include <set>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "controllers/cached_types.h"
#include "controllers/mirror.h"
#include "controllers/placement_mapping.h"
#include "engines/placement/explain.h"

namespace dwcp::controllers {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The one mirror of `uid` (a second, which nothing makes, is left to its own reconcile).
kube::ObjectPtr mirrorOf(const kube::Store& vmPlacements, const std::string& uid) {
  auto mirrors = vmPlacements.byIndex(kMirrorsByUid, uid);
  return mirrors.empty() ? nullptr : mirrors.front();
}

// What admission checks of a record: capacity and the region's own state, not the VM's placement
// constraints (its home applied them, with the same Regions).
placement::Request admissionRequest(const std::string& key, const api::VMPlacementSpec& spec) {
  placement::Request request = toRequest(key, spec);
  request.constraints = {};
  return request;
}

}  // namespace

ReservationController::ReservationController(ReservationControllerDeps deps) : deps_(std::move(deps)) {}

kube::EventHandler ReservationController::vmPlacementHandler(Enqueue enqueue) const {
  const std::string local = deps_.localRegion;
  auto uidOf = [local](const kube::CachedObject& object) -> std::string {
    const api::VMPlacement* vm = asVMPlacement(object);
    return vm ? mirroredUid(*vm) : std::string();
  };
  kube::EventHandler h;
  h.onAdd = [enqueue, uidOf](const kube::CachedObject& o) {
    if (auto uid = uidOf(o); !uid.empty()) enqueue(uid, "mirror added");
  };
  h.onUpdate = [enqueue, uidOf](const kube::CachedObject&, const kube::CachedObject& after) {
    if (auto uid = uidOf(after); !uid.empty()) enqueue(uid, "mirror changed");
  };
  h.onDelete = [enqueue, uidOf](const kube::CachedObject& o) {
    if (auto uid = uidOf(o); !uid.empty()) return enqueue(uid, "mirror deleted");
    if (const api::VMPlacement* vm = asVMPlacement(o); vm && !vm->metadata.uid.empty()) {
      enqueue(vm->metadata.uid, "VMPlacement deleted");  // its record, if any, is withdrawn
    }
  };
  return h;
}

std::vector<std::string> ReservationController::knownUids() const {
  std::set<std::string> uids;
  for (const auto& record : deps_.federation->recordsIn(deps_.localRegion)) uids.insert(record.uid);
  for (const auto& uid : deps_.federation->answeredUids()) uids.insert(uid);
  for (const auto& object : deps_.vmPlacements->list()) {
    if (const api::VMPlacement* vm = asVMPlacement(*object)) {
      if (auto uid = mirroredUid(*vm); !uid.empty()) uids.insert(uid);
      if (!vm->metadata.uid.empty()) {
        if (auto record = deps_.federation->record(vm->metadata.uid); record && record->home == deps_.localRegion) {
          uids.insert(vm->metadata.uid);
        }
      }
    }
  }
  return {uids.begin(), uids.end()};
}

kube::ReconcileResult ReservationController::reconcile(const std::string& uid, const std::string& /*reason*/) {
  Federation& federation = *deps_.federation;
  const std::optional<api::PlacementRecord> record = federation.record(uid);
  const kube::ObjectPtr mirror = mirrorOf(*deps_.vmPlacements, uid);

  if (record && record->home == deps_.localRegion) {
    // This home's own record: withdrawn when its VMPlacement is gone (the VMPlacement controller
    // withdraws it on delete; this catches a delete a restart forgot).
    if (deps_.vmPlacements->byIndex(kVMPlacementsByUid, uid).empty()) {
      spdlog::info("withdrawing the placement record of VM {} ({}/{}): its VMPlacement is gone", uid,
                   record->namespace_, record->name);
      federation.removeRecord(uid);
    }
    return kube::ReconcileResult::success();
  }

  const bool wanted = record && record->region == deps_.localRegion;
  if (!wanted) {
    if (mirror) {
      if (mirror->deleting()) return kube::ReconcileResult::success();  // its finalizer is at work
      const api::VMPlacement* vm = asVMPlacement(*mirror);
      const std::string home = vm ? mirrorHome(*vm, deps_.localRegion) : std::string();
      if (!record && !home.empty() && !federation.caughtUpWith(home)) {
        return kube::ReconcileResult::requeue(2s);  // its record may not have arrived yet
      }
      const std::string why = record ? "its record now places it in region " + record->region
                                     : "region " + home + " withdrew its record";
      auto parts = mirror->key();
      const auto slash = parts.find('/');
      auto removed = deps_.client->remove(api::kVMPlacementResource, parts.substr(0, slash), parts.substr(slash + 1),
                                          kube::DeletePreconditions{vm ? vm->metadata.uid : ""});
      if (!removed.ok() && !removed.error().isNotFound()) {
        if (removed.error().isConflict()) return kube::ReconcileResult::conflict("deleting mirror");
        return kube::ReconcileResult::failure("deleting mirror " + mirror->key() + ": " + removed.error().toString());
      }
      spdlog::info("mirror {} of VM {} deleted: {}", mirror->key(), uid, why);
      if (deps_.events) {
        deps_.events->record(mirror->toJson(), kube::EventType::kNormal, "Released", "Release", "released: " + why);
      }
    }
    if (federation.answer(deps_.localRegion, uid)) federation.removeAnswer(uid);
    return kube::ReconcileResult::success();
  }

  if (mirror && mirror->deleting()) return kube::ReconcileResult::requeue(500ms);  // gone soon, then admitted again
  if (!mirror) return admit(*record);
  return converge(*record, *mirror);
}

void ReservationController::refuse(const api::PlacementRecord& record, const std::string& reason) {
  api::ReservationAnswer answer;
  answer.uid = record.uid;
  answer.region = deps_.localRegion;
  answer.epoch = record.epoch;
  answer.admitted = false;
  answer.reason = reason;
  spdlog::info("reservation of VM {} ({}/{} of region {}, epoch {}) refused: {}", record.uid, record.namespace_,
               record.name, record.home, record.epoch, reason);
  deps_.federation->putAnswer(answer);
}

kube::ReconcileResult ReservationController::admit(const api::PlacementRecord& record) {
  Federation& federation = *deps_.federation;
  if (auto answer = federation.answer(deps_.localRegion, record.uid); answer && answer->epoch == record.epoch) {
    if (!answer->admitted) return kube::ReconcileResult::success();  // refused; the home decides again
    // Admitted, and its mirror made, but the cache has not seen the mirror yet: its add event
    // comes. Admitting it again would hold the room twice, or free the hold on AlreadyExists.
    return kube::ReconcileResult::requeue(1s);
  }
  const std::string name = mirrorName(record);
  const std::string key = record.namespace_ + "/" + name;
  // The decision and its commit in one critical section of the ledger.
  auto misfit = deps_.ledger->recheck(*deps_.engine, admissionRequest(key, record.spec),
                                      mirrorHold(key, deps_.localRegion, record.spec));
  if (!misfit.ok()) return kube::ReconcileResult::failure(misfit.error().message);
  if (*misfit) {
    refuse(record, placement::describe(**misfit));
    return kube::ReconcileResult::success();
  }
  auto created = deps_.client->create(api::kVMPlacementResource, record.namespace_, mirrorObject(record));
  if (!created.ok()) {
    const kube::Error& error = created.error();
    if (error.isAlreadyExists()) {
      // A mirror of that name is there (of an earlier VM of the same name, being deleted): it holds
      // the ledger entry of this key, which stays; this one is admitted once it is gone.
      return kube::ReconcileResult::requeue(500ms);
    }
    deps_.ledger->forget(key);
    if (error.isNotFound() || error.code == 403 || error.code == 422) {
      refuse(record, "cannot hold it in namespace " + record.namespace_ + " of region " + deps_.localRegion + ": " +
                         error.message);
      return kube::ReconcileResult::success();
    }
    return kube::ReconcileResult::failure("creating mirror " + key + ": " + error.toString());
  }
  api::ReservationAnswer answer;
  answer.uid = record.uid;
  answer.region = deps_.localRegion;
  answer.epoch = record.epoch;
  answer.admitted = true;
  answer.reason = "admitted";
  answer.mirror = name;
  // Its workload now, not after a watch round trip, and in the answer: the home's status is
  // complete in one write. The VMPlacement controller names it in the mirror's status when the
  // mirror reaches its cache.
  if (deps_.workloads) {
    if (auto mirror = api::parseVMPlacement(created.value()); mirror.ok()) {
      auto applied = deps_.workloads->applyEarly(created.value(), *mirror);
      if (!applied.ok()) {
        spdlog::warn("mirror {}: applying its workload early: {} (its reconcile applies it)", key, applied.error().toString());
      } else if (const std::optional<api::WorkloadRef>& ref = applied.value()) {
        answer.workloadRef = *ref;
        answer.workloadRef->cluster = deps_.localRegion;
        answer.workloadReady = api::Condition{"WorkloadReady", api::ConditionStatus::kTrue, "Materialized",
                                              appliedMessage(*ref, deps_.localRegion), {}, std::nullopt};
      }
    }
  }
  spdlog::info("reservation of VM {} ({}/{} of region {}, epoch {}) admitted as {}", record.uid, record.namespace_,
               record.name, record.home, record.epoch, key);
  federation.putAnswer(answer);
  return kube::ReconcileResult::success();
}

kube::ReconcileResult ReservationController::converge(const api::PlacementRecord& record,
                                                      const kube::CachedObject& mirror) {
  const api::VMPlacement* vm = asVMPlacement(mirror);
  if (!vm) return kube::ReconcileResult::failure("mirror " + mirror.key() + " does not parse: " + mirror.decodeError());
  const api::VMPlacementSpec spec = mirrorSpec(record);
  if (!(vm->spec == spec) || mirrorEpoch(*vm) != record.epoch) {
    if (!(vm->spec.resources == spec.resources)) {
      auto misfit = deps_.ledger->recheck(*deps_.engine, admissionRequest(mirror.key(), spec),
                                          mirrorHold(mirror.key(), deps_.localRegion, spec));
      if (!misfit.ok()) return kube::ReconcileResult::failure(misfit.error().message);
      if (*misfit) {
        refuse(record, "its changed resources do not fit: " + placement::describe(**misfit));
        return kube::ReconcileResult::success();
      }
    }
    json updated = mirror.toJson();
    updated["spec"] = spec;
    updated["metadata"]["annotations"][kEpochAnnotation] = std::to_string(record.epoch);
    updated.erase("status");
    auto written = deps_.client->update(api::kVMPlacementResource, updated);
    if (!written.ok()) {
      if (written.error().isConflict()) return kube::ReconcileResult::conflict("updating mirror");
      if (written.error().isNotFound()) return kube::ReconcileResult::requeue(100ms);
      return kube::ReconcileResult::failure("updating mirror " + mirror.key() + ": " + written.error().toString());
    }
    return kube::ReconcileResult::success();  // its update event brings the answer
  }
  api::ReservationAnswer answer;
  answer.uid = record.uid;
  answer.region = deps_.localRegion;
  answer.epoch = record.epoch;
  answer.admitted = true;
  answer.reason = "admitted";
  answer.mirror = vm->metadata.name;
  if (vm->status.workloadRef) {
    answer.workloadRef = vm->status.workloadRef;
    answer.workloadRef->cluster = deps_.localRegion;
  }
  if (const api::Condition* ready = api::findCondition(vm->status.conditions, "WorkloadReady")) {
    answer.workloadReady = *ready;
    // The mirror's generation and transition time mean nothing at home (it keeps its own).
    answer.workloadReady->observedGeneration.reset();
    answer.workloadReady->lastTransitionTime = {};
  }
  deps_.federation->putAnswer(answer);
  return kube::ReconcileResult::success();
}

}  // namespace dwcp::controllers
