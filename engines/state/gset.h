// Grow-only set of strings: add only, join is union. add() returns the delta (the one element,
// or nothing when it was already present). Value type; not thread-safe.
#pragma once

#include <set>
#include <string>

namespace dwcp::state {

class GSet {
 public:
  GSet add(const std::string& element);
  void join(const GSet& other);
  bool contains(const std::string& element) const { return elements_.count(element) > 0; }
  const std::set<std::string>& elements() const { return elements_; }
  size_t size() const { return elements_.size(); }
  bool operator==(const GSet&) const = default;

 private:
  std::set<std::string> elements_;
};

}  // namespace dwcp::state
