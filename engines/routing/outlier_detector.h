// Outlier ejection from observed errors, after Envoy: a region is ejected after N consecutive
// errors or when its error rate within a window crosses a threshold, for a time that doubles on
// each repeated ejection (capped), then recovers by itself. One OutlierState per region;
// isEjected() is lock-free, record() and eject() lock the state's own mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace dwcp::routing {

struct OutlierConfig {
  bool enabled = true;
  std::uint32_t consecutiveErrors = 5;
  double errorRateThreshold = 0.5;  // fraction of failed requests in the window
  std::uint32_t minRequestsInWindow = 20;
  std::chrono::nanoseconds window = std::chrono::seconds(10);
  std::chrono::nanoseconds baseEjection = std::chrono::seconds(30);
  std::chrono::nanoseconds maxEjection = std::chrono::seconds(300);
  std::uint32_t maxEjectionPercent = 50;  // never eject more than this share of the regions
};

class OutlierState {
 public:
  bool isEjected(std::int64_t nowNanos) const {
    return ejectedUntilNanos_.load(std::memory_order_acquire) > nowNanos;
  }
  std::int64_t ejectedUntilNanos() const { return ejectedUntilNanos_.load(std::memory_order_acquire); }

  // Counts one outcome; true when a threshold is crossed and the region should be ejected now.
  // Outcomes arriving while ejected are ignored.
  bool record(bool success, std::int64_t nowNanos, const OutlierConfig& config);
  // Ejects until now + base * 2^k (capped), k counting recent ejections; resets the counters.
  void eject(std::int64_t nowNanos, const OutlierConfig& config);
  // Ends an ejection now (operator action or tests); keeps the backoff multiplier.
  void clear();

 private:
  std::atomic<std::int64_t> ejectedUntilNanos_{0};
  std::mutex mu_;
  std::uint32_t consecutiveErrors_ = 0;
  std::int64_t windowStartNanos_ = 0;
  std::uint32_t windowRequests_ = 0;
  std::uint32_t windowErrors_ = 0;
  std::uint32_t recentEjections_ = 0;
  std::int64_t lastEjectionEndNanos_ = 0;
};

}  // namespace dwcp::routing
