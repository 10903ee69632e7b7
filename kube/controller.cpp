// Controller: run() polls the hasSynced predicates (napping on a condition variable that stop()
// signals), then spawns the workers. Each worker loops get() -> reconcile -> requeue decision ->
// done(); stop() shuts the queue down so get() returns nullopt, then joins.
#include "kube/controller.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace dwcp::kube {
namespace {

// The Controller whose worker runs on this thread, so stop() from inside reconcile knows not to
// join (itself, or a thread that is joining it).
thread_local const Controller* currentWorkerOf = nullptr;

WorkQueueOptions queueOptionsFor(const ControllerOptions& options) {
  WorkQueueOptions queueOptions = options.queue;
  if (queueOptions.name == WorkQueueOptions{}.name) queueOptions.name = options.name;
  return queueOptions;
}

}  // namespace

Controller::Controller(ControllerOptions options, ReconcileFn reconcile, Clock& clock)
    : options_(std::move(options)),
      reconcile_(std::move(reconcile)),
      clock_(clock),
      queue_(clock, queueOptionsFor(options_)) {
  if (options_.workers < 1) options_.workers = 1;
}

Controller::~Controller() { stop(); }

bool Controller::allSynced() const {
  for (const auto& synced : options_.hasSynced) {
    if (synced && !synced()) return false;
  }
  return true;
}

Status Controller::run() {
  {
    std::lock_guard lock(mu_);
    if (runCalled_) {
      return Error{0, "AlreadyRunning", "controller " + options_.name + ": run() called twice"};
    }
    runCalled_ = true;
  }
  if (!reconcile_) {
    return Error{0, "InvalidArgument", "controller " + options_.name + ": no reconcile function"};
  }

  spdlog::info("controller {}: waiting for caches to sync", options_.name);
  const auto syncStart = clock_.steadyNow();
  while (!allSynced()) {
    std::unique_lock lock(mu_);
    if (stopCv_.wait_for(lock, options_.cacheSyncPollInterval, [this] { return stopRequested_; })) {
      return Error{0, "Stopped", "controller " + options_.name + ": stopped before caches synced"};
    }
    if (options_.cacheSyncTimeout.count() > 0 &&
        clock_.steadyNow() - syncStart >= options_.cacheSyncTimeout) {
      spdlog::error("controller {}: caches did not sync within {} ms", options_.name,
                    options_.cacheSyncTimeout.count());
      return Error{0, "Timeout",
                   "controller " + options_.name + ": timed out waiting for caches to sync"};
    }
  }

  std::lock_guard lock(mu_);
  if (stopRequested_) {
    return Error{0, "Stopped", "controller " + options_.name + ": stopped before caches synced"};
  }
  workers_.reserve(static_cast<size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this, i] { workerLoop(i); });
  }
  started_ = true;
  spdlog::info("controller {}: caches synced, started {} workers", options_.name,
               options_.workers);
  return okStatus();
}

void Controller::requestStop() {
  {
    std::lock_guard lock(mu_);
    stopRequested_ = true;
  }
  stopCv_.notify_all();
  queue_.shutDown();
  started_ = false;
}

void Controller::stop() {
  if (currentWorkerOf == this) {
    spdlog::info("controller {}: stop requested from inside reconcile", options_.name);
    requestStop();
    return;
  }
  std::lock_guard stopLock(stopMu_);
  requestStop();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
  if (!workers.empty()) spdlog::info("controller {}: stopped", options_.name);
}

void Controller::workerLoop(int workerIndex) {
  spdlog::debug("controller {}: worker {} started", options_.name, workerIndex);
  currentWorkerOf = this;
  while (auto item = queue_.get()) {
    processOne(*item);
    queue_.done(item->key);
  }
  spdlog::debug("controller {}: worker {} exiting", options_.name, workerIndex);
}

void Controller::processOne(const WorkQueue::Item& item) {
  spdlog::debug("controller {}: reconciling {} (reason: {})", options_.name, item.key, item.reason);
  const auto start = clock_.steadyNow();
  ReconcileResult result;
  try {
    result = reconcile_(item.key, item.reason);
  } catch (const std::exception& e) {
    ++exceptionsTotal_;
    result = ReconcileResult::failure(std::string("reconcile threw: ") + e.what());
    spdlog::error("controller {}: reconcile of {} threw: {}", options_.name, item.key, e.what());
  } catch (...) {
    ++exceptionsTotal_;
    result = ReconcileResult::failure("reconcile threw a non-standard exception");
    spdlog::error("controller {}: reconcile of {} threw a non-standard exception", options_.name,
                  item.key);
  }
  const double durationSeconds = std::chrono::duration<double>(clock_.steadyNow() - start).count();

  std::string_view outcome;
  if (!result.ok()) {
    outcome = kReconcileError;
    ++errorTotal_;
    const int retries = queue_.numRequeues(item.key);
    spdlog::warn("controller {}: reconcile of {} failed (retry {}): {}", options_.name, item.key,
                 retries + 1, *result.error);
    queue_.addRateLimited(item.key, "retry after error: " + *result.error);
  } else if (result.conflictReason) {
    outcome = kReconcileConflict;
    ++conflictTotal_;
    spdlog::debug("controller {}: reconcile of {} conflicted (retry {}): {}", options_.name,
                  item.key, queue_.numRequeues(item.key) + 1, *result.conflictReason);
    queue_.addRateLimited(item.key, "retry after conflict: " + *result.conflictReason);
  } else {
    queue_.forget(item.key);
    if (result.requeueAfter) {
      outcome = kReconcileRequeue;
      ++requeueTotal_;
      queue_.addAfter(item.key, *result.requeueAfter,
                      "requeue after " + std::to_string(result.requeueAfter->count()) + "ms");
    } else {
      outcome = kReconcileSuccess;
      ++successTotal_;
    }
  }
  if (options_.metrics.reconciled) options_.metrics.reconciled(outcome, durationSeconds);
}

ControllerStats Controller::stats() const {
  ControllerStats s;
  s.successTotal = successTotal_.load();
  s.errorTotal = errorTotal_.load();
  s.requeueTotal = requeueTotal_.load();
  s.conflictTotal = conflictTotal_.load();
  s.exceptionsTotal = exceptionsTotal_.load();
  return s;
}

}  // namespace dwcp::kube
