// Federation benchmark driver (bench/federation.sh runs it on hack/federation.sh's local regions):
// creates VMPlacements in a home region's cluster, constrained to a target region, each with a
// ConfigMap template, at a steady rate, and timestamps from a watch of the target cluster when each
// workload appears there. The same watch in each cluster follows the target Region's status, so
// the lag between the target's own status and the home cluster's copy of it (carried by
// heartbeats) is measured on one clock. Prints one JSON object on stdout.
//
//   federation_e2e --home-kubeconfig F --target-kubeconfig F --target REGION --namespace NS
//                  --rate R --duration S [--ceiling same|minimal] [--threads T] [--wait-seconds S]
//     --ceiling same      no operator: the driver makes the operators' API writes itself, in
//                         their order: the VMPlacement at home; in the target's cluster the mirror
//                         and the workload, then the mirror's status; at home an Event and the
//                         VMPlacement's status
//     --ceiling minimal   no operator: only the writes no design can do without, the VMPlacement
//                         at home and the workload in the target's cluster
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
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
#include "kube/http_transport.h"
#include "kube/kubeconfig.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using dwcp::api::kRegionResource;
using dwcp::api::kVMPlacementResource;

const dwcp::kube::ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
constexpr const char* kPrefix = "fedbench-";

struct Options {
  std::string homeKubeconfig, targetKubeconfig, target, ns = "fedbench";
  double rate = 20, duration = 60, waitSeconds = 60;
  int threads = 8;
  std::string ceiling;  // "", "same" or "minimal"
};

int64_t nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

std::string nameOf(int index) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%06d", kPrefix, index);
  return buffer;
}

int indexOf(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return -1;
  char* end = nullptr;
  long v = std::strtol(name.c_str() + std::char_traits<char>::length(kPrefix), &end, 10);
  return *end == '\0' ? static_cast<int>(v) : -1;
}

// Reads every event of one watch (from a fresh list) on a thread of its own and hands each object
// to `handle`; re-opens when the stream ends.
class Watch {
 public:
  using Handle = std::function<void(const std::string& type, const json& object)>;
  Watch(dwcp::kube::Client& client, dwcp::kube::ResourceType type, std::string ns, Handle handle)
      : client_(client), type_(std::move(type)), ns_(std::move(ns)), handle_(std::move(handle)) {}
  bool start() {
    auto list = client_.list(type_, ns_);
    if (!list.ok()) {
      spdlog::error("list {}: {}", type_.resource, list.error().toString());
      return false;
    }
    version_ = list->value("/metadata/resourceVersion"_json_pointer, std::string());
    for (const auto& item : list->value("items", json::array())) handle_("ADDED", item);
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

 private:
  bool open() {
    dwcp::kube::WatchOptions options;
    options.resourceVersion = version_;
    options.timeoutSeconds = 1800;
    auto response = client_.watch(type_, ns_, options, std::chrono::seconds(1860));
    if (!response.stream) return false;
    std::lock_guard lock(mu_);
    stream_ = std::move(response.stream);
    return true;
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
        json event = json::parse(buffer.substr(start, nl - start), nullptr, false);
        if (event.is_discarded() || !event.is_object()) continue;
        const std::string type = event.value("type", "");
        if (type == "ERROR" || type == "BOOKMARK") continue;
        version_ = event["object"].value("/metadata/resourceVersion"_json_pointer, version_);
        handle_(type, event["object"]);
      }
      buffer.erase(0, start);
      if (result == dwcp::kube::Stream::ReadResult::kData || stopping_) continue;
      buffer.clear();
      while (!stopping_ && !open()) std::this_thread::sleep_for(200ms);
    }
  }
  dwcp::kube::Client& client_;
  dwcp::kube::ResourceType type_;
  std::string ns_, version_;
  Handle handle_;
  std::mutex mu_;
  std::unique_ptr<dwcp::kube::Stream> stream_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

std::optional<dwcp::kube::Client> clientFor(const std::string& kubeconfig) {
  auto rest = dwcp::kube::loadDefault(kubeconfig, "");
  if (!rest.ok()) {
    std::cerr << "federation_e2e: " << rest.error().toString() << "\n";
    return std::nullopt;
  }
  dwcp::kube::HttpTransportOptions options;
  options.userAgent = "dwcp-federation-e2e";
  auto transport = dwcp::kube::HttpTransport::create(*rest, options);
  if (!transport.ok()) {
    std::cerr << "federation_e2e: " << transport.error().toString() << "\n";
    return std::nullopt;
  }
  return dwcp::kube::Client(transport.value());
}

json percentiles(std::vector<double> values) {
  if (values.empty()) return json::object();
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  auto r = [](double v) { return std::round(v * 10.0) / 10.0; };
  return {{"p50", r(at(0.5))}, {"p90", r(at(0.9))}, {"p99", r(at(0.99))}, {"max", r(values.back())}, {"n", values.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("federation_e2e"));
  spdlog::set_level(spdlog::level::warn);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "federation_e2e: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() {
      const std::string text = value();
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(v > 0)) {
        std::cerr << "federation_e2e: " << arg << " needs a number above 0, got \"" << text << "\"\n";
        std::exit(2);
      }
      return v;
    };
    if (arg == "--home-kubeconfig") o.homeKubeconfig = value();
    else if (arg == "--target-kubeconfig") o.targetKubeconfig = value();
    else if (arg == "--target") o.target = value();
    else if (arg == "--namespace") o.ns = value();
    else if (arg == "--rate") o.rate = number();
    else if (arg == "--duration") o.duration = number();
    else if (arg == "--wait-seconds") o.waitSeconds = number();
    else if (arg == "--threads") o.threads = static_cast<int>(number());
    else if (arg == "--ceiling") {
      o.ceiling = value();
      if (o.ceiling != "same" && o.ceiling != "minimal") {
        std::cerr << "federation_e2e: --ceiling must be same or minimal, got \"" << o.ceiling << "\"\n";
        return 2;
      }
    }
    else {
      std::cerr << "federation_e2e: unknown argument " << arg << "\n";
      return 2;
    }
  }
  if (o.homeKubeconfig.empty() || o.targetKubeconfig.empty() || o.target.empty()) {
    std::cerr << "federation_e2e: --home-kubeconfig, --target-kubeconfig and --target are required\n";
    return 2;
  }
  auto home = clientFor(o.homeKubeconfig);
  auto target = clientFor(o.targetKubeconfig);
  if (!home || !target) return 1;
  const int count = static_cast<int>(o.rate * o.duration);

  std::vector<std::atomic<int64_t>> sent(count), made(count);
  std::atomic<int> madeCount{0}, createErrors{0};
  Watch workloads(*target, kConfigMaps, o.ns, [&](const std::string& type, const json& object) {
    if (type != "ADDED") return;
    const int index = indexOf(object.value("/metadata/name"_json_pointer, std::string()));
    if (index < 0 || index >= count) return;
    int64_t expected = 0;
    if (made[index].compare_exchange_strong(expected, nowNs())) ++madeCount;
  });
  // The target Region's allocation as its own cluster writes it, and as the home cluster's copy.
  std::mutex lagMu;
  std::map<std::string, int64_t> ownSeen, copySeen;  // allocated JSON -> first seen
  auto regionWatch = [&](std::map<std::string, int64_t>& seen) {
    return [&](const std::string&, const json& object) {
      if (object.value("/metadata/name"_json_pointer, std::string()) != o.target) return;
      const json allocated = object.value("/status/allocated"_json_pointer, json());
      if (allocated.is_null()) return;
      std::lock_guard lock(lagMu);
      seen.emplace(allocated.dump(), nowNs());
    };
  };
  Watch ownRegion(*target, kRegionResource, "", regionWatch(ownSeen));
  Watch copyRegion(*home, kRegionResource, "", regionWatch(copySeen));
  if (!workloads.start() || !ownRegion.start() || !copyRegion.start()) return 1;

  auto vm = [&](int index) {
    return json{{"apiVersion", "federation.dwcp.io/v1alpha1"},
                {"kind", "VMPlacement"},
                {"metadata", {{"name", nameOf(index)}, {"namespace", o.ns}}},
                {"spec",
                 {{"resources", {{"cpu", 1}, {"memoryMiB", 512}, {"storageGiB", 1}}},
                  {"constraints", {{"regions", {o.target}}}},
                  {"template", {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"index", std::to_string(index)}}}}}}}};
  };
  const dwcp::kube::ResourceType kEvents{"events.k8s.io", "v1", "events", "Event", true};
  auto placedStatus = [&](const json& object, const std::string& region) {
    json status = {{"phase", "Placed"},
                   {"region", region},
                   {"epoch", 1},
                   {"observedGeneration", object.value("/metadata/generation"_json_pointer, int64_t{1})},
                   {"placedAt", "2026-01-01T00:00:00Z"},
                   {"workloadRef", {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"namespace", o.ns},
                                    {"name", object.value("/metadata/name"_json_pointer, std::string())}, {"cluster", region}}},
                   {"conditions", json::array({{{"type", "Placed"}, {"status", "True"}, {"reason", "Placed"},
                                                {"message", "placed in " + region},
                                                {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}};
    json updated = object;
    updated["status"] = status;
    return updated;
  };
  auto createOne = [&](int index) {
    sent[index] = nowNs();
    auto created = home->create(kVMPlacementResource, o.ns, vm(index));
    if (!created.ok() && created.error().code != 409) {
      spdlog::warn("create {}: {}", nameOf(index), created.error().toString());
      ++createErrors;
      return;
    }
    if (o.ceiling.empty()) return;
    std::optional<json> mirror;
    if (o.ceiling == "same" && created.ok()) {
      json body = vm(index);
      body["metadata"]["name"] = nameOf(index) + ".home";
      body["metadata"]["labels"] = {{"federation.dwcp.io/home", "home"}, {"federation.dwcp.io/vm-uid", "u" + std::to_string(index)}};
      auto made = target->create(kVMPlacementResource, o.ns, body);
      if (made.ok()) mirror = made.value();
    }
    json workload = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", nameOf(index)}, {"namespace", o.ns}}},
                     {"data", {{"index", std::to_string(index)}}}};
    if (mirror) {
      workload["metadata"]["ownerReferences"] = json::array(
          {{{"apiVersion", "federation.dwcp.io/v1alpha1"}, {"kind", "VMPlacement"}, {"name", (*mirror)["metadata"]["name"]},
            {"uid", (*mirror)["metadata"]["uid"]}, {"controller", true}}});
    }
    auto made = target->create(kConfigMaps, o.ns, workload);
    if (!made.ok() && made.error().code != 409) {
      spdlog::warn("create workload {}: {}", nameOf(index), made.error().toString());
      ++createErrors;
      return;
    }
    if (o.ceiling != "same" || !mirror || !created.ok()) return;
    (void)target->updateStatus(kVMPlacementResource, placedStatus(*mirror, o.target));
    json event = {{"apiVersion", "events.k8s.io/v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", nameOf(index) + ".placed"}, {"namespace", o.ns}}},
                  {"eventTime", "2026-01-01T00:00:00.000000Z"},
                  {"reportingController", "federation.dwcp.io/dwcp-operator"},
                  {"reportingInstance", "federation-e2e"},
                  {"action", "Place"},
                  {"reason", "Placed"},
                  {"regarding", {{"apiVersion", "federation.dwcp.io/v1alpha1"}, {"kind", "VMPlacement"},
                                 {"namespace", o.ns}, {"name", nameOf(index)}}},
                  {"note", "placed in " + o.target},
                  {"type", "Normal"}};
    (void)home->create(kEvents, o.ns, event);
    (void)home->updateStatus(kVMPlacementResource, placedStatus(created.value(), o.target));
  };

  std::atomic<int> next{0};
  const int64_t start = nowNs();
  const double interval = 1e9 / o.rate;
  std::vector<std::thread> senders;
  for (int t = 0; t < o.threads; ++t) {
    senders.emplace_back([&] {
      for (int i; (i = next++) < count;) {
        std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(start + static_cast<int64_t>(i * interval))));
        createOne(i);
      }
    });
  }
  for (auto& s : senders) s.join();
  const int64_t deadline = nowNs() + static_cast<int64_t>(o.waitSeconds * 1e9);
  while (madeCount + createErrors < count && nowNs() < deadline) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(2s);  // the last allocation change reaches the home cluster's copy
  workloads.stop();
  ownRegion.stop();
  copyRegion.stop();

  std::vector<double> toWorkload;
  for (int i = 0; i < count; ++i) {
    if (sent[i] && made[i]) toWorkload.push_back((made[i] - sent[i]) / 1e6);
  }
  std::vector<double> lags;
  {
    std::lock_guard lock(lagMu);
    for (const auto& [allocated, own] : ownSeen) {
      if (auto it = copySeen.find(allocated); it != copySeen.end()) lags.push_back((it->second - own) / 1e6);
    }
  }
  json out = {{"mode", o.ceiling.empty() ? "operator" : "ceiling-" + o.ceiling},
              {"target_rate_per_second", o.rate},
              {"duration_seconds", o.duration},
              {"vms", count},
              {"create_errors", createErrors.load()},
              {"workloads_made", madeCount.load()},
              {"create_to_remote_workload_ms", percentiles(toWorkload)},
              {"made_by", o.ceiling == "same"      ? "the driver, the operators' writes (home: VMPlacement; target: mirror, "
                                                     "workload, mirror status; home: Event, status)"
                          : o.ceiling == "minimal" ? "the driver (VMPlacement at home, then the ConfigMap in the target's cluster)"
                                                   : "dwcp-operator (home reserves, target admits, mirrors and applies)"}};
  if (o.ceiling.empty()) out["remote_status_lag_ms"] = percentiles(lags);
  std::cout << out.dump() << std::endl;
  return madeCount + createErrors == count ? 0 : 3;
}
