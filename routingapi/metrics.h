// Prometheus metrics of the routing API, kept in atomics and written by hand in the text
// exposition format: the decision latency histogram (a bucket at the 0.1 s SLA threshold),
// decisions by algorithm, class and region, rate-limited and shed requests, responses by status
// code. Recording is lock-free except the first decision for a new region name (one lock);
// thread-safe throughout.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "engines/routing/rate_limiter.h"
#include "engines/routing/traffic_shaper.h"
#include "engines/routing/types.h"

namespace dwcp::routingapi {

class RoutingMetrics {
 public:
  // Upper bounds in seconds; 0.1 is the routing SLA threshold.
  static constexpr std::array<double, 14> kLatencyBucketsSeconds = {
      1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0};

  void recordDecision(double latencySeconds, routing::Algorithm algorithm, routing::TrafficClass trafficClass,
                      std::string_view region);
  void recordRateLimited(routing::AdmissionVerdict verdict);
  void recordShed(routing::TrafficClass trafficClass, routing::ShapingVerdict verdict);
  void recordNoEligibleRegion();
  void recordResponse(int httpStatus);

  // Gauges are sampled by the caller at scrape time.
  struct Gauges {
    std::size_t blacklistedSources = 0;
    std::size_t trackedSources = 0;
    std::size_t regions = 0;
    std::size_t routableRegions = 0;
  };
  std::string render(const Gauges& gauges) const;

  std::uint64_t decisionCount() const { return latencyCount_.load(std::memory_order_relaxed); }

 private:
  using PerRegion = std::array<std::atomic<std::uint64_t>, routing::kAlgorithmCount * routing::kTrafficClassCount>;
  PerRegion& regionCounters(std::string_view region);

  std::array<std::atomic<std::uint64_t>, kLatencyBucketsSeconds.size()> latencyBuckets_{};
  std::atomic<std::uint64_t> latencyCount_{0};
  std::atomic<std::uint64_t> latencySumNanos_{0};

  mutable std::shared_mutex regionsMu_;
  std::map<std::string, std::unique_ptr<PerRegion>, std::less<>> decisions_;

  std::array<std::atomic<std::uint64_t>, 4> rateLimited_{};  // by AdmissionVerdict
  std::array<std::array<std::atomic<std::uint64_t>, 3>, routing::kTrafficClassCount> shed_{};
  std::atomic<std::uint64_t> noEligibleRegion_{0};
  std::array<std::atomic<std::uint64_t>, 600> responses_{};  // by status code
};

}  // namespace dwcp::routingapi
