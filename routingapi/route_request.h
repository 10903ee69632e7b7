// The body of POST /v1/route and its answer: parseRouteRequest() validates untrusted JSON once,
// where it enters, and names the offending field ("location.latitude"); the render functions
// turn an engine Decision or an error into the response body. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engines/routing/result.h"
#include "engines/routing/router.h"
#include "engines/routing/types.h"

namespace dwcp::routingapi {

inline constexpr std::size_t kMaxClientAddressLength = 64;
inline constexpr std::size_t kMaxRegionNameLength = 253;
inline constexpr std::uint64_t kMaxRequestBytes = 1ULL << 40;  // 1 TiB

// {"clientAddress": "203.0.113.7", "location": {"latitude": 48.1, "longitude": 11.6},
//  "regionHint": "eu-central-1", "trafficClass": "interactive", "requestBytes": 2048,
//  "algorithm": "latency", "maxLatencyMs": 80}. clientAddress and/or location is required;
// the rest is optional (trafficClass defaults to standard). Unknown fields are rejected.
// clientAddress and requestBytes are the client's own claims: inputs to routing only, never to
// rate limiting (which charges the connection's source the bytes it sent).
struct RouteApiRequest {
  std::string clientAddress;  // IPv4 or IPv6 text, empty when absent
  std::optional<routing::GeoPoint> location;
  std::string regionHint;
  routing::TrafficClass trafficClass = routing::TrafficClass::kStandard;
  std::uint64_t requestBytes = 0;
  std::optional<routing::Algorithm> algorithm;
  std::optional<double> maxLatencyMs;

  // The engine's view; regionHint points into this object, which must outlive the result.
  routing::RouteRequest toEngineRequest() const;
};

// kInvalidArgument with field "body" for malformed JSON, else the JSON path of the bad field.
routing::Result<RouteApiRequest> parseRouteRequest(std::string_view body);

// {"region", "endpoint", "algorithm", "trafficClass", "score", "hintHonoured", "failover",
//  "withinLatencyBound", "alternatives": [{"region", "endpoint", "score"}]}
std::string renderDecision(const routing::Decision& decision);
// {"error": message, "field": field} (field omitted when empty).
std::string renderError(std::string_view message, std::string_view field = {});

}  // namespace dwcp::routingapi
