// Grow-only counter: one monotonic slot per replica; value is the sum; join is the pointwise
// max. increment() mutates this counter and returns the delta (just the one changed slot),
// which any replica may join. Value type; not thread-safe.
#pragma once

#include <cstdint>
#include <map>

#include "engines/state/version_vector.h"

namespace dwcp::state {

class GCounter {
 public:
  GCounter increment(ReplicaId replica, uint64_t amount = 1);
  void join(const GCounter& other);
  uint64_t value() const;
  uint64_t slot(ReplicaId replica) const;
  const std::map<ReplicaId, uint64_t>& slots() const { return slots_; }
  bool operator==(const GCounter&) const = default;

 private:
  std::map<ReplicaId, uint64_t> slots_;
};

}  // namespace dwcp::state
