#include "engines/routing/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace dwcp::routing {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

RateLimiterConfig noBlacklist() {
  RateLimiterConfig config;
  config.sustainedAbuse = std::chrono::hours(24 * 365);
  return config;
}

TEST(SourceRateLimiterTest, RequestRateWithinOnePercent) {
  base::FakeClock clock;
  SourceRateLimiter limiter(noBlacklist(), clock);  // 1000 requests/s, burst 1 s
  long admitted = 0;
  // Offer 2 000 requests/s (one every 500 us) for 100 s.
  for (int i = 0; i < 200000; ++i) {
    admitted += limiter.admit("10.0.0.1", 100).admitted();
    clock.advance(microseconds(500));
  }
  const double expected = 1000.0 * 100 + 1000;  // the rate plus the initial burst
  EXPECT_NEAR(admitted, expected, expected * 0.01);
}

TEST(SourceRateLimiterTest, ByteRateWithinOnePercent) {
  base::FakeClock clock;
  RateLimiterConfig config = noBlacklist();
  config.maxBytesPerSec = 1'000'000;
  SourceRateLimiter limiter(config, clock);
  long long bytes = 0;
  // 10 KB every 5 ms = 2 MB/s offered for 50 s, well under the request limit.
  for (int i = 0; i < 10000; ++i) {
    if (limiter.admit("10.0.0.2", 10000).admitted()) bytes += 10000;
    clock.advance(milliseconds(5));
  }
  const double expected = 1e6 * 50 + 1e6;
  EXPECT_NEAR(static_cast<double>(bytes), expected, expected * 0.01);
}

TEST(SourceRateLimiterTest, RejectionsCarryRetryAfterAndOversizedRequestsAre413) {
  base::FakeClock clock;
  RateLimiterConfig config = noBlacklist();
  config.maxRequestsPerSec = 2;
  SourceRateLimiter limiter(config, clock);
  EXPECT_TRUE(limiter.admit("a", 1).admitted());
  EXPECT_TRUE(limiter.admit("a", 1).admitted());
  auto limited = limiter.admit("a", 1);
  EXPECT_EQ(limited.verdict, AdmissionVerdict::kRateLimited);
  EXPECT_EQ(limited.httpStatus, 429);
  EXPECT_GE(limited.retryAfterSeconds, 1u);
  EXPECT_TRUE(limiter.admit("b", 1).admitted());  // sources are independent
  auto huge = limiter.admit("c", 200'000'000);
  EXPECT_EQ(huge.verdict, AdmissionVerdict::kTooLarge);
  EXPECT_EQ(huge.httpStatus, 413);
  clock.advance(milliseconds(500));
  EXPECT_TRUE(limiter.admit("a", 1).admitted());
}

TEST(SourceRateLimiterTest, SustainedAbuseIsBlacklistedUntilTheDurationEnds) {
  base::FakeClock clock;
  SourceRateLimiter limiter(RateLimiterConfig{}, clock);  // 1000/s, 10 s sustained, 1 h blacklist
  int newlyBlacklisted = 0;
  long wellBehavedAdmitted = 0;
  // The attacker sends 100 x its limit (100 per ms); a neighbour sends 100/s.
  for (int ms = 0; ms < 15000; ++ms) {
    for (int k = 0; k < 100; ++k) newlyBlacklisted += limiter.admit("203.0.113.9", 64).newlyBlacklisted;
    if (ms % 10 == 0) wellBehavedAdmitted += limiter.admit("198.51.100.7", 64).admitted();
    clock.advance(milliseconds(1));
  }
  EXPECT_EQ(newlyBlacklisted, 1);
  EXPECT_EQ(wellBehavedAdmitted, 1500);
  EXPECT_TRUE(limiter.isBlacklisted("203.0.113.9"));
  EXPECT_FALSE(limiter.isBlacklisted("198.51.100.7"));
  EXPECT_EQ(limiter.blacklistedSources(), 1u);
  auto blocked = limiter.admit("203.0.113.9", 64);
  EXPECT_EQ(blocked.verdict, AdmissionVerdict::kBlacklisted);
  EXPECT_EQ(blocked.httpStatus, 429);
  EXPECT_GT(blocked.retryAfterSeconds, 3500u);
  EXPECT_LE(blocked.retryAfterSeconds, 3600u);
  // Even a polite request stays blocked until the hour is over.
  clock.advance(seconds(3590));
  EXPECT_FALSE(limiter.admit("203.0.113.9", 64).admitted());
  clock.advance(seconds(15));
  EXPECT_FALSE(limiter.isBlacklisted("203.0.113.9"));
  EXPECT_TRUE(limiter.admit("203.0.113.9", 64).admitted());
  EXPECT_EQ(limiter.blacklistedSources(), 0u);
}

TEST(SourceRateLimiterTest, ModestOverrunOrBriefBurstsAreNotBlacklisted) {
  base::FakeClock clock;
  SourceRateLimiter limiter(RateLimiterConfig{}, clock);
  // 1.5 x the limit for a minute: rejected at 500/s, under the abuse factor of 1 x 1000/s.
  for (int i = 0; i < 90000; ++i) {
    EXPECT_NE(limiter.admit("a", 10).verdict, AdmissionVerdict::kBlacklisted);
    clock.advance(std::chrono::nanoseconds(666'667));
  }
  // 100 x for 5 s, quiet for 5 s, again: each streak is shorter than 10 s.
  for (int round = 0; round < 3; ++round) {
    for (int ms = 0; ms < 5000; ++ms) {
      for (int k = 0; k < 100; ++k) limiter.admit("b", 10);
      clock.advance(milliseconds(1));
    }
    clock.advance(seconds(5));
  }
  EXPECT_FALSE(limiter.isBlacklisted("a"));
  EXPECT_FALSE(limiter.isBlacklisted("b"));
}

TEST(SourceRateLimiterTest, MemoryStaysBoundedUnderManySources) {
  base::FakeClock clock;
  RateLimiterConfig config;
  config.maxTrackedSources = 10000;
  config.shards = 16;
  SourceRateLimiter limiter(config, clock);
  // One source is blacklisted first; a spoofed flood of new sources must not evict it.
  config = {};
  for (int s = 0; s <= 11; ++s) {
    for (int k = 0; k < 2100; ++k) limiter.admit("attacker", 1);
    clock.advance(seconds(1));
  }
  ASSERT_TRUE(limiter.isBlacklisted("attacker"));
  for (int i = 0; i < 200000; ++i) {
    ASSERT_TRUE(limiter.admit("10." + std::to_string(i), 1).admitted());
    if (i % 1000 == 0) clock.advance(milliseconds(1));
  }
  EXPECT_LE(limiter.trackedSources(), 10000u);
  EXPECT_GE(limiter.trackedSources(), 9000u);
  EXPECT_LE(limiter.memoryBytes(), 10000u * 56);  // 40-byte slots at <= 75% load, plus rounding
  EXPECT_TRUE(limiter.isBlacklisted("attacker"));
}

TEST(SourceRateLimiterTest, ThreadSafeAndExactUnderContention) {
  base::FakeClock clock;  // time stands still: exactly the burst is admitted, whoever asks
  SourceRateLimiter limiter(noBlacklist(), clock);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        admitted += limiter.admit("shared", 1).admitted();
        limiter.admit("own-" + std::to_string(t) + "-" + std::to_string(i % 50), 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
  EXPECT_EQ(limiter.trackedSources(), 1u + 4 * 50);
}

TEST(SourceRateLimiterTest, ValidateNamesTheField) {
  EXPECT_TRUE(validate(RateLimiterConfig{}).ok());
  RateLimiterConfig c;
  c.maxRequestsPerSec = 0;
  EXPECT_EQ(validate(c).error().field, "maxRequestsPerSec");
  c = {};
  c.maxBytesPerSec = -1;
  EXPECT_EQ(validate(c).error().field, "maxBytesPerSec");
  c = {};
  c.maxTrackedSources = 0;
  EXPECT_EQ(validate(c).error().field, "maxTrackedSources");
  c = {};
  c.shards = 0;
  EXPECT_EQ(validate(c).error().field, "shards");
}

}  // namespace
}  // namespace dwcp::routing
