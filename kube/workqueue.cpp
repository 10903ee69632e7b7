// WorkQueue: one mutex guards everything. Ready keys sit in queue_ (and dirty_); a key that is
// added while in processing_ only goes into dirty_, and done() moves it to queue_. Delayed keys
// wait in an ordered set and are promoted by whoever holds the lock next (get(), wakeUp(), adds).
#include "kube/workqueue.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

namespace dwcp::kube {
namespace {

double secondsBetween(Clock::SteadyTime from, Clock::SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

WorkQueue::WorkQueue(Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(std::move(options)) {}

WorkQueue::~WorkQueue() { shutDown(); }

std::chrono::nanoseconds WorkQueue::backoffFor(int failures, std::chrono::nanoseconds base,
                                               std::chrono::nanoseconds max) {
  if (failures < 0) failures = 0;
  if (base <= std::chrono::nanoseconds::zero()) return std::chrono::nanoseconds::zero();
  // Doubling in floating point cannot overflow; 2^failures saturates to inf, then to max.
  const double delayNanos = static_cast<double>(base.count()) * std::pow(2.0, failures);
  if (delayNanos >= static_cast<double>(max.count())) return max;
  return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(delayNanos));
}

void WorkQueue::reportDepthLocked() const {
  if (options_.metrics.depth) options_.metrics.depth(queue_.size());
}

void WorkQueue::addLocked(const std::string& key, const std::string& reason,
                          Clock::SteadyTime now) {
  // Now is the earliest time there is: a pending delayed add of this key is superseded.
  if (auto delayed = delayedByKey_.find(key); delayed != delayedByKey_.end()) {
    delayedByTime_.erase({delayed->second.readyAt, key});
    delayedByKey_.erase(delayed);
  }
  if (dirty_.contains(key)) {
    ++mergedAddsTotal_;
    return;
  }
  dirty_.emplace(key, Pending{reason, now});
  ++addsTotal_;
  if (options_.metrics.added) options_.metrics.added();
  if (processing_.contains(key)) return;  // done() queues it
  queue_.push_back(key);
  reportDepthLocked();
  wakeOneLocked();
}

void WorkQueue::wakeOneLocked() {
  if (readyWaiters_ > 0) {
    readyCv_.notify_one();
  } else if (timerWaiting_) {
    timerCv_.notify_one();
  }
}

void WorkQueue::promoteReadyLocked(Clock::SteadyTime now) {
  while (!delayedByTime_.empty() && delayedByTime_.begin()->first <= now) {
    auto node = delayedByTime_.extract(delayedByTime_.begin());
    const std::string& key = node.value().second;
    auto it = delayedByKey_.find(key);
    std::string reason = std::move(it->second.reason);
    delayedByKey_.erase(it);
    addLocked(key, reason, now);
  }
}

void WorkQueue::add(const std::string& key, const std::string& reason) {
  if (key.empty()) {
    spdlog::warn("workqueue {}: ignoring add of an empty key (reason: {})", options_.name, reason);
    return;
  }
  std::lock_guard lock(mu_);
  if (shuttingDown_) return;
  const auto now = clock_.steadyNow();
  promoteReadyLocked(now);
  addLocked(key, reason, now);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay,
                         const std::string& reason) {
  if (delay <= std::chrono::nanoseconds::zero()) {
    add(key, reason);
    return;
  }
  if (key.empty()) {
    spdlog::warn("workqueue {}: ignoring delayed add of an empty key (reason: {})", options_.name,
                 reason);
    return;
  }
  std::lock_guard lock(mu_);
  if (shuttingDown_) return;
  const auto now = clock_.steadyNow();
  promoteReadyLocked(now);
  if (dirty_.contains(key)) {  // already due now (or right after its processing ends)
    ++mergedAddsTotal_;
    return;
  }
  // Bound absurd delays so the time point cannot overflow.
  delay = std::min<std::chrono::nanoseconds>(delay, std::chrono::hours(24 * 365 * 10));
  const auto readyAt = now + std::chrono::duration_cast<Clock::SteadyTime::duration>(delay);
  const bool earliest = delayedByTime_.empty() || readyAt < delayedByTime_.begin()->first;
  auto it = delayedByKey_.find(key);
  if (it != delayedByKey_.end()) {
    if (it->second.readyAt <= readyAt) return;  // the earlier request wins
    delayedByTime_.erase({it->second.readyAt, key});
    it->second = Delayed{readyAt, reason};
  } else {
    delayedByKey_.emplace(key, Delayed{readyAt, reason});
  }
  delayedByTime_.emplace(readyAt, key);
  if (!timerWaiting_) {
    if (readyWaiters_ > 0) readyCv_.notify_one();  // it takes the timer role
  } else if (earliest) {
    timerCv_.notify_one();  // it naps until a later time: let it recompute
  }
}

void WorkQueue::addRateLimited(const std::string& key, const std::string& reason) {
  std::chrono::nanoseconds delay;
  {
    std::lock_guard lock(mu_);
    if (shuttingDown_) return;
    int& failures = failures_[key];
    delay = backoffFor(failures, options_.baseRetryDelay, options_.maxRetryDelay);
    ++failures;
    ++retriesTotal_;
    if (options_.metrics.retried) options_.metrics.retried();
  }
  addAfter(key, delay, reason);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<WorkQueue::Item> WorkQueue::popLocked(Clock::SteadyTime now) {
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  reportDepthLocked();
  auto it = dirty_.find(key);
  Item item{key, std::move(it->second.reason)};
  if (options_.metrics.queueLatencySeconds) {
    options_.metrics.queueLatencySeconds(secondsBetween(it->second.queuedAt, now));
  }
  dirty_.erase(it);
  processing_.emplace(std::move(key), now);
  return item;
}

std::optional<WorkQueue::Item> WorkQueue::get() {
  std::unique_lock lock(mu_);
  ++blockedGetters_;
  while (true) {
    const auto now = clock_.steadyNow();
    promoteReadyLocked(now);
    if (shuttingDown_) break;
    if (!queue_.empty()) {
      --blockedGetters_;
      auto item = popLocked(now);
      // More ready keys, or delayed keys with nobody timing them: another idle getter's turn.
      if (!queue_.empty() || (!delayedByTime_.empty() && !timerWaiting_)) wakeOneLocked();
      return item;
    }
    if (!delayedByTime_.empty() && !timerWaiting_) {
      // Nap until the next delayed key is due, bounded so a non-real clock is re-read.
      auto untilReady = std::chrono::duration_cast<std::chrono::nanoseconds>(
          delayedByTime_.begin()->first - now);
      auto nap = std::clamp<std::chrono::nanoseconds>(untilReady, std::chrono::milliseconds(1),
                                                      options_.maxPollWait);
      timerWaiting_ = true;
      timerCv_.wait_for(lock, nap);
      timerWaiting_ = false;
    } else {
      ++readyWaiters_;
      readyCv_.wait(lock);
      --readyWaiters_;
    }
  }
  --blockedGetters_;
  return std::nullopt;
}

std::optional<WorkQueue::Item> WorkQueue::tryGet() {
  std::lock_guard lock(mu_);
  const auto now = clock_.steadyNow();
  promoteReadyLocked(now);
  if (shuttingDown_ || queue_.empty()) return std::nullopt;
  return popLocked(now);
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = processing_.find(key);
  if (it == processing_.end()) {
    spdlog::debug("workqueue {}: done() for a key that is not being processed", options_.name);
    return;
  }
  const auto now = clock_.steadyNow();
  if (options_.metrics.workDurationSeconds) {
    options_.metrics.workDurationSeconds(secondsBetween(it->second, now));
  }
  processing_.erase(it);
  if (shuttingDown_) {
    if (processing_.empty()) idleCv_.notify_all();
    return;
  }
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    reportDepthLocked();
    wakeOneLocked();
  }
}

void WorkQueue::wakeUp() {
  std::lock_guard lock(mu_);
  promoteReadyLocked(clock_.steadyNow());
  readyCv_.notify_all();
  timerCv_.notify_all();
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  shuttingDown_ = true;
  readyCv_.notify_all();
  timerCv_.notify_all();
  if (processing_.empty()) idleCv_.notify_all();
}

bool WorkQueue::shutDownWithDrain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  shuttingDown_ = true;
  readyCv_.notify_all();
  timerCv_.notify_all();
  return idleCv_.wait_for(lock, timeout, [this] { return processing_.empty(); });
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shuttingDown_;
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

WorkQueueStats WorkQueue::stats() const {
  std::lock_guard lock(mu_);
  WorkQueueStats s;
  s.depth = queue_.size();
  s.processing = processing_.size();
  s.waiting = delayedByKey_.size();
  s.blockedGetters = blockedGetters_;
  s.addsTotal = addsTotal_;
  s.mergedAddsTotal = mergedAddsTotal_;
  s.retriesTotal = retriesTotal_;
  s.shuttingDown = shuttingDown_;
  return s;
}

}  // namespace dwcp::kube
