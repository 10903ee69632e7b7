// Written by hand (no registry needed for one snapshot): HELP and TYPE lines, then samples.
// Histogram buckets are made cumulative here from the engine's per-bucket counts.
#include "federation/state_exposition.h"

#include <charconv>
#include <cmath>

namespace dwcp::federation {
namespace {

constexpr const char* kPrefix = "dwcp_federation_state_";

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "NaN";
}

std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void counter(std::string& out, const char* suffix, const char* help, uint64_t value) {
  const std::string name = std::string(kPrefix) + suffix;
  header(out, name, "counter", help);
  out += name + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string renderStateExposition(const state::StateMetrics& engine, const TransportStats& transport,
                                  const std::map<state::ReplicaId, std::string>& peerRegions) {
  std::string out;
  const std::string latency = std::string(kPrefix) + "sync_latency_seconds";
  header(out, latency, "histogram", "Time from a local write to a peer's acknowledgement of the batch carrying it.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < state::kSyncLatencyBucketCount; ++i) {
    cumulative += engine.syncLatency.bucketCounts[i];
    out += latency + "_bucket{le=\"" + number(state::kSyncLatencyBucketsSeconds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += latency + "_bucket{le=\"+Inf\"} " + std::to_string(engine.syncLatency.count) + "\n";
  out += latency + "_sum " + number(engine.syncLatency.sumSeconds) + "\n";
  out += latency + "_count " + std::to_string(engine.syncLatency.count) + "\n";

  auto peerLabel = [&](state::ReplicaId peer) {
    auto it = peerRegions.find(peer);
    return "{peer=\"" + escapeLabel(it == peerRegions.end() ? std::to_string(peer) : it->second) + "\"}";
  };
  const std::string lag = std::string(kPrefix) + "replication_lag_seconds";
  header(out, lag, "gauge", "Age of this region's oldest write a peer is not known to have (0 when caught up).");
  for (const auto& [peer, peerLag] : engine.lagByPeer) {
    out += lag + peerLabel(peer) + " " + number(static_cast<double>(peerLag.lagMillis) / 1000.0) + "\n";
  }
  const std::string unacknowledged = std::string(kPrefix) + "unacknowledged_writes";
  header(out, unacknowledged, "gauge", "This region's writes a peer is not known to have.");
  for (const auto& [peer, peerLag] : engine.lagByPeer) {
    out += unacknowledged + peerLabel(peer) + " " + std::to_string(peerLag.unacknowledgedWrites) + "\n";
  }

  counter(out, "bytes_sent_total", "Frame bytes sent to peers by the state engine.", engine.bytesSent);
  counter(out, "bytes_received_total", "Frame bytes received from peers by the state engine.", engine.bytesReceived);
  counter(out, "frames_rejected_total", "Peer frames rejected as malformed, oversized, of an unknown version or sender.",
          engine.framesRejected);
  counter(out, "anti_entropy_repairs_total", "Entries first learned from an anti-entropy digest response.",
          engine.antiEntropyRepairs);
  counter(out, "quorum_failures_total", "Quorum and strong operations that missed their deadline.", engine.quorumFailures);
  counter(out, "transport_frames_refused_total", "Frames this region's peer endpoint refused (4xx/5xx).",
          transport.framesRefused);
  counter(out, "transport_handshake_failures_total", "TLS handshakes refused by this region's peer endpoint.",
          transport.handshakeFailures);
  counter(out, "transport_frames_dropped_by_faults_total", "Outgoing frames dropped by injected faults.",
          transport.framesDroppedByFaults);
  return out;
}

}  // namespace dwcp::federation
