// Keeps a Store in step with the API server for one resource type: list, then watch from the
// list's resourceVersion, resuming from the last seen one (bookmarks too) and relisting only when
// the server says it expired; every relist and failed attempt waits for the backoff first. Runs on its own thread between start() and stop(); event handlers
// run on that thread after the Store was updated. The Client, Store and Clock must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/backoff.h"
#include "kube/client.h"
#include "kube/clock.h"
#include "kube/store.h"

namespace dwcp::kube {

// Callbacks for changes to the cache; any may be empty. onDelete gets the last known state.
struct EventHandler {
  std::function<void(const CachedObject& object)> onAdd;
  std::function<void(const CachedObject& oldObject, const CachedObject& newObject)> onUpdate;
  std::function<void(const CachedObject& object)> onDelete;
};

struct ReflectorOptions {
  std::string ns;  // "" watches every namespace (and is required for cluster-scoped types)
  std::string labelSelector;
  std::string fieldSelector;
  // Each watch asks the server to end it after a random timeoutSeconds in [min, max]; the client
  // gives up on a silent stream idleMarginSeconds after that (dead TCP connections).
  int minWatchTimeoutSeconds = 300;
  int maxWatchTimeoutSeconds = 600;
  int idleMarginSeconds = 30;
  int listPageSize = 500;  // 0: one unpaged list
  // Streaming list (sendInitialEvents=true): the initial state arrives on the watch itself.
  // Falls back to a plain list, for good, when the server rejects it or never ends the
  // initial events.
  bool streamingList = false;
  // Drop metadata.managedFields before objects reach the store (memory; nothing reads them).
  bool stripManagedFields = true;
  // Waits between attempts, relists after 410 Gone included. They are measured on the Clock;
  // maxPollWait is the longest real-time nap of one wait, which bounds how late a wait ends
  // when the Clock is not the real one.
  BackoffOptions backoff;
  std::chrono::milliseconds maxPollWait{1000};
  std::uint64_t seed = 0;  // for watch timeouts; 0: seeded from std::random_device
};

class Reflector {
 public:
  Reflector(Client& client, ResourceType type, Store& store, Clock& clock,
            ReflectorOptions options = {});
  ~Reflector();  // stops
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Handlers may be added at any time, also from a handler; they see changes from then on.
  void addHandler(EventHandler handler);

  // Starts the list/watch thread; a no-op while running. May be called again after stop().
  void start();
  // Cancels the current watch read or backoff wait and joins the thread. An in-flight list or
  // watch request is not cancellable and is waited for. From a handler it only asks the loop to
  // end (a later stop() from another thread, or the destructor, joins).
  void stop();
  bool running() const;

  // True once the first list is in the Store and its events went to the handlers.
  bool hasSynced() const;
  // Waits (on a condition, not a sleep) until hasSynced() or the timeout passes.
  bool waitForSync(std::chrono::milliseconds timeout) const;

  std::string lastResourceVersion() const;
  uint64_t relists() const { return relists_.load(); }              // lists after the first
  uint64_t watchRestarts() const { return watchRestarts_.load(); }  // watches after the first
  uint64_t events() const { return events_.load(); }                // watch events decoded
  uint64_t backoffs() const { return backoffs_.load(); }            // waits before a retry

 private:
  enum class Next { kList, kWatch, kBackoffThenList, kBackoffThenWatch, kStop };
  struct WatchState;

  void run();
  Next list();
  Next watch(bool streamingInitial);
  std::optional<Next> handleLine(std::string_view line, WatchState& state);
  std::optional<Next> handleEvent(nlohmann::json& event, WatchState& state);
  void finishInitialList(std::vector<ObjectPtr> items, const std::string& resourceVersion);
  void dispatch(const std::vector<StoreChange>& changes);
  void dispatchAdd(const CachedObject& object);
  void dispatchUpdate(const CachedObject& oldObject, const CachedObject& newObject);
  void dispatchDelete(const CachedObject& object);
  void setResourceVersion(const std::string& resourceVersion);
  int randomWatchTimeoutSeconds();
  bool sleepUnlessStopped(std::chrono::milliseconds delay);  // on clock_; false when stopped
  bool stopping() const;

  Client& client_;
  const ResourceType type_;
  Store& store_;
  Clock& clock_;
  const ReflectorOptions options_;
  Backoff backoff_;
  std::mt19937_64 rng_;
  bool useStreamingList_;
  bool listedOnce_ = false;
  bool watchedOnce_ = false;

  mutable std::mutex mu_;
  std::condition_variable stopCv_;
  mutable std::condition_variable syncedCv_;
  bool stopping_ = false;
  bool synced_ = false;
  Stream* currentStream_ = nullptr;  // the open watch, so stop() can cancel its read
  std::string resourceVersion_;
  std::thread thread_;

  std::mutex handlersMu_;
  std::shared_ptr<const std::vector<EventHandler>> handlers_;  // copy-on-write

  std::atomic<uint64_t> relists_{0};
  std::atomic<uint64_t> watchRestarts_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> backoffs_{0};
};

}  // namespace dwcp::kube
