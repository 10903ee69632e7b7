#include "controllers/health_signals.h"

#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dwcp::controllers {
namespace {

TEST(HealthSignalsTest, FreshSignalsAreHealthy) {
  HealthSignals signals(10);
  HealthSnapshot s = signals.snapshot();
  EXPECT_TRUE(s.apiReachable);
  EXPECT_DOUBLE_EQ(s.apiLatencySeconds, 0.0);
  EXPECT_DOUBLE_EQ(s.errorRatio, 0.0);
  EXPECT_EQ(s.reconciles, 0u);
}

struct WindowCase {
  const char* name;
  size_t window;
  std::vector<bool> outcomes;  // in recording order
  size_t wantReconciles;
  double wantErrorRatio;
};
void PrintTo(const WindowCase& c, std::ostream* os) { *os << c.name; }

class HealthSignalsWindowTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(HealthSignalsWindowTest, RatioOverTheLastOutcomes) {
  const WindowCase& c = GetParam();
  HealthSignals signals(c.window);
  for (bool ok : c.outcomes) signals.recordReconcile(ok);
  HealthSnapshot s = signals.snapshot();
  EXPECT_EQ(s.reconciles, c.wantReconciles);
  EXPECT_DOUBLE_EQ(s.errorRatio, c.wantErrorRatio);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HealthSignalsWindowTest,
    ::testing::Values(
        WindowCase{"AllSucceeded", 4, {true, true, true}, 3, 0.0},
        WindowCase{"AllFailed", 4, {false, false}, 2, 1.0},
        WindowCase{"HalfFailed", 4, {true, false, true, false}, 4, 0.5},
        WindowCase{"OneOfThreeFailed", 10, {true, false, true}, 3, 1.0 / 3.0},
        // Older failures fall out of the window: only the last 3 outcomes count.
        WindowCase{"OldFailuresForgotten", 3, {false, false, false, true, true, true}, 3, 0.0},
        WindowCase{"OldSuccessesForgotten", 3, {true, true, true, false, false, false}, 3, 1.0},
        WindowCase{"SlidingMix", 3, {false, true, true, false}, 3, 1.0 / 3.0},
        WindowCase{"WindowOfOne", 1, {false, true, false}, 1, 1.0},
        // A zero window keeps nothing: no outcomes, no ratio.
        WindowCase{"WindowOfZero", 0, {false, false}, 0, 0.0}),
    [](const ::testing::TestParamInfo<WindowCase>& info) { return std::string(info.param.name); });

TEST(HealthSignalsTest, ApiProbeIsRecordedAndTheLastOneWins) {
  HealthSignals signals;
  signals.recordApiProbe(false, 5.5);
  HealthSnapshot s = signals.snapshot();
  EXPECT_FALSE(s.apiReachable);
  EXPECT_DOUBLE_EQ(s.apiLatencySeconds, 5.5);

  signals.recordApiProbe(true, 0.02);
  s = signals.snapshot();
  EXPECT_TRUE(s.apiReachable);
  EXPECT_DOUBLE_EQ(s.apiLatencySeconds, 0.02);
}

TEST(HealthSignalsTest, ApiProbeDoesNotTouchTheReconcileWindow) {
  HealthSignals signals(5);
  signals.recordReconcile(false);
  signals.recordApiProbe(false, 2.0);
  HealthSnapshot s = signals.snapshot();
  EXPECT_EQ(s.reconciles, 1u);
  EXPECT_DOUBLE_EQ(s.errorRatio, 1.0);
}

constexpr size_t kWindow = 50;
constexpr int kThreads = 4;
constexpr int kPerThread = 1000;

TEST(HealthSignalsTest, ConcurrentRecordersKeepTheWindowConsistent) {
  HealthSignals signals(kWindow);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Half the threads only fail, half only succeed; probes run alongside.
    threads.emplace_back([&signals, t] {
      for (int i = 0; i < kPerThread; ++i) {
        signals.recordReconcile(t % 2 == 0);
        if (i % 100 == 0) signals.recordApiProbe(true, 0.1);
        HealthSnapshot s = signals.snapshot();
        ASSERT_LE(s.reconciles, kWindow);
        ASSERT_GE(s.errorRatio, 0.0);
        ASSERT_LE(s.errorRatio, 1.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  HealthSnapshot s = signals.snapshot();
  EXPECT_EQ(s.reconciles, kWindow);
  // The ratio is a whole number of failures over the window.
  double failures = s.errorRatio * static_cast<double>(kWindow);
  EXPECT_NEAR(failures, std::round(failures), 1e-9);

  // After the storm, kWindow successes flush every failure out.
  for (size_t i = 0; i < kWindow; ++i) signals.recordReconcile(true);
  EXPECT_DOUBLE_EQ(signals.snapshot().errorRatio, 0.0);
}

}  // namespace
}  // namespace dwcp::controllers
