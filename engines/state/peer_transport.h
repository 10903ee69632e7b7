// How a region's state engine reaches its peers: it hands over encoded frames (wire.h: delta
// batch, ack, digest request, digest response) and is handed frames back through
// GeoDistributedState::receive(). Implementations: SimulatedNetwork (tests, in-process) and,
// later, HTTPS with mutual TLS where the certificate names the sending region.
// send() must not block on the network and must not call back into the engine synchronously;
// it may drop frames (the engine retransmits and repairs by anti-entropy).
#pragma once

#include <cstdint>
#include <vector>

#include "engines/state/version_vector.h"

namespace dwcp::state {

class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  virtual void send(ReplicaId to, std::vector<uint8_t> frame) = 0;
};

}  // namespace dwcp::state
