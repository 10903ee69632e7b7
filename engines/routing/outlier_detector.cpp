#include "engines/routing/outlier_detector.h"

#include <algorithm>

namespace dwcp::routing {

bool OutlierState::record(bool success, std::int64_t nowNanos, const OutlierConfig& config) {
  if (!config.enabled || isEjected(nowNanos)) return false;
  std::lock_guard lock(mu_);
  if (nowNanos - windowStartNanos_ >= config.window.count()) {
    windowStartNanos_ = nowNanos;
    windowRequests_ = 0;
    windowErrors_ = 0;
  }
  ++windowRequests_;
  if (success) {
    consecutiveErrors_ = 0;
    return false;
  }
  ++windowErrors_;
  ++consecutiveErrors_;
  if (config.consecutiveErrors > 0 && consecutiveErrors_ >= config.consecutiveErrors) return true;
  return windowRequests_ >= config.minRequestsInWindow &&
         static_cast<double>(windowErrors_) >= config.errorRateThreshold * windowRequests_;
}

void OutlierState::eject(std::int64_t nowNanos, const OutlierConfig& config) {
  std::lock_guard lock(mu_);
  // A region that stayed in for a full max-ejection period starts again from the base time.
  if (nowNanos - lastEjectionEndNanos_ > config.maxEjection.count()) recentEjections_ = 0;
  const std::uint32_t shift = std::min<std::uint32_t>(recentEjections_, 20);
  const std::int64_t duration =
      std::min<std::int64_t>(config.baseEjection.count() << shift, config.maxEjection.count());
  ++recentEjections_;
  lastEjectionEndNanos_ = nowNanos + duration;
  consecutiveErrors_ = 0;
  windowStartNanos_ = lastEjectionEndNanos_;
  windowRequests_ = 0;
  windowErrors_ = 0;
  ejectedUntilNanos_.store(lastEjectionEndNanos_, std::memory_order_release);
}

void OutlierState::clear() {
  std::lock_guard lock(mu_);
  ejectedUntilNanos_.store(0, std::memory_order_release);
  consecutiveErrors_ = 0;
}

}  // namespace dwcp::routing
