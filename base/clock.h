// Injected time, the one clock of the project. Code that measures, times out or stamps never
// reads std::chrono clocks itself: it takes a Clock, so tests drive a FakeClock (and the state
// engine's simulations a SkewedClock per replica) instead of sleeping. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace dwcp::base {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual SteadyTime steadyNow() const = 0;
  virtual WallTime wallNow() const = 0;
  // Waits on `cv` (with `lock` held on entry and exit) until `done()` or this clock reaches
  // `deadline`; returns done(). Notifying `cv` re-checks both.
  virtual bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         SteadyTime deadline, const std::function<bool()>& done) const = 0;

  // Steady time as nanoseconds (the routing engine's atomics) and wall time as milliseconds
  // since the Unix epoch (the state engine's hybrid logical clocks).
  int64_t steadyNanos() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steadyNow().time_since_epoch()).count();
  }
  int64_t wallMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(wallNow().time_since_epoch()).count();
  }

 protected:
  // waitUntil for a clock that moves only when a test says so: re-checks every millisecond of
  // real time, so another thread's advance() wakes the waiter without notifying `cv`.
  bool pollUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const {
    while (!done()) {
      if (steadyNow() >= deadline) return false;
      cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    return true;
  }
};

class RealClock final : public Clock {
 public:
  SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return cv.wait_until(lock, deadline, done);
  }
  static RealClock& instance() {
    static RealClock clock;
    return clock;
  }
};

// Starts at steady 1 h and wall 2026-01-01T00:00:00Z; moves only when told. Lock-free reads, so
// hot paths under test (token buckets, EWMAs) pay no more than with the real clock.
class FakeClock final : public Clock {
 public:
  static constexpr int64_t kDefaultWallMillis = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  explicit FakeClock(int64_t wallMillis = kDefaultWallMillis)
      : steadyNanos_(std::chrono::nanoseconds(std::chrono::hours(1)).count()),
        wallNanos_(wallMillis * 1'000'000) {}
  SteadyTime steadyNow() const override {
    return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
        std::chrono::nanoseconds(steadyNanos_.load(std::memory_order_acquire))));
  }
  WallTime wallNow() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::nanoseconds(wallNanos_.load(std::memory_order_acquire))));
  }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return pollUntil(lock, cv, deadline, done);
  }
  // Moves both clocks forward.
  void advance(std::chrono::nanoseconds d) {
    steadyNanos_.fetch_add(d.count(), std::memory_order_acq_rel);
    wallNanos_.fetch_add(d.count(), std::memory_order_acq_rel);
  }
  // Sets the wall clock only (it may go backwards, as a real one stepped by NTP does).
  void setWallMillis(int64_t millis) { wallNanos_.store(millis * 1'000'000, std::memory_order_release); }

 private:
  std::atomic<int64_t> steadyNanos_;
  std::atomic<int64_t> wallNanos_;
};

// Another clock's time with its wall clock shifted by an offset that may change at run time:
// each simulated replica gets its own skew.
class SkewedClock final : public Clock {
 public:
  SkewedClock(const Clock& base, int64_t skewMillis) : base_(base), skewMillis_(skewMillis) {}
  SteadyTime steadyNow() const override { return base_.steadyNow(); }
  WallTime wallNow() const override { return base_.wallNow() + std::chrono::milliseconds(skewMillis_.load()); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return base_.waitUntil(lock, cv, deadline, done);
  }
  int64_t skewMillis() const { return skewMillis_.load(); }
  void setSkewMillis(int64_t skewMillis) { skewMillis_.store(skewMillis); }

 private:
  const Clock& base_;
  std::atomic<int64_t> skewMillis_;
};

}  // namespace dwcp::base
