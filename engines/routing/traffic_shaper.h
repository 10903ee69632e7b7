// Traffic shaping for admitted requests: one FIFO per traffic class, served by deficit round
// robin in proportion to the class queue weights. Overload sheds the lowest classes first: a
// class is refused (503) once the total depth reaches its shedAtDepthFraction of capacity, and
// (429) once its own queue is at queueLimit; both carry a Retry-After. Thread-safe (one mutex).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "engines/routing/result.h"
#include "engines/routing/traffic_class.h"
#include "engines/routing/types.h"

namespace dwcp::routing {

struct ShaperConfig {
  TrafficClassPolicies classes = defaultTrafficClassPolicies();
  std::size_t capacity = 10000;          // requests queued over all classes
  std::uint32_t quantum = 1;             // cost units a class earns per round per unit of weight
  double serviceRatePerSec = 10000;      // expected drain rate, for Retry-After
  std::uint32_t maxRetryAfterSeconds = 60;
};

Status validate(const ShaperConfig& config);

struct QueuedRequest {
  std::uint64_t id = 0;  // the caller's handle
  TrafficClass trafficClass = TrafficClass::kStandard;
  std::uint32_t cost = 1;  // e.g. 1 per request, or size in KiB; >= 1
};

enum class ShapingVerdict : std::uint8_t { kQueued, kShedClassFull, kShedOverload };

struct ShapingResult {
  ShapingVerdict verdict = ShapingVerdict::kQueued;
  int httpStatus = 0;                   // 429 class queue full, 503 overload
  std::uint32_t retryAfterSeconds = 0;  // >= 1 when shed
  bool queued() const { return verdict == ShapingVerdict::kQueued; }
};

class TrafficShaper {
 public:
  explicit TrafficShaper(ShaperConfig config = {});  // config assumed valid

  ShapingResult offer(const QueuedRequest& request);
  // The next request by deficit round robin, nullopt when every queue is empty.
  std::optional<QueuedRequest> next();

  std::size_t depth() const;
  std::size_t depth(TrafficClass trafficClass) const;

 private:
  std::uint32_t retryAfter(double waiting, double shareOfService) const;

  const ShaperConfig config_;
  mutable std::mutex mu_;
  std::array<std::deque<QueuedRequest>, kTrafficClassCount> queues_;
  std::array<std::uint64_t, kTrafficClassCount> deficit_{};
  std::size_t total_ = 0;
  std::size_t current_ = 0;      // class whose turn it is
  bool turnStarted_ = false;     // current_ has received its quantum for this round
  std::uint64_t weightSum_ = 0;
};

}  // namespace dwcp::routing
