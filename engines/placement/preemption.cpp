// Victim search. The deficit is what the request needs beyond the free capacity, per dimension
// (cpu, memory, storage, VM slots); a set covers it when its summed resources reach every part.
// Candidates are ordered by (priority, key) so every search is deterministic.
#include "engines/placement/preemption.h"

#include <algorithm>
#include <array>
#include <bit>

namespace dwcp::placement {
namespace {

using Vec = std::array<int64_t, 4>;  // cpu, memoryMiB, storageGiB, vms

Vec toVec(const Resources& r) { return {r.cpu, r.memoryMiB, r.storageGiB, 1}; }

bool covers(const Vec& freed, const Vec& deficit) {
  for (size_t i = 0; i < freed.size(); ++i) {
    if (freed[i] < deficit[i]) return false;
  }
  return true;
}

VictimSet makeSet(const Snapshot& snapshot, const std::vector<uint32_t>& ids) {
  VictimSet set;
  set.vmIds = ids;
  for (uint32_t id : ids) {
    const int priority = snapshot.vm(id).priority;
    set.maxPriority = std::max(set.maxPriority, priority);
    set.prioritySum += priority;
  }
  return set;
}

}  // namespace

bool fewerOrLowerVictims(const VictimSet& a, const VictimSet& b) {
  if (a.vmIds.size() != b.vmIds.size()) return a.vmIds.size() < b.vmIds.size();
  if (a.maxPriority != b.maxPriority) return a.maxPriority < b.maxPriority;
  return a.prioritySum < b.prioritySum;
}

std::optional<VictimSet> selectVictims(const Snapshot& snapshot, size_t region, const Request& request,
                                       const RegionAllocation& allocated) {
  const RegionCapacity& capacity = snapshot.region(region).capacity;
  Vec deficit = {request.resources.cpu - (capacity.cpu - allocated.cpu),
                 request.resources.memoryMiB - (capacity.memoryMiB - allocated.memoryMiB),
                 request.resources.storageGiB - (capacity.storageGiB - allocated.storageGiB),
                 capacity.maxVMs ? 1 - (*capacity.maxVMs - allocated.vms) : 0};
  for (int64_t& d : deficit) d = std::max<int64_t>(0, d);

  std::vector<uint32_t> candidates;
  for (uint32_t id : snapshot.vmsIn(region)) {
    const PlacedVM& vm = snapshot.vm(id);
    if (vm.preemptible && vm.priority < request.priority && vm.key != request.key) candidates.push_back(id);
  }
  std::sort(candidates.begin(), candidates.end(), [&](uint32_t a, uint32_t b) {
    const PlacedVM &x = snapshot.vm(a), &y = snapshot.vm(b);
    return x.priority != y.priority ? x.priority < y.priority : x.key < y.key;
  });

  Vec total{};
  for (uint32_t id : candidates) {
    const Vec v = toVec(snapshot.vm(id).resources);
    for (size_t i = 0; i < total.size(); ++i) total[i] += v[i];
  }
  if (!covers(total, deficit)) return std::nullopt;
  if (covers(Vec{}, deficit)) return VictimSet{};  // fits already

  const size_t m = candidates.size();
  if (m <= kExhaustiveVictimCandidates) {
    std::vector<Vec> vecs;
    vecs.reserve(m);
    for (uint32_t id : candidates) vecs.push_back(toVec(snapshot.vm(id).resources));
    for (size_t k = 1; k <= m; ++k) {
      std::optional<VictimSet> best;
      // Every subset of size k (Gosper's hack), in increasing bit order.
      for (uint32_t mask = (1U << k) - 1; mask < (1U << m);) {
        Vec freed{};
        for (uint32_t bits = mask; bits != 0; bits &= bits - 1) {
          const Vec& v = vecs[std::countr_zero(bits)];
          for (size_t i = 0; i < freed.size(); ++i) freed[i] += v[i];
        }
        if (covers(freed, deficit)) {
          std::vector<uint32_t> ids;
          for (uint32_t bits = mask; bits != 0; bits &= bits - 1) ids.push_back(candidates[std::countr_zero(bits)]);
          VictimSet set = makeSet(snapshot, ids);
          if (!best || fewerOrLowerVictims(set, *best)) best = std::move(set);
        }
        const uint32_t low = mask & -mask;
        const uint32_t ripple = mask + low;
        mask = (((ripple ^ mask) >> 2) / low) | ripple;
      }
      if (best) return best;
    }
    return std::nullopt;  // unreachable: the full set covers
  }

  // Greedy: lowest priority first until covered, then reprieve the highest priorities that are
  // not needed.
  std::vector<uint32_t> chosen;
  Vec freed{};
  for (uint32_t id : candidates) {
    if (covers(freed, deficit)) break;
    const Vec v = toVec(snapshot.vm(id).resources);
    for (size_t i = 0; i < freed.size(); ++i) freed[i] += v[i];
    chosen.push_back(id);
  }
  for (size_t i = chosen.size(); i-- > 0;) {
    const Vec v = toVec(snapshot.vm(chosen[i]).resources);
    Vec without = freed;
    for (size_t d = 0; d < without.size(); ++d) without[d] -= v[d];
    if (covers(without, deficit)) {
      freed = without;
      chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return makeSet(snapshot, chosen);
}

}  // namespace dwcp::placement
