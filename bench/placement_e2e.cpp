// End-to-end placement benchmark driver (bench/placement_e2e.sh runs it): creates VMPlacements
// through kube::Client on a real API server and timestamps create -> status.phase == Placed per
// object from a watch. Prints one JSON object on stdout.
//
//   placement_e2e --kubeconfig FILE --namespace NS MODE [--threads T] [--wait-seconds S]
//     --rate R --duration 60s   create R per second for the duration (an operator places them)
//     --burst N                 create N as fast as possible (an operator places them)
//     --ceiling N               create N as fast as possible and write the operator's writes
//                               (PUT /status phase Placed, then the finalizer) from the driver itself,
//                               with no operator: the status-write ceiling of this API server
//     --self-place              with --rate: the driver writes the operator's writes itself, as in
//                               --ceiling: create-to-Placed at that rate with no operator at all
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "kube/client.h"
#include "kube/finalizers.h"
#include "kube/http_transport.h"
#include "kube/kubeconfig.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using dwcp::api::kVMPlacementResource;

constexpr const char* kNamePrefix = "bench-";

enum class Mode { kRate, kBurst, kCeiling };

struct Options {
  std::string kubeconfig;
  std::string ns = "bench";
  Mode mode = Mode::kBurst;
  double ratePerSecond = 200;
  double durationSeconds = 60;
  int count = 10000;
  int threads = 16;
  double waitSeconds = 300;  // after the last create, how long to wait for the last Placed
  bool selfPlace = false;    // the driver makes the operator's writes (always in kCeiling)
};

std::optional<double> parseSeconds(std::string text) {
  if (!text.empty() && text.back() == 's') text.pop_back();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0)) return std::nullopt;
  return v;
}

std::optional<Options> parseArgs(int argc, char** argv, std::string& error) {
  Options o;
  bool modeSet = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    auto number = [&](const char* flag, double& out) {
      auto v = next();
      auto parsed = v ? parseSeconds(*v) : std::nullopt;
      if (!parsed) {
        error = std::string(flag) + ": needs a number above 0";
        return false;
      }
      out = *parsed;
      return true;
    };
    double value = 0;
    if (arg == "--kubeconfig" || arg == "--namespace") {
      auto v = next();
      if (!v) {
        error = arg + ": needs a value";
        return std::nullopt;
      }
      (arg == "--kubeconfig" ? o.kubeconfig : o.ns) = *v;
    } else if (arg == "--rate") {
      if (!number("--rate", o.ratePerSecond)) return std::nullopt;
      o.mode = Mode::kRate;
      modeSet = true;
    } else if (arg == "--duration") {
      if (!number("--duration", o.durationSeconds)) return std::nullopt;
    } else if (arg == "--burst" || arg == "--ceiling") {
      if (!number(arg.c_str(), value)) return std::nullopt;
      o.count = static_cast<int>(value);
      o.mode = arg == "--burst" ? Mode::kBurst : Mode::kCeiling;
      modeSet = true;
    } else if (arg == "--threads") {
      if (!number("--threads", value)) return std::nullopt;
      o.threads = static_cast<int>(value);
    } else if (arg == "--self-place") {
      o.selfPlace = true;
    } else if (arg == "--wait-seconds") {
      if (!number("--wait-seconds", o.waitSeconds)) return std::nullopt;
    } else {
      error = "unknown argument " + arg;
      return std::nullopt;
    }
  }
  if (!modeSet) {
    error = "one of --rate R, --burst N or --ceiling N is required";
    return std::nullopt;
  }
  if (o.mode == Mode::kCeiling) o.selfPlace = true;
  if (o.mode == Mode::kRate) o.count = static_cast<int>(o.ratePerSecond * o.durationSeconds);
  if (o.count < 1 || o.threads < 1) {
    error = "nothing to do: count and threads must be at least 1";
    return std::nullopt;
  }
  return o;
}

int64_t nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

std::string objectName(int index) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%06d", kNamePrefix, index);
  return buffer;
}

int indexOf(const std::string& name) {
  if (name.rfind(kNamePrefix, 0) != 0) return -1;
  char* end = nullptr;
  long v = std::strtol(name.c_str() + std::char_traits<char>::length(kNamePrefix), &end, 10);
  return *end == '\0' ? static_cast<int>(v) : -1;
}

// A mix of constraints like the engine benchmark's: some free, some continent + compliance, some
// pinned to two regions.
json vmPlacement(const std::string& ns, int index) {
  json spec = {{"resources", {{"cpu", 1 + index % 4}, {"memoryMiB", 1024 * (1 + index % 4)}, {"storageGiB", 10}}},
               {"priority", index % 100}};
  switch (index % 3) {
    case 1: spec["constraints"] = {{"continents", {"europe"}}, {"compliance", {"gdpr"}}}; break;
    case 2: spec["constraints"] = {{"regions", {"us-east-1", "us-west-2"}}}; break;
    default: break;
  }
  return {{"apiVersion", "federation.dwcp.io/v1alpha1"},
          {"kind", "VMPlacement"},
          {"metadata", {{"name", objectName(index)}, {"namespace", ns}, {"labels", {{"bench", "placement-e2e"}}}}},
          {"spec", spec}};
}

std::string rfc3339Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// The status the operator writes for a placed VM, of the same shape and size.
json placedStatus(int64_t generation) {
  json candidates = json::array();
  const char* regions[] = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"};
  for (int i = 0; i < 5; ++i) {
    candidates.push_back({{"region", regions[i]},
                          {"score", 80.5 - i * 3},
                          {"factors",
                           {{"latency", 71.2}, {"cost", 64.1}, {"capacity", 99.9}, {"health", 50}, {"priority", 90},
                            {"spread", 100}}}});
  }
  const std::string now = rfc3339Now();
  return {{"phase", "Placed"},
          {"region", "us-east-1"},
          {"score", 80.5},
          {"candidates", candidates},
          {"message", "5/5 regions fit"},
          {"placedAt", now},
          {"epoch", 1},
          {"observedGeneration", generation},
          {"conditions",
           json::array({{{"type", "Placed"},
                         {"status", "True"},
                         {"reason", "Placed"},
                         {"message", "placed in us-east-1"},
                         {"lastTransitionTime", now},
                         {"observedGeneration", generation}}})}};
}

// Per-object timestamps, indexed by the number in the object's name.
struct Timeline {
  explicit Timeline(int n) : sent(n), created(n), placed(n) {}
  std::vector<std::atomic<int64_t>> sent;     // create request started
  std::vector<std::atomic<int64_t>> created;  // create request answered
  std::vector<std::atomic<int64_t>> placed;   // first watch event with phase Placed
  std::atomic<int> placedCount{0};
  std::atomic<int> createErrors{0};
  std::atomic<int> writeErrors{0};
  std::atomic<int> finalizerWrites{0};  // ceiling mode: finalizers the driver had to add
};

// Watches VMPlacements in the namespace from `resourceVersion` and records the first Placed of each.
class PlacedWatcher {
 public:
  PlacedWatcher(dwcp::kube::Client& client, std::string ns, Timeline& timeline)
      : client_(client), ns_(std::move(ns)), timeline_(timeline) {}

  // Opens the first watch; false when the API server refused it.
  bool start() {
    auto list = client_.list(kVMPlacementResource, ns_);
    for (int attempt = 0; !list.ok() && list.error().code == 429 && attempt < 100; ++attempt) {
      std::this_thread::sleep_for(200ms);  // storage of a just-established CRD still initializing
      list = client_.list(kVMPlacementResource, ns_);
    }
    if (!list.ok()) {
      spdlog::error("list vmplacements: {}", list.error().toString());
      return false;
    }
    resourceVersion_ = list->value("/metadata/resourceVersion"_json_pointer, std::string());
    if (!open()) return false;
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    stopping_ = true;
    {
      std::lock_guard lock(mu_);
      if (stream_) stream_->cancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  int restarts() const { return restarts_; }

 private:
  bool open() {
    dwcp::kube::WatchOptions options;
    options.resourceVersion = resourceVersion_;
    options.timeoutSeconds = 1800;
    auto response = client_.watch(kVMPlacementResource, ns_, options, std::chrono::seconds(1860));
    if (!response.stream) {
      spdlog::error("watch vmplacements: {} {}", response.response.status, response.response.body);
      return false;
    }
    std::lock_guard lock(mu_);
    stream_ = std::move(response.stream);
    return true;
  }

  void handle(const std::string& line) {
    json event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) return;
    const std::string type = event.value("type", "");
    const json& object = event["object"];
    if (type == "ERROR") {
      spdlog::warn("watch error event: {}", object.dump());
      resourceVersion_.clear();  // 410: fall back to a fresh list below
      return;
    }
    resourceVersion_ = object.value("/metadata/resourceVersion"_json_pointer, resourceVersion_);
    if (type == "BOOKMARK") return;
    if (object.value("/status/phase"_json_pointer, std::string()) != "Placed") return;
    const int index = indexOf(object.value("/metadata/name"_json_pointer, std::string()));
    if (index < 0 || index >= static_cast<int>(timeline_.placed.size())) return;
    int64_t expected = 0;
    if (timeline_.placed[index].compare_exchange_strong(expected, nowNs())) ++timeline_.placedCount;
  }

  void run() {
    std::string buffer;
    while (!stopping_) {
      dwcp::kube::Stream* stream = nullptr;
      {
        std::lock_guard lock(mu_);
        stream = stream_.get();
      }
      auto result = stream->read(buffer);
      size_t start = 0;
      for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (nl > start) handle(buffer.substr(start, nl - start));
      }
      buffer.erase(0, start);
      if (result == dwcp::kube::Stream::ReadResult::kData) continue;
      if (stopping_) break;
      // The stream ended: resume from the last resourceVersion (or list again after a 410).
      buffer.clear();
      ++restarts_;
      if (resourceVersion_.empty()) {
        auto list = client_.list(kVMPlacementResource, ns_);
        if (list.ok()) {
          resourceVersion_ = list->value("/metadata/resourceVersion"_json_pointer, std::string());
          for (const auto& item : list->value("items", json::array())) handle(json{{"type", "ADDED"}, {"object", item}}.dump());
        }
      }
      while (!stopping_ && !open()) std::this_thread::sleep_for(200ms);
    }
  }

  dwcp::kube::Client& client_;
  std::string ns_;
  Timeline& timeline_;
  std::string resourceVersion_;
  std::mutex mu_;
  std::unique_ptr<dwcp::kube::Stream> stream_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> restarts_{0};
};

// In ceiling mode: the operator's writes for one new VM, from the driver, in the operator's
// order: PUT /status phase Placed, then the finalizer unless the API server's admission policy
// (config/admission/) set it at create.
bool writePlaced(dwcp::kube::Client& client, json object, std::atomic<int>& finalizerWrites) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    json updated = object;
    updated["status"] = placedStatus(updated.value("/metadata/generation"_json_pointer, int64_t{1}));
    auto written = client.updateStatus(kVMPlacementResource, updated);
    if (written.ok()) {
      const bool needed = !dwcp::kube::hasFinalizer(written.value(), "federation.dwcp.io/placement");
      auto withFinalizer =
          dwcp::kube::addFinalizer(client, kVMPlacementResource, written.value(), "federation.dwcp.io/placement");
      if (withFinalizer.ok()) {
        if (needed) ++finalizerWrites;
        return true;
      }
      spdlog::warn("finalizer: {}", withFinalizer.error().toString());
    } else {
      spdlog::warn("status: {}", written.error().toString());
    }
    auto reread = client.get(kVMPlacementResource, object.value("/metadata/namespace"_json_pointer, std::string()),
                             object.value("/metadata/name"_json_pointer, std::string()));
    if (reread.ok()) object = reread.value();
  }
  return false;
}

void createOne(dwcp::kube::Client& client, const Options& o, Timeline& timeline, int index) {
  const json body = vmPlacement(o.ns, index);
  timeline.sent[index] = nowNs();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto created = client.create(kVMPlacementResource, o.ns, body);
    if (created.ok()) {
      timeline.created[index] = nowNs();
      if (o.selfPlace && !writePlaced(client, created.value(), timeline.finalizerWrites)) {
        ++timeline.writeErrors;
      }
      return;
    }
    if (created.error().code == 409) {  // AlreadyExists after a retried request
      timeline.created[index] = nowNs();
      return;
    }
    spdlog::warn("create {}: {}", objectName(index), created.error().toString());
    std::this_thread::sleep_for(50ms);
  }
  ++timeline.createErrors;
}

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

Percentiles percentiles(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(q * static_cast<double>(values.size()) + 0.999999);
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = values.back();
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / static_cast<double>(values.size());
  return p;
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

json toJson(const Percentiles& p) {
  return {{"p50", round3(p.p50)}, {"p90", round3(p.p90)}, {"p99", round3(p.p99)}, {"max", round3(p.max)},
          {"mean", round3(p.mean)}};
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: stdout is the JSON result.
  spdlog::set_default_logger(spdlog::stderr_color_mt("placement_e2e"));
  spdlog::set_level(spdlog::level::warn);
  std::string error;
  auto parsed = parseArgs(argc, argv, error);
  if (!parsed) {
    std::cerr << "placement_e2e: " << error << "\n";
    return 2;
  }
  const Options o = *parsed;
  auto rest = dwcp::kube::loadDefault(o.kubeconfig, "");
  if (!rest.ok()) {
    std::cerr << "placement_e2e: " << rest.error().toString() << "\n";
    return 1;
  }
  dwcp::kube::HttpTransportOptions transportOptions;
  transportOptions.userAgent = "dwcp-placement-e2e";
  auto transport = dwcp::kube::HttpTransport::create(*rest, transportOptions);
  if (!transport.ok()) {
    std::cerr << "placement_e2e: " << transport.error().toString() << "\n";
    return 1;
  }
  dwcp::kube::Client client(transport.value());

  Timeline timeline(o.count);
  PlacedWatcher watcher(client, o.ns, timeline);
  if (!watcher.start()) return 1;

  std::atomic<int> next{0};
  const int64_t startNs = nowNs();
  const double intervalNs = o.mode == Mode::kRate ? 1e9 / o.ratePerSecond : 0;
  std::vector<std::thread> senders;
  for (int t = 0; t < o.threads; ++t) {
    senders.emplace_back([&] {
      for (int i; (i = next++) < o.count;) {
        if (o.mode == Mode::kRate) {
          std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(startNs + static_cast<int64_t>(i * intervalNs))));
        }
        createOne(client, o, timeline, i);
      }
    });
  }
  for (auto& s : senders) s.join();
  const int64_t lastCreatedNs = nowNs();

  const int64_t deadlineNs = lastCreatedNs + static_cast<int64_t>(o.waitSeconds * 1e9);
  const int expected = o.count - timeline.createErrors;
  while (timeline.placedCount < expected && nowNs() < deadlineNs) std::this_thread::sleep_for(10ms);
  watcher.stop();

  std::vector<double> toPlacedMs, createMs;
  int64_t lastPlacedNs = startNs;
  for (int i = 0; i < o.count; ++i) {
    const int64_t sent = timeline.sent[i], created = timeline.created[i], placed = timeline.placed[i];
    if (created) createMs.push_back((created - sent) / 1e6);
    if (placed && sent) {
      toPlacedMs.push_back((placed - sent) / 1e6);
      lastPlacedNs = std::max(lastPlacedNs, placed);
    }
  }
  const double createSeconds = (lastCreatedNs - startNs) / 1e9;
  const double placedSeconds = (lastPlacedNs - startNs) / 1e9;
  const int placed = static_cast<int>(toPlacedMs.size());
  json out = {{"mode", o.mode == Mode::kRate ? "rate" : (o.mode == Mode::kBurst ? "burst" : "ceiling")},
              {"objects", o.count},
              {"sender_threads", o.threads},
              {"created", static_cast<int>(createMs.size())},
              {"create_errors", timeline.createErrors.load()},
              {"placed", placed},
              {"creates_per_second", round3(createMs.size() / createSeconds)},
              {"create_request_ms", toJson(percentiles(createMs))},
              {"create_to_placed_ms", toJson(percentiles(toPlacedMs))},
              {"watch_restarts", watcher.restarts()},
              {"placed_by", o.selfPlace ? "the driver itself (no operator)" : "dwcp-operator"}};
  if (o.mode == Mode::kRate) {
    out["target_rate_per_second"] = o.ratePerSecond;
    out["duration_seconds"] = o.durationSeconds;
  } else {
    // From the first create sent to the last Placed seen.
    out["elapsed_seconds"] = round3(placedSeconds);
    out["placed_per_second"] = round3(placed / placedSeconds);
  }
  if (o.selfPlace) {
    out["status_write_errors"] = timeline.writeErrors.load();
    out["finalizer_writes"] = timeline.finalizerWrites.load();
    out["writes_per_vm"] = timeline.finalizerWrites.load() == 0
                               ? json{"create (finalizer set by the admission policy)", "PUT /status phase Placed"}
                               : json{"create", "PUT /status phase Placed", "add finalizer (JSON patch)"};
  }
  std::cout << out.dump() << std::endl;
  return placed == o.count ? 0 : 3;
}
