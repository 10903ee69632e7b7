// What the router learns about a region while it runs: in-flight requests, reported load,
// observed latency per client area and outlier ejection. Shared (shared_ptr) between the table
// and every snapshot that names the region, so it survives snapshot swaps. Atomics for readers;
// latency writers are serialized by latencyMu.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "engines/routing/outlier_detector.h"
#include "engines/routing/peak_ewma.h"

namespace dwcp::routing {

struct RegionLiveState {
  explicit RegionLiveState(std::uint32_t areaCount)
      : areaCount(areaCount), latency(std::make_unique<PeakEwma[]>(areaCount)) {}

  std::atomic<std::int64_t> inFlight{0};
  std::atomic<double> reportedLoad{0};  // utilisation reported from outside, 0 = idle, 1 = full
  OutlierState outlier;
  const std::uint32_t areaCount;
  std::unique_ptr<PeakEwma[]> latency;  // one per client area
  std::mutex latencyMu;
};

}  // namespace dwcp::routing
