#include "engines/routing/traffic_class.h"

#include <cmath>
#include <string>

namespace dwcp::routing {

TrafficClassPolicies defaultTrafficClassPolicies() {
  return {{
      {Algorithm::kLatency, 50, 8, 1000, 1.0},
      {Algorithm::kHybrid, 150, 4, 2000, 0.9},
      {Algorithm::kHybrid, 300, 2, 4000, 0.75},
      {Algorithm::kCost, 1000, 1, 4000, 0.5},
  }};
}

Status validate(const TrafficClassPolicies& policies) {
  for (int i = 0; i < kTrafficClassCount; ++i) {
    const auto& p = policies[i];
    const std::string prefix = "classes." + std::string(toString(static_cast<TrafficClass>(i))) + ".";
    if (static_cast<int>(p.algorithm) >= kAlgorithmCount)
      return Error{ErrorCode::kInvalidArgument, prefix + "algorithm", "unknown algorithm"};
    if (!std::isfinite(p.latencyBoundMs) || p.latencyBoundMs <= 0)
      return Error{ErrorCode::kInvalidArgument, prefix + "latencyBoundMs", "must be > 0"};
    if (p.queueWeight == 0) return Error{ErrorCode::kInvalidArgument, prefix + "queueWeight", "must be > 0"};
    if (p.queueLimit == 0) return Error{ErrorCode::kInvalidArgument, prefix + "queueLimit", "must be > 0"};
    if (!std::isfinite(p.shedAtDepthFraction) || p.shedAtDepthFraction <= 0 || p.shedAtDepthFraction > 1)
      return Error{ErrorCode::kInvalidArgument, prefix + "shedAtDepthFraction", "must be within (0, 1]"};
  }
  return okStatus();
}

}  // namespace dwcp::routing
