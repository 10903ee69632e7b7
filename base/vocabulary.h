// The federation's shared words, spelled as the CRDs spell them: a region's phase, its continent
// and the placement algorithms. The API types, the placement engine and the routing engine all use
// these enums, so a value read from a custom resource reaches an engine without a mapping. (The
// routing engine's algorithms are its own: routing::Algorithm, with load-balanced for balanced.)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace dwcp::base {

enum class RegionPhase : uint8_t { kUnknown, kHealthy, kDegraded, kFailed, kDraining, kDisabled };
enum class Continent : uint8_t { kAfrica, kAntarctica, kAsia, kEurope, kNorthAmerica, kOceania, kSouthAmerica };
enum class PlacementAlgorithm : uint8_t { kHybrid, kLatency, kCost, kBalanced, kGeoProximity };

inline constexpr std::pair<RegionPhase, std::string_view> kRegionPhaseNames[] = {
    {RegionPhase::kUnknown, "Unknown"},   {RegionPhase::kHealthy, "Healthy"},
    {RegionPhase::kDegraded, "Degraded"}, {RegionPhase::kFailed, "Failed"},
    {RegionPhase::kDraining, "Draining"}, {RegionPhase::kDisabled, "Disabled"},
};
inline constexpr std::pair<Continent, std::string_view> kContinentNames[] = {
    {Continent::kAfrica, "africa"},
    {Continent::kAntarctica, "antarctica"},
    {Continent::kAsia, "asia"},
    {Continent::kEurope, "europe"},
    {Continent::kNorthAmerica, "north-america"},
    {Continent::kOceania, "oceania"},
    {Continent::kSouthAmerica, "south-america"},
};
inline constexpr std::pair<PlacementAlgorithm, std::string_view> kPlacementAlgorithmNames[] = {
    {PlacementAlgorithm::kHybrid, "hybrid"},     {PlacementAlgorithm::kLatency, "latency"},
    {PlacementAlgorithm::kCost, "cost"},         {PlacementAlgorithm::kBalanced, "balanced"},
    {PlacementAlgorithm::kGeoProximity, "geo-proximity"},
};

// The name of `value` in a table like the two above ("" when absent), and the reverse.
template <class E, size_t N>
constexpr std::string_view enumName(E value, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "";
}
template <class E, size_t N>
constexpr std::optional<E> enumValue(std::string_view text, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [value, name] : names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

constexpr std::string_view toString(RegionPhase phase) { return enumName(phase, kRegionPhaseNames); }
constexpr std::string_view toString(Continent continent) { return enumName(continent, kContinentNames); }
constexpr std::string_view toString(PlacementAlgorithm algorithm) {
  return enumName(algorithm, kPlacementAlgorithmNames);
}
constexpr std::optional<PlacementAlgorithm> parsePlacementAlgorithm(std::string_view text) {
  return enumValue(text, kPlacementAlgorithmNames);
}
constexpr std::optional<RegionPhase> parseRegionPhase(std::string_view text) { return enumValue(text, kRegionPhaseNames); }
constexpr std::optional<Continent> parseContinent(std::string_view text) { return enumValue(text, kContinentNames); }

}  // namespace dwcp::base
