// Per-request region choice: traffic class -> algorithm over the regions that accept traffic and
// are not ejected -> Decision, with the region hint honoured when it is routable and the hinted
// region's failover order used when it is not. Outcomes fed back through recordOutcome() train
// the latency table and drive outlier ejection. route() and recordOutcome() are thread-safe and
// take no lock on the hot path; the RegionTable and the clock must outlive the Router.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "engines/routing/algorithms.h"
#include "base/clock.h"
#include "engines/routing/outlier_detector.h"
#include "engines/routing/region_table.h"
#include "engines/routing/result.h"
#include "engines/routing/traffic_class.h"
#include "engines/routing/types.h"

namespace dwcp::routing {

struct RouterConfig {
  TrafficClassPolicies classes = defaultTrafficClassPolicies();
  HybridWeights hybridWeights;
  OutlierConfig outlier;
  std::chrono::nanoseconds latencyEwmaTau = std::chrono::seconds(10);  // peak-EWMA time constant
  std::chrono::nanoseconds latencyRecoveryTau = std::chrono::seconds(30);  // relax back to the prior
  std::size_t maxAlternatives = 3;  // at most kMaxAlternatives
  std::uint64_t seed = 0x5EED5EED5EED5EEDULL;  // power-of-two-choices randomness
};

// Field names like "hybridWeights.cost", "classes.bulk.latencyBoundMs".
Status validate(const RouterConfig& config);

struct RouteRequest {
  std::optional<GeoPoint> clientLocation;
  std::string_view regionHint;  // preferred region; empty for none. Must stay valid during route().
  TrafficClass trafficClass = TrafficClass::kStandard;
  std::optional<Algorithm> algorithm;     // overrides the class default
  std::optional<double> maxLatencyMs;     // overrides the class latency bound
  bool trackInFlight = false;             // count the request in the region's load until its outcome
};

struct Decision {
  std::shared_ptr<const RegionSnapshot> snapshot;  // keeps region() and alternatives valid
  std::uint32_t regionIndex = 0;
  Algorithm algorithm = Algorithm::kHybrid;  // actually applied (geo without location -> hybrid)
  TrafficClass trafficClass = TrafficClass::kStandard;
  double score = 0;  // lower is better; unit per algorithm (see algorithms.h)
  std::uint32_t clientArea = 0;
  bool hintHonoured = false;       // the hinted region was routable and chosen
  bool failover = false;           // a region was hinted but is gone; chosen by failover order or algorithm
  bool withinLatencyBound = true;  // false when cost found no region within the bound
  bool inFlightTracked = false;
  std::array<Candidate, kMaxAlternatives> alternatives{};  // next best, best first
  std::size_t alternativeCount = 0;

  const RegionEntry& region() const { return snapshot->regions()[regionIndex]; }
  std::string_view regionName() const { return region().spec.name; }
  std::string_view endpoint() const { return region().spec.endpoint; }
  const RegionEntry& alternativeRegion(std::size_t i) const {
    return snapshot->regions()[alternatives[i].regionIndex];
  }
};

class Router {
 public:
  // config is assumed valid (see validate()).
  explicit Router(const RegionTable& table, RouterConfig config = {},
                  const base::Clock& clock = base::RealClock::instance());

  // kInvalidArgument names the bad request field; kNoEligibleRegion says why each region is out.
  Result<Decision> route(const RouteRequest& request) const;

  // Feeds back one request's outcome: releases its in-flight count, records its RTT for the
  // client's area (peak-EWMA) and counts the success or error towards outlier ejection.
  void recordOutcome(const Decision& decision, double rttMs, bool success);
  // The same for traffic not routed by this router (e.g. probes); kNotFound for unknown regions.
  Status recordOutcome(std::string_view region, std::optional<GeoPoint> clientLocation, double rttMs,
                       bool success);

  bool isEjected(std::string_view region) const;
  const RouterConfig& config() const { return config_; }

 private:
  void observe(const RegionEntry& region, std::uint32_t area, double rttMs, bool success);
  std::uint64_t nextRandom() const;

  const RegionTable& table_;
  const RouterConfig config_;
  const base::Clock& clock_;
  mutable std::atomic<std::uint64_t> rngState_;
};

}  // namespace dwcp::routing
