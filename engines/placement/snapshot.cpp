// Snapshot indexing. Tags are interned in first-seen order; a region's tags are bits in
// tagWords_ 64-bit words. The RTT matrix is dense (row = from) so the hot loop reads one float.
#include "engines/placement/snapshot.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dwcp::placement {
namespace {

void addTo(RegionAllocation& allocation, const Resources& resources, int sign) {
  allocation.cpu = std::max<int64_t>(0, allocation.cpu + sign * resources.cpu);
  allocation.memoryMiB = std::max<int64_t>(0, allocation.memoryMiB + sign * resources.memoryMiB);
  allocation.storageGiB = std::max<int64_t>(0, allocation.storageGiB + sign * resources.storageGiB);
  allocation.vms = std::max<int64_t>(0, allocation.vms + sign);
}

}  // namespace

Expected<Snapshot> Snapshot::build(std::vector<RegionInfo> regions, const std::vector<RttSample>& rtts,
                                   const std::vector<PlacedVM>& vms) {
  Snapshot s;
  s.regions_ = std::move(regions);
  const size_t n = s.regions_.size();
  s.regionIndex_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = s.regions_[i].name;
    if (name.empty()) return Error{"regions[" + std::to_string(i) + "].name: must not be empty"};
    if (!s.regionIndex_.emplace(name, static_cast<uint32_t>(i)).second) {
      return Error{"regions[" + std::to_string(i) + "].name: duplicate region \"" + name + "\""};
    }
  }

  s.unitVectors_.reserve(n);
  s.countries_.reserve(n);
  for (const RegionInfo& region : s.regions_) {
    s.unitVectors_.push_back(toUnitVector(region.location));
    s.countries_.push_back(packCountry(region.country));
    for (const std::string& tag : region.compliance) {
      s.tagIds_.emplace(tag, static_cast<uint32_t>(s.tagIds_.size()));
    }
  }
  s.tagWords_ = std::max<size_t>(1, (s.tagIds_.size() + 63) / 64);
  s.tagBits_.assign(n * s.tagWords_, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& tag : s.regions_[i].compliance) {
      const uint32_t id = s.tagIds_.find(tag)->second;
      s.tagBits_[i * s.tagWords_ + id / 64] |= uint64_t{1} << (id % 64);
    }
  }

  if (!rtts.empty()) {
    constexpr float kUnknown = std::numeric_limits<float>::quiet_NaN();
    s.rttMatrix_.assign(n * n, kUnknown);
    std::vector<bool> explicitSample(n * n, false);
    for (const RttSample& sample : rtts) {
      auto from = s.indexOf(sample.from), to = s.indexOf(sample.to);
      if (!from || !to || !(sample.rttMs >= 0) || !std::isfinite(sample.rttMs)) continue;
      s.rttMatrix_[*from * n + *to] = static_cast<float>(sample.rttMs);
      explicitSample[*from * n + *to] = true;
    }
    for (size_t from = 0; from < n; ++from) {
      for (size_t to = 0; to < n; ++to) {
        if (explicitSample[from * n + to] && !explicitSample[to * n + from]) {
          s.rttMatrix_[to * n + from] = s.rttMatrix_[from * n + to];
        }
      }
    }
  }

  s.vmsByRegion_.resize(n);
  for (size_t i = 0; i < vms.size(); ++i) {
    const PlacedVM& vm = vms[i];
    if (s.vmIds_.contains(vm.key)) {
      return Error{"vms[" + std::to_string(i) + "].key: duplicate VM \"" + vm.key + "\""};
    }
    auto region = s.indexOf(vm.region);
    if (!region) continue;
    const auto id = static_cast<uint32_t>(s.vms_.size());
    s.vms_.push_back(vm);
    s.vmRegion_.push_back(static_cast<uint32_t>(*region));
    s.vmAlive_.push_back(true);
    s.vmIds_.emplace(vm.key, id);
    s.vmsByRegion_[*region].push_back(id);
    if (!vm.spreadGroup.empty()) {
      auto [it, inserted] = s.spreadCounts_.try_emplace(vm.spreadGroup);
      if (inserted) it->second.assign(n, 0);
      ++it->second[*region];
    }
  }
  return s;
}

std::optional<size_t> Snapshot::indexOf(std::string_view name) const {
  auto it = regionIndex_.find(name);
  if (it == regionIndex_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> Snapshot::measuredRttMs(size_t from, size_t to) const {
  if (rttMatrix_.empty()) return std::nullopt;
  const float value = rttMatrix_[from * regions_.size() + to];
  if (std::isnan(value)) return std::nullopt;
  return value;
}

double Snapshot::rttMs(size_t from, size_t to) const {
  if (from == to) return 0;
  if (auto measured = measuredRttMs(from, to)) return *measured;
  return base::estimateRttMs(greatCircleKm(unitVectors_[from], unitVectors_[to]));
}

std::optional<uint32_t> Snapshot::tagId(std::string_view tag) const {
  auto it = tagIds_.find(tag);
  if (it == tagIds_.end()) return std::nullopt;
  return it->second;
}

uint16_t Snapshot::packCountry(std::string_view code) {
  if (code.size() != 2) return 0;
  const char a = code[0], b = code[1];
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return 0;
  return static_cast<uint16_t>((a - 'A') * 26 + (b - 'A') + 1);
}

const std::vector<uint32_t>* Snapshot::spreadCounts(std::string_view group) const {
  if (group.empty()) return nullptr;
  auto it = spreadCounts_.find(group);
  return it == spreadCounts_.end() ? nullptr : &it->second;
}

std::optional<uint32_t> Snapshot::vmId(std::string_view key) const {
  auto it = vmIds_.find(key);
  if (it == vmIds_.end()) return std::nullopt;
  return it->second;
}

std::vector<PlacedVM> Snapshot::placedVMs() const {
  std::vector<PlacedVM> out;
  out.reserve(vmIds_.size());
  for (uint32_t id = 0; id < vms_.size(); ++id) {
    if (vmAlive_[id]) out.push_back(vms_[id]);
  }
  std::sort(out.begin(), out.end(), [](const PlacedVM& a, const PlacedVM& b) { return a.key < b.key; });
  return out;
}

Status Snapshot::add(PlacedVM vm) {
  if (vmIds_.contains(vm.key)) return Error{"vm \"" + vm.key + "\" is already placed"};
  auto region = indexOf(vm.region);
  if (!region) return Error{"vm \"" + vm.key + "\": unknown region \"" + vm.region + "\""};
  const auto id = static_cast<uint32_t>(vms_.size());
  addTo(regions_[*region].allocated, vm.resources, +1);
  if (!vm.spreadGroup.empty()) {
    auto [it, inserted] = spreadCounts_.try_emplace(vm.spreadGroup);
    if (inserted) it->second.assign(regions_.size(), 0);
    ++it->second[*region];
  }
  vmIds_.emplace(vm.key, id);
  vmsByRegion_[*region].push_back(id);
  vms_.push_back(std::move(vm));
  vmRegion_.push_back(static_cast<uint32_t>(*region));
  vmAlive_.push_back(true);
  return Ok{};
}

bool Snapshot::remove(std::string_view key) {
  auto it = vmIds_.find(key);
  if (it == vmIds_.end()) return false;
  const uint32_t id = it->second;
  const uint32_t region = vmRegion_[id];
  const PlacedVM& vm = vms_[id];
  addTo(regions_[region].allocated, vm.resources, -1);
  if (!vm.spreadGroup.empty()) {
    auto counts = spreadCounts_.find(vm.spreadGroup);
    if (counts != spreadCounts_.end() && counts->second[region] > 0) --counts->second[region];
  }
  auto& list = vmsByRegion_[region];
  list.erase(std::find(list.begin(), list.end(), id));
  vmAlive_[id] = false;
  vmIds_.erase(it);
  return true;
}

Status Snapshot::commit(const Request& request, const Decision& decision) {
  if (decision.outcome != Outcome::kPlaced && decision.outcome != Outcome::kPlacedWithPreemption) {
    return Ok{};
  }
  if (!indexOf(decision.region)) return Error{"decision region \"" + decision.region + "\" is unknown"};
  for (const Victim& victim : decision.victims) remove(victim.key);
  remove(request.key);
  return add(PlacedVM{request.key, decision.region, request.resources, request.priority, request.preemptible,
                      request.constraints.spreadGroup});
}

}  // namespace dwcp::placement
