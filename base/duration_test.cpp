#include "base/duration.h"

#include <gtest/gtest.h>

namespace dwcp::base {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesEachUnit) {
  EXPECT_EQ(parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(parseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(parseDuration("2m"), milliseconds(120'000));
  EXPECT_EQ(parseDuration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parseDuration("30d"), milliseconds(30LL * 86'400'000));
  EXPECT_EQ(parseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, ParsesSequencesAndFractions) {
  EXPECT_EQ(parseDuration("1m30s"), milliseconds(90'000));
  EXPECT_EQ(parseDuration("1h2m3s4ms"), milliseconds(3'723'004));
  EXPECT_EQ(parseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parseDuration(".5h"), milliseconds(1'800'000));
  EXPECT_EQ(parseDuration("0.0001s"), milliseconds(0));  // below resolution, truncated
}

TEST(DurationTest, RejectsMalformed) {
  for (const char* bad : {"", "5", "s", "5 s", " 5s", "5s ", "-5s", "+5s", "5x", "5S", "1.s.", ".s", "5sm", "1e3s",
                          "30days", "5 seconds"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << bad;
  }
}

TEST(DurationTest, SaysWhyItRefuses) {
  std::string why;
  EXPECT_EQ(parseDuration("1y", &why), std::nullopt);
  EXPECT_EQ(why, "unknown unit \"y\" (use ms, s, m, h, d)");
  EXPECT_EQ(parseDuration("30 seconds", &why), std::nullopt);
  EXPECT_EQ(why, "unknown unit \" seconds\" (use ms, s, m, h, d)");
  EXPECT_EQ(parseDuration("10", &why), std::nullopt);
  EXPECT_EQ(why, "missing unit (use ms, s, m, h, d)");
  EXPECT_EQ(parseDuration("5ss", &why), std::nullopt);
  EXPECT_EQ(why, "expected a number at offset 2");
  EXPECT_EQ(parseDuration("", &why), std::nullopt);
  EXPECT_EQ(why, "empty duration");
  EXPECT_EQ(parseDuration("9999999999999d", &why), std::nullopt);
  EXPECT_EQ(why, "too large");
}

TEST(DurationTest, RejectsOverflow) {
  EXPECT_EQ(parseDuration("99999999999999999999ms"), std::nullopt);
  EXPECT_EQ(parseDuration("9999999999999d"), std::nullopt);
  EXPECT_EQ(parseDuration("9223372036854775000ms1000ms"), std::nullopt);
}

TEST(DurationTest, FormatsCanonically) {
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(formatDuration(milliseconds(5000)), "5s");
  EXPECT_EQ(formatDuration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(formatDuration(milliseconds(3'723'004)), "1h2m3s4ms");
  EXPECT_EQ(formatDuration(milliseconds(30LL * 86'400'000)), "720h");
}

TEST(DurationTest, FormatsWindowsInOneUnit) {
  EXPECT_EQ(formatWindow(milliseconds(30LL * 86'400'000)), "30d");
  EXPECT_EQ(formatWindow(milliseconds(36LL * 3'600'000)), "36h");
  EXPECT_EQ(formatWindow(milliseconds(90LL * 60'000)), "90m");
  EXPECT_EQ(formatWindow(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(formatWindow(milliseconds(0)), "0s");
}

TEST(DurationTest, FormatThenParseIsIdentity) {
  for (int64_t ms : {0LL, 1LL, 999LL, 1000LL, 1001LL, 59'999LL, 60'000LL, 3'599'999LL, 86'400'000LL,
                     123'456'789LL, 9'000'000'000'000LL}) {
    EXPECT_EQ(parseDuration(formatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
    EXPECT_EQ(parseDuration(formatWindow(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace dwcp::base
