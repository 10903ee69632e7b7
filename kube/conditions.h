// Helpers over a metav1.Condition array (status.conditions, JSON). setCondition keeps a condition's
// lastTransitionTime while its status is unchanged, so a status recomputed from the same facts is
// equal to the stored one and statusChanged() can skip the write. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/clock.h"
#include "kube/result.h"

namespace dwcp::kube {

using json = nlohmann::json;

struct Condition {
  std::string type;     // e.g. "Ready"
  std::string status;   // "True", "False" or "Unknown"
  std::string reason;   // CamelCase, e.g. "CapacityExhausted"
  std::string message;  // human readable, at most 32768 bytes
  int64_t observedGeneration = 0;  // metadata.generation the condition was computed from
};

// Inserts or replaces the condition of c.type in `conditions` (null becomes an array).
// lastTransitionTime becomes `now` only when the status changes or the condition is new.
// Returns whether anything changed, or an Error (reason "Invalid") naming a bad field.
Result<bool> setCondition(json& conditions, const Condition& condition, Clock::WallTime now);

// The condition of this type, or nullptr. The pointer is valid while `conditions` is unchanged.
const json* findCondition(const json& conditions, std::string_view type);
// True when the condition exists and its status is "True".
bool isTrue(const json& conditions, std::string_view type);
// Removes the condition of this type; returns whether one was removed.
bool removeCondition(json& conditions, std::string_view type);

// Whether a status must be written: the whole status compared (conditions whose status did not
// change keep their old lastTransitionTime, so equal facts compare equal).
bool statusChanged(const json& oldStatus, const json& newStatus);

// metav1.Condition's reason rule, stricter on case: an upper-case letter, then letters and digits.
bool isCamelCase(std::string_view reason);

}  // namespace dwcp::kube
