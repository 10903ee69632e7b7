#include "base/testing/eventually.h"
#include "kube/controller.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using dwcp::base::testing::eventually;

// Records every reconcile call and answers from a script (the last answer repeats).
class ReconcileRecorder {
 public:
  using Answer = std::function<ReconcileResult()>;
  explicit ReconcileRecorder(std::vector<Answer> script = {}) : script_(std::move(script)) {}

  Controller::ReconcileFn fn() {
    return [this](const std::string& key, const std::string& reason) {
      Answer answer;
      {
        std::lock_guard lock(mu_);
        calls_.push_back({key, reason});
        if (!script_.empty()) {
          answer = script_[std::min(next_, script_.size() - 1)];
          ++next_;
        }
      }
      return answer ? answer() : ReconcileResult::success();
    };
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }
  std::vector<WorkQueue::Item> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Answer> script_;
  size_t next_ = 0;
  std::vector<WorkQueue::Item> calls_;
};

ControllerOptions testOptions(int workers = 1) {
  ControllerOptions options;
  options.name = "test";
  options.workers = workers;
  options.cacheSyncPollInterval = milliseconds(1);
  return options;
}

TEST(ControllerTest, ReconcilesEnqueuedKeyWithItsReason) {
  FakeClock clock;
  ReconcileRecorder recorder;
  Controller controller(testOptions(), recorder.fn(), clock);
  controller.enqueue("ns/a", "object added");
  ASSERT_TRUE(controller.run().ok());
  EXPECT_TRUE(controller.started());
  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 1; }));
  controller.stop();
  ASSERT_EQ(recorder.count(), 1u);
  EXPECT_EQ(recorder.calls()[0].key, "ns/a");
  EXPECT_EQ(recorder.calls()[0].reason, "object added");
  EXPECT_FALSE(controller.started());
}

TEST(ControllerTest, WaitsForCachesToSyncBeforeFirstReconcile) {
  FakeClock clock;
  std::atomic<bool> synced{false};
  std::atomic<int> syncChecks{0};
  std::atomic<bool> reconciledBeforeSync{false};
  std::atomic<int> reconciles{0};
  ControllerOptions options = testOptions(2);
  options.hasSynced = {[] { return true; },
                       [&] {
                         ++syncChecks;
                         return synced.load();
                       }};
  Controller controller(
      options,
      [&](const std::string&, const std::string&) {
        if (!synced.load()) reconciledBeforeSync = true;
        ++reconciles;
        return ReconcileResult::success();
      },
      clock);
  controller.enqueue("ns/a", "added before sync");

  Status runStatus = okStatus();
  std::atomic<bool> runReturned{false};
  std::thread runner([&] {
    runStatus = controller.run();
    runReturned = true;
  });
  ASSERT_TRUE(eventually([&] { return syncChecks.load() >= 5; }));
  EXPECT_FALSE(runReturned.load()) << "run() returned before the caches synced";
  EXPECT_FALSE(controller.started());
  EXPECT_EQ(reconciles.load(), 0);

  synced = true;
  runner.join();
  EXPECT_TRUE(runStatus.ok());
  ASSERT_TRUE(eventually([&] { return reconciles.load() == 1; }));
  controller.stop();
  EXPECT_FALSE(reconciledBeforeSync.load());
}

TEST(ControllerTest, CacheSyncTimeoutIsMeasuredOnTheClock) {
  FakeClock clock;
  std::atomic<int> syncChecks{0};
  ControllerOptions options = testOptions();
  options.cacheSyncTimeout = seconds(30);
  options.hasSynced = {[&] {
    ++syncChecks;
    return false;
  }};
  ReconcileRecorder recorder;
  Controller controller(options, recorder.fn(), clock);
  controller.enqueue("ns/a", "r");

  Status runStatus = okStatus();
  std::thread runner([&] { runStatus = controller.run(); });
  ASSERT_TRUE(eventually([&] { return syncChecks.load() >= 3; }));
  clock.advance(seconds(30));
  runner.join();
  ASSERT_FALSE(runStatus.ok());
  EXPECT_EQ(runStatus.error().reason, "Timeout");
  EXPECT_FALSE(controller.started());
  EXPECT_EQ(recorder.count(), 0u);
}

TEST(ControllerTest, StopWhileWaitingForSyncMakesRunFail) {
  FakeClock clock;
  std::atomic<int> syncChecks{0};
  ControllerOptions options = testOptions();
  options.cacheSyncTimeout = milliseconds(0);  // wait forever
  options.hasSynced = {[&] {
    ++syncChecks;
    return false;
  }};
  ReconcileRecorder recorder;
  Controller controller(options, recorder.fn(), clock);
  Status runStatus = okStatus();
  std::thread runner([&] { runStatus = controller.run(); });
  ASSERT_TRUE(eventually([&] { return syncChecks.load() >= 1; }));
  controller.stop();
  runner.join();
  ASSERT_FALSE(runStatus.ok());
  EXPECT_EQ(runStatus.error().reason, "Stopped");
}

TEST(ControllerTest, RunTwiceFailsAndStopIsIdempotent) {
  FakeClock clock;
  ReconcileRecorder recorder;
  Controller controller(testOptions(), recorder.fn(), clock);
  ASSERT_TRUE(controller.run().ok());
  Status second = controller.run();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().reason, "AlreadyRunning");
  controller.stop();
  controller.stop();
}

TEST(ControllerTest, MissingReconcileFunctionIsAnError) {
  FakeClock clock;
  Controller controller(testOptions(), nullptr, clock);
  Status status = controller.run();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().reason, "InvalidArgument");
}

TEST(ControllerTest, ErrorIsRetriedWithBackoffAndSuccessResetsIt) {
  FakeClock clock;
  ReconcileRecorder recorder({[] { return ReconcileResult::failure("boom 1"); },
                              [] { return ReconcileResult::failure("boom 2"); },
                              [] { return ReconcileResult::success(); }});
  Controller controller(testOptions(), recorder.fn(), clock);
  controller.enqueue("ns/a", "added");
  ASSERT_TRUE(controller.run().ok());
  WorkQueue& queue = controller.queue();

  // First failure: waits 5ms on the clock.
  ASSERT_TRUE(eventually([&] {
    return queue.numRequeues("ns/a") == 1 && queue.stats().waiting == 1 &&
           queue.stats().processing == 0;
  }));
  clock.advance(milliseconds(4));
  queue.wakeUp();
  EXPECT_EQ(queue.stats().waiting, 1u) << "retried before the 5ms backoff passed";
  EXPECT_EQ(recorder.count(), 1u);
  clock.advance(milliseconds(1));
  queue.wakeUp();

  // Second failure: waits 10ms.
  ASSERT_TRUE(eventually([&] {
    return queue.numRequeues("ns/a") == 2 && queue.stats().waiting == 1 &&
           queue.stats().processing == 0;
  }));
  EXPECT_EQ(recorder.count(), 2u);
  clock.advance(milliseconds(9));
  queue.wakeUp();
  EXPECT_EQ(queue.stats().waiting, 1u) << "retried before the 10ms backoff passed";
  clock.advance(milliseconds(1));
  queue.wakeUp();

  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 1; }));
  ASSERT_TRUE(eventually([&] { return queue.stats().processing == 0; }));
  controller.stop();
  EXPECT_EQ(queue.numRequeues("ns/a"), 0) << "success must reset the backoff";
  EXPECT_EQ(controller.stats().errorTotal, 2u);
  EXPECT_EQ(controller.stats().exceptionsTotal, 0u);
  const auto calls = recorder.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].reason, "retry after error: boom 1");
  EXPECT_EQ(calls[2].reason, "retry after error: boom 2");
}

TEST(ControllerTest, RequeueAfterIsHonoured) {
  FakeClock clock;
  ReconcileRecorder recorder({[] { return ReconcileResult::requeue(seconds(30)); },
                              [] { return ReconcileResult::success(); }});
  Controller controller(testOptions(), recorder.fn(), clock);
  controller.enqueue("ns/a", "added");
  ASSERT_TRUE(controller.run().ok());
  WorkQueue& queue = controller.queue();

  ASSERT_TRUE(eventually([&] {
    return controller.stats().requeueTotal == 1 && queue.stats().waiting == 1 &&
           queue.stats().processing == 0;
  }));
  clock.advance(milliseconds(29999));
  queue.wakeUp();
  EXPECT_EQ(queue.stats().waiting, 1u) << "requeued before requeueAfter passed";
  EXPECT_EQ(recorder.count(), 1u);
  clock.advance(milliseconds(1));
  queue.wakeUp();
  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 1; }));
  controller.stop();
  ASSERT_EQ(recorder.count(), 2u);
  EXPECT_EQ(recorder.calls()[1].reason, "requeue after 30000ms");
  EXPECT_EQ(controller.stats().errorTotal, 0u);
  EXPECT_EQ(queue.numRequeues("ns/a"), 0) << "a requeue is not a failure";
}

TEST(ControllerTest, ExceptionsAreCaughtCountedAndRetried) {
  FakeClock clock;
  ReconcileRecorder recorder({[]() -> ReconcileResult { throw std::runtime_error("bad object"); },
                              []() -> ReconcileResult { throw 42; },
                              [] { return ReconcileResult::success(); }});
  Controller controller(testOptions(), recorder.fn(), clock);
  controller.enqueue("ns/bad", "added");
  ASSERT_TRUE(controller.run().ok());
  WorkQueue& queue = controller.queue();

  ASSERT_TRUE(eventually([&] {
    return controller.stats().exceptionsTotal == 1 && queue.stats().waiting == 1;
  }));
  clock.advance(milliseconds(5));
  queue.wakeUp();
  ASSERT_TRUE(eventually([&] {
    return controller.stats().exceptionsTotal == 2 && queue.stats().waiting == 1;
  }));
  clock.advance(milliseconds(10));
  queue.wakeUp();
  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 1; }));
  controller.stop();

  const auto stats = controller.stats();
  EXPECT_EQ(stats.errorTotal, 2u);
  EXPECT_EQ(stats.exceptionsTotal, 2u);
  const auto calls = recorder.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].reason, "retry after error: reconcile threw: bad object");
}

TEST(ControllerTest, MetricsHookSeesEveryOutcome) {
  FakeClock clock;
  std::mutex mu;
  std::map<std::string, int> outcomes;
  ControllerOptions options = testOptions();
  options.metrics.reconciled = [&](std::string_view result, double durationSeconds) {
    std::lock_guard lock(mu);
    ++outcomes[std::string(result)];
    EXPECT_GE(durationSeconds, 0.0);
  };
  Controller controller(
      options,
      [](const std::string& key, const std::string&) {
        if (key == "ns/fail") return ReconcileResult::failure("no");
        if (key == "ns/later") return ReconcileResult::requeue(seconds(60));
        return ReconcileResult::success();
      },
      clock);
  controller.enqueue("ns/ok", "r");
  controller.enqueue("ns/fail", "r");
  controller.enqueue("ns/later", "r");
  ASSERT_TRUE(controller.run().ok());
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return outcomes.size() == 3;
  }));
  controller.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(outcomes["success"], 1);
  EXPECT_EQ(outcomes["error"], 1);
  EXPECT_EQ(outcomes["requeue"], 1);
}

TEST(ControllerTest, WorkersRunDifferentKeysInParallel) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  bool bothInside = false;
  Controller controller(
      testOptions(2),
      [&](const std::string&, const std::string&) {
        std::unique_lock lock(mu);
        ++inside;
        if (inside == 2) bothInside = true;
        cv.notify_all();
        cv.wait_for(lock, seconds(20), [&] { return bothInside; });
        return ReconcileResult::success();
      },
      clock);
  controller.enqueue("ns/a", "r");
  controller.enqueue("ns/b", "r");
  ASSERT_TRUE(controller.run().ok());
  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 2; }, seconds(30)));
  controller.stop();
  std::lock_guard lock(mu);
  EXPECT_TRUE(bothInside) << "two workers never reconciled at the same time";
}

TEST(ControllerTest, StopFinishesInFlightReconcileAndTakesNoNewWork) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<bool> finished{false};
  std::atomic<int> calls{0};
  Controller controller(
      testOptions(),
      [&](const std::string&, const std::string&) {
        ++calls;
        std::unique_lock lock(mu);
        entered = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        finished = true;
        return ReconcileResult::success();
      },
      clock);
  controller.enqueue("ns/slow", "r");
  ASSERT_TRUE(controller.run().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(20), [&] { return entered; }));
  }
  controller.enqueue("ns/next", "queued behind the slow one");

  std::thread stopper([&] { controller.stop(); });
  ASSERT_TRUE(eventually([&] { return controller.queue().shuttingDown(); }));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  EXPECT_TRUE(finished.load()) << "stop() returned before the in-flight reconcile finished";
  EXPECT_EQ(calls.load(), 1) << "a key was reconciled after stop()";
}

TEST(ReconcileResultTest, KindsAreDistinct) {
  EXPECT_TRUE(ReconcileResult::success().isSuccess());
  const auto failed = ReconcileResult::failure("x");
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(failed.isSuccess());
  EXPECT_FALSE(failed.conflicted());
  const auto later = ReconcileResult::requeue(seconds(1));
  EXPECT_TRUE(later.ok());
  EXPECT_FALSE(later.isSuccess());
  const auto conflict = ReconcileResult::conflict("status write");
  EXPECT_TRUE(conflict.ok());  // not an error
  EXPECT_TRUE(conflict.conflicted());
  EXPECT_FALSE(conflict.isSuccess());
  EXPECT_FALSE(conflict.requeueAfter.has_value());
}

// A 409 Conflict is requeued promptly (5 ms) but through the key's backoff, so a key that
// conflicts forever backs off (5, 10, 20 ms ...) instead of retrying at a fixed rate; it is not
// counted as an error, and a later success resets the backoff.
TEST(ControllerTest, ConflictRequeuesThroughThePerKeyBackoff) {
  FakeClock clock;
  ReconcileRecorder recorder({[] { return ReconcileResult::conflict("status write: 409"); },
                              [] { return ReconcileResult::conflict("status write: 409"); },
                              [] { return ReconcileResult::conflict("status write: 409"); },
                              [] { return ReconcileResult::success(); }});
  std::mutex mu;
  std::map<std::string, int> outcomes;
  ControllerOptions options = testOptions();
  options.metrics.reconciled = [&](std::string_view result, double) {
    std::lock_guard lock(mu);
    ++outcomes[std::string(result)];
  };
  Controller controller(options, recorder.fn(), clock);
  controller.enqueue("ns/a", "added");
  ASSERT_TRUE(controller.run().ok());
  WorkQueue& queue = controller.queue();

  for (int conflicts = 1; conflicts <= 3; ++conflicts) {
    const auto backoff = milliseconds(5 << (conflicts - 1));
    ASSERT_TRUE(eventually([&] {
      return queue.numRequeues("ns/a") == conflicts && queue.stats().waiting == 1 &&
             queue.stats().processing == 0;
    })) << "conflict " << conflicts;
    clock.advance(backoff - milliseconds(1));
    queue.wakeUp();
    EXPECT_EQ(queue.stats().waiting, 1u) << "retried before the " << backoff.count() << "ms backoff";
    EXPECT_EQ(recorder.count(), static_cast<size_t>(conflicts));
    clock.advance(milliseconds(1));
    queue.wakeUp();
  }
  ASSERT_TRUE(eventually([&] { return controller.stats().successTotal == 1; }));
  ASSERT_TRUE(eventually([&] { return queue.stats().processing == 0; }));
  controller.stop();
  EXPECT_EQ(queue.numRequeues("ns/a"), 0) << "success must reset the backoff";
  EXPECT_EQ(controller.stats().errorTotal, 0u) << "a conflict is not an error";
  EXPECT_EQ(controller.stats().conflictTotal, 3u);
  EXPECT_EQ(recorder.calls()[1].reason, "retry after conflict: status write: 409");
  std::lock_guard lock(mu);
  EXPECT_EQ(outcomes["conflict"], 3);
  EXPECT_EQ(outcomes["error"], 0);
}

// stop() from inside reconcile only asks: the worker is not detached, and the destructor joins
// it, so nothing runs on a destroyed Controller.
TEST(ControllerTest, StopFromInsideReconcileLeavesTheWorkerToBeJoined) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool stopCalled = false;
  bool release = false;
  std::atomic<bool> reconcileReturned{false};
  std::unique_ptr<Controller> controller;
  controller = std::make_unique<Controller>(
      testOptions(),
      [&](const std::string&, const std::string&) {
        controller->stop();  // must return without joining this thread
        std::unique_lock lock(mu);
        stopCalled = true;
        cv.notify_all();
        cv.wait_for(lock, seconds(20), [&] { return release; });
        reconcileReturned = true;
        return ReconcileResult::success();
      },
      clock);
  controller->enqueue("ns/a", "r");
  ASSERT_TRUE(controller->run().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(20), [&] { return stopCalled; }));
  }
  EXPECT_TRUE(controller->queue().shuttingDown());
  // Destroying the controller must wait for the worker still inside reconcile.
  auto destroyed = std::async(std::launch::async, [&] {
    controller.reset();
    return reconcileReturned.load();
  });
  const bool returnedEarly =
      destroyed.wait_for(milliseconds(200)) == std::future_status::ready;
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_FALSE(returnedEarly) << "the destructor did not wait for the worker";
  EXPECT_TRUE(destroyed.get()) << "the controller was destroyed while its worker ran";
}

// stop() from another thread joins the workers; a reconcile that calls stop() meanwhile must not
// deadlock with it.
TEST(ControllerTest, StopFromReconcileWhileAnotherThreadStopsDoesNotDeadlock) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  Controller* self = nullptr;
  Controller controller(
      testOptions(),
      [&](const std::string&, const std::string&) {
        std::unique_lock lock(mu);
        entered = true;
        cv.notify_all();
        cv.wait_for(lock, seconds(20), [&] { return release; });
        lock.unlock();
        self->stop();
        return ReconcileResult::success();
      },
      clock);
  self = &controller;
  controller.enqueue("ns/a", "r");
  ASSERT_TRUE(controller.run().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(20), [&] { return entered; }));
  }
  std::promise<void> stopped;
  auto stoppedFuture = stopped.get_future();
  std::thread stopper([&] {
    controller.stop();
    stopped.set_value();
  });
  ASSERT_TRUE(eventually([&] { return controller.queue().shuttingDown(); }));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  if (stoppedFuture.wait_for(seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "stop() deadlocked with a stop() from inside reconcile";
    std::fflush(nullptr);
    std::_Exit(1);  // the threads cannot be joined; do not hang the test binary
  }
  stopper.join();
  EXPECT_FALSE(controller.started());
}

}  // namespace
}  // namespace dwcp::kube
