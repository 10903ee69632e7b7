#include "kube/backoff.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffTest, CapDoublesFrom800msTo30s) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 7});
  const std::vector<milliseconds> expected = {
      milliseconds(800),   milliseconds(1600),  milliseconds(3200),  milliseconds(6400),
      milliseconds(12800), milliseconds(25600), milliseconds(30000), milliseconds(30000)};
  for (const auto cap : expected) {
    EXPECT_EQ(backoff.nextCap(), cap);
    const milliseconds delay = backoff.markFailure();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay, cap);
  }
  EXPECT_EQ(backoff.failures(), 8);
}

TEST(BackoffTest, FullJitterSpreadsOverTheWholeRange) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 42});
  for (int i = 0; i < 10; ++i) backoff.markFailure();  // cap is now 30 s
  std::vector<milliseconds> delays;
  for (int i = 0; i < 1000; ++i) delays.push_back(backoff.markFailure());
  const auto [low, high] = std::minmax_element(delays.begin(), delays.end());
  EXPECT_LT(*low, milliseconds(3000));   // not a fixed fraction of the cap...
  EXPECT_GT(*high, milliseconds(27000));  // ...but anywhere in [0, cap]
  EXPECT_LE(*high, milliseconds(30000));
}

TEST(BackoffTest, SameSeedSameDelays) {
  FakeClock clock;
  Backoff a(clock, {.seed = 99});
  Backoff b(clock, {.seed = 99});
  Backoff c(clock, {.seed = 100});
  bool anyDifferent = false;
  for (int i = 0; i < 20; ++i) {
    const auto delayA = a.markFailure();
    EXPECT_EQ(delayA, b.markFailure());
    anyDifferent |= delayA != c.markFailure();
  }
  EXPECT_TRUE(anyDifferent);
}

TEST(BackoffTest, ResetsAfterTwoMinutesOfHealth) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 1});
  for (int i = 0; i < 5; ++i) backoff.markFailure();
  ASSERT_EQ(backoff.nextCap(), milliseconds(25600));

  backoff.markHealthy();
  clock.advance(seconds(119));
  EXPECT_EQ(backoff.nextCap(), milliseconds(25600));  // not yet
  clock.advance(seconds(1));
  EXPECT_EQ(backoff.nextCap(), milliseconds(800));
  EXPECT_LE(backoff.markFailure(), milliseconds(800));
  EXPECT_EQ(backoff.failures(), 1);
}

TEST(BackoffTest, MarkHealthyAfterTwoMinutesForgetsFailures) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 1});
  backoff.markFailure();
  backoff.markFailure();
  backoff.markHealthy();
  clock.advance(seconds(60));
  backoff.markHealthy();
  EXPECT_EQ(backoff.failures(), 2);
  clock.advance(seconds(60));
  backoff.markHealthy();
  EXPECT_EQ(backoff.failures(), 0);
}

TEST(BackoffTest, AFailureRestartsTheHealthyPeriod) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 1});
  for (int i = 0; i < 3; ++i) backoff.markFailure();
  backoff.markHealthy();
  clock.advance(seconds(100));
  backoff.markFailure();  // health interrupted after 100 s
  backoff.markHealthy();
  clock.advance(seconds(100));  // 200 s since the first markHealthy, only 100 s of health
  EXPECT_EQ(backoff.nextCap(), milliseconds(12800));
  EXPECT_EQ(backoff.failures(), 4);
}

TEST(BackoffTest, ResetForgetsAtOnce) {
  FakeClock clock;
  Backoff backoff(clock, {.seed = 1});
  for (int i = 0; i < 4; ++i) backoff.markFailure();
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0);
  EXPECT_EQ(backoff.nextCap(), milliseconds(800));
}

TEST(BackoffTest, ConfigurableDurationsForTests) {
  FakeClock clock;
  Backoff backoff(clock, {.initial = milliseconds(1), .max = milliseconds(4), .seed = 3});
  EXPECT_LE(backoff.markFailure(), milliseconds(1));
  EXPECT_LE(backoff.markFailure(), milliseconds(2));
  for (int i = 0; i < 100; ++i) EXPECT_LE(backoff.markFailure(), milliseconds(4));
  EXPECT_EQ(backoff.nextCap(), milliseconds(4));
}

}  // namespace
}  // namespace dwcp::kube
