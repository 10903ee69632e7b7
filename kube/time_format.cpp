#include "kube/time_format.h"

#include <cstdio>

namespace dwcp::kube {

namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Formats up to whole seconds and returns the sub-second remainder of `time`.
std::string formatSeconds(Clock::WallTime time, nanoseconds& fraction) {
  auto day = floor<days>(time);
  std::chrono::year_month_day date{day};
  std::chrono::hh_mm_ss clock{floor<nanoseconds>(time - day)};
  fraction = clock.subseconds();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buf;
}

// Reads exactly `width` decimal digits at text[pos]; advances pos.
bool readDigits(std::string_view text, size_t& pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += width;
  return true;
}

bool expectChar(std::string_view text, size_t& pos, char expected) {
  if (pos >= text.size() || text[pos] != expected) return false;
  ++pos;
  return true;
}

}  // namespace

std::string formatRfc3339(Clock::WallTime time) {
  nanoseconds fraction;
  return formatSeconds(time, fraction) + "Z";
}

std::string formatRfc3339Micro(Clock::WallTime time) {
  nanoseconds fraction;
  std::string out = formatSeconds(time, fraction);
  char buf[32];
  std::snprintf(buf, sizeof buf, ".%06lldZ", static_cast<long long>(fraction.count() / 1000));
  return out + buf;
}

Result<Clock::WallTime> parseRfc3339(std::string_view text) {
  auto invalid = [&] {
    return Error{0, "Invalid", "not an RFC 3339 time: \"" + std::string(text.substr(0, 64)) + "\""};
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(text, pos, 4, year) || !expectChar(text, pos, '-') ||
      !readDigits(text, pos, 2, month) || !expectChar(text, pos, '-') ||
      !readDigits(text, pos, 2, day)) {
    return invalid();
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return invalid();
  ++pos;
  if (!readDigits(text, pos, 2, hour) || !expectChar(text, pos, ':') ||
      !readDigits(text, pos, 2, minute) || !expectChar(text, pos, ':') ||
      !readDigits(text, pos, 2, second)) {
    return invalid();
  }
  long long fractionNanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) fractionNanos = fractionNanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return invalid();
    for (size_t i = digits; i < 9; ++i) fractionNanos *= 10;
  }
  int offsetMinutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int offsetHours = 0, offsetMins = 0;
    if (!readDigits(text, pos, 2, offsetHours) || !expectChar(text, pos, ':') ||
        !readDigits(text, pos, 2, offsetMins) || offsetHours > 23 || offsetMins > 59) {
      return invalid();
    }
    offsetMinutes = sign * (offsetHours * 60 + offsetMins);
  } else {
    return invalid();
  }
  if (pos != text.size()) return invalid();
  std::chrono::year_month_day date{std::chrono::year{year},
                                   std::chrono::month{static_cast<unsigned>(month)},
                                   std::chrono::day{static_cast<unsigned>(day)}};
  // Second 60 (a leap second) is accepted as RFC 3339 allows and folds into the next minute.
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return invalid();
  auto time = std::chrono::sys_days{date} + std::chrono::hours{hour} +
              std::chrono::minutes{minute - offsetMinutes} + seconds{second} +
              nanoseconds{fractionNanos};
  return std::chrono::time_point_cast<Clock::WallTime::duration>(time);
}

}  // namespace dwcp::kube
