// The VMPlacement controller's test fixture, shared by the tests of its parts (the decision in
// vmplacement_controller_test.cpp, the workload in workload_test.cpp): objects as the API server
// returns them, FakeApi (a scripted API server over kube::FakeTransport that applies status and
// finalizer patches as the real one does), and VMPlacementControllerTest, which wires a
// controller to them with a fake clock. Header-only; included by tests only.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>
#include <gtest/gtest.h>
#include "controllers/testing/cached.h"
#include "kube/testing/fake_transport.h"
#include "controllers/vmplacement_controller.h"

namespace dwcp::controllers {

using json = nlohmann::json;

constexpr const char* kVMPath = "/apis/federation.dwcp.io/v1alpha1/namespaces/default/vmplacements/";
constexpr const char* kWorkloadPath = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/";
constexpr const char* kEventsPath = "/apis/events.k8s.io/v1/namespaces/default/events";

// ---------------------------------------------------------------------------------------------
// Objects as the API server returns them.

inline json region(const std::string& name, int64_t cpu, std::vector<std::string> compliance = {},
            const std::string& continent = "europe", const std::string& country = "DE", double latitude = 50.11,
            double longitude = 8.68) {
  return json{{"apiVersion", "federation.dwcp.io/v1alpha1"},
              {"kind", "Region"},
              {"metadata", {{"name", name}, {"uid", "uid-" + name}, {"generation", 1}, {"resourceVersion", "50"}}},
              {"spec",
               {{"location",
                 {{"latitude", latitude}, {"longitude", longitude}, {"country", country}, {"continent", continent}}},
                {"capacity", {{"cpu", cpu}, {"memoryMiB", 1048576}, {"storageGiB", 100000}}},
                {"cost", {{"cpuHour", 0.04}, {"memoryGiBHour", 0.005}, {"storageGiBMonth", 0.08}}},
                {"priority", 50},
                {"compliance", compliance},
                {"endpoint", "https://dwcp-" + name + ".example.com:7443"},
                {"enabled", true}}},
              {"status", {{"phase", "Healthy"}, {"healthScore", 100}}}};
}

// The five regions of examples/regions.yaml, healthy.
inline std::vector<json> exampleRegions() {
  auto withPrices = [](json r, int64_t memoryMiB, int64_t storageGiB, int64_t maxVMs, int priority, double cpuHour,
                       double memoryGiBHour, double storageGiBMonth) {
    r["spec"]["capacity"]["memoryMiB"] = memoryMiB;
    r["spec"]["capacity"]["storageGiB"] = storageGiB;
    r["spec"]["capacity"]["maxVMs"] = maxVMs;
    r["spec"]["priority"] = priority;
    r["spec"]["cost"] = {{"cpuHour", cpuHour}, {"memoryGiBHour", memoryGiBHour}, {"storageGiBMonth", storageGiBMonth}};
    return r;
  };
  return {
      withPrices(region("us-east-1", 4096, {"hipaa", "soc2", "pci-dss"}, "north-america", "US", 38.13, -78.45),
                 16777216, 512000, 10000, 90, 0.0416, 0.0056, 0.08),
      withPrices(region("us-west-2", 2048, {"soc2", "pci-dss"}, "north-america", "US", 45.84, -119.70), 8388608,
                 256000, 5000, 80, 0.0416, 0.0056, 0.08),
      withPrices(region("eu-west-1", 2048, {"gdpr", "soc2", "iso27001"}, "europe", "IE", 53.35, -6.26), 8388608,
                 256000, 5000, 75, 0.0464, 0.0062, 0.088),
      withPrices(region("eu-central-1", 1536, {"gdpr", "soc2", "iso27001", "c5"}, "europe", "DE", 50.11, 8.68),
                 6291456, 192000, 4000, 70, 0.048, 0.0064, 0.0952),
      withPrices(region("ap-south-1", 1024, {"soc2"}, "asia", "IN", 19.08, 72.88), 4194304, 128000, 2500, 60,
                 0.0352, 0.0047, 0.1140),
  };
}

inline json vmObject(const std::string& name, int64_t cpu, int priority = 50, bool preemptible = false) {
  return json{{"apiVersion", "federation.dwcp.io/v1alpha1"},
              {"kind", "VMPlacement"},
              {"metadata",
               {{"name", name},
                {"namespace", "default"},
                {"uid", "uid-" + name},
                {"generation", 1},
                {"resourceVersion", "10"},
                {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
              {"spec",
               {{"resources", {{"cpu", cpu}, {"memoryMiB", 1024}, {"storageGiB", 0}}},
                {"priority", priority},
                {"preemptible", preemptible},
                {"algorithm", "hybrid"}}}};
}

// examples/vmplacement.yaml without its template.
inline json exampleVM() {
  json vm = vmObject("web-frontend-01", 4, 70);
  vm["spec"]["resources"] = {{"cpu", 4}, {"memoryMiB", 8192}, {"storageGiB", 100}};
  vm["spec"]["weights"] = {{"latency", 40}, {"cost", 20}, {"capacity", 15}, {"health", 15}, {"priority", 5},
                           {"spread", 5}};
  vm["spec"]["constraints"] = {{"excludeRegions", {"ap-south-1"}},
                               {"continents", {"europe"}},
                               {"compliance", {"gdpr"}},
                               {"origin", {{"latitude", 48.86}, {"longitude", 2.35}}},
                               {"maxLatencyMs", 50},
                               {"minHealth", 80},
                               {"maxCostPerHour", 1.5},
                               {"spreadGroup", "web-frontend"}};
  return vm;
}

inline json vmTemplate() {
  return json{{"apiVersion", "kubevirt.io/v1"},
              {"kind", "VirtualMachine"},
              {"metadata", {{"name", "web-frontend-01"}, {"labels", {{"app.kubernetes.io/name", "web-frontend"}}}}},
              {"spec", {{"runStrategy", "Always"}}}};
}

// A VM our finalizer guards, in `phase` (with `region` when it holds one) at its generation.
inline json withStatus(json vm, const std::string& phase, const std::string& regionName = "", int64_t epoch = 1) {
  vm["metadata"]["finalizers"] = {kPlacementFinalizer};
  vm["status"] = {{"phase", phase}, {"observedGeneration", vm["metadata"]["generation"]}, {"epoch", epoch}};
  if (!regionName.empty()) vm["status"]["region"] = regionName;
  return vm;
}

inline std::string keyOf(const std::string& name) { return "default/" + name; }

inline kube::Response statusError(int code, const std::string& reason) {
  json body = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
               {"reason", reason}, {"message", "scripted " + reason}, {"code", code}};
  return kube::Response{code, body.dump()};
}

inline json conditionOf(const json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) return nullptr;
  for (const json& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == type) return c;
  }
  return nullptr;
}

inline bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// A workload as the controller materializes it for VMPlacement `vmName`: its labels and a
// controller owner reference to the VMPlacement's uid.
inline json ownedWorkload(const std::string& apiVersion, const std::string& kind, const std::string& ns,
                   const std::string& name, const std::string& vmName) {
  return json{{"apiVersion", apiVersion},
              {"kind", kind},
              {"metadata",
               {{"name", name},
                {"namespace", ns},
                {"uid", "uid-workload-" + name},
                {"labels", {{kPlacementLabel, vmName}, {kRegionLabel, "r1"}}},
                {"ownerReferences", json::array({{{"apiVersion", "federation.dwcp.io/v1alpha1"},
                                                  {"kind", "VMPlacement"},
                                                  {"name", vmName},
                                                  {"uid", "uid-" + vmName},
                                                  {"controller", true},
                                                  {"blockOwnerDeletion", true}}})}}}};
}

// status.workloadRef naming `workload`.
inline json refTo(const json& workload) {
  return json{{"apiVersion", workload["apiVersion"]},
              {"kind", workload["kind"]},
              {"namespace", workload["metadata"].value("namespace", "")},
              {"name", workload["metadata"]["name"]},
              {"uid", workload["metadata"]["uid"]}};
}

// ---------------------------------------------------------------------------------------------
// A small API server behind the FakeTransport: VMPlacements with JSON Patch (test ops included)
// and the status subresource under resourceVersion preconditions, KubeVirt discovery and apply,
// and Events. Its objects are ahead of the informer cache until catchUp() copies them over, the
// way a watch would. Thread-safe.
class FakeApi {
 public:
  explicit FakeApi(kube::Store& cache) : cache_(cache) {}

  // Creates or replaces an object on the server and in the cache.
  void put(json object) {
    std::lock_guard lock(mu_);
    const std::string key = kube::objectKey(object);
    cache_.upsert(object);
    server_[key] = std::move(object);
  }
  // The cache sees every write made so far.
  void catchUp() {
    std::lock_guard lock(mu_);
    for (const auto& [key, object] : server_) cache_.upsert(object);
  }
  // Deletes an object on the server only (the watch has not told the cache yet).
  void removeFromServer(const std::string& key) {
    std::lock_guard lock(mu_);
    server_.erase(key);
  }
  json server(const std::string& key) {
    std::lock_guard lock(mu_);
    return server_.count(key) ? server_[key] : json();
  }
  // Every accepted status write, in order: (key, status).
  std::vector<std::pair<std::string, json>> statusWrites() {
    std::lock_guard lock(mu_);
    return statusWrites_;
  }
  std::vector<json> statusWritesOf(const std::string& key) {
    std::vector<json> out;
    for (auto& [k, status] : statusWrites()) {
      if (k == key) out.push_back(status);
    }
    return out;
  }
  void setKubeVirtServed(bool served) {
    std::lock_guard lock(mu_);
    kubevirtServed_ = served;
  }
  // Creates answer 404 (the namespace does not exist in this cluster) while false.
  void setNamespaceExists(bool exists) {
    std::lock_guard lock(mu_);
    namespaceExists_ = exists;
  }
  std::vector<std::string> serverKeys() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [key, object] : server_) out.push_back(key);
    return out;
  }

  kube::Response handle(const kube::Request& request) {
    std::lock_guard lock(mu_);
    const std::string path = request.path.substr(0, request.path.find('?'));
    if (path + "/" == kVMPath && request.method == "POST") return createVMPlacement(request);
    if (startsWith(path, kVMPath)) return vmPlacement(request, path.substr(std::string(kVMPath).size()));
    if (request.method == "GET") {
      if (auto list = discovery(path)) return *list;
    }
    if (startsWith(path, kEventsPath) && request.method == "POST") return {201, request.body};
    if (startsWith(path, kEventsPath) && request.method == "PATCH") return {200, "{}"};
    if (startsWith(path, "/api/v1/") || startsWith(path, "/apis/")) return workloadRequest(request, path);
    return {599, "unexpected request " + request.method + " " + request.path};
  }

  // Workloads (anything but VMPlacements and Events), by their REST path.
  void putWorkload(const std::string& path, json object) {
    std::lock_guard lock(mu_);
    workloads_[path] = std::move(object);
  }
  json workload(const std::string& path) {
    std::lock_guard lock(mu_);
    return workloads_.count(path) ? workloads_[path] : json();
  }
  size_t workloadCount() {
    std::lock_guard lock(mu_);
    return workloads_.size();
  }

 private:
  std::optional<kube::Response> discovery(const std::string& path) {
    auto list = [](const std::string& groupVersion, std::vector<std::tuple<std::string, std::string, bool>> kinds) {
      json resources = json::array();
      for (const auto& [resource, kind, namespaced] : kinds) {
        resources.push_back({{"name", resource}, {"kind", kind}, {"namespaced", namespaced}});
        resources.push_back({{"name", resource + "/status"}, {"kind", kind}, {"namespaced", namespaced}});
      }
      return kube::Response{
          200, json{{"kind", "APIResourceList"}, {"groupVersion", groupVersion}, {"resources", resources}}.dump()};
    };
    if (path == "/apis/kubevirt.io/v1") {
      if (!kubevirtServed_) return statusError(404, "NotFound");
      return list("kubevirt.io/v1", {{"virtualmachines", "VirtualMachine", true}});
    }
    if (path == "/api/v1") {
      return list("v1", {{"configmaps", "ConfigMap", true}, {"namespaces", "Namespace", false}});
    }
    if (path == "/apis/apps/v1") {
      return list("apps/v1", {{"deployments", "Deployment", true}, {"statefulsets", "StatefulSet", true}});
    }
    if (path == "/apis/rbac.authorization.k8s.io/v1") {
      return list("rbac.authorization.k8s.io/v1",
                  {{"rolebindings", "RoleBinding", true}, {"clusterrolebindings", "ClusterRoleBinding", false}});
    }
    return std::nullopt;
  }

  kube::Response workloadRequest(const kube::Request& request, const std::string& path) {
    auto found = workloads_.find(path);
    if (request.method == "PATCH") {
      json workload = json::parse(request.body);
      workload["metadata"]["uid"] = found != workloads_.end()
                                        ? found->second["metadata"]["uid"]
                                        : json("uid-workload-" + workload["metadata"]["name"].get<std::string>());
      workload["metadata"]["resourceVersion"] = nextVersion();
      workloads_[path] = workload;
      return {200, workload.dump()};
    }
    if (found == workloads_.end()) return statusError(404, "NotFound");
    if (request.method == "GET") return {200, found->second.dump()};
    if (request.method == "DELETE") {
      const json options = request.body.empty() ? json::object() : json::parse(request.body);
      const std::string uid = options.value("/preconditions/uid"_json_pointer, std::string());
      if (!uid.empty() && uid != found->second["metadata"]["uid"]) return statusError(409, "Conflict");
      workloads_.erase(found);
      return {200, json{{"kind", "Status"}, {"status", "Success"}}.dump()};
    }
    return {599, "unexpected request " + request.method + " " + request.path};
  }

  std::string nextVersion() { return std::to_string(++version_); }

  // POST (a mirror's creation): AlreadyExists for a taken name; the server sets uid,
  // resourceVersion and generation, and drops status (the status subresource).
  kube::Response createVMPlacement(const kube::Request& request) {
    json object = json::parse(request.body);
    if (!namespaceExists_) return statusError(404, "NotFound");
    const std::string key = kube::objectKey(object);
    if (server_.count(key)) return statusError(409, "AlreadyExists");
    object["metadata"]["uid"] = "uid-" + object["metadata"]["name"].get<std::string>();
    object["metadata"]["resourceVersion"] = nextVersion();
    object["metadata"]["generation"] = 1;
    object.erase("status");
    server_[key] = object;
    return {201, object.dump()};
  }

  kube::Response vmPlacement(const kube::Request& request, const std::string& rest) {
    const auto slash = rest.find('/');
    const std::string name = rest.substr(0, slash);
    const std::string subresource = slash == std::string::npos ? "" : rest.substr(slash + 1);
    const std::string key = keyOf(name);
    auto found = server_.find(key);
    if (found == server_.end()) return statusError(404, "NotFound");
    json& object = found->second;
    if (request.method == "DELETE" && subresource.empty()) {
      const json options = request.body.empty() ? json::object() : json::parse(request.body);
      const std::string uid = options.value("/preconditions/uid"_json_pointer, std::string());
      if (!uid.empty() && uid != object["metadata"]["uid"]) return statusError(409, "Conflict");
      if (object["metadata"].contains("finalizers") && !object["metadata"]["finalizers"].empty()) {
        object["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
        object["metadata"]["resourceVersion"] = nextVersion();
        return {200, object.dump()};
      }
      server_.erase(found);
      return {200, json{{"kind", "Status"}, {"status", "Success"}}.dump()};
    }
    if (request.method == "PUT" && subresource.empty()) {  // update: spec and metadata, status kept
      json body = json::parse(request.body);
      if (body.value("/metadata/resourceVersion"_json_pointer, std::string()) !=
          object["metadata"]["resourceVersion"].get<std::string>()) {
        return statusError(409, "Conflict");
      }
      const json status = object.value("status", json());
      const bool specChanged = body["spec"] != object["spec"];
      body["metadata"]["generation"] = object["metadata"].value("generation", 1) + (specChanged ? 1 : 0);
      body["metadata"]["resourceVersion"] = nextVersion();
      if (!status.is_null()) body["status"] = status;
      object = std::move(body);
      return {200, object.dump()};
    }
    if (request.method == "PATCH" && subresource.empty()) {
      if (request.contentType != "application/json-patch+json") return statusError(415, "UnsupportedMediaType");
      try {
        json patched = object.patch(json::parse(request.body));
        patched["metadata"]["resourceVersion"] = nextVersion();
        object = std::move(patched);
      } catch (const json::exception& e) {
        return statusError(422, "Invalid");  // a failed test op
      }
      return {200, object.dump()};
    }
    // The status apply. This server has one field manager (the controller), so an apply's status
    // replaces the whole status, as server-side apply does for the fields that manager owns.
    if (request.method == "PATCH" && subresource == "status") {
      if (request.contentType != "application/apply-patch+yaml") return statusError(415, "UnsupportedMediaType");
      json body = json::parse(request.body);
      if (body.value("/metadata/resourceVersion"_json_pointer, std::string()) !=
          object["metadata"]["resourceVersion"].get<std::string>()) {
        return statusError(409, "Conflict");
      }
      object["status"] = body["status"];
      object["metadata"]["resourceVersion"] = nextVersion();
      statusWrites_.emplace_back(key, body["status"]);
      return {200, object.dump()};
    }
    return {599, "unexpected request " + request.method + " " + request.path};
  }

  std::mutex mu_;
  kube::Store& cache_;
  std::map<std::string, json> server_;
  std::vector<std::pair<std::string, json>> statusWrites_;
  std::map<std::string, json> workloads_;
  bool kubevirtServed_ = true;
  bool namespaceExists_ = true;
  int64_t version_ = 100;
};

// ---------------------------------------------------------------------------------------------

class VMPlacementControllerTest : public ::testing::Test {
 protected:
  VMPlacementControllerTest()
      : transport_(std::make_shared<kube::FakeTransport>()),
        client_(transport_),
        discovery_(client_, clock_),
        api_(vms_) {
    transport_->setFallback([this](const kube::Request& request) {
      if (intercept_) {
        if (auto response = intercept_(request)) return *response;
      }
      return api_.handle(request);
    });
  }

  VMPlacementController& start(const std::string& localRegion = "", kube::EventRecorder* events = nullptr,
                               placement::EngineConfig engine = {}) {
    VMPlacementControllerDeps deps;
    deps.regions = &regions_;
    deps.vmPlacements = &vms_;
    deps.client = &client_;
    deps.discovery = &discovery_;
    deps.events = events;
    deps.clock = &clock_;
    deps.localRegion = localRegion;
    deps.workloadKinds = workloadKinds_;
    deps.engine = engine;
    deps.observeDecision = [this](double seconds, const std::string& result) {
      std::lock_guard lock(mu_);
      EXPECT_GE(seconds, 0);
      decisions_.push_back(result);
    };
    controller_ = std::make_unique<VMPlacementController>(std::move(deps));
    auto enqueue = [this](const std::string& key, const std::string& reason) {
      std::lock_guard lock(mu_);
      enqueued_.emplace_back(key, reason);
    };
    vmHandler_ = controller_->vmPlacementHandler(enqueue);
    regionHandler_ = controller_->regionHandler(enqueue);
    return *controller_;
  }

  void addRegions(const std::vector<json>& regions) {
    for (const auto& r : regions) regions_.upsert(r);
  }

  kube::ReconcileResult reconcile(const std::string& name) { return controller_->reconcile(keyOf(name), "test"); }

  std::set<std::string> enqueuedKeys() {
    std::lock_guard lock(mu_);
    std::set<std::string> keys;
    for (const auto& [key, reason] : enqueued_) keys.insert(key);
    return keys;
  }
  void clearEnqueued() {
    std::lock_guard lock(mu_);
    enqueued_.clear();
  }

  // The requests of this method whose path starts with the prefix.
  std::vector<kube::Request> requestsTo(const std::string& method, const std::string& prefix) const {
    std::vector<kube::Request> out;
    for (const auto& r : transport_->requests()) {
      if (r.method == method && startsWith(r.path, prefix)) out.push_back(r);
    }
    return out;
  }

  // Status applies (PATCH .../status) and object patches (the finalizer's) to VMPlacements.
  static bool toStatus(const kube::Request& r) {
    const std::string path = r.path.substr(0, r.path.find('?'));
    return path.size() >= 7 && path.compare(path.size() - 7, 7, "/status") == 0;
  }
  std::vector<kube::Request> statusApplies() const {
    std::vector<kube::Request> out;
    for (const auto& r : requestsTo("PATCH", kVMPath)) {
      if (toStatus(r)) out.push_back(r);
    }
    return out;
  }
  std::vector<kube::Request> objectPatches() const {
    std::vector<kube::Request> out;
    for (const auto& r : requestsTo("PATCH", kVMPath)) {
      if (!toStatus(r)) out.push_back(r);
    }
    return out;
  }

  // The VM is deleted and the watch DELETE delivered (cache, then handlers), as the informer does.
  void deleteVM(const std::string& name) {
    const json gone = api_.server(keyOf(name));
    api_.removeFromServer(keyOf(name));
    vms_.erase(keyOf(name));
    vmHandler_.onDelete(*vms_.decode(gone));
  }

  std::shared_ptr<kube::FakeTransport> transport_;
  // Sees every unscripted request before the FakeApi; a response it returns is the answer.
  std::function<std::optional<kube::Response>(const kube::Request&)> intercept_;
  std::vector<WorkloadKind> workloadKinds_ = defaultWorkloadKinds();
  kube::Client client_;
  kube::FakeClock clock_;
  kube::Discovery discovery_;
  kube::Store regions_{regionDecoder()};
  kube::Store vms_{vmPlacementDecoder()};
  FakeApi api_;
  std::unique_ptr<VMPlacementController> controller_;
  kube::EventHandler vmHandler_;
  kube::EventHandler regionHandler_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> enqueued_;
  std::vector<std::string> decisions_;
};

}  // namespace dwcp::controllers
