// The address a request is charged to by the rate limiter: the TCP peer, or, only when the peer
// is a configured trusted proxy, the rightmost X-Forwarded-For hop that is not itself a trusted
// proxy. The body's clientAddress never decides it (a client names whatever it likes there).
// Pure functions and an immutable value type; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engines/routing/result.h"

namespace dwcp::routingapi {

// IP networks of the proxies whose X-Forwarded-For is believed. Empty (the default): none is.
class TrustedProxies {
 public:
  // Entries are addresses ("192.0.2.7", "::1") or CIDRs ("10.0.0.0/8", "fd00::/8") with no host
  // bits set. An error's field is the entry's index, "[2]", for the caller to prefix.
  static routing::Result<TrustedProxies> parse(const std::vector<std::string>& entries);

  bool empty() const { return networks_.empty(); }
  // `address` as text; false for text that is not an IP address.
  bool contains(std::string_view address) const;
  // An address in network byte order, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
  bool containsAddress(const std::array<std::uint8_t, 16>& address) const;
  const std::vector<std::string>& entries() const { return entries_; }

  struct Network {
    std::array<std::uint8_t, 16> bytes{};  // as containsAddress() takes them
    int prefixBits = 128;
  };

 private:

  std::vector<Network> networks_;
  std::vector<std::string> entries_;  // as configured, for messages
};

// The rate-limit source of a request from `peerAddress` (the TCP peer's IP as text) carrying
// `forwardedFor` (every X-Forwarded-For field value, comma-joined in order; empty when absent).
// Walks the hops right to left while they are trusted; the first untrusted hop is the client
// (returned in canonical text, so "::ffff:192.0.2.1" and "192.0.2.1" are one source). A hop that
// is not an IP address ends the walk at the nearest trusted hop; all hops trusted: the leftmost.
std::string requestSource(std::string_view peerAddress, std::string_view forwardedFor, const TrustedProxies& trusted);

}  // namespace dwcp::routingapi
