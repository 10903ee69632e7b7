// The real transport between regions: engines/state PeerTransport over HTTPS with mutual TLS.
// Each region listens for POST /v1/state/frames; the sender is the region its verified
// certificate names (DNS SAN), and it must be a configured peer (403 otherwise); a client
// without a certificate, with one from another CA or without clientAuth fails the handshake. Frames go to
// the receiver callback (GeoDistributedState::receive), whose rejection is answered 400/403/413
// with its message, changing nothing. Outgoing frames queue per peer and are posted by one
// sender thread per peer over a kept-alive connection that checks the server names the peer;
// connect, handshake and every exchange have deadlines, and stop() interrupts them.
// Each link measures its peer's round trip and keeps its health (linkHealth()); every refusal
// is counted by reason and logged once per (sender, reason), later repeats only counted.
// Fault injection (added one-way latency, loss, duplication, reordering, partitions by peer) is
// set at run time; clock skew belongs to the replica's clock (ReplicaNode).
// Thread-safe; send() never blocks on the network.
#pragma once

#include <array>
#include <chrono>
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
#include <string_view>
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

// Why handle() refused a request: the labels of TransportStats::refusedByReason, stable (they
// become metric labels). unknown-peer: the client certificate names no peer region (403);
// malformed, unsupported-version, too-large, unknown-sender: the receiver's kMalformedMessage,
// kUnsupportedVersion, kMessageTooLarge (413), kUnknownPeer (403); not-ready: no receiver yet
// (503); bad-request: a wrong path or method; other: any other rejection by the receiver.
inline constexpr std::array<std::string_view, 8> kRefusalReasons = {
    "unknown-peer", "malformed", "unsupported-version", "too-large", "unknown-sender", "not-ready", "bad-request", "other"};

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
  uint64_t framesRefused = 0;       // we answered 4xx/5xx (not a partitioned peer's 503)
  // framesRefused by reason, every one of kRefusalReasons present (0 until it happens). Requests
  // the HTTP layer answers itself never reach the transport and are not counted: a body above
  // maxFrameBytes (its 413), oversized headers, malformed HTTP.
  std::map<std::string, uint64_t> refusedByReason;
  uint64_t bytesSent = 0;           // frame bytes, excluding HTTP and TLS overhead
  uint64_t bytesReceived = 0;
  uint64_t handshakeFailures = 0;
  uint64_t inboundConnectionsRefused = 0;  // closed on accept: maxInboundConnections were open
  std::string lastRefusal;
};

// How the link to one peer is doing, as its sender thread last saw it.
struct PeerLinkHealth {
  std::string region;
  // Smoothed (EWMA, alpha 0.3, the first sample sets it) time from writing a request to having
  // read its whole response, any status, plus the injected one-way latency the frame waited;
  // nullopt until the first exchange.
  std::optional<double> rttMillis;
  std::optional<std::chrono::steady_clock::time_point> lastDelivered;  // the last 2xx answer
  // Frames lost to connect, TLS or HTTP failures or answered other than 2xx, since the last 2xx.
  uint64_t consecutiveFailures = 0;
  std::string lastError;  // why the last failure happened; "" after a 2xx
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
  // One per current peer, ordered by id; a removed peer is gone, a replaced one starts afresh.
  std::vector<PeerLinkHealth> linkHealth() const;
  std::optional<PeerLinkHealth> linkHealth(state::ReplicaId peer) const;

 private:
  struct Outgoing {
    std::chrono::steady_clock::time_point due;
    std::vector<uint8_t> frame;
    bool holdBack = false;  // fault injection: post after the next frame
    int64_t maxHoldMillis = 0;
    int64_t addedLatencyMillis = 0;  // fault injection: how long it waited before being posted
  };
  class PeerLink;

  void handle(const net::HttpRequest& request, net::HttpResponse& response);
  void countRefusal(std::string_view reason, const std::string& sender, const std::string& message);
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
  std::set<std::pair<std::string, std::string>> refusalsLogged_;  // (sender, reason), bounded
};

}  // namespace dwcp::federation
