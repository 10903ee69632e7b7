// Small, strict text parsing shared by every layer: flags, config values, headers. Nothing here
// throws or allocates more than its result; a number parses only when the whole text is one.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace dwcp::base {

// Without leading and trailing ASCII whitespace (space, tab, CR, LF, VT, FF).
std::string_view trim(std::string_view text);

// The pieces between `separator`s; "a,,b" gives {"a", "", "b"} and "" gives {""}.
std::vector<std::string_view> split(std::string_view text, char separator);

// A decimal integer of type T filling the whole text (no sign for unsigned T, no spaces, no
// "0x"); nullopt when malformed or out of T's range.
template <class T>
std::optional<T> parseInt(std::string_view text) {
  static_assert(std::is_integral_v<T>);
  if (text.empty() || text.front() == '+') return std::nullopt;
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A finite decimal number filling the whole text ("1.5", "-2", "1e3"); nullopt otherwise.
std::optional<double> parseDouble(std::string_view text);

// metav1.Condition's and Event's reason rule, stricter on case: 1-1024 bytes, an upper-case ASCII
// letter, then ASCII letters and digits ("RegionFailedOver").
bool isCamelCase(std::string_view text);

// At most `limit` bytes of `text`, cut before a UTF-8 continuation byte so no character is split
// (an API server rejects a message that is not UTF-8, and nlohmann::json::dump throws on one).
std::string truncateUtf8(std::string_view text, size_t limit);

struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
};
// "host:port", "1.2.3.4:80", "[::1]:7443", ":7443" (empty host: every address); the port is
// 0..65535. nullopt when there is no port or it is malformed.
std::optional<HostPort> splitHostPort(std::string_view text);

}  // namespace dwcp::base
