// Injectable time. Code whose behaviour depends on time takes a Clock&, so tests advance a
// FakeClock instead of sleeping. steadyNow() measures durations; wallNow() stamps objects.
#pragma once

#include <chrono>
#include <mutex>

namespace dwcp::kube {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual SteadyTime steadyNow() const = 0;
  virtual WallTime wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  static RealClock& instance() {
    static RealClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  FakeClock() : steady_(SteadyTime{} + std::chrono::hours(1)), wall_(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}) {}
  SteadyTime steadyNow() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  WallTime wallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
};

}  // namespace dwcp::kube
