// One region's place in the federation, run inside dwcp-operator (by the leader only): the
// replicated state (engines/state GeoDistributedState) over the mutual-TLS peer transport, with
// certificates read from files and read again when they change; peers from the Regions'
// spec.endpoint, changed while running; a heartbeat every interval; and the records of
// api/federation.h read and written by key, with a notice for each one a peer changed.
//
// Each start() writes under a fresh random writer id (GeoStateConfig::writer): the replica starts
// empty and learns back from its peers what it had, and its new writes are never taken for old
// ones. What it writes is derived from its cluster's objects, so nothing lives only here.
// A record a peer sent that does not parse, or whose content names another key than the one it is
// under, is ignored and counted. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/federation.h"
#include "base/clock.h"
#include "engines/state/geo_distributed_state.h"
#include "federation/https_peer_transport.h"
#include "federation/membership.h"
#include "net/tls_files.h"

namespace dwcp::federation {

struct NodeConfig {
  std::string region;
  std::string listenHost = "0.0.0.0";
  uint16_t listenPort = kDefaultPeerPort;  // 0: ephemeral (tests)
  net::TlsFilePaths tls;
  std::chrono::milliseconds tlsReloadInterval{10'000};
  std::chrono::milliseconds heartbeatInterval{500};
  int suspectAfterHeartbeats = 3;
  // Timers of the replicated state (retransmissions every 100 ms, anti-entropy every 250 ms,
  // deadlines); every write is pushed as it is made, so nothing waits for a tick.
  std::chrono::milliseconds tickInterval{20};
  // initialSyncDone() turns true at this much after start() at the latest.
  std::chrono::milliseconds initialSyncTimeout{5'000};
  state::GeoStateConfig state;  // self, writer and peers are set by the node
};

struct NodeStats {
  state::StateMetrics state;
  TransportStats transport;
  uint64_t heartbeatsSent = 0;
  uint64_t heartbeatsHeard = 0;
  uint64_t recordsRefused = 0;  // records from peers that did not parse or named another key
  std::string lastRefusedRecord;
  size_t peers = 0;
  uint64_t tlsReloads = 0;
};

class FederationNode {
 public:
  explicit FederationNode(NodeConfig config, const base::Clock& clock = base::RealClock::instance());
  ~FederationNode();
  FederationNode(const FederationNode&) = delete;
  FederationNode& operator=(const FederationNode&) = delete;

  // What this region's heartbeat says of it (phase, healthScore, allocated, epoch); the node fills
  // region, sequence, sentAtMillis and peers. Called on the heartbeat thread; set before start().
  using LocalState = std::function<api::Heartbeat()>;
  void setLocalState(LocalState state);
  // Notices of what peers changed, on the thread that received it (keep them short). Set before start().
  struct Listeners {
    std::function<void(const std::string& region)> heartbeat;
    std::function<void(const std::string& uid)> record;
    std::function<void(const std::string& region, const std::string& uid)> answer;
  };
  void setListeners(Listeners listeners);

  // Reads the TLS files (an Error names the file), listens, starts the ticker and heartbeats.
  net::Status start();
  void stop();
  uint16_t listenPort() const;

  // The Regions every cluster holds: the peers from now on (problems are logged once each).
  // Before start(), they are kept and applied by it.
  void setRegions(const std::vector<RegionPeer>& regions);

  struct Heard {
    api::Heartbeat heartbeat;
    base::Clock::SteadyTime heardAt;
    base::Clock::WallTime heardAtWall;
  };
  std::optional<Heard> heartbeat(const std::string& region) const;
  std::vector<api::PeerLink> links() const;
  std::chrono::milliseconds suspectAfter() const;

  std::optional<api::PlacementRecord> record(const std::string& uid) const;
  std::vector<api::PlacementRecord> recordsIn(const std::string& region) const;
  void putRecord(const api::PlacementRecord& record);
  void removeRecord(const std::string& uid);
  std::optional<api::ReservationAnswer> answer(const std::string& region, const std::string& uid) const;
  void putAnswer(const api::ReservationAnswer& answer);
  void removeAnswer(const std::string& uid);
  std::vector<std::string> answeredUids() const;
  bool caughtUpWith(const std::string& region) const;
  // True once this replica has caught up with every peer (or initialSyncTimeout after start(),
  // whichever is first): the controllers wait for it before their first reconcile, as they wait
  // for their caches, so a restarted operator reads back what the federation holds before it
  // writes. Stays true.
  bool initialSyncDone() const;

  NodeStats stats() const;
  const std::string& region() const { return config_.region; }
  // For tests and chaos: the transport's fault injection.
  HttpsPeerTransport& transport() { return *transport_; }

 private:
  void onChanged(const std::vector<std::string>& keys);
  void heartbeatLoop();
  void beat();
  // Writes `value` under `key` unless the replica holds it already.
  void put(const std::string& key, std::string value);
  void remove(const std::string& key);
  std::optional<state::ReplicaId> idOf(const std::string& region) const;
  void refused(const std::string& key, const std::string& why) const;
  void applyMembership();

  NodeConfig config_;
  const base::Clock& clock_;
  const state::ReplicaId self_;
  std::unique_ptr<net::TlsFiles> tlsFiles_;
  std::unique_ptr<HttpsPeerTransport> transport_;
  std::unique_ptr<state::GeoDistributedState> state_;
  LocalState localState_;
  Listeners listeners_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  std::map<std::string, Heard> heard_;           // by region
  std::map<std::string, state::ReplicaId> ids_;  // region -> replica id, of the current peers
  std::vector<std::string> reportedProblems_;
  std::vector<RegionPeer> regions_;
  std::mutex membershipMu_;  // serializes applyMembership()
  base::Clock::SteadyTime startedAt_{};
  mutable bool initialSyncDone_ = false;
  int64_t sequence_ = 0;
  uint64_t heartbeatsSent_ = 0;
  uint64_t heartbeatsHeard_ = 0;
  mutable uint64_t recordsRefused_ = 0;
  mutable std::string lastRefusedRecord_;
  std::thread ticker_;
  std::thread heartbeats_;
};

}  // namespace dwcp::federation
