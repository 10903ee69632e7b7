#include "operator/federation_setup.h"

#include "engines/state/state_metrics.h"

namespace dwcp::op {

kube::Result<std::unique_ptr<federation::FederationNode>> makeFederationNode(const Options& options,
                                                                             const config::Config& config) {
  auto bind = parseBindAddress("--peer-bind-address", options.peerBindAddress);
  if (!bind.ok()) return bind.error();
  federation::NodeConfig node;
  node.region = options.region;
  node.listenHost = bind->host.empty() ? "0.0.0.0" : bind->host.front() == '[' ? bind->host.substr(1, bind->host.size() - 2)
                                                                                 : bind->host;
  node.listenPort = static_cast<uint16_t>(bind->port);
  node.tls = {options.peerCa, options.peerTlsCert, options.peerTlsKey};
  node.heartbeatInterval = config.peers.heartbeatInterval;
  node.suspectAfterHeartbeats = config.peers.suspectAfterHeartbeats;
  return std::make_unique<federation::FederationNode>(std::move(node));
}

void connectEvents(federation::FederationNode& node, const FederationEvents& events) {
  federation::FederationNode::Listeners listeners;
  listeners.heartbeat = [&events](const std::string& region) {
    for (const auto& listener : events.heartbeat) listener(region);
  };
  listeners.record = [&events](const std::string& uid) {
    for (const auto& listener : events.record) listener(uid);
  };
  listeners.answer = [&events](const std::string& region, const std::string& uid) {
    for (const auto& listener : events.answer) listener(region, uid);
  };
  node.setListeners(std::move(listeners));
}

std::optional<controllers::Federation::Heard> NodeFederation::heartbeat(const std::string& region) const {
  auto heard = node_.heartbeat(region);
  if (!heard) return std::nullopt;
  return Heard{std::move(heard->heartbeat), heard->heardAt, heard->heardAtWall};
}

std::vector<CounterSource> federationMetrics(const federation::FederationNode& node) {
  const federation::FederationNode* n = &node;
  std::vector<CounterSource> out;
  auto counter = [&](const char* name, const char* help, std::function<double(const federation::NodeStats&)> read,
                     std::vector<std::pair<std::string, std::string>> labels = {}) {
    out.push_back({name, help, std::move(labels), [n, read] { return read(n->stats()); }});
  };
  counter("dwcp_federation_heartbeats_sent_total", "Heartbeats this region wrote.",
          [](const auto& s) { return double(s.heartbeatsSent); });
  counter("dwcp_federation_heartbeats_received_total", "Heartbeats heard from peer regions.",
          [](const auto& s) { return double(s.heartbeatsHeard); });
  counter("dwcp_federation_records_refused_total",
          "Replicated records from peers ignored: they did not parse or named another key.",
          [](const auto& s) { return double(s.recordsRefused); });
  counter("dwcp_federation_state_batches_replayed_total", "Delta batches from peers that held nothing new.",
          [](const auto& s) { return double(s.state.batchesReplayed); });
  counter("dwcp_federation_state_frames_rejected_total",
          "Peer frames the state engine rejected (malformed, oversized, unknown version or sender).",
          [](const auto& s) { return double(s.state.framesRejected); });
  counter("dwcp_federation_state_bytes_sent_total", "Frame bytes sent to peers.",
          [](const auto& s) { return double(s.state.bytesSent); });
  counter("dwcp_federation_state_bytes_received_total", "Frame bytes received from peers.",
          [](const auto& s) { return double(s.state.bytesReceived); });
  counter("dwcp_federation_peer_handshake_failures_total",
          "TLS handshakes on the peer port that failed (no certificate, another CA).",
          [](const auto& s) { return double(s.transport.handshakeFailures); });
  for (const char* reason : {"unknown-peer", "malformed", "unsupported-version", "too-large", "unknown-sender",
                             "not-ready", "bad-request", "other"}) {
    const std::string label = reason;
    counter("dwcp_federation_peer_frames_refused_total", "Peer requests refused, by reason.",
            [label](const auto& s) {
              auto it = s.transport.refusedByReason.find(label);
              return it == s.transport.refusedByReason.end() ? 0.0 : double(it->second);
            },
            {{"reason", label}});
  }
  CounterSource peers{"dwcp_federation_peers", "Peer regions this operator is configured with.", {},
                      [n] { return double(n->stats().peers); }, true, {}};
  out.push_back(std::move(peers));
  CounterSource sync{"dwcp_federation_state_sync_latency_seconds",
                     "Time from a local write to a peer's acknowledgement of it.", {}, {}, false,
                     [n] {
                       const state::LatencyHistogram h = n->stats().state.syncLatency;
                       HistogramValue value;
                       uint64_t cumulative = 0;
                       for (size_t i = 0; i < state::kSyncLatencyBucketCount; ++i) {
                         cumulative += h.bucketCounts[i];
                         value.buckets.push_back({state::kSyncLatencyBucketsSeconds[i], cumulative});
                       }
                       value.count = h.count;
                       value.sum = h.sumSeconds;
                       return value;
                     }};
  out.push_back(std::move(sync));
  return out;
}

}  // namespace dwcp::op
