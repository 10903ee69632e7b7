#include "controllers/health_signals.h"

namespace dwcp::controllers {

void HealthSignals::recordReconcile(bool ok) {
  std::lock_guard lock(mu_);
  outcomes_.push_back(ok);
  if (!ok) ++failures_;
  while (outcomes_.size() > window_) {
    if (!outcomes_.front()) --failures_;
    outcomes_.pop_front();
  }
}

void HealthSignals::recordApiProbe(bool ready, double latencySeconds) {
  std::lock_guard lock(mu_);
  apiReachable_ = ready;
  apiLatencySeconds_ = latencySeconds;
}

HealthSnapshot HealthSignals::snapshot() const {
  std::lock_guard lock(mu_);
  HealthSnapshot s;
  s.apiReachable = apiReachable_;
  s.apiLatencySeconds = apiLatencySeconds_;
  s.reconciles = outcomes_.size();
  s.errorRatio = outcomes_.empty() ? 0.0 : static_cast<double>(failures_) / outcomes_.size();
  return s;
}

}  // namespace dwcp::controllers
