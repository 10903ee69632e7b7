#include "base/duration.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace dwcp::base {
namespace {

constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max();

struct Unit {
  std::string_view suffix;
  int64_t milliseconds;
};
// "ms" before "m" so the longer suffix wins.
constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text, std::string* why) {
  auto refuse = [&](std::string reason) -> std::optional<std::chrono::milliseconds> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (text.empty()) return refuse("empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // <integer>[.<fraction>]
    size_t start = i;
    int64_t whole = 0;
    while (i < text.size() && isDigit(text[i])) {
      if (whole > (kMaxMs - 9) / 10) return refuse("too large");
      whole = whole * 10 + (text[i] - '0');
      ++i;
    }
    bool hasWhole = i > start;
    int64_t fraction = 0, scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t fractionStart = i;
      while (i < text.size() && isDigit(text[i])) {
        if (scale < 1'000'000'000'000) {  // digits beyond 1e-12 cannot matter at ms resolution
          fraction = fraction * 10 + (text[i] - '0');
          scale *= 10;
        }
        ++i;
      }
      if (i == fractionStart && !hasWhole) return refuse("expected a number at offset " + std::to_string(start));
    } else if (!hasWhole) {
      return refuse("expected a number at offset " + std::to_string(start));
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(i, candidate.suffix.size()) == candidate.suffix) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      size_t end = i;
      while (end < text.size() && !isDigit(text[end]) && text[end] != '.') ++end;
      return refuse(i == text.size() ? "missing unit (use ms, s, m, h, d)"
                                     : "unknown unit \"" + std::string(text.substr(i, end - i)) + "\" (use ms, s, m, h, d)");
    }
    i += unit->suffix.size();
    if (whole > kMaxMs / unit->milliseconds) return refuse("too large");
    int64_t part = whole * unit->milliseconds;
    // fraction/scale of a unit, truncated to whole milliseconds; scale <= 1e12 and
    // unit <= 8.64e7, so compute in long double to stay exact enough and overflow-free.
    part += static_cast<int64_t>(static_cast<long double>(fraction) * unit->milliseconds / scale);
    if (part < 0 || total > kMaxMs - part) return refuse("too large");
    total += part;
  }
  return std::chrono::milliseconds(total);
}

std::string formatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms <= 0) return "0s";
  std::string out;
  const int64_t hours = ms / 3'600'000;
  ms %= 3'600'000;
  const int64_t minutes = ms / 60'000;
  ms %= 60'000;
  const int64_t seconds = ms / 1000;
  ms %= 1000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (seconds > 0) out += std::to_string(seconds) + "s";
  if (ms > 0) out += std::to_string(ms) + "ms";
  return out;
}

std::string formatWindow(std::chrono::milliseconds duration) {
  const int64_t ms = duration.count();
  if (ms > 0) {
    for (auto [suffix, unit] : {std::pair{"d", int64_t{86'400'000}}, std::pair{"h", int64_t{3'600'000}},
                                std::pair{"m", int64_t{60'000}}}) {
      if (ms % unit == 0) return std::to_string(ms / unit) + suffix;
    }
  }
  return formatDuration(duration);
}

}  // namespace dwcp::base
