#include "kube/events.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/strings.h"
#include "kube/json_fields.h"
#include "kube/time_format.h"

namespace dwcp::kube {

namespace {

constexpr size_t kMaxNoteBytes = 1024;
constexpr size_t kMaxShortFieldBytes = 128;
constexpr size_t kMaxNamePrefix = 200;  // leaves room for the suffix within 253

json objectReference(const json& object) {
  json ref = json::object();
  const std::pair<const char*, const char*> fields[] = {
      {"apiVersion", "/apiVersion"},          {"kind", "/kind"},
      {"namespace", "/metadata/namespace"},   {"name", "/metadata/name"},
      {"uid", "/metadata/uid"},               {"resourceVersion", "/metadata/resourceVersion"}};
  for (const auto& [field, pointer] : fields) {
    std::string value = stringAt(object, json::json_pointer(pointer));
    if (!value.empty()) ref[field] = std::move(value);
  }
  return ref;
}

}  // namespace

const ResourceType EventRecorder::kEventType{"events.k8s.io", "v1", "events", "Event", true};

EventRecorder::EventRecorder(Client& client, Clock& clock, EventRecorderConfig config)
    : client_(client), clock_(clock), config_(std::move(config)) {}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void EventRecorder::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stopDeadline_ = clock_.steadyNow() + config_.stopGracePeriod;
    }
    thread = std::move(thread_);
    if (thread.joinable() && pastStopDeadlineLocked()) dropQueuedLocked("no grace period");
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

bool EventRecorder::pastStopDeadlineLocked() const {
  return stopping_ && clock_.steadyNow() >= stopDeadline_;
}

void EventRecorder::dropQueuedLocked(const char* why) {
  if (queue_.empty()) return;
  spdlog::warn("event recorder stopping: {} queued events dropped ({})", queue_.size(), why);
  stats_.dropped += queue_.size();
  queue_.clear();
  idle_.notify_all();
}

bool EventRecorder::record(const json& object, EventType type, std::string_view reason,
                           std::string_view action, std::string_view note) {
  std::string kind = stringAt(object, "/kind"_json_pointer);
  std::string name = stringAt(object, "/metadata/name"_json_pointer);
  std::string objectNs = stringAt(object, "/metadata/namespace"_json_pointer);
  auto reject = [&](const char* why) {
    spdlog::error("event {} about {} {}/{} not recorded: {}", reason, kind, objectNs, name, why);
    std::lock_guard lock(mu_);
    ++stats_.invalid;
    return false;
  };
  if (!base::isCamelCase(reason) || reason.size() > kMaxShortFieldBytes) {
    return reject("reason must be CamelCase and at most 128 bytes");
  }
  if (action.empty() || action.size() > kMaxShortFieldBytes) {
    return reject("action must be 1-128 bytes");
  }
  if (name.empty() || kind.empty()) return reject("the object has no kind or metadata.name");

  Item item;
  item.regarding = objectReference(object);
  item.ns = objectNs.empty() ? "default" : objectNs;
  item.type = type == EventType::kWarning ? "Warning" : "Normal";
  item.reason = std::string(reason);
  item.action = std::string(action);
  item.note = base::truncateUtf8(note, kMaxNoteBytes);
  std::string uid = stringAt(object, "/metadata/uid"_json_pointer);
  item.objectKey = uid.empty() ? kind + "/" + objectNs + "/" + name : uid;
  // The separator cannot occur in a uid, reason or type, so keys cannot collide.
  item.seriesKey = item.objectKey + '\n' + item.reason + '\n' + item.type + '\n' + item.note;
  item.wallTime = clock_.wallNow();
  item.steadyTime = clock_.steadyNow();

  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= config_.queueCapacity) {
    uint64_t dropped = ++stats_.dropped;
    if (dropped == 1 || dropped % 100 == 0) {
      spdlog::warn("event queue full or stopped: {} events dropped so far", dropped);
    }
    return false;
  }
  queue_.push_back(std::move(item));
  wake_.notify_one();
  return true;
}

size_t EventRecorder::processPending() {
  size_t handled = 0;
  while (true) {
    Item item;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
      item = std::move(queue_.front());
      queue_.pop_front();
      ++inFlight_;
    }
    process(item);
    ++handled;
    std::lock_guard lock(mu_);
    --inFlight_;
    idle_.notify_all();
  }
  return handled;
}

void EventRecorder::run() {
  while (true) {
    Item item;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (pastStopDeadlineLocked()) dropQueuedLocked("stop grace period over");
      if (queue_.empty()) return;  // stopping, and everything queued is written or dropped
      item = std::move(queue_.front());
      queue_.pop_front();
      ++inFlight_;
    }
    process(item);
    std::lock_guard lock(mu_);
    --inFlight_;
    idle_.notify_all();
  }
}

bool EventRecorder::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && inFlight_ == 0; });
}

EventRecorderStats EventRecorder::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// Integer token bucket: the refill clock runs only while the bucket is below its burst.
bool EventRecorder::takeToken(const std::string& objectKey, Clock::SteadyTime now) {
  const int64_t burst = std::max(1, config_.burstPerObject);
  auto [it, inserted] = buckets_.try_emplace(objectKey, Bucket{burst, now});
  Bucket& bucket = it->second;
  const auto interval = config_.refillIntervalPerObject;
  if (bucket.tokens < burst && interval.count() > 0 && now > bucket.lastRefill) {
    int64_t periods = (now - bucket.lastRefill) / interval;
    if (periods > 0) {
      bucket.tokens = std::min(burst, bucket.tokens + periods);
      bucket.lastRefill += periods * interval;
    }
  }
  if (buckets_.size() > config_.maxTrackedSeries) {
    // Forget other full buckets: a full bucket and no bucket behave the same.
    std::erase_if(buckets_, [&](const auto& entry) {
      return &entry.second != &bucket && entry.second.tokens >= burst;
    });
  }
  if (bucket.tokens < 1) return false;
  if (bucket.tokens == burst) bucket.lastRefill = now;
  --bucket.tokens;
  return true;
}

std::string EventRecorder::eventName(const Item& item) {
  std::string name = item.regarding.value("name", "");
  if (name.size() > kMaxNamePrefix) name.resize(kMaxNamePrefix);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   item.wallTime.time_since_epoch()).count();
  return fmt::format("{}.{:x}.{:x}", name, static_cast<uint64_t>(nanos), ++nameSequence_);
}

bool EventRecorder::createEvent(const Item& item) {
  json event = {{"apiVersion", kEventType.apiVersion()},
                {"kind", kEventType.kind},
                {"metadata", {{"name", eventName(item)}, {"namespace", item.ns}}},
                {"eventTime", formatRfc3339Micro(item.wallTime)},
                {"reportingController", config_.reportingController},
                {"reportingInstance", config_.reportingInstance},
                {"action", item.action},
                {"reason", item.reason},
                {"regarding", item.regarding},
                {"note", item.note},
                {"type", item.type}};
  auto created = client_.create(kEventType, item.ns, event);
  if (!created.ok()) {
    spdlog::warn("event {} about {} {}/{} not written: {}", item.reason,
                 item.regarding.value("kind", ""), item.ns, item.regarding.value("name", ""),
                 created.error().toString());
    std::lock_guard lock(mu_);
    ++stats_.failed;
    return false;
  }
  rememberSeries(item.seriesKey, Series{item.ns, event["metadata"]["name"].get<std::string>(), 1,
                                        item.steadyTime, item.wallTime});
  std::lock_guard lock(mu_);
  ++stats_.created;
  return true;
}

void EventRecorder::rememberSeries(const std::string& key, Series series) {
  if (series_.size() >= config_.maxTrackedSeries && !series_.contains(key)) {
    auto now = series.lastSteady;
    std::erase_if(series_, [&](const auto& entry) {
      return now - entry.second.lastSteady >= config_.dedupWindow;
    });
    if (series_.size() >= config_.maxTrackedSeries) {
      auto oldest = std::min_element(
          series_.begin(), series_.end(),
          [](const auto& a, const auto& b) { return a.second.lastSteady < b.second.lastSteady; });
      series_.erase(oldest);
    }
  }
  series_[key] = std::move(series);
}

void EventRecorder::process(const Item& item) {
  std::lock_guard writeLock(writeMu_);
  auto found = series_.find(item.seriesKey);
  bool repeat = found != series_.end() &&
                item.steadyTime - found->second.lastSteady < config_.dedupWindow;
  if (!repeat) {
    if (found != series_.end()) series_.erase(found);
    if (!takeToken(item.objectKey, item.steadyTime)) {
      std::lock_guard lock(mu_);
      ++stats_.rateLimited;
      return;
    }
    createEvent(item);
    return;
  }

  // A repeat: the count always grows here, and a rate-limited bump is carried by the next one.
  Series& series = found->second;
  ++series.count;
  series.lastSteady = item.steadyTime;
  series.lastWall = item.wallTime;
  if (!takeToken(item.objectKey, item.steadyTime)) {
    std::lock_guard lock(mu_);
    ++stats_.rateLimited;
    return;
  }
  json patch = {{"series",
                 {{"count", series.count},
                  {"lastObservedTime", formatRfc3339Micro(series.lastWall)}}}};
  auto patched = client_.patch(kEventType, series.ns, series.eventName, PatchType::kMerge, patch);
  if (patched.ok()) {
    std::lock_guard lock(mu_);
    ++stats_.seriesUpdates;
    return;
  }
  if (patched.error().isNotFound()) {
    // The Event expired (the API server keeps them about an hour): start a new one.
    series_.erase(found);
    createEvent(item);
    return;
  }
  spdlog::warn("event series {} ({}) not updated: {}", series.eventName, item.reason,
               patched.error().toString());
  std::lock_guard lock(mu_);
  ++stats_.failed;
}

}  // namespace dwcp::kube
