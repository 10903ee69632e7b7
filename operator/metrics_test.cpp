#include "operator/metrics.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dwcp::op {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// Stands in for an informer whose counters a source reads.
struct Watched {
  std::atomic<int> reads{0};
  double restarts = 3;
};

std::vector<CounterSource> sourcesFor(Watched* watched, const std::string& resource) {
  return {{"dwcp_watch_restarts_total", "Watches restarted.", {{"resource", resource}}, [watched] {
             ++watched->reads;
             return watched->restarts;
           }}};
}

TEST(OperatorMetricsTest, RemovedSourcesAreNeverReadAgain) {
  OperatorMetrics metrics;
  auto regions = std::make_unique<Watched>();
  auto placements = std::make_unique<Watched>();
  const auto regionSources = metrics.addCounterSources(sourcesFor(regions.get(), "regions"));
  metrics.addCounterSources(sourcesFor(placements.get(), "vmplacements"));
  const std::string before = metrics.serialize();
  EXPECT_THAT(before, HasSubstr("dwcp_watch_restarts_total{resource=\"regions\"} 3"));
  EXPECT_THAT(before, HasSubstr("dwcp_watch_restarts_total{resource=\"vmplacements\"} 3"));

  metrics.removeCounterSources(regionSources);
  const int readsAtRemoval = regions->reads.load();
  regions.reset();  // the informer is gone: a scrape must not reach it
  const std::string after = metrics.serialize();
  EXPECT_THAT(after, Not(HasSubstr("resource=\"regions\"")));
  EXPECT_THAT(after, HasSubstr("dwcp_watch_restarts_total{resource=\"vmplacements\"} 3"));
  EXPECT_EQ(readsAtRemoval, 1);
  metrics.removeCounterSources(regionSources);  // idempotent
}

// A scrape in progress when the sources are removed: removal waits for it, so the owner may be
// destroyed as soon as removeCounterSources returns.
TEST(OperatorMetricsTest, RemovalWaitsForAScrapeInProgress) {
  OperatorMetrics metrics;
  std::mutex mu;
  std::condition_variable cv;
  bool reading = false;
  bool release = false;
  std::atomic<bool> readFinished{false};
  const auto id = metrics.addCounterSources(
      {{"dwcp_slow_total", "A slow read.", {}, [&] {
          std::unique_lock lock(mu);
          reading = true;
          cv.notify_all();
          cv.wait_for(lock, 20s, [&] { return release; });
          readFinished = true;
          return 1.0;
        }}});
  auto scrape = std::async(std::launch::async, [&] { return metrics.serialize(); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return reading; }));
  }
  auto removed = std::async(std::launch::async, [&] {
    metrics.removeCounterSources(id);
    return readFinished.load();
  });
  const bool removedEarly = removed.wait_for(200ms) == std::future_status::ready;
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_FALSE(removedEarly) << "removal returned while a scrape was reading the source";
  EXPECT_TRUE(removed.get());
  EXPECT_THAT(scrape.get(), HasSubstr("dwcp_slow_total 1"));
  EXPECT_THAT(metrics.serialize(), Not(HasSubstr("dwcp_slow_total")));
}

TEST(OperatorMetricsTest, ConflictsAreCountedUnderTheirOwnResult) {
  OperatorMetrics metrics;
  auto hooks = metrics.controllerHooks("vmplacement");
  hooks.reconciled(kube::kReconcileConflict, 0.001);
  hooks.reconciled(kube::kReconcileSuccess, 0.001);
  const std::string text = metrics.serialize();
  EXPECT_THAT(text, HasSubstr(
      "controller_runtime_reconcile_total{controller=\"vmplacement\",result=\"conflict\"} 1"));
  EXPECT_THAT(text, HasSubstr(
      "controller_runtime_reconcile_total{controller=\"vmplacement\",result=\"success\"} 1"));
  EXPECT_THAT(text, HasSubstr(
      "controller_runtime_reconcile_errors_total{controller=\"vmplacement\"} 0"));
}

}  // namespace
}  // namespace dwcp::op
