// HLC update rules from "Logical Physical Clocks" (Kulkarni, Demirbas et al., 2014), with a
// bound on how far a remote clock may pull this one forward.
#include "engines/state/hlc.h"

#include <algorithm>

namespace dwcp::state {

HybridLogicalClock::HybridLogicalClock(ReplicaId replica, const base::Clock& clock, int64_t maxForwardDriftMillis)
    : replica_(replica), clock_(clock), maxForwardDriftMillis_(maxForwardDriftMillis) {}

HlcTimestamp HybridLogicalClock::now() {
  std::lock_guard lock(mu_);
  const int64_t physical = clock_.wallMillis();
  if (physical > physicalMillis_) {
    physicalMillis_ = physical;
    logical_ = 0;
  } else {
    ++logical_;
  }
  return HlcTimestamp{physicalMillis_, logical_, replica_};
}

void HybridLogicalClock::observe(const HlcTimestamp& remote) {
  std::lock_guard lock(mu_);
  const int64_t physical = clock_.wallMillis();
  maxObservedSkewMillis_ = std::max(maxObservedSkewMillis_, remote.physicalMillis - physical);
  if (remote.physicalMillis - physical > maxForwardDriftMillis_) {
    ++rejectedDrift_;
    return;
  }
  const int64_t top = std::max({physicalMillis_, remote.physicalMillis, physical});
  if (top == physicalMillis_ && top == remote.physicalMillis) {
    logical_ = std::max(logical_, remote.logical) + 1;
  } else if (top == physicalMillis_) {
    ++logical_;
  } else if (top == remote.physicalMillis) {
    logical_ = remote.logical + 1;
  } else {
    logical_ = 0;
  }
  physicalMillis_ = top;
}

HlcTimestamp HybridLogicalClock::last() const {
  std::lock_guard lock(mu_);
  return HlcTimestamp{physicalMillis_, logical_, replica_};
}

uint64_t HybridLogicalClock::rejectedDriftCount() const {
  std::lock_guard lock(mu_);
  return rejectedDrift_;
}

int64_t HybridLogicalClock::maxObservedSkewMillis() const {
  std::lock_guard lock(mu_);
  return maxObservedSkewMillis_;
}

}  // namespace dwcp::state
