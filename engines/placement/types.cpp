// String forms of the engine's enums: the CRD enum values, looked up in small fixed tables.
#include "engines/placement/types.h"

#include <array>

namespace dwcp::placement {
namespace {

template <class E, size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<Outcome, std::string_view>, 4> kOutcomes{{
    {Outcome::kPlaced, "Placed"},
    {Outcome::kPlacedWithPreemption, "PlacedWithPreemption"},
    {Outcome::kUnschedulable, "Unschedulable"},
    {Outcome::kInvalid, "Invalid"},
}};

}  // namespace

std::string_view toString(Outcome outcome) { return nameOf(kOutcomes, outcome); }

bool isCapacityReason(Reason reason) {
  return reason == Reason::kInsufficientCpu || reason == Reason::kInsufficientMemory ||
         reason == Reason::kInsufficientStorage || reason == Reason::kNoVmSlots;
}

}  // namespace dwcp::placement
