// Observed-remove set with add-wins semantics, built on dots and a causal context, so removal
// leaves no tombstone: a removed element's dots stay only as numbers in the context, and an
// add concurrent with a remove survives it. Mutators return the delta. Value type; not
// thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>

#include "engines/state/version_vector.h"

namespace dwcp::state {

class ORSet {
 public:
  // Adds `element` as an event of `replica`; the delta also retires the element's older dots.
  ORSet add(ReplicaId replica, const std::string& element);
  // Removes the element as observed here; concurrent adds elsewhere win.
  ORSet remove(const std::string& element);
  void join(const ORSet& other);
  bool contains(const std::string& element) const { return entries_.count(element) > 0; }
  std::set<std::string> elements() const;
  const std::map<std::string, std::set<Dot>>& entries() const { return entries_; }
  const DotContext& context() const { return context_; }
  bool operator==(const ORSet&) const = default;

 private:
  std::map<std::string, std::set<Dot>> entries_;  // element -> dots of its live adds; never empty
  std::map<Dot, std::string> dotIndex_;           // live dot -> its element, so a join touches
                                                  // only what the other side's context covers
  DotContext context_;
};

}  // namespace dwcp::state
