// The signals a cluster has about its own region's health: whether its API server answers, how
// long it takes, and how many recent reconciles failed. Fed by the manager (API probe, controller
// hooks), read by the Region controller to compute status.healthScore. Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>

namespace dwcp::controllers {

struct HealthSnapshot {
  bool apiReachable = true;     // last API probe answered ready
  double apiLatencySeconds = 0; // duration of the last API probe
  double errorRatio = 0;        // failed / all among the last `window` reconciles
  size_t reconciles = 0;        // how many outcomes the ratio is over
};

class HealthSignals {
 public:
  explicit HealthSignals(size_t window = 100) : window_(window) {}
  void recordReconcile(bool ok);
  void recordApiProbe(bool ready, double latencySeconds);
  HealthSnapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  size_t window_;
  std::deque<bool> outcomes_;
  size_t failures_ = 0;
  bool apiReachable_ = true;
  double apiLatencySeconds_ = 0;
};

}  // namespace dwcp::controllers
