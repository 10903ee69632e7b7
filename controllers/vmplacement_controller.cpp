#include "controllers/vmplacement_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "controllers/placement_mapping.h"
#include "engines/placement/explain.h"
#include "kube/conditions.h"
#include "kube/finalizers.h"
#include "kube/time_format.h"

namespace dwcp::controllers {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string stringAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return {};
  const json& v = object.at(pointer);
  return v.is_string() ? v.get<std::string>() : std::string();
}

int64_t intAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return 0;
  const json& v = object.at(pointer);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

// Phases whose VMs wait for capacity and are retried when it changes.
bool waitsForCapacity(const std::string& phase) {
  return phase.empty() || phase == "Pending" || phase == "Unschedulable" || phase == "Preempted";
}

bool holdsCapacity(const std::string& phase) { return phase == "Placed" || phase == "Migrating"; }

void condition(json& status, const char* type, const char* value, const std::string& reason,
               const std::string& message, int64_t generation, kube::Clock::WallTime now) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = json::array();
  (void)kube::setCondition(status["conditions"], {type, value, reason, message.substr(0, 32768), generation}, now);
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

std::vector<WorkloadKind> defaultWorkloadKinds() {
  return {{"kubevirt.io/v1", "VirtualMachine"}, {"v1", "ConfigMap"}, {"apps/v1", "Deployment"},
          {"apps/v1", "StatefulSet"}};
}

VMPlacementController::VMPlacementController(VMPlacementControllerDeps deps)
    : deps_(std::move(deps)), engine_(deps_.engine) {}

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
    if (holdsCapacity(stringAt(before, "/status/phase"_json_pointer)) &&
        !holdsCapacity(stringAt(after, "/status/phase"_json_pointer))) {
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
    {
      std::lock_guard lock(mu_);
      snapshot_.reset();
    }
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
  static const json::json_pointer kPhase("/status/phase"), kDeleting("/metadata/deletionTimestamp"),
      kPriority("/spec/priority");
  std::vector<std::pair<int64_t, std::string>> waiting;
  for (const auto& vm : deps_.vmPlacements->list()) {
    if (!waitsForCapacity(stringAt(*vm, kPhase))) continue;
    if (vm->contains(kDeleting)) continue;
    const int64_t priority = vm->contains(kPriority) ? intAt(*vm, kPriority) : 50;
    waiting.emplace_back(-priority, kube::objectKey(*vm));
  }
  std::sort(waiting.begin(), waiting.end());
  for (const auto& [negativePriority, key] : waiting) enqueue_(key, reason);
}

void VMPlacementController::seedLedger() {
  std::lock_guard lock(mu_);
  ledger_.clear();
  snapshot_.reset();
  for (const auto& object : deps_.vmPlacements->list()) {
    const std::string region = stringAt(*object, "/status/region"_json_pointer);
    if (region.empty() || !holdsCapacity(stringAt(*object, "/status/phase"_json_pointer))) continue;
    auto vm = api::parseVMPlacement(*object);
    if (!vm.ok()) continue;
    const std::string key = kube::objectKey(*object);
    ledger_[key] = toPlacedVM(key, region, vm->spec);
  }
  spdlog::info("placement ledger seeded with {} placed VMs", ledger_.size());
}

std::map<std::string, std::string> VMPlacementController::ledger() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [key, vm] : ledger_) out[key] = vm.region;
  return out;
}

placement::Snapshot* VMPlacementController::snapshotLocked() {
  if (snapshot_) return &*snapshot_;
  std::vector<placement::RegionInfo> regions;
  std::vector<placement::RttSample> rtts;
  std::map<std::string, size_t> index;
  for (const auto& object : deps_.regions->list()) {
    auto region = api::parseRegion(*object);
    if (!region.ok()) continue;  // the Region controller reports it
    auto samples = rttSamples(*region);
    rtts.insert(rtts.end(), samples.begin(), samples.end());
    index[region->metadata.name] = regions.size();
    regions.push_back(toRegionInfo(*region));
  }
  std::vector<placement::PlacedVM> vms;
  vms.reserve(ledger_.size());
  for (const auto& [key, vm] : ledger_) {
    auto it = index.find(vm.region);
    if (it == index.end()) continue;
    auto& allocated = regions[it->second].allocated;
    allocated.cpu += vm.resources.cpu;
    allocated.memoryMiB += vm.resources.memoryMiB;
    allocated.storageGiB += vm.resources.storageGiB;
    allocated.vms += 1;
    vms.push_back(vm);
  }
  auto built = placement::Snapshot::build(std::move(regions), rtts, vms);
  if (!built.ok()) {
    spdlog::error("placement snapshot: {}", built.error().message);
    return nullptr;
  }
  snapshot_ = std::move(built.value());
  return &*snapshot_;
}

void VMPlacementController::assume(const placement::PlacedVM& vm) {
  std::lock_guard lock(mu_);
  assumeLocked(vm);
}

void VMPlacementController::assumeLocked(const placement::PlacedVM& vm) {
  ledger_[vm.key] = vm;
  if (!snapshot_) return;
  snapshot_->remove(vm.key);
  if (!snapshot_->add(vm).ok()) snapshot_.reset();
}

void VMPlacementController::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  if (ledger_.erase(key) && snapshot_) snapshot_->remove(key);
}

kube::ReconcileResult VMPlacementController::done(const Write& write) {
  return write.stop.value_or(kube::ReconcileResult::success());
}

VMPlacementController::Write VMPlacementController::gone(const std::string& key) {
  forget(key);
  enqueueWaiting("VMPlacement " + key + " is gone");
  return {kube::ReconcileResult::success(), true};
}

VMPlacementController::Write VMPlacementController::writeStatus(json& object, json status) {
  const json current = object.value("status", json::object());
  if (!kube::statusChanged(current, status)) return {};
  json updated = object;
  updated["status"] = std::move(status);
  auto written = deps_.client->updateStatus(api::kVMPlacementResource, updated);
  if (written.ok()) {
    object = std::move(written.value());
    return {};
  }
  if (written.error().isConflict()) return {kube::ReconcileResult::conflict("status write")};
  if (written.error().isNotFound()) return gone(kube::objectKey(object));
  return {kube::ReconcileResult::failure("status write: " + written.error().toString())};
}

VMPlacementController::Write VMPlacementController::addFinalizer(json& object) {
  auto patched = kube::addFinalizer(*deps_.client, api::kVMPlacementResource, object, kPlacementFinalizer);
  if (!patched.ok()) {
    if (patched.error().isConflict()) return {kube::ReconcileResult::conflict("adding finalizer")};
    if (patched.error().isNotFound()) return gone(kube::objectKey(object));
    return {kube::ReconcileResult::failure("adding finalizer: " + patched.error().toString())};
  }
  object = std::move(patched.value());  // carries the new resourceVersion for a later write
  return {};
}

kube::Status VMPlacementController::deleteWorkload(const json& object) {
  static const json::json_pointer kRef("/status/workloadRef");
  if (!object.contains(kRef)) return kube::okStatus();
  const json& ref = object.at(kRef);
  const std::string name = stringAt(ref, "/name"_json_pointer);
  if (name.empty() || !deps_.discovery) return kube::okStatus();
  const std::string apiVersion = stringAt(ref, "/apiVersion"_json_pointer);
  const std::string kind = stringAt(ref, "/kind"_json_pointer);
  const std::string ns = stringAt(ref, "/namespace"_json_pointer);
  const std::string vmNamespace = stringAt(object, "/metadata/namespace"_json_pointer);
  const std::string vmName = stringAt(object, "/metadata/name"_json_pointer);
  const std::string vmUid = stringAt(object, "/metadata/uid"_json_pointer);
  auto refuse = [&](const std::string& why) {
    const std::string message = "status.workloadRef " + apiVersion + " " + kind + " " + ns + "/" + name +
                                " was not deleted: " + why;
    spdlog::warn("VMPlacement {}/{}: {}", vmNamespace, vmName, message);
    if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, "WorkloadRefRefused", "DeleteWorkload", message);
    return kube::okStatus();
  };
  if (ns != vmNamespace) return refuse("it is not in the VMPlacement's namespace " + vmNamespace);
  auto type = deps_.discovery->resourceFor(apiVersion, kind);
  if (!type.ok()) return type.error().isNotFound() ? kube::okStatus() : kube::Status(type.error());
  if (!type->namespaced) return refuse("kind " + kind + " is cluster-scoped");
  auto current = deps_.client->get(*type, ns, name);
  if (!current.ok()) return current.error().isNotFound() ? kube::okStatus() : kube::Status(current.error());
  const json meta = current->value("metadata", json::object());
  if (!meta.is_object()) return refuse("it has no metadata");
  const json labels = meta.value("labels", json::object());
  if (!labels.is_object() || labels.value(kPlacementLabel, json()) != vmName) {
    return refuse(std::string("its label ") + kPlacementLabel + " does not name " + vmName);
  }
  const json owners = meta.value("ownerReferences", json::array());
  const bool controlled =
      !vmUid.empty() && owners.is_array() && std::any_of(owners.begin(), owners.end(), [&](const json& owner) {
        return owner.is_object() && owner.value("uid", json()) == vmUid && owner.value("controller", json()) == true &&
               owner.value("kind", json()) == "VMPlacement";
      });
  if (!controlled) return refuse("it has no controller owner reference to this VMPlacement (uid " + vmUid + ")");
  // 409 when the object was replaced since the check: the retry checks the replacement.
  auto removed = deps_.client->remove(*type, ns, name, kube::DeletePreconditions{stringAt(*current, "/metadata/uid"_json_pointer)});
  if (!removed.ok() && !removed.error().isNotFound()) return removed.error();
  return kube::okStatus();
}

std::optional<VMPlacementController::WorkloadPlan> VMPlacementController::planWorkload(const json& object,
                                                                                      const api::VMPlacement& vm,
                                                                                      json& status, std::string& error) {
  const auto now = deps_.clock->wallNow();
  const int64_t generation = vm.metadata.generation;
  auto reject = [&](const std::string& reason, const std::string& message) -> std::optional<WorkloadPlan> {
    condition(status, "WorkloadReady", "False", reason, message, generation, now);
    if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, reason, "Materialize", message);
    return std::nullopt;
  };
  const json& tmpl = *vm.spec.template_;
  const std::string apiVersion = stringAt(tmpl, "/apiVersion"_json_pointer);
  const std::string kind = stringAt(tmpl, "/kind"_json_pointer);
  const auto& allowed = deps_.workloadKinds;
  if (std::find(allowed.begin(), allowed.end(), WorkloadKind{apiVersion, kind}) == allowed.end()) {
    std::string list;
    for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k.apiVersion + " " + k.kind;
    return reject("WorkloadKindNotAllowed", "spec.template: kind " + apiVersion + " " + kind +
                                                " is not allowed (allowed: " + (list.empty() ? "none" : list) + ")");
  }
  auto type = deps_.discovery->resourceFor(apiVersion, kind);
  if (!type.ok()) {
    if (type.error().isNotFound() || type.error().code == 422) {
      return reject("UnknownKind", "spec.template: " + type.error().message);
    }
    error = "discovery of " + apiVersion + " " + kind + ": " + type.error().toString();
    return std::nullopt;
  }
  if (!type->namespaced) {
    return reject("WorkloadKindNotAllowed",
                  "spec.template: kind " + kind + " is cluster-scoped; the workload must be namespaced");
  }
  json workload = tmpl;
  json& meta = workload["metadata"];
  if (!meta.is_object()) meta = json::object();
  const std::string ns = vm.metadata.namespace_;
  if (meta.contains("namespace") && meta["namespace"] != ns) {
    return reject("TemplateRejected", "spec.template.metadata.namespace: must be empty or " + ns +
                                          " (the workload lives beside its VMPlacement)");
  }
  meta["namespace"] = ns;
  if (!meta.contains("name") || !meta["name"].is_string() || meta["name"].get<std::string>().empty()) {
    meta["name"] = vm.metadata.name;
  }
  meta["labels"][kPlacementLabel] = vm.metadata.name;
  meta["labels"][kRegionLabel] = deps_.localRegion;
  meta["annotations"]["federation.dwcp.io/epoch"] = std::to_string(status.value("epoch", int64_t{0}));
  meta["ownerReferences"] = json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                          {"kind", "VMPlacement"},
                                          {"name", vm.metadata.name},
                                          {"uid", vm.metadata.uid},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}});
  const std::string name = meta["name"].get<std::string>();
  return WorkloadPlan{*type, std::move(workload),
                      json{{"apiVersion", apiVersion}, {"kind", kind}, {"namespace", ns}, {"name", name}}};
}

kube::ReconcileResult VMPlacementController::finalize(const std::string& key, const json& object) {
  if (!kube::hasFinalizer(object, kPlacementFinalizer)) return kube::ReconcileResult::success();
  if (auto removed = deleteWorkload(object); !removed.ok()) {
    return kube::ReconcileResult::failure("deleting the workload of " + key + ": " + removed.error().toString());
  }
  forget(key);
  auto patched = kube::removeFinalizer(*deps_.client, api::kVMPlacementResource, object, kPlacementFinalizer);
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
    json status = object->value("status", json::object());
    const int64_t generation = intAt(*object, "/metadata/generation"_json_pointer);
    const std::string message = "preempted by " + preemptor + " (priority " + std::to_string(priority) +
                                ") to free capacity in " + victim.region + "; waiting for capacity";
    status["phase"] = "Preempted";
    status.erase("region");
    status.erase("score");
    status.erase("workloadRef");
    status["epoch"] = status.value("epoch", int64_t{0}) + 1;
    status["message"] = message;
    condition(status, "Placed", "False", "Preempted", message, generation, deps_.clock->wallNow());
    // Status first: a victim whose write fails (a conflict while the cache is behind) keeps running.
    json written = *object;
    auto result = writeStatus(written, status);
    if (result.gone) continue;  // deleted meanwhile: it holds nothing
    if (result.stop) {
      restoreVictims(victims, i);
      return *result.stop;
    }
    if (auto removed = deleteWorkload(*object); !removed.ok()) {
      spdlog::warn("preempting {}: deleting its workload: {}", victim.key, removed.error().toString());
    }
    if (deps_.events) deps_.events->record(*object, kube::EventType::kWarning, "Preempted", "Preempt", message);
  }
  return kube::ReconcileResult::success();
}

void VMPlacementController::restoreVictims(const std::vector<placement::Victim>& victims, size_t from) {
  std::lock_guard lock(mu_);
  for (size_t i = from; i < victims.size(); ++i) {
    const placement::Victim& victim = victims[i];
    auto object = deps_.vmPlacements->get(victim.key);
    if (!object) continue;  // gone: it holds nothing
    auto parsed = api::parseVMPlacement(*object);
    assumeLocked(parsed.ok() ? toPlacedVM(victim.key, victim.region, parsed->spec)
                             : placement::PlacedVM{victim.key, victim.region, victim.resources, victim.priority,
                                                   /*preemptible=*/true, ""});
  }
}

kube::ReconcileResult VMPlacementController::reconcile(const std::string& key, const std::string& /*reason: logged by the runner*/) {
  auto cached = deps_.vmPlacements->get(key);
  if (!cached) {
    forget(key);
    return kube::ReconcileResult::success();
  }
  json object = *cached;
  const auto now = deps_.clock->wallNow();
  const int64_t generation = intAt(object, "/metadata/generation"_json_pointer);
  json status = object.value("status", json::object());
  if (!status.is_object()) status = json::object();

  auto parsed = api::parseVMPlacement(object);
  if (object.contains("/metadata/deletionTimestamp"_json_pointer)) {
    return finalize(key, object);
  }
  if (!parsed.ok()) {
    forget(key);
    if (auto removed = deleteWorkload(object); !removed.ok()) {
      return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
    }
    status.erase("workloadRef");
    status["phase"] = "Failed";
    status["observedGeneration"] = generation;
    status["message"] = parsed.error().message;
    condition(status, "Placed", "False", "InvalidSpec", parsed.error().message, generation, now);
    if (deps_.events && object.value("/status/message"_json_pointer, std::string()) != parsed.error().message) {
      deps_.events->record(object, kube::EventType::kWarning, "InvalidSpec", "Validate", parsed.error().message);
    }
    return done(writeStatus(object, status));
  }
  const api::VMPlacement& vm = *parsed;

  const std::string phase = status.value("phase", "");
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
  if (phase == "Migrating") return kube::ReconcileResult::success();  // the Migration controller's
  const std::string currentRegion = holdsCapacity(phase) ? status.value("region", "") : "";
  const placement::Request request = toRequest(key, vm.spec);

  std::string moveReason;
  if (!currentRegion.empty()) {
    const bool specChanged = status.value("observedGeneration", int64_t{-1}) != generation;
    if (!specChanged) {
      assume(toPlacedVM(key, currentRegion, vm.spec));  // after a restart or another writer
      return done(ensureWorkload(object, vm, status, currentRegion));
    }
    std::optional<placement::Rejection> misfit;
    {
      std::lock_guard lock(mu_);
      placement::Snapshot* snapshot = snapshotLocked();
      if (!snapshot) return kube::ReconcileResult::failure("no placement snapshot");
      auto checked = engine_.check(*snapshot, request, currentRegion);
      if (checked.ok()) {
        misfit = checked.value();
      } else {
        misfit = placement::Rejection{currentRegion, placement::Reason::kNotAllowed, "", 0, 0};
      }
      if (!misfit) assumeLocked(toPlacedVM(key, currentRegion, vm.spec));
    }
    if (!misfit) {
      status["observedGeneration"] = generation;
      status["message"] = "spec changed; region " + currentRegion + " still satisfies every constraint";
      condition(status, "Placed", "True", "Placed", "placed in " + currentRegion, generation, now);
      return done(ensureWorkload(object, vm, status, currentRegion));
    }
    moveReason = "region " + currentRegion + " no longer fits: " + placement::describe(*misfit) + "; ";
  }

  placement::Decision decision;
  double seconds = 0;
  {
    std::lock_guard lock(mu_);
    placement::Snapshot* snapshot = snapshotLocked();
    if (!snapshot) return kube::ReconcileResult::failure("no placement snapshot");
    auto started = std::chrono::steady_clock::now();
    decision = engine_.place(*snapshot, request);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (decision.outcome == placement::Outcome::kPlaced || decision.outcome == placement::Outcome::kPlacedWithPreemption) {
      for (const auto& victim : decision.victims) ledger_.erase(victim.key);
      ledger_[key] = toPlacedVM(key, decision.region, vm.spec);
      if (!snapshot->commit(request, decision).ok()) snapshot_.reset();
    } else if (ledger_.erase(key) && snapshot_) {
      snapshot_->remove(key);  // it had a region that no longer fits and nothing else does
    }
  }
  if (deps_.observeDecision) {
    static const char* names[] = {"placed", "preempting", "unschedulable", "invalid"};
    deps_.observeDecision(seconds, names[static_cast<int>(decision.outcome)]);
  }

  switch (decision.outcome) {
    case placement::Outcome::kPlaced:
    case placement::Outcome::kPlacedWithPreemption: {
      if (!decision.victims.empty()) {
        auto preempted = preemptVictims(key, vm.spec.priority, decision.victims);
        if (!preempted.isSuccess()) return preempted;  // not all victims are out
      }
      if (!currentRegion.empty() && currentRegion != decision.region && currentRegion == deps_.localRegion) {
        if (auto removed = deleteWorkload(object); !removed.ok()) {
          return kube::ReconcileResult::failure("removing the workload from " + currentRegion + ": " +
                                                removed.error().toString());
        }
        status.erase("workloadRef");
      }
      status["phase"] = "Placed";
      status["region"] = decision.region;
      status["score"] = std::round(decision.score * 100.0) / 100.0;
      status["candidates"] = candidatesJson(decision.candidates);
      status["message"] = moveReason + decision.message;
      status["placedAt"] = kube::formatRfc3339(now);
      status["epoch"] = status.value("epoch", int64_t{0}) + 1;
      status["observedGeneration"] = generation;
      condition(status, "Placed", "True", "Placed", "placed in " + decision.region, generation, now);
      if (deps_.events) {
        deps_.events->record(object, kube::EventType::kNormal, "Placed", "Place",
                             "placed in " + decision.region + " (score " +
                                 std::to_string(static_cast<int>(std::round(decision.score))) + "): " +
                                 decision.message);
      }
      // The finalizer is guarded by the resourceVersion the status write returned.
      return done(ensureWorkload(object, vm, status, decision.region, /*addFinalizerAfter=*/!hadFinalizer));
    }
    case placement::Outcome::kUnschedulable: {
      const bool preempted = phase == "Preempted";
      status["phase"] = preempted ? "Preempted" : "Unschedulable";
      for (const char* field : {"region", "score", "candidates", "workloadRef"}) status.erase(field);
      std::string message = moveReason + decision.message;
      if (preempted) {
        // Keep who preempted it: "preempted by NS/NAME (priority P) to free capacity in R".
        const std::string previous = status.value("message", "");
        const auto end = previous.find("; waiting for capacity");
        if (previous.rfind("preempted by ", 0) == 0 && end != std::string::npos) {
          message = previous.substr(0, end) + "; waiting for capacity: " + decision.message;
        }
      }
      const bool news = status.value("message", "") != message;
      status["message"] = message;
      status["observedGeneration"] = generation;
      condition(status, "Placed", "False", preempted ? "Preempted" : "Unschedulable", message, generation, now);
      if (deps_.events && news) {
        deps_.events->record(object, kube::EventType::kWarning, "Unschedulable", "Place", message);
      }
      if (!currentRegion.empty() && currentRegion == deps_.localRegion) {
        if (auto removed = deleteWorkload(object); !removed.ok()) {
          return kube::ReconcileResult::failure("removing the workload: " + removed.error().toString());
        }
      }
      return done(writeStatus(object, status));
    }
    case placement::Outcome::kInvalid:
      if (auto removed = deleteWorkload(object); !removed.ok()) {
        return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
      }
      status.erase("workloadRef");
      status["phase"] = "Failed";
      status["message"] = decision.message;
      status["observedGeneration"] = generation;
      condition(status, "Placed", "False", "InvalidSpec", decision.message, generation, now);
      return done(writeStatus(object, status));
  }
  return kube::ReconcileResult::success();
}

VMPlacementController::Write VMPlacementController::ensureWorkload(json& object, const api::VMPlacement& vm,
                                                                  json status, const std::string& region,
                                                                  bool addFinalizerAfter) {
  const int64_t generation = vm.metadata.generation;
  const auto now = deps_.clock->wallNow();
  auto record = [&]() -> Write {
    if (auto written = writeStatus(object, status); written.stop) return written;
    if (!addFinalizerAfter) return {};
    addFinalizerAfter = false;
    return addFinalizer(object);
  };
  if (region == deps_.localRegion && vm.spec.template_ && deps_.discovery) {
    const json* ready = status.contains("conditions") ? kube::findCondition(status["conditions"], "WorkloadReady") : nullptr;
    const bool atThisGeneration = ready && ready->value("observedGeneration", int64_t{-1}) == generation;
    const bool current = atThisGeneration && ready->value("status", "") == "True" &&
                         status.value("/workloadRef/name"_json_pointer, std::string()) != "";
    const bool rejected = atThisGeneration && ready->value("status", "") == "False";
    if (!current && !rejected) {
      std::string error;
      auto plan = planWorkload(object, vm, status, error);
      if (!error.empty()) return {kube::ReconcileResult::failure(error)};
      if (plan) {
        const json previous = status.value("workloadRef", json());
        auto names = [](const json& ref, const json& other) {
          if (!ref.is_object()) return false;
          for (const char* field : {"apiVersion", "kind", "namespace", "name"}) {
            if (ref.value(field, json()) != other[field]) return false;
          }
          return true;
        };
        const bool recorded = names(previous, plan->ref);
        const std::string what = plan->ref["kind"].get<std::string>() + " " +
                                 plan->ref["namespace"].get<std::string>() + "/" + plan->ref["name"].get<std::string>();
        if (!recorded) {
          // The template names another object than the one recorded: that one goes first.
          if (auto removed = deleteWorkload(object); !removed.ok()) {
            return {kube::ReconcileResult::failure("removing the previous workload: " + removed.error().toString())};
          }
          status["workloadRef"] = plan->ref;
          condition(status, "WorkloadReady", "Unknown", "Materializing",
                    what + " is being applied in region " + deps_.localRegion, generation, now);
          if (auto written = record(); written.stop) return written;
        }
        const std::string& ns = plan->ref["namespace"].get_ref<const std::string&>();
        const std::string& name = plan->ref["name"].get_ref<const std::string&>();
        auto applied = deps_.client->patch(plan->type, ns, name, kube::PatchType::kApply, plan->workload, "",
                                           kFieldManager, true);
        if (!applied.ok()) {
          const int code = applied.error().code;
          if (code < 400 || code >= 500 || code == 409 || code == 429) {
            return {kube::ReconcileResult::failure("applying spec.template: " + applied.error().toString())};
          }
          if (!recorded) status.erase("workloadRef");  // nothing was created
          const std::string message = "spec.template: the API server rejected " + what + ": " + applied.error().message;
          condition(status, "WorkloadReady", "False", "TemplateRejected", message, generation, now);
          if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, "TemplateRejected", "Materialize", message);
        } else {
          status["workloadRef"]["uid"] = applied->value("/metadata/uid"_json_pointer, std::string());
          condition(status, "WorkloadReady", "True", "Materialized", what + " applied in region " + deps_.localRegion,
                    generation, now);
        }
      }
    }
  } else if (vm.spec.template_ && region != deps_.localRegion) {
    condition(status, "WorkloadReady", "Unknown", "RemoteRegion",
              "the operator of region " + region + " materializes spec.template", generation, now);
  }
  return record();
}

}  // namespace dwcp::controllers
