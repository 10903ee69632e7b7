#include "controllers/vmplacement_status.h"

#include <chrono>
#include <cmath>

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

StatusDraft computeStatus(const PlacementOutcome& outcome, const api::VMPlacementStatus& current, int64_t generation,
                          api::Time now) {
  using api::ConditionStatus;
  using api::PlacementPhase;
  using Kind = PlacementOutcome::Kind;
  StatusDraft draft{current, {}};
  api::VMPlacementStatus& status = draft.status;
  status.observedGeneration = generation;
  switch (outcome.kind) {
    case Kind::kInvalidSpec:
      status.workloadRef.reset();
      status.phase = PlacementPhase::kFailed;
      status.message = outcome.message;
      draft.condition("Placed", ConditionStatus::kFalse, "InvalidSpec", outcome.message, generation, now);
      break;
    case Kind::kStillFits:
      status.message = "spec changed; region " + outcome.region + " still satisfies every constraint";
      draft.condition("Placed", ConditionStatus::kTrue, "Placed", "placed in " + outcome.region, generation, now);
      break;
    case Kind::kPlaced:
      if (outcome.workloadRemoved) status.workloadRef.reset();
      status.phase = PlacementPhase::kPlaced;
      status.region = outcome.region;
      status.score = std::round(outcome.score * 100.0) / 100.0;
      status.candidates = outcome.candidates;
      status.message = outcome.message;
      status.placedAt = std::chrono::floor<std::chrono::seconds>(now);
      status.epoch = outcome.epoch ? *outcome.epoch : status.epoch.value_or(0) + 1;
      draft.condition("Placed", ConditionStatus::kTrue, "Placed", "placed in " + outcome.region, generation, now);
      break;
    case Kind::kReserving:
      status.phase = PlacementPhase::kPending;
      status.message = outcome.message;
      draft.condition("Placed", ConditionStatus::kFalse, "Reserving", outcome.message, generation, now);
      break;
    case Kind::kMirrored:
      if (current.phase != PlacementPhase::kPlaced || current.region != outcome.region) {
        status.placedAt = std::chrono::floor<std::chrono::seconds>(now);
      }
      status.phase = PlacementPhase::kPlaced;
      status.region = outcome.region;
      status.score.reset();
      status.candidates.clear();
      status.message = outcome.message;
      status.epoch = outcome.epoch.value_or(0);
      draft.condition("Placed", ConditionStatus::kTrue, "Admitted", outcome.message, generation, now);
      break;
    case Kind::kUnschedulable: {
      const bool preempted = current.phase == PlacementPhase::kPreempted;
      status.phase = preempted ? PlacementPhase::kPreempted : PlacementPhase::kUnschedulable;
      status.region.reset();
      status.score.reset();
      status.candidates.clear();
      status.workloadRef.reset();
      std::string message = outcome.message;
      if (preempted) {
        // Keep who preempted it: "preempted by NS/NAME (priority P) to free capacity in R".
        const std::string previous = current.message.value_or("");
        const auto end = previous.find("; waiting for capacity");
        if (previous.rfind("preempted by ", 0) == 0 && end != std::string::npos) {
          message = previous.substr(0, end) + "; waiting for capacity: " + outcome.message;
        }
      }
      status.message = message;
      draft.condition("Placed", ConditionStatus::kFalse, preempted ? "Preempted" : "Unschedulable", message, generation,
                      now);
      break;
    }
  }
  return draft;
}

StatusDraft preemptedStatus(const api::VMPlacementStatus& current, const std::string& preemptor, int priority,
                            const std::string& region, int64_t generation, api::Time now) {
  StatusDraft draft{current, {}};
  api::VMPlacementStatus& status = draft.status;
  const std::string message = "preempted by " + preemptor + " (priority " + std::to_string(priority) +
                              ") to free capacity in " + region + "; waiting for capacity";
  status.phase = api::PlacementPhase::kPreempted;
  status.region.reset();
  status.score.reset();
  status.workloadRef.reset();
  status.epoch = status.epoch.value_or(0) + 1;
  status.message = message;
  draft.condition("Placed", api::ConditionStatus::kFalse, "Preempted", message, generation, now);
  return draft;
}

}  // namespace dwcp::controllers
