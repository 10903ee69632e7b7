// Counter that goes up and down: two grow-only counters (increments, decrements); value is
// their difference. Mutators return the delta to replicate. Value type; not thread-safe.
#pragma once

#include <cstdint>

#include "engines/state/gcounter.h"

namespace dwcp::state {

class PNCounter {
 public:
  PNCounter increment(ReplicaId replica, uint64_t amount = 1);
  PNCounter decrement(ReplicaId replica, uint64_t amount = 1);
  void join(const PNCounter& other);
  int64_t value() const;
  const GCounter& increments() const { return increments_; }
  const GCounter& decrements() const { return decrements_; }
  bool operator==(const PNCounter&) const = default;

 private:
  GCounter increments_;
  GCounter decrements_;
};

}  // namespace dwcp::state
