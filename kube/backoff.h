// Retry delays for the watch loop: exponential (0.8 s doubling to 30 s) with full jitter, reset
// once the caller has been healthy for 2 minutes on the injected Clock. Thread-safe; the Clock
// must outlive the Backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "kube/clock.h"

namespace dwcp::kube {

struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30'000};
  std::chrono::milliseconds resetAfter{120'000};  // continuous health that forgets past failures
  std::uint64_t seed = 0;                         // 0: seeded from std::random_device
};

class Backoff {
 public:
  explicit Backoff(Clock& clock, BackoffOptions options = {});

  // Records a failed attempt and returns how long to wait before the next one: a uniform random
  // delay in [0, cap], where cap = min(max, initial * 2^failures-so-far).
  std::chrono::milliseconds markFailure();
  // Records that things work. After resetAfter of health with no failure, the cap starts over.
  void markHealthy();
  // Forgets every failure now.
  void reset();

  // Consecutive failures counted toward the cap, and the cap the next markFailure() would use.
  int failures() const;
  std::chrono::milliseconds nextCap() const;

 private:
  void forgetIfHealthyLongEnoughLocked(Clock::SteadyTime now);
  std::chrono::milliseconds capLocked() const;

  Clock& clock_;
  const BackoffOptions options_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  int failures_ = 0;
  std::optional<Clock::SteadyTime> healthySince_;
};

}  // namespace dwcp::kube
