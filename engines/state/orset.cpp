// The join is the dot-kernel join of Almeida, Shoker and Baquero ("Delta state replicated data
// types", 2018): a dot survives if both sides have it, or if the side lacking it never saw it.
#include "engines/state/orset.h"

#include <vector>

namespace dwcp::state {

ORSet ORSet::add(ReplicaId replica, const std::string& element) {
  ORSet delta;
  const Dot dot = context_.next(replica);
  auto& dots = entries_[element];
  for (const Dot& old : dots) {
    delta.context_.add(old);
    dotIndex_.erase(old);
  }
  dots = {dot};
  dotIndex_[dot] = element;
  delta.entries_[element] = {dot};
  delta.dotIndex_[dot] = element;
  delta.context_.add(dot);
  return delta;
}

ORSet ORSet::remove(const std::string& element) {
  ORSet delta;
  auto it = entries_.find(element);
  if (it == entries_.end()) return delta;
  for (const Dot& old : it->second) {
    delta.context_.add(old);
    dotIndex_.erase(old);
  }
  entries_.erase(it);
  return delta;
}

void ORSet::join(const ORSet& other) {
  // 1. My live dots that the other side has seen but no longer holds are removed.
  std::vector<Dot> removed;
  auto consider = [&](const Dot& dot, const std::string& element) {
    if (other.dotIndex_.count(dot) == 0) removed.push_back(dot);
    (void)element;
  };
  for (const auto& [replica, counter] : other.context_.compact().entries()) {
    for (auto it = dotIndex_.lower_bound(Dot{replica, 1}); it != dotIndex_.end() && it->first.replica == replica &&
                                                           it->first.counter <= counter;
         ++it) {
      consider(it->first, it->second);
    }
  }
  for (const Dot& dot : other.context_.cloud()) {
    if (auto it = dotIndex_.find(dot); it != dotIndex_.end()) consider(it->first, it->second);
  }
  for (const Dot& dot : removed) {
    auto it = dotIndex_.find(dot);
    auto entry = entries_.find(it->second);
    entry->second.erase(dot);
    if (entry->second.empty()) entries_.erase(entry);
    dotIndex_.erase(it);
  }
  // 2. The other side's live dots I have never seen are added.
  for (const auto& [dot, element] : other.dotIndex_) {
    if (context_.contains(dot)) continue;
    entries_[element].insert(dot);
    dotIndex_.emplace(dot, element);
  }
  context_.merge(other.context_);
}

std::set<std::string> ORSet::elements() const {
  std::set<std::string> out;
  for (const auto& [element, dots] : entries_) out.insert(element);
  return out;
}

}  // namespace dwcp::state
