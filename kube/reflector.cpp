#include "kube/reflector.h"

#include <malloc.h>

#include <map>
#include <utility>

#include <spdlog/spdlog.h>

namespace dwcp::kube {

namespace {

// metadata.managedFields is server-side-apply bookkeeping no controller here reads; it is often
// the larger part of an object (controller-runtime drops it from its caches too).
void stripManagedFields(json& object) {
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
}

}  // namespace

namespace {

constexpr const char* kInitialEventsEndAnnotation = "k8s.io/initial-events-end";
// A watch that ends this soon with no event is treated as a failure, so a proxy that closes
// streams at once does not turn the loop into a busy retry.
constexpr std::chrono::seconds kShortestHealthyWatch{1};

std::string metadataString(const json& object, const char* field) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  auto value = metadata->find(field);
  if (value == metadata->end() || !value->is_string()) return {};
  return value->get<std::string>();
}

bool isInitialEventsEnd(const json& bookmark) {
  auto metadata = bookmark.find("metadata");
  if (metadata == bookmark.end() || !metadata->is_object()) return false;
  auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || !annotations->is_object()) return false;
  auto value = annotations->find(kInitialEventsEndAnnotation);
  return value != annotations->end() && value->is_string() && value->get<std::string>() == "true";
}

std::uint64_t seedFrom(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

// What one watch stream has seen so far. `initial` while a streaming list is still delivering
// the initial state into `initialItems` (the side buffer swapped into the Store at its end).
struct Reflector::WatchState {
  bool initial = false;
  std::map<std::string, ObjectPtr> initialItems;  // decoded as they arrive
  uint64_t events = 0;
};

Reflector::Reflector(Client& client, ResourceType type, Store& store, Clock& clock,
                     ReflectorOptions options)
    : client_(client),
      type_(std::move(type)),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      backoff_(clock, options_.backoff),
      rng_(seedFrom(options_.seed)),
      useStreamingList_(options_.streamingList),
      handlers_(std::make_shared<const std::vector<EventHandler>>()) {}

Reflector::~Reflector() { stop(); }

void Reflector::addHandler(EventHandler handler) {
  std::lock_guard lock(handlersMu_);
  auto next = std::make_shared<std::vector<EventHandler>>(*handlers_);
  next->push_back(std::move(handler));
  handlers_ = std::move(next);
}

void Reflector::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Reflector::stop() {
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    if (currentStream_ != nullptr) currentStream_->cancel();
    // From a handler (the worker itself): only ask; a later stop() or the destructor joins.
    if (thread_.get_id() == std::this_thread::get_id()) return;
    worker = std::move(thread_);
  }
  stopCv_.notify_all();
  worker.join();
}

bool Reflector::running() const {
  std::lock_guard lock(mu_);
  return thread_.joinable() && !stopping_;
}

bool Reflector::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

std::string Reflector::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return resourceVersion_;
}

void Reflector::setResourceVersion(const std::string& resourceVersion) {
  if (resourceVersion.empty()) return;
  std::lock_guard lock(mu_);
  resourceVersion_ = resourceVersion;
}

bool Reflector::sleepUnlessStopped(std::chrono::milliseconds delay) {
  const auto deadline = clock_.steadyNow() + delay;
  const auto nap = std::max(options_.maxPollWait, std::chrono::milliseconds(0));
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return false;
    const auto left = deadline - clock_.steadyNow();
    if (left <= Clock::SteadyTime::duration::zero()) return true;
    const auto wait = std::min<Clock::SteadyTime::duration>(left, nap);
    if (stopCv_.wait_for(lock, wait, [&] { return stopping_; })) return false;
  }
}

int Reflector::randomWatchTimeoutSeconds() {
  const int low = options_.minWatchTimeoutSeconds;
  const int high = std::max(low, options_.maxWatchTimeoutSeconds);
  return std::uniform_int_distribution<int>(low, high)(rng_);
}

void Reflector::run() {
  Next next = Next::kList;
  while (next != Next::kStop && !stopping()) {
    switch (next) {
      case Next::kList: next = list(); break;
      case Next::kWatch: next = watch(false); break;
      case Next::kBackoffThenList:
      case Next::kBackoffThenWatch: {
        const auto delay = backoff_.markFailure();
        ++backoffs_;
        spdlog::debug("reflector {}: retrying in {} ms", type_.resource, delay.count());
        if (!sleepUnlessStopped(delay)) return;
        next = next == Next::kBackoffThenList ? Next::kList : Next::kWatch;
        break;
      }
      case Next::kStop: break;
    }
  }
}

Reflector::Next Reflector::list() {
  if (listedOnce_) {
    ++relists_;
    spdlog::info("reflector {}: relisting", type_.resource);
  }
  if (useStreamingList_) return watch(true);

  ListOptions listOptions;
  listOptions.labelSelector = options_.labelSelector;
  listOptions.fieldSelector = options_.fieldSelector;
  listOptions.limit = options_.listPageSize;
  auto listed = client_.list(type_, options_.ns, listOptions);  // every page, before any swap
  if (!listed.ok()) {
    spdlog::warn("reflector {}: list failed: {}", type_.resource, listed.error().toString());
    return Next::kBackoffThenList;
  }
  json& body = listed.value();
  std::vector<ObjectPtr> items;
  if (auto found = body.find("items"); found != body.end() && found->is_array()) {
    items.reserve(found->size());
    for (auto& item : *found) {
      if (!item.is_object()) continue;
      if (options_.stripManagedFields) stripManagedFields(item);
      // List items carry no apiVersion/kind; give handlers whole objects.
      if (!item.contains("apiVersion")) item["apiVersion"] = type_.apiVersion();
      if (!item.contains("kind") && !type_.kind.empty()) item["kind"] = type_.kind;
      // Moved out: the page's tree shrinks as its objects are decoded.
      ObjectPtr decoded = store_.decode(std::move(item));
      if (!decoded) {
        spdlog::warn("reflector {}: skipping a listed object without metadata.name", type_.resource);
        continue;
      }
      items.push_back(std::move(decoded));
    }
  }
  finishInitialList(std::move(items), metadataString(body, "resourceVersion"));
  backoff_.markHealthy();
  return Next::kWatch;
}

void Reflector::finishInitialList(std::vector<ObjectPtr> items, const std::string& resourceVersion) {
  const size_t count = items.size();
  auto changes = store_.replaceDecoded(std::move(items));
  setResourceVersion(resourceVersion);
  listedOnce_ = true;
  spdlog::debug("reflector {}: listed {} objects at resourceVersion {} ({} changes)",
                type_.resource, count, resourceVersion, changes.size());
  dispatch(changes);
  changes.clear();
  // A large list leaves its page buffers and the replaced objects free in malloc's arenas; hand
  // them back to the system so resident memory reflects the cache, not the peak of the list.
  if (count > 1000) malloc_trim(0);
  {
    std::lock_guard lock(mu_);
    synced_ = true;
  }
  syncedCv_.notify_all();
}

bool Reflector::hasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Reflector::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return syncedCv_.wait_for(lock, timeout, [&] { return synced_; });
}

Reflector::Next Reflector::watch(bool streamingInitial) {
  if (watchedOnce_) ++watchRestarts_;
  watchedOnce_ = true;

  WatchOptions watchOptions;
  watchOptions.resourceVersion = streamingInitial ? std::string() : lastResourceVersion();
  watchOptions.labelSelector = options_.labelSelector;
  watchOptions.fieldSelector = options_.fieldSelector;
  watchOptions.timeoutSeconds = randomWatchTimeoutSeconds();
  watchOptions.allowBookmarks = true;
  watchOptions.sendInitialEvents = streamingInitial;
  const auto idleTimeout =
      std::chrono::seconds(watchOptions.timeoutSeconds + options_.idleMarginSeconds);
  const auto startedAt = clock_.steadyNow();

  StreamResponse opened = client_.watch(type_, options_.ns, watchOptions, idleTimeout);
  if (!opened.stream) {
    Error error = errorFromResponse(opened.response);
    if (error.code >= 200 && error.code < 300) error.code = 0;  // 2xx without a body stream
    spdlog::warn("reflector {}: watch failed to start: {}", type_.resource, error.toString());
    if (error.isTransport() || error.isTooManyRequests() || error.code >= 500) {
      return streamingInitial ? Next::kBackoffThenList : Next::kBackoffThenWatch;
    }
    // A relist after 410 goes through the backoff too: a server that expires every watch at
    // once must not get a LIST storm. After a healthy stretch the first wait is short.
    if (error.isGone()) return Next::kBackoffThenList;
    if (streamingInitial) {
      spdlog::info("reflector {}: streaming list rejected; falling back to list", type_.resource);
      useStreamingList_ = false;
      return Next::kList;
    }
    return Next::kBackoffThenList;
  }

  {
    std::lock_guard lock(mu_);
    if (stopping_) return Next::kStop;
    currentStream_ = opened.stream.get();
  }
  struct Unregister {
    Reflector& self;
    ~Unregister() {
      std::lock_guard lock(self.mu_);
      self.currentStream_ = nullptr;
    }
  } unregister{*this};
  backoff_.markHealthy();

  WatchState state;
  state.initial = streamingInitial;
  std::string buffer;
  for (;;) {
    switch (opened.stream->read(buffer)) {
      case Stream::ReadResult::kData: {
        // Newline-delimited JSON: handle every complete line, keep the unfinished tail.
        size_t start = 0;
        for (size_t newline; (newline = buffer.find('\n', start)) != std::string::npos;) {
          auto next = handleLine(std::string_view(buffer).substr(start, newline - start), state);
          start = newline + 1;
          if (next) return *next;
        }
        buffer.erase(0, start);
        break;
      }
      case Stream::ReadResult::kEnd: {
        if (auto next = handleLine(buffer, state)) return *next;
        if (state.initial) {
          spdlog::warn("reflector {}: streaming list ended before its initial events did; "
                       "falling back to list", type_.resource);
          useStreamingList_ = false;
          return Next::kList;
        }
        if (state.events == 0 && clock_.steadyNow() - startedAt < kShortestHealthyWatch) {
          return Next::kBackoffThenWatch;
        }
        spdlog::debug("reflector {}: watch ended; resuming at {}", type_.resource,
                      lastResourceVersion());
        return Next::kWatch;
      }
      case Stream::ReadResult::kIdleTimeout:
        spdlog::info("reflector {}: watch silent for {} s; reconnecting", type_.resource,
                     idleTimeout.count());
        return state.initial ? Next::kBackoffThenList : Next::kWatch;
      case Stream::ReadResult::kError:
        spdlog::warn("reflector {}: watch connection broke", type_.resource);
        return state.initial ? Next::kBackoffThenList : Next::kBackoffThenWatch;
      case Stream::ReadResult::kCancelled:
        return Next::kStop;
    }
  }
}

std::optional<Reflector::Next> Reflector::handleLine(std::string_view line, WatchState& state) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  json event = json::parse(line.begin(), line.end(), nullptr, false);
  if (event.is_discarded() || !event.is_object()) {
    spdlog::warn("reflector {}: undecodable watch event ({} bytes); relisting", type_.resource,
                 line.size());
    return Next::kBackoffThenList;
  }
  try {
    return handleEvent(event, state);
  } catch (const json::exception& e) {
    spdlog::warn("reflector {}: malformed watch event: {}; relisting", type_.resource, e.what());
    return Next::kBackoffThenList;
  }
}

std::optional<Reflector::Next> Reflector::handleEvent(json& event, WatchState& state) {
  ++events_;
  ++state.events;
  const std::string type = event.value("type", "");
  auto found = event.find("object");
  if (found == event.end() || !found->is_object()) {
    spdlog::warn("reflector {}: watch event {} without an object; relisting", type_.resource, type);
    return Next::kBackoffThenList;
  }
  if (options_.stripManagedFields) stripManagedFields(*found);
  json& object = *found;

  if (type == "ERROR") {
    Error error{object.value("code", 0), object.value("reason", ""), object.value("message", "")};
    if (error.isGone()) {
      spdlog::info("reflector {}: resourceVersion expired ({}); relisting", type_.resource,
                   error.message);
      return Next::kBackoffThenList;
    }
    spdlog::warn("reflector {}: watch error event: {}", type_.resource, error.toString());
    return Next::kBackoffThenList;
  }

  const std::string resourceVersion = metadataString(object, "resourceVersion");
  if (type == "BOOKMARK") {
    if (!state.initial) {
      setResourceVersion(resourceVersion);
    } else if (isInitialEventsEnd(object)) {
      std::vector<ObjectPtr> items;
      items.reserve(state.initialItems.size());
      for (auto& [key, item] : state.initialItems) items.push_back(std::move(item));
      state.initialItems.clear();
      state.initial = false;
      finishInitialList(std::move(items), resourceVersion);
      backoff_.markHealthy();
    }
    return std::nullopt;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    spdlog::warn("reflector {}: ignoring watch event of type '{}'", type_.resource, type);
    return std::nullopt;
  }
  const std::string key = objectKey(object);
  if (key.empty()) {
    spdlog::warn("reflector {}: ignoring {} event for an object without a name", type_.resource,
                 type);
    if (!state.initial) setResourceVersion(resourceVersion);
    return std::nullopt;
  }

  if (state.initial) {
    if (type == "DELETED") {
      state.initialItems.erase(key);
    } else {
      state.initialItems[key] = store_.decode(std::move(object));
    }
    return std::nullopt;
  }
  // The one decode of this object; a DELETED event's object is its last state, for handlers.
  ObjectPtr decoded = store_.decode(std::move(object));
  if (type == "DELETED") {
    store_.erase(key);
    setResourceVersion(resourceVersion);
    dispatchDelete(*decoded);
    return std::nullopt;
  }
  ObjectPtr previous = store_.upsertDecoded(decoded);
  setResourceVersion(resourceVersion);
  if (previous) {
    dispatchUpdate(*previous, *decoded);
  } else {
    dispatchAdd(*decoded);
  }
  return std::nullopt;
}

namespace {

template <class Fn, class... Args>
void callHandler(const char* what, const std::string& resource, const Fn& fn,
                 const Args&... args) {
  if (!fn) return;
  try {
    fn(args...);
  } catch (const std::exception& e) {
    spdlog::error("reflector {}: {} handler threw: {}", resource, what, e.what());
  } catch (...) {
    spdlog::error("reflector {}: {} handler threw", resource, what);
  }
}

}  // namespace

void Reflector::dispatch(const std::vector<StoreChange>& changes) {
  for (const auto& change : changes) {
    switch (change.kind) {
      case StoreChange::Kind::kAdded: dispatchAdd(*change.after); break;
      case StoreChange::Kind::kUpdated: dispatchUpdate(*change.before, *change.after); break;
      case StoreChange::Kind::kDeleted: dispatchDelete(*change.before); break;
    }
  }
}

void Reflector::dispatchAdd(const CachedObject& object) {
  std::shared_ptr<const std::vector<EventHandler>> handlers;
  {
    std::lock_guard lock(handlersMu_);
    handlers = handlers_;
  }
  for (const auto& handler : *handlers) callHandler("add", type_.resource, handler.onAdd, object);
}

void Reflector::dispatchUpdate(const CachedObject& oldObject, const CachedObject& newObject) {
  std::shared_ptr<const std::vector<EventHandler>> handlers;
  {
    std::lock_guard lock(handlersMu_);
    handlers = handlers_;
  }
  for (const auto& handler : *handlers) {
    callHandler("update", type_.resource, handler.onUpdate, oldObject, newObject);
  }
}

void Reflector::dispatchDelete(const CachedObject& object) {
  std::shared_ptr<const std::vector<EventHandler>> handlers;
  {
    std::lock_guard lock(handlersMu_);
    handlers = handlers_;
  }
  for (const auto& handler : *handlers) {
    callHandler("delete", type_.resource, handler.onDelete, object);
  }
}

}  // namespace dwcp::kube
