// Kubernetes Events (events.k8s.io/v1) about objects, best effort: record() validates, enqueues
// and returns at once; a background thread writes. Repeats of the same (object uid, reason, type,
// note) within dedupWindow bump the first Event's series {count, lastObservedTime} by PATCH;
// writes are rate-limited per object; a full queue drops with a counter. Write errors are only
// logged and counted, never returned. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/clock.h"

namespace dwcp::kube {

enum class EventType { kNormal, kWarning };

struct EventRecorderConfig {
  std::string reportingController;  // e.g. "dwcp.io/federation-operator"; at most 128 bytes
  std::string reportingInstance;    // e.g. the pod name; at most 128 bytes
  size_t queueCapacity = 1000;
  std::chrono::seconds dedupWindow{600};
  size_t maxTrackedSeries = 4096;  // oldest series forgotten beyond this
  // Per-object token bucket (client-go's spam filter): a burst, then one write per interval.
  int burstPerObject = 25;
  std::chrono::seconds refillIntervalPerObject{300};
  // stop() keeps writing queued events for at most this long (on the Clock), then drops the
  // rest (counted in `dropped`). A write in flight is bounded by the transport's timeout.
  std::chrono::milliseconds stopGracePeriod{2000};
};

struct EventRecorderStats {
  uint64_t created = 0;        // new Event objects written
  uint64_t seriesUpdates = 0;  // series bumps written
  uint64_t dropped = 0;        // queue full, recorder stopped, or unwritten at stop()
  uint64_t rateLimited = 0;    // not written: the object's budget was spent
  uint64_t failed = 0;         // the API server refused or was unreachable
  uint64_t invalid = 0;        // rejected by record(): bad reason or action
};

class EventRecorder {
 public:
  static const ResourceType kEventType;

  EventRecorder(Client& client, Clock& clock, EventRecorderConfig config);
  ~EventRecorder();  // stop()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Starts the writer thread. Without it, processPending() writes on the caller's thread.
  void start();
  // Writes what is queued for up to stopGracePeriod, drops (and counts) the rest, then ends the
  // writer thread. Later record() calls are dropped.
  void stop();

  // Records an event about `object` (any Kubernetes object as JSON). `reason` is CamelCase and
  // `action` non-empty, both at most 128 bytes; `note` is cut to 1 KiB. Never blocks on I/O;
  // returns whether the event was queued.
  bool record(const json& object, EventType type, std::string_view reason,
              std::string_view action, std::string_view note);

  // Writes every queued event on the calling thread; returns how many it handled.
  size_t processPending();
  // Waits until the queue is empty and no write is in flight; false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);
  EventRecorderStats stats() const;

 private:
  struct Item {
    json regarding;
    std::string ns;
    std::string seriesKey;  // uid, reason, type, note
    std::string objectKey;  // rate-limit bucket
    std::string type;
    std::string reason;
    std::string action;
    std::string note;
    Clock::WallTime wallTime;
    Clock::SteadyTime steadyTime;
  };
  struct Series {
    std::string ns;
    std::string eventName;
    int64_t count = 1;
    Clock::SteadyTime lastSteady;
    Clock::WallTime lastWall;
  };
  struct Bucket {
    int64_t tokens = 0;
    Clock::SteadyTime lastRefill;
  };

  void process(const Item& item);
  bool takeToken(const std::string& objectKey, Clock::SteadyTime now);
  bool createEvent(const Item& item);
  void rememberSeries(const std::string& key, Series series);
  std::string eventName(const Item& item);
  void run();
  bool pastStopDeadlineLocked() const;
  void dropQueuedLocked(const char* why);

  Client& client_;
  Clock& clock_;
  const EventRecorderConfig config_;

  mutable std::mutex mu_;  // queue, stats, thread state
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Item> queue_;
  size_t inFlight_ = 0;
  bool stopping_ = false;
  Clock::SteadyTime stopDeadline_{};  // set by stop(): no new write starts after it
  EventRecorderStats stats_;
  std::thread thread_;

  std::mutex writeMu_;  // one writer at a time; guards the fields below
  std::unordered_map<std::string, Series> series_;
  std::unordered_map<std::string, Bucket> buckets_;
  uint64_t nameSequence_ = 0;
};

}  // namespace dwcp::kube
