// The VMPlacement status as one reconcile builds it, and what of it this operator owns: shared
// by the placement decision and the workload part, which each set their own fields.
#pragma once

#include <cstdint>
#include <string>

#include "api/vmplacement.h"
#include "controllers/status_writer.h"

namespace dwcp::controllers {

// What this controller owns of VMPlacement status (server-side apply under kFieldManager): every
// field but those another controller adds later (a Migration's), and the Placed and
// WorkloadReady conditions.
const StatusOwnership& vmPlacementStatusOwnership();

// A VMPlacement status being built by one reconcile. A condition the typed helper refuses is kept
// as `error` (the first one), and the write reports it instead of writing.
struct StatusDraft {
  api::VMPlacementStatus status;
  std::string error;
  // Sets a condition at `generation`; a message over the API's 32768-byte limit is cut at a
  // UTF-8 character boundary.
  void condition(const char* type, api::ConditionStatus value, const char* reason, std::string message,
                 int64_t generation, api::Time now);
};

}  // namespace dwcp::controllers
