// Version vectors and causal contexts. The cloud is kept sorted by (replica, counter), so
// folding it into the compact vector after an insertion is a walk from that replica's entry.
#include "engines/state/version_vector.h"

#include <algorithm>

namespace dwcp::state {

uint64_t VersionVector::get(ReplicaId replica) const {
  auto it = entries_.find(replica);
  return it == entries_.end() ? 0 : it->second;
}

void VersionVector::raise(ReplicaId replica, uint64_t counter) {
  if (counter == 0) return;
  auto& slot = entries_[replica];
  slot = std::max(slot, counter);
}

void VersionVector::merge(const VersionVector& other) {
  for (const auto& [replica, counter] : other.entries_) raise(replica, counter);
}

bool VersionVector::dominates(const VersionVector& other) const {
  for (const auto& [replica, counter] : other.entries_) {
    if (get(replica) < counter) return false;
  }
  return true;
}

VersionVector::Order VersionVector::compare(const VersionVector& other) const {
  const bool ge = dominates(other);
  const bool le = other.dominates(*this);
  if (ge && le) return Order::kEqual;
  if (le) return Order::kBefore;
  if (ge) return Order::kAfter;
  return Order::kConcurrent;
}

VersionVector VersionVector::pointwiseMin(const VersionVector& a, const VersionVector& b) {
  VersionVector out;
  for (const auto& [replica, counter] : a.entries_) out.raise(replica, std::min(counter, b.get(replica)));
  return out;
}

bool DotContext::contains(const Dot& dot) const {
  return compact_.covers(dot) || cloud_.count(dot) > 0;
}

void DotContext::add(const Dot& dot) {
  if (dot.counter == 0 || contains(dot)) return;
  if (dot.counter == compact_.get(dot.replica) + 1) {
    compact_.raise(dot.replica, dot.counter);
  } else {
    cloud_.insert(dot);
  }
  normalize(dot.replica);
}

void DotContext::addRange(ReplicaId replica, uint64_t fromExclusive, uint64_t toInclusive) {
  if (toInclusive <= fromExclusive) return;
  const uint64_t have = compact_.get(replica);
  if (fromExclusive <= have) {
    compact_.raise(replica, toInclusive);
  } else {
    for (uint64_t c = fromExclusive + 1; c <= toInclusive; ++c) cloud_.insert(Dot{replica, c});
  }
  normalize(replica);
}

void DotContext::merge(const DotContext& other) {
  for (const auto& [replica, counter] : other.compact_.entries()) {
    compact_.raise(replica, counter);
  }
  for (const Dot& dot : other.cloud_) {
    if (!compact_.covers(dot)) cloud_.insert(dot);
  }
  for (const auto& [replica, counter] : other.compact_.entries()) normalize(replica);
  for (const Dot& dot : other.cloud_) normalize(dot.replica);
}

Dot DotContext::next(ReplicaId replica) {
  Dot dot{replica, compact_.get(replica) + 1};
  add(dot);
  return dot;
}

void DotContext::normalize(ReplicaId replica) {
  auto it = cloud_.lower_bound(Dot{replica, 0});
  while (it != cloud_.end() && it->replica == replica) {
    const uint64_t have = compact_.get(replica);
    if (it->counter <= have) {
      it = cloud_.erase(it);
    } else if (it->counter == have + 1) {
      compact_.raise(replica, it->counter);
      it = cloud_.erase(it);
    } else {
      break;
    }
  }
}

}  // namespace dwcp::state
