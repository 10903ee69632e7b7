// Plain counters a region's state engine exposes (no metrics library here; the operator maps
// them to dwcp_federation_state_* Prometheus series). A snapshot value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engines/state/version_vector.h"

namespace dwcp::state {

struct PeerLag {
  uint64_t unacknowledgedWrites = 0;  // this region's writes the peer is not known to have
  int64_t lagMillis = 0;              // age of the oldest of them; 0 when caught up
};

struct StateMetrics {
  // Time from a local write to a peer's acknowledgement of the batch carrying it
  // (dwcp_federation_state_sync_latency_seconds); the most recent samples, oldest first.
  std::vector<double> syncLatencySeconds;
  std::map<ReplicaId, PeerLag> lagByPeer;  // this region's row of the federation's lag matrix
  uint64_t bytesSent = 0;
  uint64_t bytesReceived = 0;
  uint64_t framesSent = 0;
  uint64_t framesReceived = 0;
  uint64_t framesRejected = 0;
  std::string lastRejection;  // the error of the most recent rejected frame
  uint64_t batchesSent = 0;
  uint64_t retransmissions = 0;
  uint64_t antiEntropyRounds = 0;
  uint64_t antiEntropyRepairs = 0;  // entries first learned from a digest response
  uint64_t garbageCollected = 0;
  uint64_t quorumFailures = 0;
  uint64_t hlcDriftRejections = 0;
};

}  // namespace dwcp::state
