// The routing engine's vocabulary: region phases, algorithms and traffic classes, with their
// wire names ("Healthy", "geo-proximity", "realtime") and parsers. Pure values, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/vocabulary.h"

namespace dwcp::routing {

// Mirrors Region.status.phase of the CRD.
using base::parseRegionPhase;
using base::RegionPhase;
using base::toString;

enum class Algorithm : std::uint8_t { kLatency, kCost, kLoadBalanced, kGeoProximity, kHybrid };
inline constexpr int kAlgorithmCount = 5;

// Ordered from the most to the least important: shedding starts at the end.
enum class TrafficClass : std::uint8_t { kRealtime, kInteractive, kStandard, kBulk };
inline constexpr int kTrafficClassCount = 4;

std::string_view toString(Algorithm algorithm);
std::string_view toString(TrafficClass trafficClass);

// Exact, case-sensitive wire names; nullopt for anything else.
std::optional<Algorithm> parseAlgorithm(std::string_view name);
std::optional<TrafficClass> parseTrafficClass(std::string_view name);

// Phases that may receive traffic at all (Failed, Draining and Disabled never do).
constexpr bool phaseAcceptsTraffic(RegionPhase phase) {
  return phase == RegionPhase::kHealthy || phase == RegionPhase::kDegraded || phase == RegionPhase::kUnknown;
}

}  // namespace dwcp::routing
