#include "engines/routing/traffic_shaper.h"

#include <algorithm>
#include <cmath>

namespace dwcp::routing {

Status validate(const ShaperConfig& config) {
  if (auto status = validate(config.classes); !status.ok()) return status;
  if (config.capacity == 0) return Error{ErrorCode::kInvalidArgument, "capacity", "must be > 0"};
  if (config.quantum == 0) return Error{ErrorCode::kInvalidArgument, "quantum", "must be > 0"};
  if (!std::isfinite(config.serviceRatePerSec) || config.serviceRatePerSec <= 0)
    return Error{ErrorCode::kInvalidArgument, "serviceRatePerSec", "must be > 0"};
  if (config.maxRetryAfterSeconds == 0)
    return Error{ErrorCode::kInvalidArgument, "maxRetryAfterSeconds", "must be > 0"};
  return okStatus();
}

TrafficShaper::TrafficShaper(ShaperConfig config) : config_(config) {
  for (const auto& policy : config_.classes) weightSum_ += policy.queueWeight;
}

std::uint32_t TrafficShaper::retryAfter(double waiting, double shareOfService) const {
  const double seconds = std::ceil(waiting / (config_.serviceRatePerSec * std::max(shareOfService, 1e-6)));
  return static_cast<std::uint32_t>(std::clamp(seconds, 1.0, static_cast<double>(config_.maxRetryAfterSeconds)));
}

ShapingResult TrafficShaper::offer(const QueuedRequest& request) {
  const auto c = static_cast<std::size_t>(request.trafficClass);
  const auto& policy = config_.classes[c];
  std::lock_guard lock(mu_);
  const double shedAt = policy.shedAtDepthFraction * static_cast<double>(config_.capacity);
  if (static_cast<double>(total_) >= shedAt || total_ >= config_.capacity) {
    return {ShapingVerdict::kShedOverload, 503, retryAfter(static_cast<double>(total_ + 1), 1.0)};
  }
  if (queues_[c].size() >= policy.queueLimit) {
    const double share = weightSum_ > 0 ? static_cast<double>(policy.queueWeight) / weightSum_ : 1.0;
    return {ShapingVerdict::kShedClassFull, 429, retryAfter(static_cast<double>(queues_[c].size() + 1), share)};
  }
  QueuedRequest queued = request;
  queued.cost = std::max<std::uint32_t>(1, queued.cost);
  queues_[c].push_back(queued);
  ++total_;
  return {};
}

std::optional<QueuedRequest> TrafficShaper::next() {
  std::lock_guard lock(mu_);
  if (total_ == 0) return std::nullopt;
  while (true) {
    auto& queue = queues_[current_];
    if (!turnStarted_) {
      if (queue.empty()) {
        deficit_[current_] = 0;
        current_ = (current_ + 1) % kTrafficClassCount;
        continue;
      }
      deficit_[current_] += static_cast<std::uint64_t>(config_.quantum) * config_.classes[current_].queueWeight;
      turnStarted_ = true;
    }
    if (!queue.empty() && queue.front().cost <= deficit_[current_]) {
      QueuedRequest out = queue.front();
      queue.pop_front();
      deficit_[current_] -= out.cost;
      --total_;
      if (queue.empty()) deficit_[current_] = 0;
      return out;
    }
    if (queue.empty()) deficit_[current_] = 0;
    current_ = (current_ + 1) % kTrafficClassCount;
    turnStarted_ = false;
  }
}

std::size_t TrafficShaper::depth() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::size_t TrafficShaper::depth(TrafficClass trafficClass) const {
  std::lock_guard lock(mu_);
  return queues_[static_cast<std::size_t>(trafficClass)].size();
}

}  // namespace dwcp::routing
