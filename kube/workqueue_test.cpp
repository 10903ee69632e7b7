#include "base/testing/eventually.h"
#include "kube/workqueue.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

using dwcp::base::testing::eventually;

TEST(WorkQueueTest, AddSameKeyManyTimesYieldsOneGet) {
  FakeClock clock;
  WorkQueue queue(clock);
  for (int i = 0; i < 100; ++i) queue.add("ns/a", "event " + std::to_string(i));
  EXPECT_EQ(queue.len(), 1u);

  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "ns/a");
  EXPECT_EQ(item->reason, "event 0");  // the first reason is kept
  EXPECT_FALSE(queue.tryGet().has_value());

  const auto stats = queue.stats();
  EXPECT_EQ(stats.addsTotal, 1u);
  EXPECT_EQ(stats.mergedAddsTotal, 99u);
  EXPECT_EQ(stats.processing, 1u);
  queue.done("ns/a");
  EXPECT_EQ(queue.len(), 0u);
  EXPECT_EQ(queue.stats().processing, 0u);
}

TEST(WorkQueueTest, KeysComeOutInFifoOrder) {
  FakeClock clock;
  WorkQueue queue(clock);
  const std::vector<std::string> keys = {"ns/c", "ns/a", "ns/b", "other/a"};
  for (const auto& key : keys) queue.add(key, "r");
  queue.add("ns/a", "again");  // merged: does not move ns/a to the back
  for (const auto& key : keys) {
    auto item = queue.tryGet();
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->key, key);
  }
  EXPECT_FALSE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, EmptyKeyIsIgnored) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("", "bad");
  queue.addAfter("", seconds(1), "bad");
  queue.addRateLimited("");
  clock.advance(hours(1));
  queue.wakeUp();
  EXPECT_EQ(queue.len(), 0u);
  EXPECT_FALSE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, DoneForUnknownKeyIsHarmless) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.done("ns/never-added");
  queue.add("ns/a", "r");
  queue.done("ns/a");  // queued but not handed out: done() must not drop or duplicate it
  EXPECT_EQ(queue.len(), 1u);
  ASSERT_TRUE(queue.tryGet().has_value());
  EXPECT_FALSE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, KeyAddedDuringProcessingIsRequeuedOnDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a", "first");
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());

  queue.add("ns/a", "second");
  queue.add("ns/a", "third");
  EXPECT_EQ(queue.len(), 0u) << "a key being processed must not be handed out again";
  EXPECT_FALSE(queue.tryGet().has_value());

  queue.done("ns/a");
  EXPECT_EQ(queue.len(), 1u);
  auto again = queue.tryGet();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->key, "ns/a");
  EXPECT_EQ(again->reason, "second");
  queue.done("ns/a");
  EXPECT_FALSE(queue.tryGet().has_value()) << "the merged adds must give one re-run only";
}

TEST(WorkQueueTest, NoConcurrentProcessingOfAKeyAndNoLostAdds) {
  constexpr int kWorkers = 8;
  constexpr int kAdders = 4;
  constexpr int kAddsPerAdder = 2500;  // 10k adds
  constexpr int kKeys = 50;

  WorkQueue queue(RealClock::instance());
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("ns/key-" + std::to_string(i));
  // version[k] counts adds of key k; seen[k] is the version a worker saw when it started
  // processing k. An add that follows the start of a key's processing (seen < version) must be
  // followed by another processing, so at the end seen == version for every key.
  auto version = std::make_unique<std::atomic<int>[]>(kKeys);
  auto seen = std::make_unique<std::atomic<int>[]>(kKeys);
  auto active = std::make_unique<std::atomic<int>[]>(kKeys);
  auto processedCount = std::make_unique<std::atomic<int>[]>(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    version[i] = 0;
    seen[i] = -1;
    active[i] = 0;
    processedCount[i] = 0;
  }
  std::atomic<int> overlaps{0};
  std::atomic<int> badKeys{0};

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (auto item = queue.get()) {
        const int index = std::stoi(item->key.substr(item->key.find('-') + 1));
        if (index < 0 || index >= kKeys) {
          ++badKeys;
          queue.done(item->key);
          continue;
        }
        if (active[index].fetch_add(1) != 0) ++overlaps;
        seen[index] = version[index].load();
        ++processedCount[index];
        // Widen the window in which adds land during processing and a buggy queue would hand
        // the key to a second worker (a race window, not a wait for a result).
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        active[index].fetch_sub(1);
        queue.done(item->key);
      }
    });
  }
  std::vector<std::thread> adders;
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&, a] {
      for (int i = 0; i < kAddsPerAdder; ++i) {
        const int index = (i * 7 + a * 13) % kKeys;
        version[index].fetch_add(1);
        queue.add(keys[index], "adder " + std::to_string(a));
        std::this_thread::yield();  // spread the adds over the workers' processing
      }
    });
  }
  for (auto& adder : adders) adder.join();

  const bool idle = eventually([&] {
    const auto stats = queue.stats();
    return stats.depth == 0 && stats.processing == 0;
  });
  queue.shutDown();
  for (auto& worker : workers) worker.join();

  ASSERT_TRUE(idle);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(badKeys.load(), 0);
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(seen[i].load(), version[i].load()) << "an add of " << keys[i] << " was lost";
    EXPECT_GE(processedCount[i].load(), 1);
  }
  const auto stats = queue.stats();
  EXPECT_EQ(stats.addsTotal + stats.mergedAddsTotal, uint64_t{kAdders * kAddsPerAdder});
  int processedTotal = 0;
  for (int i = 0; i < kKeys; ++i) processedTotal += processedCount[i].load();
  EXPECT_GT(processedTotal, 2 * kKeys) << "the adds and the processing did not overlap; the "
                                          "test exercised nothing";
}

struct DelayCase {
  std::string name;
  std::vector<milliseconds> delays;  // successive addAfter calls at the same instant
  milliseconds expectedReadyAfter;
};
void PrintTo(const DelayCase& c, std::ostream* os) { *os << c.name; }

class WorkQueueDelayTest : public ::testing::TestWithParam<DelayCase> {};

TEST_P(WorkQueueDelayTest, DelayedAddsKeepTheEarliestTime) {
  const DelayCase& c = GetParam();
  FakeClock clock;
  WorkQueue queue(clock);
  for (size_t i = 0; i < c.delays.size(); ++i) {
    queue.addAfter("ns/a", c.delays[i], "request " + std::to_string(i));
  }
  if (c.expectedReadyAfter > milliseconds(0)) {
    clock.advance(c.expectedReadyAfter - milliseconds(1));
    queue.wakeUp();
    EXPECT_EQ(queue.len(), 0u) << "ready too early";
    EXPECT_FALSE(queue.tryGet().has_value());
    clock.advance(milliseconds(1));
  }
  queue.wakeUp();
  EXPECT_EQ(queue.len(), 1u);
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "ns/a");
  queue.done("ns/a");

  // The later requests were merged into the earliest one: nothing fires afterwards.
  clock.advance(hours(2));
  queue.wakeUp();
  EXPECT_EQ(queue.len(), 0u);
  EXPECT_EQ(queue.stats().waiting, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    WorkQueueDelay, WorkQueueDelayTest,
    ::testing::Values(DelayCase{"single", {milliseconds(500)}, milliseconds(500)},
                      DelayCase{"laterThenEarlier", {seconds(10), seconds(5)}, seconds(5)},
                      DelayCase{"earlierThenLater", {seconds(5), seconds(10)}, seconds(5)},
                      DelayCase{"zeroIsImmediate", {seconds(5), milliseconds(0)}, milliseconds(0)},
                      DelayCase{"negativeIsImmediate", {milliseconds(-3)}, milliseconds(0)},
                      DelayCase{"many", {seconds(10), seconds(10), seconds(3), seconds(7)},
                                seconds(3)}),
    [](const ::testing::TestParamInfo<DelayCase>& info) { return info.param.name; });

TEST(WorkQueueTest, DelayedAddCarriesTheReasonOfTheEarliestRequest) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", seconds(10), "slow");
  queue.addAfter("ns/a", seconds(2), "fast");
  queue.addAfter("ns/a", seconds(5), "medium");
  clock.advance(seconds(2));
  queue.wakeUp();
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->reason, "fast");
}

TEST(WorkQueueTest, DelayedAddOfQueuedKeyIsMerged) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a", "now");
  queue.addAfter("ns/a", seconds(30), "later");  // due now already: earlier than 30s
  auto first = queue.tryGet();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->reason, "now");
  queue.done("ns/a");
  clock.advance(seconds(30));
  queue.wakeUp();
  EXPECT_FALSE(queue.tryGet().has_value());
  EXPECT_EQ(queue.stats().mergedAddsTotal, 1u);
}

TEST(WorkQueueTest, DelayedAddWhileProcessingAndDirtyIsMerged) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a", "first");
  ASSERT_TRUE(queue.tryGet().has_value());
  queue.add("ns/a", "event during processing");
  queue.addAfter("ns/a", seconds(30), "requeue");  // the re-run after done() comes first
  queue.done("ns/a");
  auto again = queue.tryGet();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->reason, "event during processing");
  queue.done("ns/a");
  clock.advance(seconds(30));
  queue.wakeUp();
  EXPECT_FALSE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, DelayedAddWhileProcessingFiresAfterTheDelay) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a", "first");
  ASSERT_TRUE(queue.tryGet().has_value());
  queue.addAfter("ns/a", seconds(30), "requeue");  // as a reconcile asking for a requeue
  queue.done("ns/a");
  EXPECT_FALSE(queue.tryGet().has_value());
  clock.advance(seconds(30));
  queue.wakeUp();
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->reason, "requeue");
}

TEST(WorkQueueTest, ImmediateAddSupersedesPendingDelayedAdd) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", seconds(30), "later");
  queue.add("ns/a", "object changed");
  EXPECT_EQ(queue.stats().waiting, 0u);
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->reason, "object changed");
  queue.done("ns/a");
  clock.advance(seconds(30));
  queue.wakeUp();
  EXPECT_FALSE(queue.tryGet().has_value()) << "one schedule per key, at the earliest time";
}

TEST(WorkQueueTest, BlockedGetterSeesDelayedKeyAfterClockAdvance) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", seconds(60), "timer");
  std::optional<WorkQueue::Item> got;
  std::thread getter([&] { got = queue.get(); });
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == 1; }));
  clock.advance(seconds(60));
  queue.wakeUp();
  getter.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "ns/a");
  EXPECT_EQ(got->reason, "timer");
}

TEST(WorkQueueTest, BlockedGetterWithRealClockGetsDelayedKeyByItself) {
  WorkQueue queue(RealClock::instance());
  queue.addAfter("ns/a", milliseconds(20), "timer");
  auto item = queue.get();  // no wakeUp(): get() naps until the key is due
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "ns/a");
}

// Idle getters: one times the delayed keys, the others wait for ready keys. Whatever role the idle
// getters are in, a key is handed out at once (the polling bound is an hour here, so only a wake
// can deliver it).
TEST(WorkQueueTest, AReadyKeyReachesTheGetterThatIsTimingDelayedKeys) {
  FakeClock clock;
  WorkQueueOptions options;
  options.maxPollWait = std::chrono::duration_cast<milliseconds>(hours(1));
  WorkQueue queue(clock, options);
  queue.addAfter("ns/later", hours(1), "timer");
  std::optional<WorkQueue::Item> got;
  std::thread getter([&] { got = queue.get(); });  // the only idle getter: it times "ns/later"
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == 1; }));
  queue.add("ns/now", "event");
  getter.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "ns/now");
}

TEST(WorkQueueTest, AnEarlierDelayedKeyWakesTheGetterTimingALaterOne) {
  WorkQueueOptions options;
  options.maxPollWait = std::chrono::duration_cast<milliseconds>(hours(1));
  WorkQueue queue(RealClock::instance(), options);
  queue.addAfter("ns/later", hours(1), "far");
  std::optional<WorkQueue::Item> got;
  std::thread getter([&] { got = queue.get(); });
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == 1; }));
  queue.addAfter("ns/soon", milliseconds(20), "near");
  getter.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "ns/soon");
}

TEST(WorkQueueTest, ManyIdleGettersShareDelayedAndReadyKeysWithNoneLeftBehind) {
  WorkQueueOptions options;
  options.maxPollWait = std::chrono::duration_cast<milliseconds>(hours(1));
  WorkQueue queue(RealClock::instance(), options);
  constexpr int kGetters = 8, kKeys = 200;
  std::atomic<int> handled{0};
  std::vector<std::thread> getters;
  for (int g = 0; g < kGetters; ++g) {
    getters.emplace_back([&] {
      while (auto item = queue.get()) {
        ++handled;
        queue.done(item->key);
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == kGetters; }));
  for (int i = 0; i < kKeys; ++i) {
    if (i % 3 == 0) {
      queue.addAfter("ns/d" + std::to_string(i), milliseconds(1 + i % 17), "delayed");
    } else {
      queue.add("ns/r" + std::to_string(i), "ready");
    }
  }
  EXPECT_TRUE(eventually([&] { return handled.load() == kKeys; }, seconds(10))) << handled.load();
  queue.shutDown();
  for (auto& g : getters) g.join();
}

struct BackoffCase {
  int failures;
  nanoseconds expected;
};

TEST(WorkQueueTest, BackoffDoublesFromFiveMillisecondsAndCapsAtThousandSeconds) {
  const std::vector<BackoffCase> cases = {
      {-1, milliseconds(5)},        {0, milliseconds(5)},        {1, milliseconds(10)},
      {2, milliseconds(20)},        {3, milliseconds(40)},       {10, milliseconds(5120)},
      {17, milliseconds(655360)},   {18, seconds(1000)},         {19, seconds(1000)},
      {64, seconds(1000)},          {100000, seconds(1000)},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(WorkQueue::backoffFor(c.failures, milliseconds(5), seconds(1000)), c.expected)
        << "failures=" << c.failures;
  }
}

TEST(WorkQueueTest, AddRateLimitedWaitsTheBackoffAndForgetResetsIt) {
  FakeClock clock;
  WorkQueue queue(clock);
  const std::vector<milliseconds> expectedDelays = {milliseconds(5), milliseconds(10),
                                                    milliseconds(20), milliseconds(40)};
  for (size_t attempt = 0; attempt < expectedDelays.size(); ++attempt) {
    EXPECT_EQ(queue.numRequeues("ns/a"), static_cast<int>(attempt));
    queue.addRateLimited("ns/a");
    clock.advance(expectedDelays[attempt] - milliseconds(1));
    queue.wakeUp();
    EXPECT_EQ(queue.len(), 0u) << "attempt " << attempt << " ready too early";
    clock.advance(milliseconds(1));
    queue.wakeUp();
    auto item = queue.tryGet();
    ASSERT_TRUE(item.has_value()) << "attempt " << attempt;
    EXPECT_EQ(item->reason, "retry after error");
    queue.done("ns/a");
  }
  EXPECT_EQ(queue.stats().retriesTotal, 4u);

  queue.forget("ns/a");
  EXPECT_EQ(queue.numRequeues("ns/a"), 0);
  queue.addRateLimited("ns/a", "try again");
  clock.advance(milliseconds(5));
  queue.wakeUp();
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value()) << "after forget() the backoff starts again at 5ms";
  EXPECT_EQ(item->reason, "try again");
}

TEST(WorkQueueTest, BackoffIsPerKey) {
  FakeClock clock;
  WorkQueue queue(clock);
  // ns/flaky fails three times (5ms, 10ms, 20ms), so its fourth retry waits 40ms.
  for (milliseconds delay : {milliseconds(5), milliseconds(10), milliseconds(20)}) {
    queue.addRateLimited("ns/flaky");
    clock.advance(delay);
    queue.wakeUp();
    ASSERT_TRUE(queue.tryGet().has_value());
    queue.done("ns/flaky");
  }
  queue.addRateLimited("ns/flaky");
  queue.addRateLimited("ns/fine");
  EXPECT_EQ(queue.numRequeues("ns/flaky"), 4);
  EXPECT_EQ(queue.numRequeues("ns/fine"), 1);
  clock.advance(milliseconds(5));
  queue.wakeUp();
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "ns/fine");
  EXPECT_FALSE(queue.tryGet().has_value());
  clock.advance(milliseconds(35));
  queue.wakeUp();
  item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "ns/flaky");
}

TEST(WorkQueueTest, RepeatedRateLimitedAddsKeepTheEarliestRetry) {
  FakeClock clock;
  WorkQueue queue(clock);
  for (int i = 0; i < 5; ++i) queue.addRateLimited("ns/a");  // 5ms, 10ms, ... merged to 5ms
  EXPECT_EQ(queue.numRequeues("ns/a"), 5);
  EXPECT_EQ(queue.stats().waiting, 1u);
  clock.advance(milliseconds(5));
  queue.wakeUp();
  EXPECT_TRUE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, BackoffUsesConfiguredLimits) {
  FakeClock clock;
  WorkQueueOptions options;
  options.baseRetryDelay = seconds(1);
  options.maxRetryDelay = seconds(3);
  WorkQueue queue(clock, options);
  for (int i = 0; i < 3; ++i) queue.addRateLimited("ns/a");  // 1s, 2s, 3s (capped): keeps 1s
  clock.advance(seconds(1));
  queue.wakeUp();
  ASSERT_TRUE(queue.tryGet().has_value());
  queue.done("ns/a");
  queue.addRateLimited("ns/a");  // fourth failure: capped at 3s
  clock.advance(milliseconds(2999));
  queue.wakeUp();
  EXPECT_EQ(queue.len(), 0u);
  clock.advance(milliseconds(1));
  queue.wakeUp();
  EXPECT_EQ(queue.len(), 1u);
}

TEST(WorkQueueTest, ShutDownWakesAllBlockedGetters) {
  FakeClock clock;
  WorkQueue queue(clock);
  constexpr int kGetters = 4;
  std::atomic<int> returnedEmpty{0};
  std::vector<std::thread> getters;
  for (int i = 0; i < kGetters; ++i) {
    getters.emplace_back([&] {
      if (!queue.get().has_value()) ++returnedEmpty;
    });
  }
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == kGetters; }));
  queue.shutDown();
  for (auto& getter : getters) getter.join();
  EXPECT_EQ(returnedEmpty.load(), kGetters);
  EXPECT_TRUE(queue.shuttingDown());
}

TEST(WorkQueueTest, ShutDownWakesGetterWaitingForDelayedKey) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", hours(1), "far away");
  std::optional<WorkQueue::Item> got = WorkQueue::Item{"sentinel", ""};
  std::thread getter([&] { got = queue.get(); });
  ASSERT_TRUE(eventually([&] { return queue.stats().blockedGetters == 1; }));
  queue.shutDown();
  getter.join();
  EXPECT_FALSE(got.has_value());
}

TEST(WorkQueueTest, AfterShutDownAddsAreIgnoredAndGetReturnsNothing) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/queued", "before");
  queue.shutDown();
  queue.add("ns/late", "after");
  queue.addAfter("ns/late", seconds(1), "after");
  queue.addRateLimited("ns/late");
  EXPECT_FALSE(queue.get().has_value());
  EXPECT_FALSE(queue.tryGet().has_value());
  const auto stats = queue.stats();
  EXPECT_EQ(stats.addsTotal, 1u);
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(queue.numRequeues("ns/late"), 0);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForInFlightKeys) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a", "r");
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  queue.add("ns/a", "while processing");

  std::atomic<bool> drainReturned{false};
  bool drained = false;
  std::thread drainer([&] {
    drained = queue.shutDownWithDrain(milliseconds(60000));
    drainReturned = true;
  });
  ASSERT_TRUE(eventually([&] { return queue.shuttingDown(); }));
  EXPECT_FALSE(drainReturned.load()) << "drain returned while a key was still being processed";
  queue.done("ns/a");
  drainer.join();
  EXPECT_TRUE(drained);
  EXPECT_EQ(queue.len(), 0u) << "a key added during processing is not re-queued after shutdown";
  EXPECT_FALSE(queue.tryGet().has_value());
}

TEST(WorkQueueTest, ShutDownWithDrainTimesOutWhenAKeyIsNeverDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/stuck", "r");
  ASSERT_TRUE(queue.tryGet().has_value());
  EXPECT_FALSE(queue.shutDownWithDrain(milliseconds(1)));
  queue.done("ns/stuck");
  EXPECT_TRUE(queue.shutDownWithDrain(milliseconds(1)));
}

TEST(WorkQueueTest, MetricsHooksReportDepthAddsLatencyAndWorkDuration) {
  FakeClock clock;
  std::vector<size_t> depths;
  int added = 0;
  int retried = 0;
  std::vector<double> latencies;
  std::vector<double> durations;
  WorkQueueOptions options;
  options.metrics.depth = [&](size_t depth) { depths.push_back(depth); };
  options.metrics.added = [&] { ++added; };
  options.metrics.retried = [&] { ++retried; };
  options.metrics.queueLatencySeconds = [&](double s) { latencies.push_back(s); };
  options.metrics.workDurationSeconds = [&](double s) { durations.push_back(s); };
  WorkQueue queue(clock, options);

  queue.add("ns/a", "r");
  queue.add("ns/b", "r");
  queue.add("ns/a", "merged");
  clock.advance(seconds(2));
  auto item = queue.tryGet();
  ASSERT_TRUE(item.has_value());
  clock.advance(seconds(3));
  queue.done(item->key);
  queue.addRateLimited("ns/a");

  EXPECT_EQ(added, 2);
  EXPECT_EQ(retried, 1);
  EXPECT_EQ(depths, (std::vector<size_t>{1, 2, 1}));
  ASSERT_EQ(latencies.size(), 1u);
  EXPECT_DOUBLE_EQ(latencies[0], 2.0);
  ASSERT_EQ(durations.size(), 1u);
  EXPECT_DOUBLE_EQ(durations[0], 3.0);
}

}  // namespace
}  // namespace dwcp::kube
