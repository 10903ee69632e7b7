#include "routingapi/request_source.h"

#include "base/strings.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

namespace dwcp::routingapi {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

constexpr std::size_t kMaxAddressText = INET6_ADDRSTRLEN;

// A plain IPv4 or IPv6 address (no brackets, port or spaces); IPv4 as IPv4-mapped IPv6.
std::optional<Bytes> parseAddress(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos) return std::nullopt;
  char buffer[kMaxAddressText];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  Bytes bytes{};
  if (::inet_pton(AF_INET, buffer, bytes.data() + 12) == 1) {
    bytes[10] = bytes[11] = 0xff;
    return bytes;
  }
  if (::inet_pton(AF_INET6, buffer, bytes.data()) == 1) return bytes;
  return std::nullopt;
}

bool isV4Mapped(const Bytes& bytes) {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kPrefix, sizeof kPrefix) == 0;
}

std::string canonicalText(const Bytes& bytes) {
  char text[kMaxAddressText];
  const bool v4 = isV4Mapped(bytes);
  if (::inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? bytes.data() + 12 : bytes.data(), text, sizeof text) == nullptr) return {};
  return text;
}

bool allDigits(std::string_view text, std::size_t maxDigits) {
  if (text.empty() || text.size() > maxDigits) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// One X-Forwarded-For hop: an address, "[v6]", "[v6]:port" or "v4:port".
std::optional<Bytes> parseHop(std::string_view hop) {
  hop = base::trim(hop);
  if (!hop.empty() && hop.front() == '[') {
    const auto close = hop.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = hop.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !allDigits(rest.substr(1), 5))) return std::nullopt;
    return parseAddress(hop.substr(1, close - 1));
  }
  const auto colon = hop.find(':');
  if (colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    if (!allDigits(hop.substr(colon + 1), 5)) return std::nullopt;
    return parseAddress(hop.substr(0, colon));
  }
  return parseAddress(hop);
}

bool inNetwork(const Bytes& address, const TrustedProxies::Network& network) {
  const int whole = network.prefixBits / 8, rest = network.prefixBits % 8;
  if (std::memcmp(address.data(), network.bytes.data(), static_cast<std::size_t>(whole)) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (network.bytes[whole] & mask);
}

}  // namespace

routing::Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    auto invalid = [&](const std::string& why) {
      return routing::Error{routing::ErrorCode::kInvalidArgument, "[" + std::to_string(i) + "]",
                            "\"" + entry + "\": " + why};
    };
    const std::string_view text = entry;
    const auto slash = text.find('/');
    auto address = parseAddress(text.substr(0, slash));
    if (!address) return invalid("not an IP address or CIDR (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)");
    const bool v4 = isV4Mapped(*address) && text.substr(0, slash).find(':') == std::string_view::npos;
    const int maxBits = v4 ? 32 : 128;
    Network network{*address, 128};
    if (slash != std::string_view::npos) {
      const auto prefix = text.substr(slash + 1);
      const auto bits = allDigits(prefix, 3) ? base::parseInt<int>(prefix) : std::nullopt;
      if (!bits || *bits > maxBits)
        return invalid("prefix length must be a number within [0, " + std::to_string(maxBits) + "]");
      network.prefixBits = *bits + (v4 ? 96 : 0);
    }
    Network masked = network;
    for (int bit = network.prefixBits; bit < 128; ++bit) masked.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
    if (masked.bytes != network.bytes) {
      return invalid("has host bits set; the network is " + canonicalText(masked.bytes) + "/" +
                     std::to_string(network.prefixBits - (v4 ? 96 : 0)));
    }
    out.networks_.push_back(network);
  }
  out.entries_ = entries;
  return out;
}

bool TrustedProxies::containsAddress(const Bytes& bytes) const {
  for (const auto& network : networks_) {
    if (inNetwork(bytes, network)) return true;
  }
  return false;
}

bool TrustedProxies::contains(std::string_view address) const {
  auto bytes = parseAddress(address);
  return bytes && containsAddress(*bytes);
}

std::string requestSource(std::string_view peerAddress, std::string_view forwardedFor, const TrustedProxies& trusted) {
  if (trusted.empty() || !trusted.contains(peerAddress)) return std::string(peerAddress);
  std::string nearestTrusted(peerAddress);
  if (base::trim(forwardedFor).empty()) return nearestTrusted;
  std::size_t end = forwardedFor.size();
  while (true) {
    const auto comma = end == 0 ? std::string_view::npos : forwardedFor.rfind(',', end - 1);
    const std::size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
    const auto hop = parseHop(forwardedFor.substr(begin, end - begin));
    if (!hop) return nearestTrusted;
    std::string text = canonicalText(*hop);
    if (!trusted.containsAddress(*hop)) return text;
    nearestTrusted = std::move(text);
    if (comma == std::string_view::npos) return nearestTrusted;
    end = comma;
  }
}

}  // namespace dwcp::routingapi
