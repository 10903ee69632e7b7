#include "engines/state/gset.h"

namespace dwcp::state {

GSet GSet::add(const std::string& element) {
  GSet delta;
  if (elements_.insert(element).second) delta.elements_.insert(element);
  return delta;
}

void GSet::join(const GSet& other) { elements_.insert(other.elements_.begin(), other.elements_.end()); }

}  // namespace dwcp::state
