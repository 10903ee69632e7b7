// Hybrid logical clocks (Kulkarni et al.): physical milliseconds + a logical counter + the
// replica id as the final tie-break, so timestamps are unique, totally ordered, close to
// physical time and never go backwards, whatever the local clock does. Thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <mutex>

#include "base/clock.h"
#include "engines/state/version_vector.h"

namespace dwcp::state {

struct HlcTimestamp {
  int64_t physicalMillis = 0;
  uint32_t logical = 0;
  ReplicaId replica = 0;
  auto operator<=>(const HlcTimestamp&) const = default;
};

class HybridLogicalClock {
 public:
  // A remote timestamp more than maxForwardDriftMillis ahead of the local physical clock is
  // still ordered correctly by the data types (they order by causality first), but it does not
  // drag this clock forward; such observations are counted in rejectedDriftCount().
  HybridLogicalClock(ReplicaId replica, const base::Clock& clock, int64_t maxForwardDriftMillis = 300'000);

  // A local event (a write, a send): strictly greater than every timestamp issued or observed.
  HlcTimestamp now();
  // A receive event: afterwards now() is greater than `remote` (unless it drifted too far).
  void observe(const HlcTimestamp& remote);
  HlcTimestamp last() const;
  uint64_t rejectedDriftCount() const;
  // Largest (remote physical - local physical) seen, in milliseconds; negative when behind.
  int64_t maxObservedSkewMillis() const;

 private:
  const ReplicaId replica_;
  const base::Clock& clock_;
  const int64_t maxForwardDriftMillis_;
  mutable std::mutex mu_;
  int64_t physicalMillis_ = 0;
  uint32_t logical_ = 0;
  uint64_t rejectedDrift_ = 0;
  int64_t maxObservedSkewMillis_ = INT64_MIN;
};

}  // namespace dwcp::state
