#include "engines/routing/types.h"

#include <array>

namespace dwcp::routing {
namespace {

constexpr std::array<std::string_view, kAlgorithmCount> kAlgorithmNames = {
    "latency", "cost", "load-balanced", "geo-proximity", "hybrid"};
constexpr std::array<std::string_view, kTrafficClassCount> kClassNames = {"realtime", "interactive",
                                                                          "standard", "bulk"};

template <class Enum, std::size_t N>
std::optional<Enum> parse(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view toString(Algorithm algorithm) {
  return kAlgorithmNames.at(static_cast<std::size_t>(algorithm));
}
std::string_view toString(TrafficClass trafficClass) {
  return kClassNames.at(static_cast<std::size_t>(trafficClass));
}

std::optional<Algorithm> parseAlgorithm(std::string_view name) { return parse<Algorithm>(kAlgorithmNames, name); }
std::optional<TrafficClass> parseTrafficClass(std::string_view name) {
  return parse<TrafficClass>(kClassNames, name);
}

}  // namespace dwcp::routing
