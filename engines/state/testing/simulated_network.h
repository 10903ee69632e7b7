// An in-process network for tests and benchmarks: frames between replicas are delayed by a
// random latency (hence reordered), lost, duplicated or cut by partitions, all drawn from a
// seeded RNG against a virtual base::FakeClock, so a run is reproducible from its seed and never
// sleeps. Single-threaded: the test drives it with runUntil().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <vector>

#include "base/clock.h"
#include "engines/state/peer_transport.h"

namespace dwcp::state {

struct FaultProfile {
  int64_t minLatencyMillis = 1;
  int64_t maxLatencyMillis = 5;
  double lossProbability = 0.0;
  double duplicateProbability = 0.0;
};

class SimulatedNetwork {
 public:
  using Deliver = std::function<void(ReplicaId from, const std::vector<uint8_t>& frame)>;

  SimulatedNetwork(uint64_t seed, base::FakeClock& clock);
  ~SimulatedNetwork();

  // The transport a replica sends through (owned by the network).
  PeerTransport& transportFor(ReplicaId replica);
  // Where frames to `replica` are delivered.
  void attach(ReplicaId replica, Deliver deliver);

  void setFaults(const FaultProfile& faults) { faults_ = faults; }
  // Only replicas in the same group can talk; replicas in no group are isolated. Frames in
  // flight across the cut are dropped when they would arrive.
  void partition(const std::vector<std::vector<ReplicaId>>& groups);
  void heal();
  bool connected(ReplicaId a, ReplicaId b) const;

  // Delivers, in arrival order, every frame due at or before untilMillis (frames sent during
  // delivery included), moving the clock to each arrival; then sets the clock to untilMillis.
  size_t runUntil(int64_t untilMillis);
  size_t inFlight() const { return queue_.size(); }

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t bytesDelivered() const { return bytesDelivered_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  class Endpoint;
  struct InFlight {
    int64_t arrivalMillis;
    uint64_t sequence;
    ReplicaId from;
    ReplicaId to;
    std::vector<uint8_t> frame;
    bool operator>(const InFlight& other) const {
      return arrivalMillis != other.arrivalMillis ? arrivalMillis > other.arrivalMillis : sequence > other.sequence;
    }
  };
  void send(ReplicaId from, ReplicaId to, std::vector<uint8_t> frame);

  base::FakeClock& clock_;
  std::mt19937_64 rng_;
  FaultProfile faults_;
  std::map<ReplicaId, std::unique_ptr<Endpoint>> endpoints_;
  std::map<ReplicaId, Deliver> receivers_;
  std::map<ReplicaId, int> groupOf_;
  bool partitioned_ = false;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> queue_;
  uint64_t sequence_ = 0;
  uint64_t sent_ = 0, dropped_ = 0, duplicated_ = 0, delivered_ = 0, bytesDelivered_ = 0;
};

}  // namespace dwcp::state
