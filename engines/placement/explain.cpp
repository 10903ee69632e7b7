// Text for rejections. Numbers print without trailing zeros ("2.5", "120") except prices, which
// keep cents ("1.52").
#include "engines/placement/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace dwcp::placement {
namespace {

std::string number(double value) {
  char buffer[64];
  if (std::isnan(value)) return "unknown";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f", value);
    std::string text(buffer);
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
    return text;
  }
  return buffer;
}

std::string price(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, value < 0.01 ? "%.4f" : "%.2f", value);
  return buffer;
}

}  // namespace

std::string_view reasonCode(Reason reason) {
  switch (reason) {
    case Reason::kRegionDisabled: return "RegionDisabled";
    case Reason::kRegionFailed: return "RegionFailed";
    case Reason::kRegionDraining: return "RegionDraining";
    case Reason::kRegionUnreachable: return "RegionUnreachable";
    case Reason::kNotAllowed: return "NotAllowed";
    case Reason::kExcluded: return "Excluded";
    case Reason::kContinent: return "ContinentMismatch";
    case Reason::kCountry: return "CountryMismatch";
    case Reason::kCompliance: return "MissingCompliance";
    case Reason::kHealth: return "HealthTooLow";
    case Reason::kLatency: return "LatencyTooHigh";
    case Reason::kCost: return "CostTooHigh";
    case Reason::kInsufficientCpu: return "InsufficientCpu";
    case Reason::kInsufficientMemory: return "InsufficientMemory";
    case Reason::kInsufficientStorage: return "InsufficientStorage";
    case Reason::kNoVmSlots: return "NoVmSlots";
  }
  return "Unknown";
}

std::string describe(const Rejection& r) {
  switch (r.reason) {
    case Reason::kRegionDisabled: return "region disabled";
    case Reason::kRegionFailed: return "region failed";
    case Reason::kRegionDraining: return "region draining";
    case Reason::kRegionUnreachable: return "region unreachable (no heartbeat)";
    case Reason::kNotAllowed: return "not in allowed regions";
    case Reason::kExcluded: return "excluded";
    case Reason::kContinent: return "continent " + r.subject + " not allowed";
    case Reason::kCountry: return "country " + (r.subject.empty() ? std::string("unset") : r.subject) + " not allowed";
    case Reason::kCompliance: return "lacks compliance " + r.subject;
    case Reason::kHealth: return "health " + (r.actual < 0 ? std::string("unknown") : number(r.actual)) + " under min " + number(r.limit);
    case Reason::kLatency: return "latency " + number(r.actual) + " ms over max " + number(r.limit) + " ms";
    case Reason::kCost: return "cost " + price(r.actual) + "/h over max " + price(r.limit) + "/h";
    case Reason::kInsufficientCpu:
      return "insufficient cpu: " + number(r.actual) + " free, " + number(r.limit) + " requested";
    case Reason::kInsufficientMemory:
      return "insufficient memory: " + number(r.actual) + " MiB free, " + number(r.limit) + " MiB requested";
    case Reason::kInsufficientStorage:
      return "insufficient storage: " + number(r.actual) + " GiB free, " + number(r.limit) + " GiB requested";
    case Reason::kNoVmSlots: return "no vm slots";
  }
  return "rejected";
}

std::string summaryPhrase(const Rejection& r) {
  switch (r.reason) {
    case Reason::kRegionDisabled: return "disabled";
    case Reason::kRegionFailed: return "failed";
    case Reason::kRegionDraining: return "draining";
    case Reason::kRegionUnreachable: return "unreachable";
    case Reason::kNotAllowed: return "not in allowed regions";
    case Reason::kExcluded: return "excluded";
    case Reason::kContinent: return "outside allowed continents";
    case Reason::kCountry: return "outside allowed countries";
    case Reason::kCompliance: return "lack compliance " + r.subject;
    case Reason::kHealth: return "health under min";
    case Reason::kLatency: return "latency over max";
    case Reason::kCost: return "cost over max";
    case Reason::kInsufficientCpu: return "insufficient cpu";
    case Reason::kInsufficientMemory: return "insufficient memory";
    case Reason::kInsufficientStorage: return "insufficient storage";
    case Reason::kNoVmSlots: return "no vm slots";
  }
  return "rejected";
}

std::string summarize(int regionsTotal, int regionsFeasible, const std::vector<Rejection>& rejections) {
  std::string out = std::to_string(regionsFeasible) + "/" + std::to_string(regionsTotal) + " regions fit";
  if (rejections.empty()) return out;
  // Group by (reason, subject) first, so phrases are built once per group, not per region.
  std::vector<std::pair<const Rejection*, int>> byReason;
  for (const Rejection& rejection : rejections) {
    auto it = std::find_if(byReason.begin(), byReason.end(), [&](const auto& g) {
      return g.first->reason == rejection.reason &&
             (rejection.reason != Reason::kCompliance || g.first->subject == rejection.subject);
    });
    if (it == byReason.end()) {
      byReason.emplace_back(&rejection, 1);
    } else {
      ++it->second;
    }
  }
  std::vector<std::pair<std::string, int>> groups;
  groups.reserve(byReason.size());
  for (const auto& [rejection, count] : byReason) groups.emplace_back(summaryPhrase(*rejection), count);
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  out += ":";
  for (size_t i = 0; i < groups.size(); ++i) {
    out += (i == 0 ? " " : ", ") + std::to_string(groups[i].second) + " " + groups[i].first;
  }
  return out;
}

}  // namespace dwcp::placement
