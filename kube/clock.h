// Injectable time. Code whose behaviour depends on time takes a Clock&, so tests advance a
// FakeClock instead of sleeping. steadyNow() measures durations; wallNow() stamps objects.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace dwcp::kube {

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

// A clock that moves only when told to. Thread-safe. waitUntil() re-checks the fake time every
// millisecond of real time, so a waiter wakes shortly after advance() passes its deadline.
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
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    while (!done()) {
      if (steadyNow() >= deadline) return false;
      cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    return true;
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
