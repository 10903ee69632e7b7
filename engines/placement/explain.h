// Explanation: rejection reasons as text, and the kube-scheduler style summary of a decision,
// e.g. "0/5 regions fit: 2 insufficient cpu, 3 lack compliance gdpr". Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engines/placement/types.h"

namespace dwcp::placement {

// CamelCase code for a reason, e.g. "InsufficientCpu", "MissingCompliance".
std::string_view reasonCode(Reason reason);

// One region's rejection, e.g. "lacks compliance gdpr", "latency 120 ms over max 50 ms",
// "insufficient cpu: 2 free, 4 requested".
std::string describe(const Rejection& rejection);

// The short phrase a rejection is counted under, e.g. "insufficient cpu", "lack compliance gdpr".
std::string summaryPhrase(const Rejection& rejection);

// "F/T regions fit", then ": N phrase, ..." grouped by phrase, largest count first, then by
// phrase. Without rejections: "5/5 regions fit".
std::string summarize(int regionsTotal, int regionsFeasible, const std::vector<Rejection>& rejections);

}  // namespace dwcp::placement
