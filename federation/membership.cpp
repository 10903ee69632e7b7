#include "federation/membership.h"

#include <map>
#include <set>

#include "base/strings.h"

namespace dwcp::federation {

state::ReplicaId replicaIdOf(std::string_view region) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : region) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash == 0 ? 1 : hash;
}

net::Result<PeerEndpoint> peerEndpointOf(const RegionPeer& region) {
  auto invalid = [&](const std::string& why) {
    return net::Error{"Region " + region.region + ": spec.endpoint \"" + region.endpoint + "\" " + why};
  };
  constexpr std::string_view kScheme = "https://";
  std::string_view rest = region.endpoint;
  if (rest.substr(0, kScheme.size()) != kScheme) return invalid("must start with https://");
  rest.remove_prefix(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return invalid("must be https://HOST[:PORT] with no path, query or user");
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return invalid("has an unclosed [ in its host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("has text after its [host]");
      port = after.substr(1);
      if (port.empty()) return invalid("has an empty port");
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return invalid("has an empty port");
  }
  if (host.empty()) return invalid("has no host");
  PeerEndpoint peer;
  peer.id = replicaIdOf(region.region);
  peer.region = region.region;
  peer.host = std::string(host);
  peer.port = kDefaultPeerPort;
  if (!port.empty()) {
    auto parsed = base::parseInt<int64_t>(port);
    if (!parsed || *parsed < 1 || *parsed > 65535) return invalid("has a port that is not 1-65535");
    peer.port = static_cast<uint16_t>(*parsed);
  }
  return peer;
}

Membership membershipOf(const std::vector<RegionPeer>& regions, const std::string& self) {
  Membership out;
  const state::ReplicaId selfId = replicaIdOf(self);
  std::map<state::ReplicaId, std::vector<PeerEndpoint>> byId;
  for (const RegionPeer& region : regions) {
    if (region.region == self) continue;
    auto peer = peerEndpointOf(region);
    if (!peer.ok()) {
      out.problems.push_back(peer.error().message);
      continue;
    }
    const state::ReplicaId id = peer->id;
    byId[id].push_back(std::move(peer).value());
  }
  for (auto& [id, peers] : byId) {
    if (id == selfId) {
      for (const auto& peer : peers) {
        out.problems.push_back("Region " + peer.region + ": its name hashes to the replica id of this region " + self +
                               "; rename one of them");
      }
      continue;
    }
    if (peers.size() > 1) {
      std::string names;
      for (const auto& peer : peers) names += (names.empty() ? "" : ", ") + peer.region;
      out.problems.push_back("Regions " + names + ": their names hash to the same replica id; rename one of them");
      continue;
    }
    out.peers.push_back(std::move(peers.front()));
  }
  return out;
}

void apply(const Membership& membership, HttpsPeerTransport& transport, state::GeoDistributedState& state) {
  std::set<state::ReplicaId> wanted;
  for (const PeerEndpoint& peer : membership.peers) {
    wanted.insert(peer.id);
    transport.addPeer(peer);  // a no-op when unchanged
  }
  for (const PeerEndpoint& peer : transport.peers()) {
    if (wanted.count(peer.id) == 0) transport.removePeer(peer.id);
  }
  state.setPeers(std::vector<state::ReplicaId>(wanted.begin(), wanted.end()));
}

}  // namespace dwcp::federation
