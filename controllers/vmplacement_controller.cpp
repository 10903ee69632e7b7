#include "controllers/vmplacement_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "base/strings.h"
#include "controllers/placement_mapping.h"
#include "engines/placement/explain.h"
#include "kube/finalizers.h"
#include "kube/json_fields.h"
#include "kube/time_format.h"

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

std::string describe(const api::WorkloadRef& ref) {
  return ref.kind.value_or("") + " " + ref.namespace_.value_or("") + "/" + ref.name.value_or("");
}

// Whether two references name the same object (the uid aside).
bool sameObject(const api::WorkloadRef& a, const api::WorkloadRef& b) {
  return a.apiVersion == b.apiVersion && a.kind == b.kind && a.namespace_ == b.namespace_ && a.name == b.name;
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

const StatusOwnership& vmPlacementStatusOwnership() {
  static const StatusOwnership owned{{"observedGeneration", "phase", "region", "score", "candidates", "message",
                                      "placedAt", "epoch", "workloadRef"},
                                     {"Placed", "WorkloadReady"}};
  return owned;
}

void StatusDraft::condition(const char* type, ConditionStatus value, const char* reason, std::string message,
                            int64_t generation, api::Time now) {
  constexpr size_t kMaxMessage = 32768;
  if (message.size() > kMaxMessage) message = base::truncateUtf8(message, kMaxMessage);
  auto set = api::setCondition(status.conditions, {type, value, reason, std::move(message), {}, generation}, now);
  if (!set.ok() && error.empty()) error = set.error().message;
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

void VMPlacementController::seedLedger() {
  std::lock_guard lock(mu_);
  ledger_.clear();
  snapshot_.reset();
  for (const auto& object : deps_.vmPlacements->list()) {
    const std::string region = stringAt(*object, "/status/region"_json_pointer);
    if (region.empty() || !holdsCapacity(phaseOf(*object))) continue;
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
                                                                                      StatusDraft& draft,
                                                                                      std::string& error) {
  const auto now = deps_.clock->wallNow();
  const int64_t generation = vm.metadata.generation;
  auto reject = [&](const char* reason, const std::string& message) -> std::optional<WorkloadPlan> {
    draft.condition("WorkloadReady", ConditionStatus::kFalse, reason, message, generation, now);
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
  meta["annotations"]["federation.dwcp.io/epoch"] = std::to_string(draft.status.epoch.value_or(0));
  meta["ownerReferences"] = json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                          {"kind", "VMPlacement"},
                                          {"name", vm.metadata.name},
                                          {"uid", vm.metadata.uid},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}});
  const std::string name = meta["name"].get<std::string>();
  return WorkloadPlan{*type, std::move(workload), api::WorkloadRef{apiVersion, kind, ns, name, std::nullopt}};
}

kube::ReconcileResult VMPlacementController::finalize(const std::string& key, const json& object) {
  if (!kube::hasFinalizer(object, kPlacementFinalizer)) return kube::ReconcileResult::success();
  if (auto removed = deleteWorkload(object); !removed.ok()) {
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
    StatusDraft draft{statusOf(*object), {}};
    api::VMPlacementStatus& status = draft.status;
    const int64_t generation = intAt(*object, "/metadata/generation"_json_pointer);
    const std::string message = "preempted by " + preemptor + " (priority " + std::to_string(priority) +
                                ") to free capacity in " + victim.region + "; waiting for capacity";
    status.phase = PlacementPhase::kPreempted;
    status.region.reset();
    status.score.reset();
    status.workloadRef.reset();
    status.epoch = status.epoch.value_or(0) + 1;
    status.message = message;
    draft.condition("Placed", ConditionStatus::kFalse, "Preempted", message, generation, deps_.clock->wallNow());
    // Status first: a victim whose write fails (a conflict while the cache is behind) keeps running.
    json written = *object;
    auto result = writeStatus(written, draft);
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
  const api::VMPlacementStatus current = statusOf(object);
  StatusDraft draft{current, {}};
  api::VMPlacementStatus& status = draft.status;

  if (object.contains("/metadata/deletionTimestamp"_json_pointer)) {
    return finalize(key, object);
  }
  auto parsed = api::parseVMPlacement(object);
  if (!parsed.ok()) {
    forget(key);
    if (auto removed = deleteWorkload(object); !removed.ok()) {
      return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
    }
    const std::string& message = parsed.error().message;
    status.workloadRef.reset();
    status.phase = PlacementPhase::kFailed;
    status.observedGeneration = generation;
    status.message = message;
    draft.condition("Placed", ConditionStatus::kFalse, "InvalidSpec", message, generation, now);
    if (deps_.events && current.message != message) {
      deps_.events->record(object, kube::EventType::kWarning, "InvalidSpec", "Validate", message);
    }
    return done(writeStatus(object, draft));
  }
  const api::VMPlacement& vm = *parsed;

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
      assume(toPlacedVM(key, currentRegion, vm.spec));  // after a restart or another writer
      return done(ensureWorkload(object, vm, std::move(draft), currentRegion));
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
      status.observedGeneration = generation;
      status.message = "spec changed; region " + currentRegion + " still satisfies every constraint";
      draft.condition("Placed", ConditionStatus::kTrue, "Placed", "placed in " + currentRegion, generation, now);
      return done(ensureWorkload(object, vm, std::move(draft), currentRegion));
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
        status.workloadRef.reset();
      }
      status.phase = PlacementPhase::kPlaced;
      status.region = decision.region;
      status.score = std::round(decision.score * 100.0) / 100.0;
      status.candidates = statusCandidates(decision.candidates);
      status.message = moveReason + decision.message;
      status.placedAt = std::chrono::floor<std::chrono::seconds>(now);
      status.epoch = status.epoch.value_or(0) + 1;
      status.observedGeneration = generation;
      draft.condition("Placed", ConditionStatus::kTrue, "Placed", "placed in " + decision.region, generation, now);
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
      const bool preempted = phase == PlacementPhase::kPreempted;
      status.phase = preempted ? PlacementPhase::kPreempted : PlacementPhase::kUnschedulable;
      status.region.reset();
      status.score.reset();
      status.candidates.clear();
      status.workloadRef.reset();
      std::string message = moveReason + decision.message;
      if (preempted) {
        // Keep who preempted it: "preempted by NS/NAME (priority P) to free capacity in R".
        const std::string previous = current.message.value_or("");
        const auto end = previous.find("; waiting for capacity");
        if (previous.rfind("preempted by ", 0) == 0 && end != std::string::npos) {
          message = previous.substr(0, end) + "; waiting for capacity: " + decision.message;
        }
      }
      const bool news = current.message != message;
      status.message = message;
      status.observedGeneration = generation;
      draft.condition("Placed", ConditionStatus::kFalse, preempted ? "Preempted" : "Unschedulable", message, generation,
                      now);
      if (deps_.events && news) {
        deps_.events->record(object, kube::EventType::kWarning, "Unschedulable", "Place", message);
      }
      if (!currentRegion.empty() && currentRegion == deps_.localRegion) {
        if (auto removed = deleteWorkload(object); !removed.ok()) {
          return kube::ReconcileResult::failure("removing the workload: " + removed.error().toString());
        }
      }
      return done(writeStatus(object, draft));
    }
    case placement::Outcome::kInvalid:
      if (auto removed = deleteWorkload(object); !removed.ok()) {
        return kube::ReconcileResult::failure("removing the workload of an invalid spec: " + removed.error().toString());
      }
      status.workloadRef.reset();
      status.phase = PlacementPhase::kFailed;
      status.message = decision.message;
      status.observedGeneration = generation;
      draft.condition("Placed", ConditionStatus::kFalse, "InvalidSpec", decision.message, generation, now);
      return done(writeStatus(object, draft));
  }
  return kube::ReconcileResult::success();
}

VMPlacementController::Write VMPlacementController::ensureWorkload(json& object, const api::VMPlacement& vm,
                                                                  StatusDraft draft, const std::string& region,
                                                                  bool addFinalizerAfter) {
  const int64_t generation = vm.metadata.generation;
  const auto now = deps_.clock->wallNow();
  api::VMPlacementStatus& status = draft.status;
  auto record = [&]() -> Write {
    if (auto written = writeStatus(object, draft); written.stop) return written;
    if (!addFinalizerAfter) return {};
    addFinalizerAfter = false;
    return addFinalizer(object);
  };
  if (region == deps_.localRegion && vm.spec.template_ && deps_.discovery) {
    const api::Condition* ready = api::findCondition(status.conditions, "WorkloadReady");
    const bool atThisGeneration = ready && ready->observedGeneration == generation;
    const bool current = atThisGeneration && ready->status == ConditionStatus::kTrue && status.workloadRef &&
                         !status.workloadRef->name.value_or("").empty();
    const bool rejected = atThisGeneration && ready->status == ConditionStatus::kFalse;
    if (!current && !rejected) {
      std::string error;
      auto plan = planWorkload(object, vm, draft, error);
      if (!error.empty()) return {kube::ReconcileResult::failure(error)};
      if (plan) {
        const bool recorded = status.workloadRef && sameObject(*status.workloadRef, plan->ref);
        const std::string what = describe(plan->ref);
        if (!recorded) {
          // The template names another object than the one recorded: that one goes first.
          if (auto removed = deleteWorkload(object); !removed.ok()) {
            return {kube::ReconcileResult::failure("removing the previous workload: " + removed.error().toString())};
          }
          status.workloadRef = plan->ref;
          draft.condition("WorkloadReady", ConditionStatus::kUnknown, "Materializing",
                          what + " is being applied in region " + deps_.localRegion, generation, now);
          if (auto written = record(); written.stop) return written;
        }
        auto applied = deps_.client->patch(plan->type, *plan->ref.namespace_, *plan->ref.name, kube::PatchType::kApply,
                                           plan->workload, "", kFieldManager, true);
        if (!applied.ok()) {
          const int code = applied.error().code;
          if (code < 400 || code >= 500 || code == 409 || code == 429) {
            return {kube::ReconcileResult::failure("applying spec.template: " + applied.error().toString())};
          }
          if (!recorded) status.workloadRef.reset();  // nothing was created
          const std::string message = "spec.template: the API server rejected " + what + ": " + applied.error().message;
          draft.condition("WorkloadReady", ConditionStatus::kFalse, "TemplateRejected", message, generation, now);
          if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, "TemplateRejected", "Materialize", message);
        } else {
          status.workloadRef->uid = applied->value("/metadata/uid"_json_pointer, std::string());
          draft.condition("WorkloadReady", ConditionStatus::kTrue, "Materialized",
                          what + " applied in region " + deps_.localRegion, generation, now);
        }
      }
    }
  } else if (vm.spec.template_ && region != deps_.localRegion) {
    draft.condition("WorkloadReady", ConditionStatus::kUnknown, "RemoteRegion",
                    "the operator of region " + region + " materializes spec.template", generation, now);
  }
  return record();
}

}  // namespace dwcp::controllers
