#include "kube/backoff.h"

#include <algorithm>

namespace dwcp::kube {

namespace {

std::uint64_t seedFrom(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

Backoff::Backoff(Clock& clock, BackoffOptions options)
    : clock_(clock), options_(options), rng_(seedFrom(options.seed)) {}

std::chrono::milliseconds Backoff::capLocked() const {
  // Double from `initial` without overflowing: stop as soon as the cap reaches `max`.
  std::chrono::milliseconds cap = std::max(options_.initial, std::chrono::milliseconds(0));
  for (int i = 0; i < failures_ && cap < options_.max; ++i) cap *= 2;
  return std::min(cap, options_.max);
}

void Backoff::forgetIfHealthyLongEnoughLocked(Clock::SteadyTime now) {
  if (healthySince_ && now - *healthySince_ >= options_.resetAfter) {
    failures_ = 0;
    healthySince_ = now;
  }
}

std::chrono::milliseconds Backoff::markFailure() {
  std::lock_guard lock(mu_);
  forgetIfHealthyLongEnoughLocked(clock_.steadyNow());
  healthySince_.reset();
  const std::chrono::milliseconds cap = capLocked();
  if (failures_ < 64) ++failures_;
  std::uniform_int_distribution<std::int64_t> jitter(0, cap.count());
  return std::chrono::milliseconds(jitter(rng_));
}

void Backoff::markHealthy() {
  std::lock_guard lock(mu_);
  const auto now = clock_.steadyNow();
  if (!healthySince_) {
    healthySince_ = now;
    return;
  }
  forgetIfHealthyLongEnoughLocked(now);
}

void Backoff::reset() {
  std::lock_guard lock(mu_);
  failures_ = 0;
  healthySince_.reset();
}

int Backoff::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::chrono::milliseconds Backoff::nextCap() const {
  std::lock_guard lock(mu_);
  if (healthySince_ && clock_.steadyNow() - *healthySince_ >= options_.resetAfter) {
    return std::min(options_.initial, options_.max);
  }
  return capLocked();
}

}  // namespace dwcp::kube
