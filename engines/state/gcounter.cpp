#include "engines/state/gcounter.h"

#include <algorithm>

namespace dwcp::state {

GCounter GCounter::increment(ReplicaId replica, uint64_t amount) {
  auto& slot = slots_[replica];
  slot += amount;
  GCounter delta;
  delta.slots_[replica] = slot;
  return delta;
}

void GCounter::join(const GCounter& other) {
  for (const auto& [replica, count] : other.slots_) {
    auto& slot = slots_[replica];
    slot = std::max(slot, count);
  }
}

uint64_t GCounter::value() const {
  uint64_t sum = 0;
  for (const auto& [replica, count] : slots_) sum += count;
  return sum;
}

uint64_t GCounter::slot(ReplicaId replica) const {
  auto it = slots_.find(replica);
  return it == slots_.end() ? 0 : it->second;
}

}  // namespace dwcp::state
