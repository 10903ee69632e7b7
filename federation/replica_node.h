// One region's state replica as a running service: a GeoDistributedState on the system clock,
// wired to an HttpsPeerTransport, with a ticker thread (every tickMillis) and an optional
// local control API (plain HTTP on loopback) for put/get/delete/metrics/faults (including clock
// skew), used by the
// dwcp-state-replica daemon, the integration test and the benchmarks. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "engines/state/geo_distributed_state.h"
#include "net/http_server.h"
#include "federation/https_peer_transport.h"

namespace dwcp::federation {

struct ReplicaNodeConfig {
  TransportConfig transport;
  state::GeoStateConfig state;  // self and peers are filled from `transport`
  int64_t tickMillis = 1;
  std::string controlHost = "127.0.0.1";
  int controlPort = -1;  // -1: no control API; 0: ephemeral
  int64_t clockSkewMillis = 0;  // fault injection: added to the system clock the engine sees
};

class ReplicaNode {
 public:
  explicit ReplicaNode(ReplicaNodeConfig config);
  ~ReplicaNode();

  state::Status start();
  void stop();

  state::GeoDistributedState& state() { return *state_; }
  HttpsPeerTransport& transport() { return transport_; }
  uint16_t peerPort() const { return transport_.listenPort(); }
  uint16_t controlPort() const { return control_ ? control_->port() : 0; }
  // Fault injection: the engine's clock runs skewMillis ahead of (behind, if negative) the system clock.
  void setClockSkewMillis(int64_t skewMillis) { clock_.setSkewMillis(skewMillis); }
  int64_t clockSkewMillis() const { return clock_.skewMillis(); }
  // The Prometheus text exposition served at GET /metrics.
  std::string prometheusMetrics() const;

  // The control API, also callable directly: see replica_node.cpp for the routes.
  net::HttpResponse handleControl(const net::HttpRequest& request);
  // sha256 over the sorted live key=value pairs: equal on converged replicas.
  std::string contentDigest(size_t* keys = nullptr) const;

 private:
  ReplicaNodeConfig config_;
  base::RealClock systemClock_;
  base::SkewedClock clock_;
  HttpsPeerTransport transport_;
  std::unique_ptr<state::GeoDistributedState> state_;
  std::unique_ptr<net::HttpServer> control_;
  std::atomic<bool> running_{false};
  std::thread ticker_;
};

}  // namespace dwcp::federation
