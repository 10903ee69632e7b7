// Duration strings of the API ("500ms", "5s", "1m30s", "30d"), as Go's time.ParseDuration
// writes them plus a day unit (d = 24h). Millisecond resolution; pure functions, never throw.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dwcp::base {

// A sequence of <number><unit> with unit in ms, s, m, h, d; the number may have a fraction
// ("1.5s"). Non-negative; nullopt when malformed, empty or beyond about 290 million years, with
// the reason in *why when given ("unknown unit \"y\" (use ms, s, m, h, d)").
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text, std::string* why = nullptr);

// Canonical form with units h, m, s, ms, largest first: 90000 ms -> "1m30s", 0 -> "0s".
// parseDuration(formatDuration(d)) == d for every non-negative d.
std::string formatDuration(std::chrono::milliseconds duration);

// Window form: one whole unit, the largest of d, h, m that divides it ("30d", "36h", "90m");
// falls back to formatDuration otherwise.
std::string formatWindow(std::chrono::milliseconds duration);

}  // namespace dwcp::base
