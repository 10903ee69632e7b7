#include "controllers/vmplacement_status.h"

#include "base/strings.h"

namespace dwcp::controllers {

const StatusOwnership& vmPlacementStatusOwnership() {
  static const StatusOwnership owned{{"observedGeneration", "phase", "region", "score", "candidates", "message",
                                      "placedAt", "epoch", "workloadRef"},
                                     {"Placed", "WorkloadReady"}};
  return owned;
}

void StatusDraft::condition(const char* type, api::ConditionStatus value, const char* reason, std::string message,
                            int64_t generation, api::Time now) {
  constexpr size_t kMaxMessage = 32768;
  if (message.size() > kMaxMessage) message = base::truncateUtf8(message, kMaxMessage);
  auto set = api::setCondition(status.conditions, {type, value, reason, std::move(message), {}, generation}, now);
  if (!set.ok() && error.empty()) error = set.error().message;
}

}  // namespace dwcp::controllers
