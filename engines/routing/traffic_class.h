// Traffic classes (QoS): per class the default algorithm, the latency bound the cost algorithm
// respects, and the shaping parameters (queue weight, queue limit, and the share of total queue
// capacity above which the class is shed, lowest classes first). Plain values.
#pragma once

#include <array>
#include <cstdint>

#include "engines/routing/result.h"
#include "engines/routing/types.h"

namespace dwcp::routing {

struct TrafficClassPolicy {
  Algorithm algorithm = Algorithm::kHybrid;
  double latencyBoundMs = 300;
  std::uint32_t queueWeight = 1;     // deficit-round-robin share
  std::uint32_t queueLimit = 1000;   // requests of this class waiting at most (beyond: 429)
  double shedAtDepthFraction = 1.0;  // shed (503) once total depth >= this x total capacity
};

using TrafficClassPolicies = std::array<TrafficClassPolicy, kTrafficClassCount>;

// realtime: latency, 50 ms, weight 8, shed at 100%; interactive: hybrid, 150 ms, 4, 90%;
// standard: hybrid, 300 ms, 2, 75%; bulk: cost, 1000 ms, 1, 50%.
TrafficClassPolicies defaultTrafficClassPolicies();

inline const TrafficClassPolicy& policyOf(const TrafficClassPolicies& policies, TrafficClass c) {
  return policies[static_cast<std::size_t>(c)];
}

// Field names like "classes.bulk.queueWeight".
Status validate(const TrafficClassPolicies& policies);

}  // namespace dwcp::routing
