// Snapshot: the federation as the engine sees it for one or more decisions: regions, measured
// RTTs and placed VMs, indexed for fast filtering (interned compliance tags as bitsets, a dense
// RTT matrix, spread counts per group). A value type; const methods are safe to call from many
// threads at once, the mutators (commit, add, remove) need exclusive access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/geo.h"
#include "engines/placement/types.h"

namespace dwcp::placement {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class Snapshot {
 public:
  // Fails on an empty or duplicate region name or a duplicate VM key. RTT samples naming an
  // unknown region and VMs in an unknown region are ignored (the region may have just gone).
  // A sample from->to also serves to->from unless that direction was measured too.
  static Expected<Snapshot> build(std::vector<RegionInfo> regions, const std::vector<RttSample>& rtts = {},
                                  const std::vector<PlacedVM>& vms = {});

  size_t size() const { return regions_.size(); }
  const RegionInfo& region(size_t index) const { return regions_[index]; }
  std::optional<size_t> indexOf(std::string_view name) const;

  // Measured round trip in ms, or nullopt; rttMs falls back to the great-circle estimate.
  std::optional<double> measuredRttMs(size_t from, size_t to) const;
  double rttMs(size_t from, size_t to) const;
  const UnitVector& unitVector(size_t index) const { return unitVectors_[index]; }

  // Compliance tags are interned: tagId is nullopt when no region has the tag.
  std::optional<uint32_t> tagId(std::string_view tag) const;
  bool hasTag(size_t region, uint32_t tagId) const {
    return (tagBits_[region * tagWords_ + tagId / 64] >> (tagId % 64)) & 1U;
  }
  // ISO country code packed into 1..676; 0 for none or malformed.
  static uint16_t packCountry(std::string_view code);
  uint16_t country(size_t region) const { return countries_[region]; }

  // VMs of spreadGroup per region (indexed like regions), or nullptr when the group has none.
  const std::vector<uint32_t>* spreadCounts(std::string_view group) const;

  // Placed VMs. Ids are stable until the VM is removed.
  std::optional<uint32_t> vmId(std::string_view key) const;
  const PlacedVM& vm(uint32_t id) const { return vms_[id]; }
  size_t vmRegion(uint32_t id) const { return vmRegion_[id]; }
  std::span<const uint32_t> vmsIn(size_t region) const { return vmsByRegion_[region]; }
  std::vector<PlacedVM> placedVMs() const;  // live ones, sorted by key

  // Applies a decision: preempts its victims, removes the request's VM from where it was, adds
  // it to the chosen region. Does nothing for an unplaced decision. Fails when the region is
  // unknown; never checks capacity (the engine did).
  Status commit(const Request& request, const Decision& decision);
  // Adds a VM to its region's allocation; fails on a duplicate key or unknown region.
  Status add(PlacedVM vm);
  // Releases a VM's resources; false when the key is unknown.
  bool remove(std::string_view key);

 private:
  std::vector<RegionInfo> regions_;
  StringMap<uint32_t> regionIndex_;
  std::vector<UnitVector> unitVectors_;
  std::vector<float> rttMatrix_;  // size*size, NaN when unmeasured; empty when none measured
  StringMap<uint32_t> tagIds_;
  size_t tagWords_ = 1;
  std::vector<uint64_t> tagBits_;
  std::vector<uint16_t> countries_;
  StringMap<std::vector<uint32_t>> spreadCounts_;
  std::vector<PlacedVM> vms_;
  std::vector<uint32_t> vmRegion_;
  std::vector<bool> vmAlive_;
  StringMap<uint32_t> vmIds_;
  std::vector<std::vector<uint32_t>> vmsByRegion_;
};

}  // namespace dwcp::placement
