// RFC 3339 text for Clock::WallTime, as the Kubernetes API writes it: metav1.Time in whole seconds
// ("2026-01-01T00:00:00Z") and metav1.MicroTime with six fractional digits. Parsing accepts any
// fraction and a "Z" or "+hh:mm" offset. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "kube/clock.h"
#include "kube/result.h"

namespace dwcp::kube {

// "2026-01-01T00:00:00Z" (UTC, truncated to whole seconds).
std::string formatRfc3339(Clock::WallTime time);
// "2026-01-01T00:00:00.000000Z" (UTC, truncated to microseconds).
std::string formatRfc3339Micro(Clock::WallTime time);
// Parses "YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)"; fractions beyond nanoseconds are
// truncated. A malformed text is an Error (code 0, reason "Invalid") that quotes it.
Result<Clock::WallTime> parseRfc3339(std::string_view text);

}  // namespace dwcp::kube
