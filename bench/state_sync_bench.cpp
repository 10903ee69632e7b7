// Five state replicas in one process on loopback, linked by the real mutual-TLS transport
// (federation/) with an injected one-way latency, measured end to end; prints one JSON object.
//   convergence     put (eventual) on one region -> visible on all four others, p50/p99
//   quorumWrite     put (quorum) -> acknowledged, p50/p99; strongWrite likewise
//   wire            engine frame bytes sent per update and per peer (deltas, acks, digests)
//   healing         region 5 cut off while 10% of a `keys`-key state changes, then healed:
//                   bytes region 5 receives until it has converged vs the full state encoded
//   bench_state_sync [--latency-ms 50] [--updates 200] [--keys 100000]
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engines/state/wire.h"
#include "net/testing/pki.h"
#include "federation/replica_node.h"

using namespace dwcp;
using namespace dwcp::federation;
using dwcp::net::issueCertificate;
using dwcp::net::makeCertificateAuthority;
using dwcp::net::TlsMaterial;
using Clock = std::chrono::steady_clock;

namespace {

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t index = std::min(samples.size() - 1, static_cast<size_t>(p * static_cast<double>(samples.size())));
  return samples[index];
}

nlohmann::json summary(const std::vector<double>& samples, double goal) {
  return {{"samples", samples.size()},
          {"p50Millis", percentile(samples, 0.50)},
          {"p99Millis", percentile(samples, 0.99)},
          {"maxMillis", samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end())},
          {"goalP99Millis", goal}};
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, long> flags{{"latency-ms", 50}, {"updates", 200}, {"keys", 100'000}};
  for (int i = 1; i + 1 < argc; i += 2) flags[std::string(argv[i]).substr(2)] = std::stol(argv[i + 1]);
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));  // stdout carries the JSON only
  spdlog::set_level(spdlog::level::warn);
  const int regions = 5;
  const int64_t latencyMillis = flags["latency-ms"];

  auto ca = makeCertificateAuthority("bench CA");
  if (!ca.ok()) {
    std::cerr << ca.error().message << "\n";
    return 1;
  }
  std::vector<std::unique_ptr<ReplicaNode>> nodes;
  for (int i = 1; i <= regions; ++i) {
    const std::string region = "region-" + std::to_string(i);
    auto leaf = issueCertificate(ca.value(), region);
    ReplicaNodeConfig config;
    config.transport.self = static_cast<state::ReplicaId>(i);
    config.transport.region = region;
    config.transport.tls = TlsMaterial{ca->certificatePem, leaf->certificatePem, leaf->privateKeyPem};
    for (int j = 1; j <= regions; ++j) {
      if (j != i) config.transport.peers.push_back(PeerEndpoint{static_cast<state::ReplicaId>(j), "region-" + std::to_string(j), "127.0.0.1", 1});
    }
    config.state.batchWindowMillis = 2;
    config.state.retransmitGiveUpMillis = 500;
    config.state.defaultTimeoutMillis = 5'000;
    nodes.push_back(std::make_unique<ReplicaNode>(config));
    auto started = nodes.back()->start();
    if (!started.ok()) {
      std::cerr << started.error().message << "\n";
      return 1;
    }
  }
  FaultSettings latency;
  latency.addedLatencyMillis = latencyMillis;
  for (auto& node : nodes) {
    for (int j = 1; j <= regions; ++j) node->transport().setPeerAddress(static_cast<state::ReplicaId>(j), "127.0.0.1", nodes[j - 1]->peerPort());
    node->transport().setFaults(latency);
  }
  // Warm the TLS connections up (handshakes are not what is measured).
  for (auto& node : nodes) (void)node->state().put("warmup/" + std::to_string(node->state().self()), "x", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * latencyMillis + 500));

  // Convergence of single updates.
  const int updates = static_cast<int>(flags["updates"]);
  const std::string value(64, 'v');
  uint64_t bytesBefore = 0;
  for (auto& node : nodes) bytesBefore += node->state().metrics().bytesSent;
  std::vector<double> convergence;
  size_t payload = 0;
  for (int u = 0; u < updates; ++u) {
    auto& writer = *nodes[u % regions];
    const std::string key = "bench/convergence/" + std::to_string(u);
    payload = key.size() + value.size();
    const auto start = Clock::now();
    (void)writer.state().put(key, value, {});
    bool seen = false;
    while (!seen && millisSince(start) < 10'000) {
      seen = std::all_of(nodes.begin(), nodes.end(), [&](auto& node) { return node->state().getLocal(key).has_value(); });
      if (!seen) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    convergence.push_back(millisSince(start));
    std::this_thread::sleep_for(std::chrono::milliseconds(latencyMillis + 20));  // acks settle: one update at a time
  }
  uint64_t bytesAfter = 0;
  for (auto& node : nodes) bytesAfter += node->state().metrics().bytesSent;

  auto timedWrites = [&](state::Consistency level, const char* prefix) {
    std::vector<double> samples;
    int failures = 0;
    for (int u = 0; u < updates / 2; ++u) {
      auto& writer = *nodes[u % regions];
      std::promise<state::Status> done;
      const auto start = Clock::now();
      (void)writer.state().put(std::string(prefix) + std::to_string(u), value, state::WriteOptions{level, 0, 5'000},
                               [&](state::Status status) { done.set_value(status); });
      if (!done.get_future().get().ok()) ++failures;
      samples.push_back(millisSince(start));
    }
    return std::make_pair(samples, failures);
  };
  auto [quorum, quorumFailures] = timedWrites(state::Consistency::kQuorum, "bench/quorum/");
  auto [strong, strongFailures] = timedWrites(state::Consistency::kStrong, "bench/strong/");

  // Healing after a partition in which 10% of the state changed.
  const int keys = static_cast<int>(flags["keys"]);
  for (auto& node : nodes) node->transport().setFaults(FaultSettings{});
  const std::string stateValue(32, 'v');
  for (int k = 0; k < keys; ++k) (void)nodes[0]->state().put("placement/vm-" + std::to_string(k), stateValue, {});
  auto convergedWith = [&](int region, int64_t waitMillis) {
    const auto start = Clock::now();
    while (millisSince(start) < static_cast<double>(waitMillis)) {
      if (nodes[region - 1]->state().snapshot().sameContent(nodes[0]->state().snapshot())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  const bool filled = convergedWith(5, 120'000);
  FaultSettings cut;
  cut.partitionedPeers = {1, 2, 3, 4};
  nodes[4]->transport().setFaults(cut);
  for (int k = 0; k < keys; k += 10) (void)nodes[0]->state().put("placement/vm-" + std::to_string(k), "moved", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));  // retransmissions give up; anti-entropy must repair
  const uint64_t receivedAtHeal = nodes[4]->state().metrics().bytesReceived;
  nodes[4]->transport().setFaults(FaultSettings{});
  const bool healed = convergedWith(5, 120'000);
  const uint64_t healBytes = nodes[4]->state().metrics().bytesReceived - receivedAtHeal;
  const size_t fullBytes =
      state::encodeFrame(state::Frame{1, state::DigestResponse{0, nodes[0]->state().snapshot().missingFrom(state::DotContext{})}})
          .size();

  state::ReplicatedStore probe(1);
  const size_t deltaFrameBytes =
      state::encodeFrame(state::Frame{1, state::DeltaBatch{1000, probe.put("bench/convergence/199", value,
                                                                           state::HlcTimestamp{1'767'225'600'000, 0, 1})}})
          .size();
  nlohmann::json out{
      {"replicas", regions},
      {"transport", "HTTPS/1.1, mutual TLS, loopback"},
      {"oneWayLatencyMillis", latencyMillis},
      {"batchWindowMillis", 2},
      {"convergence", summary(convergence, 60)},
      // The goal as the brief states it: 2 x 50 ms + 10 ms (2 x the 100 ms RTT + 10 would be 210).
      {"quorumWrite", summary(quorum, 2.0 * latencyMillis + 10)},
      {"strongWrite", summary(strong, 2.0 * latencyMillis + 10)},
      {"writeFailures", {{"quorum", quorumFailures}, {"strong", strongFailures}}},
      {"wire",
       {{"payloadBytesPerUpdate", payload},
        {"deltaFrameBytesPerUpdate", deltaFrameBytes},
        {"engineBytesPerUpdatePerPeer",
         static_cast<double>(bytesAfter - bytesBefore) / static_cast<double>(updates) / (regions - 1)},
        {"note", "frames only (delta, ack, anti-entropy digests); HTTP and TLS framing not counted"}}},
      {"healing",
       {{"keys", keys},
        {"changedKeys", (keys + 9) / 10},
        {"initialFillConverged", filled},
        {"converged", healed},
        {"healBytes", healBytes},
        {"fullStateBytes", fullBytes},
        {"ratio", static_cast<double>(healBytes) / static_cast<double>(fullBytes)},
        {"goalRatio", 0.05}}}};
  std::cout << out.dump(2) << std::endl;
  for (auto& node : nodes) node->stop();
  return healed && filled ? 0 : 1;
}
