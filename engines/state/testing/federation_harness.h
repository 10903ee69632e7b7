// Test and benchmark helper: N regions (replica ids 1..N) of GeoDistributedState wired over a
// SimulatedNetwork with a shared virtual clock, each region seeing it through its own skew.
// run() advances virtual time, delivering frames and ticking every region. Single-threaded.
#pragma once

#include <memory>
#include <vector>

#include "engines/state/geo_distributed_state.h"
#include "engines/state/testing/simulated_network.h"

namespace dwcp::state {

class FederationHarness {
 public:
  FederationHarness(size_t regions, uint64_t seed, const GeoStateConfig& base, std::vector<int64_t> skewMillis = {})
      : network_(seed, clock_), base_(base) {
    for (size_t i = 0; i < regions; ++i) {
      const ReplicaId id = static_cast<ReplicaId>(i + 1);
      GeoStateConfig config = base;
      config.self = id;
      config.peers.clear();
      for (size_t j = 0; j < regions; ++j) {
        if (j != i) config.peers.push_back(static_cast<ReplicaId>(j + 1));
      }
      clocks_.push_back(std::make_unique<base::SkewedClock>(clock_, i < skewMillis.size() ? skewMillis[i] : 0));
      nodes_.push_back(std::make_unique<GeoDistributedState>(config, *clocks_.back(), network_.transportFor(id)));
      GeoDistributedState* node = nodes_.back().get();
      network_.attach(id, [node](ReplicaId from, const std::vector<uint8_t>& frame) { (void)node->receive(from, frame); });
    }
  }

  GeoDistributedState& region(ReplicaId id) { return *nodes_.at(id - 1); }

  // A crash and restart of region `id`: its replica starts over empty (frames in flight to it
  // arrive at the new one), writing under `writer` (0: its region id, as a careless restart would).
  void restart(ReplicaId id, ReplicaId writer) {
    GeoStateConfig config = base_;
    config.self = id;
    config.writer = writer;
    config.peers.clear();
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j + 1 != id) config.peers.push_back(static_cast<ReplicaId>(j + 1));
    }
    nodes_.at(id - 1) = std::make_unique<GeoDistributedState>(config, *clocks_.at(id - 1), network_.transportFor(id));
    GeoDistributedState* node = nodes_.at(id - 1).get();
    network_.attach(id, [node](ReplicaId from, const std::vector<uint8_t>& frame) { (void)node->receive(from, frame); });
  }
  size_t size() const { return nodes_.size(); }
  SimulatedNetwork& network() { return network_; }
  base::FakeClock& clock() { return clock_; }

  // Advances virtual time by `millis`, ticking every region each `tickMillis`.
  void run(int64_t millis, int64_t tickMillis = 1) {
    const int64_t end = clock_.wallMillis() + millis;
    while (clock_.wallMillis() < end) {
      network_.runUntil(std::min(end, clock_.wallMillis() + tickMillis));
      for (auto& node : nodes_) node->tick();
    }
  }

 private:
  base::FakeClock clock_;
  SimulatedNetwork network_;
  GeoStateConfig base_;
  std::vector<std::unique_ptr<base::SkewedClock>> clocks_;
  std::vector<std::unique_ptr<GeoDistributedState>> nodes_;
};

}  // namespace dwcp::state
