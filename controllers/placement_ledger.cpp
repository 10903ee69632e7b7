#include "controllers/placement_ledger.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "api/region.h"
#include "api/vmplacement.h"
#include "controllers/cached_types.h"
#include "controllers/mirror.h"
#include "controllers/placement_mapping.h"

namespace dwcp::controllers {

void PlacementLedger::seed(const kube::Store& vmPlacements) {
  std::map<std::string, placement::PlacedVM> seeded;
  for (const auto& object : vmPlacements.list()) {
    const api::VMPlacement* vm = asVMPlacement(*object);
    if (!vm) continue;  // its spec does not parse: the controller reports it
    const std::string& key = object->key();
    if (!mirrorHome(*vm, localRegion_).empty()) {  // a mirror holds room here from its creation on
      seeded[key] = mirrorHold(key, localRegion_, vm->spec);
      continue;
    }
    const api::VMPlacementStatus& status = vm->status;
    if (!status.region || status.region->empty() || !status.phase || !api::holdsCapacity(*status.phase)) continue;
    if (federated_ && *status.region != localRegion_) continue;  // the region it is in counts it
    seeded[key] = toPlacedVM(key, *status.region, vm->spec);
  }
  std::lock_guard lock(mu_);
  ledger_ = std::move(seeded);
  snapshot_.reset();
  spdlog::info("placement ledger seeded with {} placed VMs", ledger_.size());
}

void PlacementLedger::assume(const placement::PlacedVM& vm) {
  std::lock_guard lock(mu_);
  assumeLocked(vm);
}

void PlacementLedger::assume(const std::vector<placement::PlacedVM>& vms) {
  std::lock_guard lock(mu_);
  for (const auto& vm : vms) assumeLocked(vm);
}

void PlacementLedger::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  forgetLocked(key);
}

void PlacementLedger::regionsChanged() {
  std::lock_guard lock(mu_);
  snapshot_.reset();
}

kube::Result<std::optional<placement::Rejection>> PlacementLedger::recheck(const placement::Engine& engine,
                                                                          const placement::Request& request,
                                                                          const placement::PlacedVM& vm) {
  std::lock_guard lock(mu_);
  placement::Snapshot* snapshot = snapshotLocked();
  if (!snapshot) return kube::Error{500, "InternalError", "no placement snapshot"};
  auto checked = engine.check(*snapshot, request, vm.region);
  // A request the engine cannot evaluate there (the region is gone) does not fit it.
  std::optional<placement::Rejection> misfit =
      checked.ok() ? checked.value() : placement::Rejection{vm.region, placement::Reason::kNotAllowed, "", 0, 0};
  if (!misfit) assumeLocked(vm);
  return misfit;
}

kube::Result<PlacementLedger::Placement> PlacementLedger::place(const placement::Engine& engine,
                                                                const placement::Request& request,
                                                                placement::PlacedVM vm) {
  std::lock_guard lock(mu_);
  placement::Snapshot* snapshot = snapshotLocked();
  if (!snapshot) return kube::Error{500, "InternalError", "no placement snapshot"};
  Placement out;
  const auto started = std::chrono::steady_clock::now();
  out.decision = engine.place(*snapshot, request);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const placement::Decision& decision = out.decision;
  if (decision.outcome == placement::Outcome::kPlaced || decision.outcome == placement::Outcome::kPlacedWithPreemption) {
    for (const auto& victim : decision.victims) ledger_.erase(victim.key);
    vm.region = decision.region;
    ledger_[vm.key] = std::move(vm);
    if (!snapshot->commit(request, decision).ok()) snapshot_.reset();
  } else {
    forgetLocked(vm.key);  // it had a region that no longer fits and nothing else does
  }
  return out;
}

std::map<std::string, std::string> PlacementLedger::placements() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [key, vm] : ledger_) out[key] = vm.region;
  return out;
}

std::map<std::string, PlacementLedger::Held> PlacementLedger::held() const {
  std::lock_guard lock(mu_);
  std::map<std::string, Held> out;
  for (const auto& [key, vm] : ledger_) {
    Held& h = out[vm.region];
    h.cpu += vm.resources.cpu;
    h.memoryMiB += vm.resources.memoryMiB;
    h.storageGiB += vm.resources.storageGiB;
    h.vms += 1;
  }
  return out;
}

placement::Snapshot* PlacementLedger::snapshotLocked() {
  if (snapshot_) return &*snapshot_;
  std::vector<placement::RegionInfo> regions;
  std::vector<placement::RttSample> rtts;
  std::map<std::string, size_t> index;
  for (const auto& object : regions_->list()) {
    const api::Region* region = asRegion(*object);
    if (!region) continue;  // its spec does not parse: the Region controller reports it
    auto samples = rttSamples(*region);
    rtts.insert(rtts.end(), samples.begin(), samples.end());
    index[region->metadata.name] = regions.size();
    regions.push_back(toRegionInfo(*region));
    if (federated_ && region->metadata.name != localRegion_) {
      // Its allocation as it reports it; a region not heard from has nobody to admit a VM.
      const std::optional<api::RegionPhase>& phase = region->status.phase;
      regions.back().reachable = phase && *phase != api::RegionPhase::kUnknown;
      if (const auto& reported = region->status.allocated) {
        regions.back().allocated = {reported->cpu, reported->memoryMiB, reported->storageGiB, reported->vms.value_or(0)};
      }
    }
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

void PlacementLedger::assumeLocked(const placement::PlacedVM& vm) {
  ledger_[vm.key] = vm;
  if (!snapshot_) return;
  snapshot_->remove(vm.key);
  if (!snapshot_->add(vm).ok()) snapshot_.reset();
}

void PlacementLedger::forgetLocked(const std::string& key) {
  if (ledger_.erase(key) && snapshot_) snapshot_->remove(key);
}

}  // namespace dwcp::controllers
