// The Prometheus text exposition (format 0.0.4) of one region's state engine and transport:
// the dwcp_federation_state_* series served by the replica's GET /metrics. A pure function
// over snapshots; thread-safe.
#pragma once

#include <map>
#include <string>

#include "engines/state/state_metrics.h"
#include "federation/https_peer_transport.h"

namespace dwcp::federation {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// peerRegions names each peer (the `peer` label); a peer missing there is labelled by its id.
std::string renderStateExposition(const state::StateMetrics& engine, const TransportStats& transport,
                                  const std::map<state::ReplicaId, std::string>& peerRegions);

}  // namespace dwcp::federation
