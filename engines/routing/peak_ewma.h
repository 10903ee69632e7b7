// Peak-EWMA latency estimate for one (client area, region) pair, after Finagle and linkerd: an
// observation above the average replaces it at once (a slow region is avoided on the next
// request), lower ones pull it down with weight 1 - exp(-elapsed / tau). Without fresh
// observations the estimate relaxes back to a distance-based prior, so a region avoided once is
// tried again. Reads are lock-free; observe() must be serialized by the caller.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>

namespace dwcp::routing {

class PeakEwma {
 public:
  void setPrior(float priorMs) { priorMs_ = priorMs; }
  float priorMs() const { return priorMs_; }

  // The current estimate in milliseconds at nowNanos.
  double estimateMs(std::int64_t nowNanos, double recoveryTauNanos) const {
    const std::int64_t last = lastObservedNanos_.load(std::memory_order_acquire);
    if (last == 0) return priorMs_;
    const double value = ewmaMs_.load(std::memory_order_relaxed);
    const double age = static_cast<double>(nowNanos - last);
    if (age <= 0) return value;
    return priorMs_ + (value - priorMs_) * (recoveryTauNanos / (recoveryTauNanos + age));
  }

  void observe(double rttMs, std::int64_t nowNanos, double tauNanos) {
    const std::int64_t last = lastObservedNanos_.load(std::memory_order_relaxed);
    double next = rttMs;
    if (last != 0) {
      // The raw average, not the relaxed view: relaxing is for cells nobody observes.
      const double current = ewmaMs_.load(std::memory_order_relaxed);
      if (rttMs < current) {
        const double elapsed = static_cast<double>(nowNanos > last ? nowNanos - last : 0);
        const double keep = std::exp(-elapsed / tauNanos);
        next = current * keep + rttMs * (1.0 - keep);
      }
    }
    ewmaMs_.store(static_cast<float>(next), std::memory_order_relaxed);
    lastObservedNanos_.store(nowNanos == 0 ? 1 : nowNanos, std::memory_order_release);
  }

 private:
  // 16 bytes: a region's cells for neighbouring areas share cache lines.
  std::atomic<std::int64_t> lastObservedNanos_{0};  // 0: never observed
  std::atomic<float> ewmaMs_{0};
  float priorMs_ = 0;
};

}  // namespace dwcp::routing
