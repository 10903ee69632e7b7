// Preemption: which VMs to displace in one region so a request fits. Only preemptible VMs of
// strictly lower priority are candidates, never the request's own VM. Prefers the fewest victims,
// then the lowest highest-priority victim, then the lowest priority sum. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engines/placement/snapshot.h"
#include "engines/placement/types.h"

namespace dwcp::placement {

// Up to this many candidates the search is exhaustive by victim count; above, greedy by
// priority then a reprieve pass (kube-scheduler's approach), which may not be minimal.
inline constexpr size_t kExhaustiveVictimCandidates = 14;

struct VictimSet {
  std::vector<uint32_t> vmIds;  // Snapshot VM ids, lowest priority first
  int maxPriority = -1;
  int64_t prioritySum = 0;
};

// True when a is strictly preferable to b: fewer victims, then lower max priority, then lower sum.
bool fewerOrLowerVictims(const VictimSet& a, const VictimSet& b);

// Victims in `region` whose removal makes `request` fit against capacity minus `allocated`
// (`allocated` excludes the request's own VM, see RegionMetrics). nullopt when no set of eligible
// victims is enough.
std::optional<VictimSet> selectVictims(const Snapshot& snapshot, size_t region, const Request& request,
                                       const RegionAllocation& allocated);

}  // namespace dwcp::placement
