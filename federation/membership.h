// Who the federation's peers are, from the Regions every cluster holds: each Region but this
// operator's own is a peer at its spec.endpoint, under a replica id every operator derives from
// the region's name alone (no coordination, the same in every cluster). apply() brings a running
// transport and replica to a membership, so a Region created or deleted adds or drops its peer
// without a restart. Pure functions, except apply().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engines/state/geo_distributed_state.h"
#include "federation/https_peer_transport.h"

namespace dwcp::federation {

// What membership needs of a Region: metadata.name and spec.endpoint.
struct RegionPeer {
  std::string region;
  std::string endpoint;  // "https://HOST[:PORT]", e.g. https://dwcp-us-east-1.example.com:7443
};

inline constexpr uint16_t kDefaultPeerPort = 7443;

// A region's replica id: FNV-1a (32-bit) of its name, never 0.
state::ReplicaId replicaIdOf(std::string_view region);

// The peer a Region names. HOST is a DNS name, an IPv4 address or a bracketed IPv6 address;
// PORT defaults to 7443; nothing may follow but an optional "/". The Error names spec.endpoint.
net::Result<PeerEndpoint> peerEndpointOf(const RegionPeer& region);

struct Membership {
  std::vector<PeerEndpoint> peers;    // ordered by id; never this region
  std::vector<std::string> problems;  // Regions left out, each with why (for logs and status)
};

// Every region but `self` with an endpoint that parses. Two regions whose names hash to the same
// id are both left out (and named), as is any Region sharing this region's id.
Membership membershipOf(const std::vector<RegionPeer>& regions, const std::string& self);

// Adds, moves and removes the transport's peers to match, then sets the replica's peers.
void apply(const Membership& membership, HttpsPeerTransport& transport, state::GeoDistributedState& state);

}  // namespace dwcp::federation
