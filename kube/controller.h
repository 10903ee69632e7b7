// The controller runner: waits for its caches to sync, then runs N worker threads that take keys
// from its WorkQueue and call reconcile(key, reason), one key at a time per key. A failure is
// retried with per-key backoff, a success resets it, a requested delay re-queues the key, and an
// exception from reconcile is caught and counted as a failure. Thread-safe; owns its queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kube/clock.h"
#include "kube/result.h"
#include "kube/workqueue.h"

namespace dwcp::kube {

// What a reconcile asks of the runner: nothing (done), a retry with backoff (error), another
// reconcile after a delay, or a prompt retry after a lost write race (conflict, a 409): it goes
// through the key's backoff too, so a key that conflicts forever backs off, but is no error.
// An error's or conflict's requeueAfter is ignored: they always use the backoff.
struct ReconcileResult {
  std::optional<std::string> error;
  std::optional<std::chrono::milliseconds> requeueAfter;
  std::optional<std::string> conflictReason;  // what conflicted, for logs and the queue reason

  static ReconcileResult success() { return {}; }
  static ReconcileResult failure(std::string message) {
    return {std::move(message), std::nullopt, std::nullopt};
  }
  static ReconcileResult requeue(std::chrono::milliseconds after) {
    return {std::nullopt, after, std::nullopt};
  }
  static ReconcileResult conflict(std::string what) {
    return {std::nullopt, std::nullopt, std::move(what)};
  }
  bool ok() const { return !error.has_value(); }
  bool conflicted() const { return ok() && conflictReason.has_value(); }
  // Plain success: no error, no requeue, no conflict (a step whose caller may go on).
  bool isSuccess() const { return ok() && !requeueAfter && !conflictReason; }
};

// Outcome labels, as passed to ControllerMetrics::reconciled.
inline constexpr std::string_view kReconcileSuccess = "success";
inline constexpr std::string_view kReconcileError = "error";
inline constexpr std::string_view kReconcileRequeue = "requeue";
inline constexpr std::string_view kReconcileConflict = "conflict";

struct ControllerMetrics {
  // Called after every reconcile, from worker threads, with the outcome label and duration
  // (measured on the controller's clock). Feed a counter and a histogram with it.
  std::function<void(std::string_view result, double durationSeconds)> reconciled;
};

struct ControllerStats {
  uint64_t successTotal = 0;
  uint64_t errorTotal = 0;      // includes exceptions
  uint64_t requeueTotal = 0;    // successes that asked for a delayed requeue
  uint64_t conflictTotal = 0;   // conflicts, retried through the backoff
  uint64_t exceptionsTotal = 0;
};

struct ControllerOptions {
  std::string name = "controller";
  int workers = 1;
  // All must return true before the first reconcile (typically the informers' hasSynced).
  std::vector<std::function<bool()>> hasSynced;
  std::chrono::milliseconds cacheSyncPollInterval = std::chrono::milliseconds(100);
  // Measured on the controller's clock; zero waits forever.
  std::chrono::milliseconds cacheSyncTimeout = std::chrono::minutes(2);
  WorkQueueOptions queue;  // its name defaults to the controller's
  ControllerMetrics metrics;
};

class Controller {
 public:
  using ReconcileFn =
      std::function<ReconcileResult(const std::string& key, const std::string& reason)>;

  Controller(ControllerOptions options, ReconcileFn reconcile,
             Clock& clock = RealClock::instance());
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;
  ~Controller();  // stop()

  // Blocks until every hasSynced predicate is true, then starts the workers and returns.
  // Fails when called twice, when stop() is called first, or when cacheSyncTimeout passes.
  Status run();
  // Stops handing out keys, lets in-flight reconciles finish and joins the workers. Idempotent.
  // From inside reconcile it only asks and returns at once (workers end after their current
  // reconcile); a later stop() from another thread, or the destructor, joins them. Never destroy
  // the Controller from inside reconcile.
  void stop();

  // Keys may be added before run(); they wait for the workers.
  void enqueue(const std::string& key, const std::string& reason) { queue_.add(key, reason); }
  WorkQueue& queue() { return queue_; }

  const std::string& name() const { return options_.name; }
  bool started() const { return started_.load(); }  // caches synced and workers running
  ControllerStats stats() const;

 private:
  bool allSynced() const;
  void workerLoop(int workerIndex);
  void processOne(const WorkQueue::Item& item);
  void requestStop();

  ControllerOptions options_;
  ReconcileFn reconcile_;
  Clock& clock_;
  WorkQueue queue_;

  std::mutex mu_;  // guards the lifecycle below
  std::condition_variable stopCv_;
  bool runCalled_ = false;
  bool stopRequested_ = false;
  std::vector<std::thread> workers_;
  std::mutex stopMu_;  // serializes stop() so every caller returns after the join
  std::atomic<bool> started_{false};

  std::atomic<uint64_t> successTotal_{0};
  std::atomic<uint64_t> errorTotal_{0};
  std::atomic<uint64_t> requeueTotal_{0};
  std::atomic<uint64_t> conflictTotal_{0};
  std::atomic<uint64_t> exceptionsTotal_{0};
};

}  // namespace dwcp::kube
