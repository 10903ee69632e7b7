// Injected physical time for the state engine, in milliseconds since the Unix epoch. The engine
// never reads the system clock itself: tests drive a ManualClock (a virtual clock, optionally
// skewed per replica). Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dwcp::state {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t startMillis = 1'767'225'600'000) : nowMillis_(startMillis) {}
  int64_t nowMillis() const override { return nowMillis_.load(); }
  void setMillis(int64_t millis) { nowMillis_.store(millis); }
  void advanceMillis(int64_t millis) { nowMillis_.fetch_add(millis); }

 private:
  std::atomic<int64_t> nowMillis_;
};

// Another clock shifted by an offset: how tests (and the replica daemon's fault injection) give
// each replica its own clock skew. The offset may be changed at run time.
class SkewedClock final : public Clock {
 public:
  SkewedClock(const Clock& base, int64_t skewMillis) : base_(base), skewMillis_(skewMillis) {}
  int64_t nowMillis() const override { return base_.nowMillis() + skewMillis_.load(); }
  int64_t skewMillis() const { return skewMillis_.load(); }
  void setSkewMillis(int64_t skewMillis) { skewMillis_.store(skewMillis); }

 private:
  const Clock& base_;
  std::atomic<int64_t> skewMillis_;
};

}  // namespace dwcp::state
