// Plain counters a region's state engine exposes (no metrics library here; the operator maps
// them to dwcp_federation_state_* Prometheus series). A snapshot value type.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "engines/state/version_vector.h"

namespace dwcp::state {

struct PeerLag {
  uint64_t unacknowledgedWrites = 0;  // this region's writes the peer is not known to have
  int64_t lagMillis = 0;              // age of the oldest of them; 0 when caught up
};

// Upper bounds (seconds) of the sync latency histogram's buckets; +Inf is implied.
inline constexpr double kSyncLatencyBucketsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                        0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
inline constexpr size_t kSyncLatencyBucketCount = std::size(kSyncLatencyBucketsSeconds);

// Every sync latency sample since start, bucketed (not cumulative across buckets: bucketCounts[i]
// counts samples in (bound[i-1], bound[i]]; samples above the last bound only in `count`).
struct LatencyHistogram {
  std::array<uint64_t, kSyncLatencyBucketCount> bucketCounts{};
  uint64_t count = 0;
  double sumSeconds = 0;
  void observe(double seconds) {
    if (seconds < 0) seconds = 0;  // a clock stepped back (e.g. an injected skew changed)
    ++count;
    sumSeconds += seconds;
    for (size_t i = 0; i < kSyncLatencyBucketCount; ++i) {
      if (seconds <= kSyncLatencyBucketsSeconds[i]) {
        ++bucketCounts[i];
        break;
      }
    }
  }
};

struct StateMetrics {
  // Time from a local write to a peer's acknowledgement of the batch carrying it
  // (dwcp_federation_state_sync_latency_seconds); the most recent samples, oldest first.
  std::vector<double> syncLatencySeconds;
  LatencyHistogram syncLatency;  // the same samples, all of them, for a Prometheus histogram
  std::map<ReplicaId, PeerLag> lagByPeer;  // this region's row of the federation's lag matrix
  uint64_t bytesSent = 0;
  uint64_t bytesReceived = 0;
  uint64_t framesSent = 0;
  uint64_t framesReceived = 0;
  uint64_t framesRejected = 0;
  uint64_t batchesReplayed = 0;  // delta batches that held nothing new (replays, retransmissions)
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
