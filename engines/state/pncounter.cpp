#include "engines/state/pncounter.h"

namespace dwcp::state {

PNCounter PNCounter::increment(ReplicaId replica, uint64_t amount) {
  PNCounter delta;
  delta.increments_ = increments_.increment(replica, amount);
  return delta;
}

PNCounter PNCounter::decrement(ReplicaId replica, uint64_t amount) {
  PNCounter delta;
  delta.decrements_ = decrements_.increment(replica, amount);
  return delta;
}

void PNCounter::join(const PNCounter& other) {
  increments_.join(other.increments_);
  decrements_.join(other.decrements_);
}

int64_t PNCounter::value() const {
  return static_cast<int64_t>(increments_.value()) - static_cast<int64_t>(decrements_.value());
}

}  // namespace dwcp::state
