// The real transport between regions: engines/state PeerTransport over HTTPS with mutual TLS.
// Each region listens for POST /v1/state/frames; the sender is the region its verified
// certificate names (DNS SAN), and it must be a configured peer (403 otherwise); a client
// without a certificate, with one from another CA or without clientAuth fails the handshake. Frames go to
// the receiver callback (GeoDistributedState::receive), whose rejection is answered 400/403/413
// with its message, changing nothing. Outgoing frames queue per peer and are posted by one
// sender thread per peer over a kept-alive connection that checks the server names the peer;
// connect, handshake and every exchange have deadlines, and stop() interrupts them.
// Fault injection (added one-way latency, loss, duplication, reordering, partitions by peer) is
// set at run time; clock skew belongs to the replica's clock (ReplicaNode).
// Thread-safe; send() never blocks on the network.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engines/state/peer_transport.h"
#include "engines/state/status.h"
#include "engines/state/wire.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace dwcp::federation {

inline constexpr const char* kFramesPath = "/v1/state/frames";
inline constexpr const char* kHealthPath = "/v1/state/health";

struct PeerEndpoint {
  state::ReplicaId id = 0;
  std::string region;  // the name its certificate must carry
  std::string host;    // an IP address, or a host name resolved at each connect
  uint16_t port = 0;
};

struct TransportConfig {
  state::ReplicaId self = 0;
  std::string region;
  std::string listenHost = "127.0.0.1";
  uint16_t listenPort = 0;  // 0: ephemeral, see listenPort()
  std::vector<PeerEndpoint> peers;
  net::TlsMaterial tls;
  // Contexts that may be replaced while running (net::TlsFiles: certificates rotated on disk).
  // When both are set they are used instead of `tls`: new inbound connections and every new
  // outbound connection take the current context; open connections keep theirs.
  std::shared_ptr<net::TlsContextSource> serverTls;
  std::shared_ptr<net::TlsContextSource> clientTls;
  size_t maxFrameBytes = state::kDefaultMaxFrameBytes;
  int64_t connectTimeoutMillis = 5'000;  // TCP connect plus TLS handshake to a peer
  int64_t ioTimeoutMillis = 5'000;       // each request write and response read; inbound handshakes
  size_t maxInboundConnections = 256;    // above this, a new inbound connection is closed at once
  int64_t inboundIdleTimeoutMillis = 30'000;  // an inbound kept-alive connection with no request
  size_t maxQueuedFramesPerPeer = 10'000;  // beyond this, frames are dropped (the engine repairs)
  size_t maxQueuedBytesPerPeer = 64u << 20;  // likewise, in frame bytes
};

struct FaultSettings {
  int64_t addedLatencyMillis = 0;             // one-way, added before each outgoing frame
  double lossProbability = 0.0;               // outgoing frames dropped at random
  std::set<state::ReplicaId> partitionedPeers;  // no frames to them; frames from them refused (503)
  double duplicateProbability = 0.0;          // outgoing frames queued twice at random
  double reorderProbability = 0.0;            // outgoing frames held back and posted after the next one
  int64_t reorderMaxHoldMillis = 50;          // a held frame with no successor is posted after this
};

struct TransportStats {
  uint64_t framesQueued = 0;
  uint64_t framesDelivered = 0;     // posted and answered 2xx
  uint64_t framesDroppedByFaults = 0;
  uint64_t framesDuplicated = 0;    // extra copies queued by fault injection
  uint64_t framesReordered = 0;     // frames held back behind their successor
  uint64_t framesDroppedOverflow = 0;
  uint64_t sendFailures = 0;        // connection, TLS or HTTP errors (the frame is dropped)
  uint64_t framesRejectedByPeer = 0;  // the peer answered 4xx
  uint64_t framesReceived = 0;
  uint64_t framesRefused = 0;       // we answered 4xx/5xx
  uint64_t bytesSent = 0;           // frame bytes, excluding HTTP and TLS overhead
  uint64_t bytesReceived = 0;
  uint64_t handshakeFailures = 0;
  uint64_t inboundConnectionsRefused = 0;  // closed on accept: maxInboundConnections were open
  std::string lastRefusal;
};

class HttpsPeerTransport final : public state::PeerTransport {
 public:
  using Receiver = std::function<state::Status(state::ReplicaId from, std::span<const uint8_t> frame)>;

  explicit HttpsPeerTransport(TransportConfig config);
  ~HttpsPeerTransport() override;

  // Where accepted frames go; set before start(). Until then frames are answered 503.
  void setReceiver(Receiver receiver);
  // Builds the TLS contexts, listens, starts the sender threads.
  state::Status start();
  void stop();
  uint16_t listenPort() const;
  // Moves a peer (tests start every region on an ephemeral port, then tell the others).
  void setPeerAddress(state::ReplicaId peer, const std::string& host, uint16_t port);
  // Membership while running (a Region created or deleted): addPeer() admits a region's
  // certificate name and starts sending to it (an existing id is moved, or replaced when its
  // region name changed); removePeer() stops its sender, drops what was queued for it and
  // refuses its frames from then on (403). Both are no-ops when nothing changes.
  void addPeer(PeerEndpoint peer);
  void removePeer(state::ReplicaId peer);
  std::vector<PeerEndpoint> peers() const;

  void send(state::ReplicaId to, std::vector<uint8_t> frame) override;

  void setFaults(FaultSettings faults);
  FaultSettings faults() const;
  TransportStats stats() const;

 private:
  struct Outgoing {
    std::chrono::steady_clock::time_point due;
    std::vector<uint8_t> frame;
    bool holdBack = false;  // fault injection: post after the next frame
    int64_t maxHoldMillis = 0;
  };
  class PeerLink;

  void handle(const net::HttpRequest& request, net::HttpResponse& response);
  std::optional<PeerEndpoint> peerByNames(const std::vector<std::string>& names) const;
  std::shared_ptr<PeerLink> linkTo(state::ReplicaId peer) const;

  const TransportConfig config_;  // config_.peers: the peers at construction only
  std::shared_ptr<net::TlsContextSource> clientTls_;
  std::unique_ptr<net::HttpServer> server_;

  mutable std::mutex linksMu_;  // guards peers_, links_ and started_; never held while a link stops
  std::map<state::ReplicaId, PeerEndpoint> peers_;
  std::map<state::ReplicaId, std::shared_ptr<PeerLink>> links_;
  bool started_ = false;

  mutable std::mutex mu_;
  Receiver receiver_;
  FaultSettings faults_;
  std::mt19937_64 rng_{std::random_device{}()};
  TransportStats stats_;
};

}  // namespace dwcp::federation
