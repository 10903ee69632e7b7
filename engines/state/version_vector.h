// Causality tracking: replica ids, dots (one event of one replica), version vectors and the
// causal context (a compact version vector plus a "cloud" of dots received out of order).
// Value types; not thread-safe (owners synchronize).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>

namespace dwcp::state {

using ReplicaId = uint32_t;

// One event: the counter-th event of a replica. Counters start at 1.
struct Dot {
  ReplicaId replica = 0;
  uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
};

// replica -> highest counter seen (all events 1..counter). Absent replicas are 0.
class VersionVector {
 public:
  enum class Order { kEqual, kBefore, kAfter, kConcurrent };

  uint64_t get(ReplicaId replica) const;
  // Raises the entry for `replica` to at least `counter`.
  void raise(ReplicaId replica, uint64_t counter);
  bool covers(const Dot& dot) const { return dot.counter != 0 && dot.counter <= get(dot.replica); }
  void merge(const VersionVector& other);
  // True when every entry of this is >= the same entry of other.
  bool dominates(const VersionVector& other) const;
  Order compare(const VersionVector& other) const;
  static VersionVector pointwiseMin(const VersionVector& a, const VersionVector& b);
  const std::map<ReplicaId, uint64_t>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  bool operator==(const VersionVector&) const = default;

 private:
  std::map<ReplicaId, uint64_t> entries_;  // never holds a zero
};

// The set of dots a replica has seen, kept compact: a version vector for the contiguous
// prefix of each replica plus the dots seen beyond a gap. add() keeps it normalized, so two
// contexts holding the same dots compare equal.
class DotContext {
 public:
  bool contains(const Dot& dot) const;
  void add(const Dot& dot);
  // Adds the dots (fromExclusive, toInclusive] of one replica.
  void addRange(ReplicaId replica, uint64_t fromExclusive, uint64_t toInclusive);
  void merge(const DotContext& other);
  // Allocates the next dot of `replica` (compact counter + 1) and records it.
  Dot next(ReplicaId replica);
  const VersionVector& compact() const { return compact_; }
  const std::set<Dot>& cloud() const { return cloud_; }
  bool empty() const { return compact_.empty() && cloud_.empty(); }
  bool operator==(const DotContext&) const = default;

 private:
  void normalize(ReplicaId replica);
  VersionVector compact_;
  std::set<Dot> cloud_;
};

}  // namespace dwcp::state
