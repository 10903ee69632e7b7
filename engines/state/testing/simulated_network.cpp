#include "engines/state/testing/simulated_network.h"

namespace dwcp::state {

class SimulatedNetwork::Endpoint final : public PeerTransport {
 public:
  Endpoint(SimulatedNetwork& network, ReplicaId self) : network_(network), self_(self) {}
  void send(ReplicaId to, std::vector<uint8_t> frame) override { network_.send(self_, to, std::move(frame)); }

 private:
  SimulatedNetwork& network_;
  ReplicaId self_;
};

SimulatedNetwork::SimulatedNetwork(uint64_t seed, base::FakeClock& clock) : clock_(clock), rng_(seed) {}
SimulatedNetwork::~SimulatedNetwork() = default;

PeerTransport& SimulatedNetwork::transportFor(ReplicaId replica) {
  auto& endpoint = endpoints_[replica];
  if (!endpoint) endpoint = std::make_unique<Endpoint>(*this, replica);
  return *endpoint;
}

void SimulatedNetwork::attach(ReplicaId replica, Deliver deliver) { receivers_[replica] = std::move(deliver); }

void SimulatedNetwork::partition(const std::vector<std::vector<ReplicaId>>& groups) {
  groupOf_.clear();
  for (size_t g = 0; g < groups.size(); ++g) {
    for (ReplicaId replica : groups[g]) groupOf_[replica] = static_cast<int>(g);
  }
  partitioned_ = true;
}

void SimulatedNetwork::heal() {
  groupOf_.clear();
  partitioned_ = false;
}

bool SimulatedNetwork::connected(ReplicaId a, ReplicaId b) const {
  if (!partitioned_) return true;
  auto ga = groupOf_.find(a);
  auto gb = groupOf_.find(b);
  return ga != groupOf_.end() && gb != groupOf_.end() && ga->second == gb->second;
}

void SimulatedNetwork::send(ReplicaId from, ReplicaId to, std::vector<uint8_t> frame) {
  ++sent_;
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  if (!connected(from, to) || chance(rng_) < faults_.lossProbability) {
    ++dropped_;
    return;
  }
  std::uniform_int_distribution<int64_t> latency(faults_.minLatencyMillis, std::max(faults_.minLatencyMillis, faults_.maxLatencyMillis));
  const int copies = chance(rng_) < faults_.duplicateProbability ? 2 : 1;
  if (copies == 2) ++duplicated_;
  if (copies == 2) queue_.push(InFlight{clock_.wallMillis() + latency(rng_), sequence_++, from, to, frame});
  queue_.push(InFlight{clock_.wallMillis() + latency(rng_), sequence_++, from, to, std::move(frame)});
}

size_t SimulatedNetwork::runUntil(int64_t untilMillis) {
  size_t count = 0;
  while (!queue_.empty() && queue_.top().arrivalMillis <= untilMillis) {
    InFlight message = std::move(const_cast<InFlight&>(queue_.top()));
    queue_.pop();
    if (message.arrivalMillis > clock_.wallMillis())
      clock_.advance(std::chrono::milliseconds(message.arrivalMillis - clock_.wallMillis()));
    if (!connected(message.from, message.to)) {
      ++dropped_;
      continue;
    }
    auto it = receivers_.find(message.to);
    if (it == receivers_.end()) {
      ++dropped_;
      continue;
    }
    ++delivered_;
    bytesDelivered_ += message.frame.size();
    it->second(message.from, message.frame);
    ++count;
  }
  if (untilMillis > clock_.wallMillis()) clock_.advance(std::chrono::milliseconds(untilMillis - clock_.wallMillis()));
  return count;
}

}  // namespace dwcp::state
