#include "kube/time_format.h"

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using namespace std::chrono;

Clock::WallTime at(int y, unsigned m, unsigned d, int h, int min, int s) {
  auto date = sys_days{year{y} / month{m} / day{d}};
  return Clock::WallTime(date + hours{h} + minutes{min} + seconds{s});
}

TEST(TimeFormatTest, FormatsSecondsAndMicroseconds) {
  auto t = at(2026, 1, 2, 3, 4, 5) + microseconds(123456) + nanoseconds(789);
  EXPECT_EQ(formatRfc3339(t), "2026-01-02T03:04:05Z");
  EXPECT_EQ(formatRfc3339Micro(t), "2026-01-02T03:04:05.123456Z");
  EXPECT_EQ(formatRfc3339Micro(at(2026, 1, 1, 0, 0, 0)), "2026-01-01T00:00:00.000000Z");
}

TEST(TimeFormatTest, FormatsBeforeEpoch) {
  EXPECT_EQ(formatRfc3339(at(1969, 12, 31, 23, 59, 59)), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339Micro(at(1970, 1, 1, 0, 0, 0) - microseconds(1)),
            "1969-12-31T23:59:59.999999Z");
}

TEST(TimeFormatTest, ParsesWhatItFormats) {
  auto t = at(2024, 2, 29, 23, 59, 58) + microseconds(42);
  auto parsed = parseRfc3339(formatRfc3339Micro(t));
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_EQ(*parsed, t);
  auto whole = parseRfc3339("2024-02-29T23:59:58Z");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, at(2024, 2, 29, 23, 59, 58));
}

TEST(TimeFormatTest, ParsesOffsetsAndLongFractions) {
  auto plus = parseRfc3339("2026-01-01T02:30:00+02:30");
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(*plus, at(2026, 1, 1, 0, 0, 0));
  auto minus = parseRfc3339("2025-12-31T23:00:00-01:00");
  ASSERT_TRUE(minus.ok());
  EXPECT_EQ(*minus, at(2026, 1, 1, 0, 0, 0));
  auto nanos = parseRfc3339("2026-01-01T00:00:00.1234567891Z");
  ASSERT_TRUE(nanos.ok());
  EXPECT_EQ(*nanos, at(2026, 1, 1, 0, 0, 0) + nanoseconds(123456789));
}

TEST(TimeFormatTest, RejectsMalformedText) {
  for (const char* bad : {"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                          "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z",
                          "2026-01-01T00:00:00Zjunk", "2026-01-01 00:00:00Z", "20260101T000000Z",
                          "2026-01-01T00:00:00+0100", "abcd-01-01T00:00:00Z"}) {
    auto parsed = parseRfc3339(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted \"" << bad << "\"";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().reason, "Invalid");
    }
  }
}

}  // namespace
}  // namespace dwcp::kube
