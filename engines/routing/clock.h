// Injected monotonic time for the routing engine. Everything whose behaviour depends on time
// (EWMA decay, ejection, token buckets, blacklists) reads a SteadyClock, so tests advance a
// ManualClock instead of sleeping. Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>

namespace dwcp::routing {

class SteadyClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~SteadyClock() = default;
  virtual TimePoint now() const = 0;
};

class RealSteadyClock final : public SteadyClock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  static RealSteadyClock& instance() {
    static RealSteadyClock clock;
    return clock;
  }
};

// Moves only when told to; starts one hour after the epoch so "zero" never means "now".
class ManualClock final : public SteadyClock {
 public:
  ManualClock() : nanos_(std::chrono::nanoseconds(std::chrono::hours(1)).count()) {}
  TimePoint now() const override {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::nanoseconds(nanos_.load(std::memory_order_acquire))));
  }
  void advance(std::chrono::nanoseconds d) { nanos_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> nanos_;
};

inline std::int64_t toNanos(SteadyClock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace dwcp::routing
