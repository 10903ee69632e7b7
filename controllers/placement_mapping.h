// Maps the API's Region and VMPlacement onto the placement engine's plain structs, and a
// Decision back onto VMPlacement status fields. Pure functions: no I/O, no clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/region.h"
#include "api/vmplacement.h"
#include "engines/placement/types.h"

namespace dwcp::controllers {

// The engine's view of a Region. Allocation is left zero: the caller adds its ledger's VMs.
// A region without a status (or a remote one) has an unknown health score.
placement::RegionInfo toRegionInfo(const api::Region& region);
// Measured RTTs from Region status.peers[].latencyMs.
std::vector<placement::RttSample> rttSamples(const api::Region& region);

placement::Request toRequest(const std::string& key, const api::VMPlacementSpec& spec);
placement::PlacedVM toPlacedVM(const std::string& key, const std::string& region, const api::VMPlacementSpec& spec);

// status.candidates (best first), scores and factors rounded to two decimals.
std::vector<api::PlacementCandidate> statusCandidates(const std::vector<placement::Candidate>& candidates);

}  // namespace dwcp::controllers
