// A rate-limited, delaying work queue of object keys ("namespace/name"), as in client-go: a FIFO,
// a dirty set and a processing set. A key is queued once however many times it is added, is never
// handed to two workers at once, and a key added while being processed is queued again by done().
// Every key carries the reason it was queued. Thread-safe; time comes from the injected Clock.
// Destroy it only after every thread using it has returned (e.g. shutDown(), then join workers).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "kube/clock.h"

namespace dwcp::kube {

// Hooks for metrics (e.g. prometheus in operator/). Each is optional. They are called with the
// queue's lock held, possibly from several threads: keep them cheap and never call the queue.
struct WorkQueueMetrics {
  std::function<void(size_t depth)> depth;                // keys ready to be handed out
  std::function<void()> added;                            // a key became queued (not a merged add)
  std::function<void()> retried;                          // addRateLimited was called
  std::function<void(double seconds)> queueLatencySeconds;  // from add (or ready time) to get()
  std::function<void(double seconds)> workDurationSeconds;  // from get() to done()
};

struct WorkQueueOptions {
  std::string name = "workqueue";  // for logs
  std::chrono::nanoseconds baseRetryDelay = std::chrono::milliseconds(5);
  std::chrono::nanoseconds maxRetryDelay = std::chrono::seconds(1000);
  // Longest real-time nap of a blocked get() while delayed keys exist: it bounds how late a
  // delayed key is seen when the clock is not the real one (tests may call wakeUp() instead).
  std::chrono::milliseconds maxPollWait = std::chrono::milliseconds(500);
  WorkQueueMetrics metrics;
};

// A point-in-time copy of the queue's counters.
struct WorkQueueStats {
  size_t depth = 0;           // ready keys (same as len())
  size_t processing = 0;      // keys handed out and not yet done()
  size_t waiting = 0;         // delayed keys not yet ready
  size_t blockedGetters = 0;  // threads blocked in get()
  uint64_t addsTotal = 0;     // adds that queued a key
  uint64_t mergedAddsTotal = 0;  // adds (delayed ones too) merged into a key already queued
  uint64_t retriesTotal = 0;  // addRateLimited calls
  bool shuttingDown = false;
};

class WorkQueue {
 public:
  struct Item {
    std::string key;
    std::string reason;  // why the key was queued (the first reason when adds were merged)
  };

  explicit WorkQueue(Clock& clock = RealClock::instance(), WorkQueueOptions options = {});
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();

  // Queues `key` unless it is already queued (then the first reason is kept). A key being
  // processed is queued again when done(key) is called. Ignored after shutdown or for "".
  // A key has at most one pending schedule, at the earliest requested time: add() supersedes a
  // pending delayed add of the key.
  void add(const std::string& key, const std::string& reason);
  // Queues `key` once `delay` has passed on the clock. Several delayed adds of one key keep the
  // earliest time (and that request's reason); a key already queued (due now) ignores it.
  // A delay <= 0 is add().
  void addAfter(const std::string& key, std::chrono::nanoseconds delay, const std::string& reason);
  // addAfter with the key's backoff: baseRetryDelay doubling per failure up to maxRetryDelay.
  void addRateLimited(const std::string& key, const std::string& reason = "retry after error");
  // Resets the key's backoff (call on success).
  void forget(const std::string& key);
  // Number of addRateLimited calls since the key's last forget().
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue shuts down (then nullopt, even if keys remain).
  // The caller owns the key until it calls done(key).
  std::optional<Item> get();
  // As get() but never blocks: nullopt when no key is ready.
  std::optional<Item> tryGet();
  // Ends processing of a key from get(); re-queues it if it was added meanwhile.
  void done(const std::string& key);

  // Moves delayed keys whose time has come into the queue and wakes blocked getters. get()
  // does this by itself; tests call it after FakeClock::advance() to avoid waiting.
  void wakeUp();

  // Stops handing out keys and ignores further adds; wakes every blocked get().
  void shutDown();
  // shutDown(), then waits (real time, at most `timeout`) until every handed-out key is done().
  // Returns false when the timeout passed first.
  bool shutDownWithDrain(std::chrono::milliseconds timeout);
  bool shuttingDown() const;

  size_t len() const;  // ready keys
  WorkQueueStats stats() const;

  // The backoff after `failures` earlier failures: base * 2^failures, capped at max.
  static std::chrono::nanoseconds backoffFor(int failures, std::chrono::nanoseconds base,
                                             std::chrono::nanoseconds max);

 private:
  struct Pending {
    std::string reason;
    Clock::SteadyTime queuedAt;
  };
  struct Delayed {
    Clock::SteadyTime readyAt;
    std::string reason;
  };

  void addLocked(const std::string& key, const std::string& reason, Clock::SteadyTime now);
  void promoteReadyLocked(Clock::SteadyTime now);
  std::optional<Item> popLocked(Clock::SteadyTime now);
  void reportDepthLocked() const;
  // Wakes one idle getter for a ready key: one waiting for keys, else the one timing delayed keys.
  void wakeOneLocked();

  Clock& clock_;
  const WorkQueueOptions options_;

  mutable std::mutex mu_;
  // Idle getters: at most one times the delayed keys (timerCv_, a timed wait until the earliest is
  // due); the others wait for a ready key (readyCv_) without a timeout, so N workers are not all
  // woken each time a delayed key falls due.
  std::condition_variable readyCv_;  // a key became ready, the timer role is free, or shutdown
  std::condition_variable timerCv_;  // an earlier delayed key, a ready key nobody else waits for, or shutdown
  std::condition_variable idleCv_;   // processing became empty during shutdown
  size_t readyWaiters_ = 0;
  bool timerWaiting_ = false;
  std::deque<std::string> queue_;                       // ready keys, FIFO; each is in dirty_
  std::unordered_map<std::string, Pending> dirty_;      // keys that need processing
  std::unordered_map<std::string, Clock::SteadyTime> processing_;  // key -> when handed out
  std::unordered_map<std::string, Delayed> delayedByKey_;
  std::set<std::pair<Clock::SteadyTime, std::string>> delayedByTime_;
  std::unordered_map<std::string, int> failures_;
  size_t blockedGetters_ = 0;
  uint64_t addsTotal_ = 0;
  uint64_t mergedAddsTotal_ = 0;
  uint64_t retriesTotal_ = 0;
  bool shuttingDown_ = false;
};

}  // namespace dwcp::kube
