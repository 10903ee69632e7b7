// The VMPlacement status as one reconcile builds it, and what of it this operator owns: shared
// by the placement decision and the workload part, which each set their own fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// What one reconcile concluded about a VMPlacement: the input of its status.
struct PlacementOutcome {
  enum class Kind : uint8_t {
    kInvalidSpec,    // the spec does not parse, or the engine refused it: `message` says why
    kStillFits,      // the spec changed and `region`, where the VM is, still satisfies it
    kPlaced,         // placed in `region` with `score` and `candidates`; `message` explains
    kUnschedulable,  // nothing fits: `message` says why each region was rejected
    kReserving,      // federated: waiting for `region` to admit it; `message` says since when
    kMirrored,       // a mirror (controllers/mirror.h): holds capacity in `region` for its home, `message`
  };
  Kind kind = Kind::kInvalidSpec;
  std::string region;
  double score = 0;
  std::vector<api::PlacementCandidate> candidates;
  std::string message;
  bool workloadRemoved = false;  // the workload of the region it leaves was deleted
  std::optional<int64_t> epoch = std::nullopt;  // Placed, Mirrored: this epoch (the reservation's) instead of the next one
};

// The status a VMPlacement at `generation` gets for `outcome`, from its `current` status. Pure:
// the same inputs give the same status. Placed raises the epoch and stamps placedAt (seconds);
// a preempted VM that still cannot fit stays Preempted and keeps who preempted it in the message.
StatusDraft computeStatus(const PlacementOutcome& outcome, const api::VMPlacementStatus& current, int64_t generation,
                          api::Time now);

// The status of a VM preempted by `preemptor` (priority `priority`) to free capacity in `region`:
// Preempted, no region, score or workload, the epoch raised.
StatusDraft preemptedStatus(const api::VMPlacementStatus& current, const std::string& preemptor, int priority,
                            const std::string& region, int64_t generation, api::Time now);

}  // namespace dwcp::controllers
