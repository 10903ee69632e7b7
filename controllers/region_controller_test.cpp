#include "controllers/region_controller.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "api/region.h"
#include "base/strings.h"
#include "controllers/testing/cached.h"
#include "kube/testing/fake_transport.h"
#include "kube/time_format.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kStatusPathPrefix = "/apis/federation.dwcp.io/v1alpha1/regions/";

// A Region as in examples/regions.yaml (us-east-1's shape), as the API server returns it.
json makeRegion(const std::string& name, int64_t generation = 1,
                const std::string& resourceVersion = "100") {
  return json{
      {"apiVersion", "federation.dwcp.io/v1alpha1"},
      {"kind", "Region"},
      {"metadata",
       {{"name", name},
        {"uid", "uid-" + name},
        {"generation", generation},
        {"resourceVersion", resourceVersion}}},
      {"spec",
       {{"displayName", "Region " + name},
        {"cloudProvider", "aws"},
        {"location",
         {{"latitude", 38.13}, {"longitude", -78.45}, {"country", "US"}, {"continent", "north-america"}}},
        {"capacity", {{"cpu", 4096}, {"memoryMiB", 16777216}, {"storageGiB", 512000}, {"maxVMs", 10000}}},
        {"cost", {{"cpuHour", 0.0416}, {"memoryGiBHour", 0.0056}, {"storageGiBMonth", 0.08}}},
        {"priority", 90},
        {"compliance", {"hipaa", "soc2", "pci-dss"}},
        {"endpoint", "https://dwcp-" + name + ".example.com:7443"},
        {"enabled", true}}}};
}

// A VMPlacement as in examples/vmplacement.yaml; an empty region or phase leaves the field out.
json makeVM(const std::string& name, const std::string& region, const std::string& phase, int64_t cpu,
            int64_t memoryMiB, int64_t storageGiB) {
  json vm = {{"apiVersion", "federation.dwcp.io/v1alpha1"},
             {"kind", "VMPlacement"},
             {"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", "7"}}},
             {"spec", {{"resources", {{"cpu", cpu}, {"memoryMiB", memoryMiB}, {"storageGiB", storageGiB}}}}}};
  if (!region.empty()) vm["status"]["region"] = region;
  if (!phase.empty()) vm["status"]["phase"] = phase;
  return vm;
}

// A copy of the condition of this type (null when absent).
json conditionOf(const json& status, const std::string& type) {
  if (!status.contains("conditions")) return nullptr;
  for (const auto& c : status["conditions"]) {
    if (c.value("type", "") == type) return c;
  }
  return nullptr;
}

// A metav1.Status failure body, as the API server sends it.
kube::Response statusError(int code, const std::string& reason) {
  json body = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
               {"reason", reason}, {"message", "scripted " + reason}, {"code", code}};
  return kube::Response{code, body.dump()};
}

api::Region decoded(const json& region) {
  auto parsed = api::parseRegion(region);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : api::Region{};
}

RegionInputs localInputs(const json& region = makeRegion("us-east-1")) {
  RegionInputs in;
  in.region = decoded(region);
  in.local = true;
  return in;
}

// computeRegionStatus over JSON statuses, as the API server stores them.
json compute(const RegionInputs& in, const json& current, api::Time now) {
  auto currentStatus = api::parseRegionStatus(current);
  EXPECT_TRUE(currentStatus.ok()) << currentStatus.error().message;
  auto status = computeRegionStatus(in, currentStatus.ok() ? *currentStatus : api::RegionStatus{}, now);
  EXPECT_TRUE(status.ok()) << status.error().message;
  return status.ok() ? json(*status) : json();
}

// ---------------------------------------------------------------------------------------------
// computeRegionStatus

TEST(ComputeRegionStatusTest, RemoteRegionIsUnknownWithoutCapacityFigures) {
  kube::FakeClock clock;
  RegionInputs in;
  in.region = decoded(makeRegion("eu-west-1"));
  in.local = false;
  in.signals.apiReachable = false;  // our own signals say nothing about a remote region
  in.allocatedCpu = 10;

  json status = compute(in, json::object(), clock.wallNow());

  EXPECT_EQ(status["phase"], "Unknown");
  EXPECT_FALSE(status.contains("allocated"));
  EXPECT_FALSE(status.contains("available"));
  EXPECT_FALSE(status.contains("healthScore"));
  EXPECT_FALSE(status.contains("routingWeight"));
  json ready = conditionOf(status, "Ready");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], "Unknown");
  EXPECT_EQ(ready["reason"], "RemoteRegion");
  json valid = conditionOf(status, "Valid");
  ASSERT_TRUE(valid.is_object());
  EXPECT_EQ(valid["status"], "True");
  EXPECT_TRUE(conditionOf(status, "CapacityAvailable").is_null());
}

// Changes a test applies to the healthy local us-east-1 before computing.
using Setup = std::function<void(RegionInputs&)>;
Setup errorRatio(double ratio) {
  return [ratio](RegionInputs& in) { in.signals.errorRatio = ratio; };
}
Setup threshold(double failoverThreshold) {
  return [failoverThreshold](RegionInputs& in) { in.failoverThreshold = failoverThreshold; };
}
Setup apiUnreachable() {
  return [](RegionInputs& in) { in.signals.apiReachable = false; };
}
Setup apiLatency(double seconds) {
  return [seconds](RegionInputs& in) { in.signals.apiLatencySeconds = seconds; };
}
Setup disabled() {
  return [](RegionInputs& in) { in.region.spec.enabled = false; };
}
Setup enabledUnset() {
  return [](RegionInputs& in) {
    json region = makeRegion("us-east-1");
    region["spec"].erase("enabled");
    in.region = decoded(region);
  };
}
Setup allocated(int64_t cpu, int64_t memoryMiB, int64_t storageGiB, int64_t vms) {
  return [=](RegionInputs& in) {
    in.allocatedCpu = cpu;
    in.allocatedMemoryMiB = memoryMiB;
    in.allocatedStorageGiB = storageGiB;
    in.allocatedVMs = vms;
  };
}
Setup all(std::vector<Setup> setups) {
  return [setups](RegionInputs& in) {
    for (const auto& setup : setups) setup(in);
  };
}

struct HealthCase {
  const char* name;
  Setup setup;
  double wantScore;
  const char* wantPhase;
  int64_t wantRoutingWeight;
  const char* wantReady;  // Ready condition status
  const char* wantReadyReason;
  bool wantCapacityFull;  // CapacityAvailable False/CapacityExhausted, else True/CapacityFree
};
void PrintTo(const HealthCase& c, std::ostream* os) { *os << c.name; }

class ComputeRegionHealthTest : public ::testing::TestWithParam<HealthCase> {};

TEST_P(ComputeRegionHealthTest, ScorePhaseAndConditions) {
  const HealthCase& c = GetParam();
  kube::FakeClock clock;
  RegionInputs in = localInputs();
  if (c.setup) c.setup(in);

  json status = compute(in, json::object(), clock.wallNow());

  ASSERT_TRUE(status.contains("healthScore")) << status.dump();
  EXPECT_DOUBLE_EQ(status["healthScore"].get<double>(), c.wantScore);
  EXPECT_EQ(status["phase"], c.wantPhase);
  EXPECT_EQ(status["routingWeight"], c.wantRoutingWeight);
  json ready = conditionOf(status, "Ready");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], c.wantReady);
  EXPECT_EQ(ready["reason"], c.wantReadyReason);
  json capacity = conditionOf(status, "CapacityAvailable");
  ASSERT_TRUE(capacity.is_object());
  EXPECT_EQ(capacity["status"], c.wantCapacityFull ? "False" : "True");
  EXPECT_EQ(capacity["reason"], c.wantCapacityFull ? "CapacityExhausted" : "CapacityFree");
  for (const auto& condition : status["conditions"]) {
    EXPECT_TRUE(base::isCamelCase(condition["reason"].get<std::string>())) << condition.dump();
  }
}

// us-east-1's capacity: cpu 4096, memoryMiB 16777216, storageGiB 512000, maxVMs 10000.
constexpr const char* kHealthy = "RegionHealthy";
constexpr const char* kBelow = "HealthBelowThreshold";
INSTANTIATE_TEST_SUITE_P(
    Cases, ComputeRegionHealthTest,
    ::testing::Values(
        HealthCase{"Healthy", nullptr, 100, "Healthy", 100, "True", kHealthy, false},
        HealthCase{"Disabled", disabled(), 100, "Disabled", 0, "False", "RegionDisabled", false},
        HealthCase{"DisabledWinsOverFailed", all({disabled(), apiUnreachable()}), 0, "Disabled", 0, "False",
                   "RegionDisabled", false},
        HealthCase{"EnabledUnsetMeansEnabled", enabledUnset(), 100, "Healthy", 100, "True", kHealthy, false},
        HealthCase{"HalfErrorsAtThreshold70", errorRatio(0.5), 70, "Healthy", 70, "True", kHealthy, false},
        HealthCase{"HalfErrorsAtThreshold75", all({errorRatio(0.5), threshold(75)}), 70, "Degraded", 0,
                   "False", kBelow, false},
        HealthCase{"AllErrors", errorRatio(1.0), 40, "Degraded", 0, "False", kBelow, false},
        HealthCase{"ApiUnreachable", apiUnreachable(), 0, "Failed", 0, "False", kBelow, false},
        HealthCase{"SlowApi", apiLatency(1.5), 90, "Healthy", 90, "True", kHealthy, false},
        HealthCase{"ApiAtOneSecondIsNotSlow", apiLatency(1.0), 100, "Healthy", 100, "True", kHealthy,
                   false},
        HealthCase{"SlowApiAndHalfErrors", all({apiLatency(3), errorRatio(0.5)}), 60, "Degraded", 0, "False",
                   kBelow, false},
        HealthCase{"Utilization90IsFree", allocated(3686, 0, 0, 0), 100, "Healthy", 100, "True", kHealthy,
                   false},
        HealthCase{"CpuUtilization95", allocated(3891, 0, 0, 0), 90, "Healthy", 90, "True", kHealthy, false},
        HealthCase{"MemoryUtilization100", allocated(0, 16777216, 0, 0), 80, "Healthy", 80, "True", kHealthy,
                   true},
        HealthCase{"StorageOverAllocatedIsCappedAt20", allocated(0, 0, 1024000, 0), 80, "Healthy", 80, "True",
                   kHealthy, true},
        HealthCase{"AllVMSlotsUsed", allocated(0, 0, 0, 10000), 80, "Healthy", 80, "True", kHealthy, true},
        HealthCase{"FullAndErrorsBelowThreshold", all({allocated(4096, 0, 0, 0), errorRatio(0.25)}), 65,
                   "Degraded", 0, "False", kBelow, true}),
    [](const ::testing::TestParamInfo<HealthCase>& info) { return std::string(info.param.name); });

TEST(ComputeRegionStatusTest, AvailableIsCapacityMinusAllocatedClampedAtZero) {
  kube::FakeClock clock;
  RegionInputs in = localInputs();
  in.allocatedCpu = 96;
  in.allocatedMemoryMiB = 16777216 + 5;  // over-committed
  in.allocatedStorageGiB = 2000;
  in.allocatedVMs = 12;

  json status = compute(in, json::object(), clock.wallNow());

  EXPECT_EQ(status["allocated"],
            (json{{"cpu", 96}, {"memoryMiB", 16777216 + 5}, {"storageGiB", 2000}, {"vms", 12}}));
  EXPECT_EQ(status["available"],
            (json{{"cpu", 4000}, {"memoryMiB", 0}, {"storageGiB", 510000}, {"vms", 9988}}));
}

TEST(ComputeRegionStatusTest, AvailableVMsOnlyWhenMaxVMsIsSet) {
  kube::FakeClock clock;
  RegionInputs in = localInputs();
  in.region.spec.capacity.maxVMs.reset();
  in.allocatedVMs = 3;

  json status = compute(in, json::object(), clock.wallNow());

  EXPECT_FALSE(status["available"].contains("vms")) << status["available"].dump();
  EXPECT_EQ(status["allocated"]["vms"], 3);
  // Without maxVMs, the VM count alone never makes the region full.
  EXPECT_EQ(conditionOf(status, "CapacityAvailable")["status"], "True");
  EXPECT_DOUBLE_EQ(status["healthScore"].get<double>(), 100);
}

TEST(ComputeRegionStatusTest, DuplicateEndpointMakesSpecInvalid) {
  kube::FakeClock clock;
  for (bool local : {true, false}) {
    SCOPED_TRACE(local ? "local" : "remote");
    RegionInputs in = localInputs();
    in.local = local;
    in.duplicateEndpointOf = "us-west-2";

    json status = compute(in, json::object(), clock.wallNow());

    json valid = conditionOf(status, "Valid");
    ASSERT_TRUE(valid.is_object());
    EXPECT_EQ(valid["status"], "False");
    EXPECT_EQ(valid["reason"], "DuplicateEndpoint");
    EXPECT_NE(valid["message"].get<std::string>().find("us-west-2"), std::string::npos) << valid.dump();
  }
}

TEST(ComputeRegionStatusTest, InvalidSpecChangesOnlyValidAndObservedGeneration) {
  kube::FakeClock clock;
  const json before = compute(localInputs(), json::object(), clock.wallNow());
  RegionInputs in = localInputs(makeRegion("us-east-1", 2));
  in.invalidSpec = "spec.capacity.cpu: must be an integer";
  in.region.spec = api::RegionSpec{};  // nothing of it is read

  json status = compute(in, before, clock.wallNow());

  EXPECT_EQ(status["observedGeneration"], 2);
  EXPECT_EQ(conditionOf(status, "Valid")["reason"], "InvalidSpec");
  for (const char* field : {"phase", "healthScore", "allocated", "available", "routingWeight"}) {
    EXPECT_EQ(status[field], before[field]) << field;
  }
  EXPECT_EQ(conditionOf(status, "Ready"), conditionOf(before, "Ready"));
}

TEST(ComputeRegionStatusTest, ObservedGenerationIsMetadataGeneration) {
  kube::FakeClock clock;
  for (bool local : {true, false}) {
    SCOPED_TRACE(local ? "local" : "remote");
    RegionInputs in = localInputs(makeRegion("us-east-1", 7));
    in.local = local;

    json status = compute(in, json::object(), clock.wallNow());

    EXPECT_EQ(status["observedGeneration"], 7);
    ASSERT_FALSE(status["conditions"].empty());
    for (const auto& condition : status["conditions"]) {
      EXPECT_EQ(condition["observedGeneration"], 7) << condition.dump();
    }
  }
}

TEST(ComputeRegionStatusTest, LastTransitionTimeChangesOnlyWhenStatusFlips) {
  kube::FakeClock clock;
  const std::string t0 = kube::formatRfc3339(clock.wallNow());
  ASSERT_EQ(t0, "2026-01-01T00:00:00Z");
  RegionInputs in = localInputs();
  json first = compute(in, json::object(), clock.wallNow());
  for (const auto& condition : first["conditions"]) EXPECT_EQ(condition["lastTransitionTime"], t0);

  // Same facts an hour later: every condition keeps its time, so the status is equal.
  clock.advance(1h);
  json same = compute(in, first, clock.wallNow());
  EXPECT_EQ(first, same);

  // Health drops below the threshold: Ready flips True -> False, the others stay.
  clock.advance(1h);
  const std::string t2 = kube::formatRfc3339(clock.wallNow());
  in.signals.errorRatio = 1.0;
  json degraded = compute(in, same, clock.wallNow());
  EXPECT_EQ(conditionOf(degraded, "Ready")["status"], "False");
  EXPECT_EQ(conditionOf(degraded, "Ready")["lastTransitionTime"], t2);
  EXPECT_EQ(conditionOf(degraded, "Valid")["lastTransitionTime"], t0);
  EXPECT_EQ(conditionOf(degraded, "CapacityAvailable")["lastTransitionTime"], t0);

  // Disabled: Ready stays False (another reason and message), so its time stays t2.
  clock.advance(1h);
  in.region.spec.enabled = false;
  json disabled = compute(in, degraded, clock.wallNow());
  EXPECT_EQ(conditionOf(disabled, "Ready")["reason"], "RegionDisabled");
  EXPECT_EQ(conditionOf(disabled, "Ready")["lastTransitionTime"], t2);

  // Enabled and healthy again: Ready flips back, stamped with the new time.
  clock.advance(1h);
  const std::string t4 = kube::formatRfc3339(clock.wallNow());
  in.region.spec.enabled = true;
  in.signals.errorRatio = 0;
  json healthy = compute(in, disabled, clock.wallNow());
  EXPECT_EQ(conditionOf(healthy, "Ready")["status"], "True");
  EXPECT_EQ(conditionOf(healthy, "Ready")["lastTransitionTime"], t4);
  EXPECT_EQ(conditionOf(healthy, "Valid")["lastTransitionTime"], t0);
}

TEST(ComputeRegionStatusTest, KeepsConditionsAndFieldsItDoesNotOwn) {
  kube::FakeClock clock;
  json current = {{"phase", "Healthy"},
                  {"epoch", 3},
                  {"lastHeartbeatTime", "2025-12-31T23:59:50Z"},
                  {"peers", {{{"region", "us-west-2"}, {"latencyMs", 61.5}, {"reachable", true}}}},
                  {"failoverReadiness", {{"ready", true}, {"unplaceableVMs", 0}}},
                  {"conditions",
                   {{{"type", "FailoverReady"},
                     {"status", "True"},
                     {"reason", "AllVMsFit"},
                     {"message", "every VM fits elsewhere"},
                     {"observedGeneration", 1},
                     {"lastTransitionTime", "2025-12-01T00:00:00Z"}}}}};
  for (bool local : {true, false}) {
    SCOPED_TRACE(local ? "local" : "remote");
    RegionInputs in = localInputs();
    in.local = local;

    json status = compute(in, current, clock.wallNow());

    EXPECT_EQ(conditionOf(status, "FailoverReady"), current["conditions"][0]);
    for (const char* field : {"epoch", "lastHeartbeatTime", "peers", "failoverReadiness"}) {
      EXPECT_EQ(status.value(field, json()), current[field]) << field << " in " << status.dump();
    }
  }
}

TEST(ComputeRegionStatusTest, RegionThatTurnsRemoteDropsLocalFigures) {
  kube::FakeClock clock;
  json local = compute(localInputs(), json::object(), clock.wallNow());
  ASSERT_TRUE(local.contains("allocated"));

  RegionInputs in = localInputs();
  in.local = false;
  json remote = compute(in, local, clock.wallNow());
  EXPECT_EQ(remote["phase"], "Unknown");
  for (const char* field : {"allocated", "available", "healthScore", "routingWeight"}) {
    EXPECT_FALSE(remote.contains(field)) << field << " in " << remote.dump();
  }
  // CapacityAvailable from the local days is left alone (no writer of ours computes it now).
  EXPECT_EQ(conditionOf(remote, "Ready")["reason"], "RemoteRegion");
}

// ---------------------------------------------------------------------------------------------
// RegionController::reconcile

class RegionControllerTest : public ::testing::Test {
 protected:
  RegionControllerTest() : transport_(std::make_shared<kube::FakeTransport>()), client_(transport_) {
    deps_.regions = &regions_;
    vms_.addIndex(kVMPlacementsByRegion, vmPlacementsByRegion());  // as the operator's setup does
    deps_.vmPlacements = &vms_;
    deps_.client = &client_;
    deps_.clock = &clock_;
    deps_.signals = &signals_;
    deps_.localRegion = "us-east-1";
    deps_.reportHealth = [this](const std::string& region, double score) {
      reported_.emplace_back(region, score);
    };
  }

  // Answers status applies like the API server: the object with the applied status and a new
  // resourceVersion.
  void echoStatusWrites() {
    transport_->setFallback([](const kube::Request& request) {
      if (request.method != "PATCH" || request.path.rfind(kStatusPathPrefix, 0) != 0) {
        return kube::Response{599, "unexpected request " + request.method + " " + request.path};
      }
      return kube::Response{200, serverCopy(request).dump()};
    });
  }

  // The Region as the server holds it after the status apply `write` (one that started without
  // status: every field the apply names is the controller's).
  static json serverCopy(const kube::Request& write) {
    const json body = json::parse(write.body);
    json object = makeRegion(body["metadata"]["name"].get<std::string>(), 1, "200");
    object["status"] = body["status"];
    return object;
  }

  kube::ReconcileResult reconcile(const std::string& key) {
    RegionController controller(deps_);
    return controller.reconcile(key, "test");
  }

  std::vector<kube::Request> statusWrites() const {
    std::vector<kube::Request> writes;
    for (const auto& r : transport_->requests()) {
      if (r.method == "PATCH" && r.path.find("/status") != std::string::npos) writes.push_back(r);
    }
    return writes;
  }

  static std::string statusPath(const std::string& name) {
    return std::string(kStatusPathPrefix) + name + "/status";
  }

  kube::Store regions_{regionDecoder()};
  kube::Store vms_{vmPlacementDecoder()};
  std::shared_ptr<kube::FakeTransport> transport_;
  kube::Client client_;
  kube::FakeClock clock_;
  HealthSignals signals_{10};
  RegionControllerDeps deps_;
  std::vector<std::pair<std::string, double>> reported_;
};

TEST_F(RegionControllerTest, WritesChangedStatusThroughTheStatusSubresource) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1", 4, "123"), makeRegion("us-west-2")});

  kube::ReconcileResult result = reconcile("us-east-1");

  EXPECT_TRUE(result.ok()) << result.error.value_or("");
  EXPECT_FALSE(result.requeueAfter.has_value());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].path, statusPath("us-east-1") + "?fieldManager=dwcp-operator&force=true");
  EXPECT_EQ(writes[0].contentType, "application/apply-patch+yaml");
  ASSERT_EQ(transport_->requests().size(), 1u);  // no GET, no other write
  json body = json::parse(writes[0].body);
  EXPECT_EQ(body["metadata"]["resourceVersion"], "123");  // the cached object's: the precondition
  EXPECT_EQ(body["metadata"]["name"], "us-east-1");
  EXPECT_EQ(body["apiVersion"], "federation.dwcp.io/v1alpha1");
  EXPECT_EQ(body["kind"], "Region");
  EXPECT_FALSE(body.contains("spec")) << "an apply names only the fields it owns";
  const json& status = body["status"];
  EXPECT_EQ(status["phase"], "Healthy");
  EXPECT_DOUBLE_EQ(status["healthScore"].get<double>(), 100);
  EXPECT_EQ(status["routingWeight"], 100);
  EXPECT_EQ(status["observedGeneration"], 4);
  EXPECT_EQ(status["available"]["cpu"], 4096);
  EXPECT_EQ(conditionOf(status, "Ready")["status"], "True");
}

TEST_F(RegionControllerTest, WritesNothingWhenTheCachedStatusIsCurrent) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1"), makeRegion("us-west-2")});
  ASSERT_TRUE(reconcile("us-east-1").ok());
  ASSERT_TRUE(reconcile("us-west-2").ok());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 2u);

  // The watch brings back what was written (through JSON text, as the server sends it).
  std::vector<json> written;
  for (const auto& w : writes) written.push_back(json::parse(serverCopy(w).dump()));
  regions_.replace(written);
  clock_.advance(10min);

  auto before = transport_->requests().size();
  for (const char* key : {"us-east-1", "us-west-2"}) {
    SCOPED_TRACE(key);
    kube::ReconcileResult result = reconcile(key);
    EXPECT_TRUE(result.ok());
    EXPECT_FALSE(result.requeueAfter.has_value());
  }
  EXPECT_EQ(transport_->requests().size(), before);
}

TEST_F(RegionControllerTest, IntegerHealthScoreFromTheServerEqualsTheComputedOne) {
  // The API server stores healthScore as a float64 and prints 100, not 100.0.
  json region = makeRegion("us-east-1");
  RegionInputs in = localInputs(region);
  region["status"] = compute(in, json::object(), clock_.wallNow());
  region["status"]["healthScore"] = 100;
  ASSERT_TRUE(region["status"]["healthScore"].is_number_integer());
  regions_.replace({region});

  EXPECT_TRUE(reconcile("us-east-1").ok());
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(RegionControllerTest, GenerationChangeIsWrittenEvenWithSameFacts) {
  echoStatusWrites();
  json region = makeRegion("us-east-1", 1);
  region["status"] = compute(localInputs(region), json::object(), clock_.wallNow());
  region["metadata"]["generation"] = 2;  // spec edited, status not yet caught up
  regions_.replace({region});

  EXPECT_TRUE(reconcile("us-east-1").ok());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(json::parse(writes[0].body)["status"]["observedGeneration"], 2);
}

struct WriteOutcomeCase {
  const char* name;
  kube::Response response;
  bool wantOk;
  bool wantRequeue;
  bool wantConflict = false;  // retried promptly through the per-key backoff
};
void PrintTo(const WriteOutcomeCase& c, std::ostream* os) { *os << c.name; }

class RegionControllerWriteOutcomeTest : public RegionControllerTest,
                                         public ::testing::WithParamInterface<WriteOutcomeCase> {};

TEST_P(RegionControllerWriteOutcomeTest, MapsTheStatusWriteResult) {
  const WriteOutcomeCase& c = GetParam();
  regions_.replace({makeRegion("us-east-1")});
  transport_->expect("PATCH", statusPath("us-east-1"), c.response);

  kube::ReconcileResult result = reconcile("us-east-1");

  EXPECT_EQ(transport_->count("PATCH", statusPath("us-east-1")), 1u);
  EXPECT_EQ(transport_->pendingExpectations(), 0u);
  EXPECT_EQ(result.ok(), c.wantOk) << result.error.value_or("");
  EXPECT_EQ(result.requeueAfter.has_value(), c.wantRequeue);
  EXPECT_EQ(result.conflicted(), c.wantConflict);
  if (c.wantRequeue) {
    EXPECT_GT(*result.requeueAfter, 0ms);
  }
  if (!c.wantOk) {
    EXPECT_NE(result.error->find("us-east-1"), std::string::npos) << *result.error;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegionControllerWriteOutcomeTest,
    ::testing::Values(
        WriteOutcomeCase{"Written", {200, makeRegion("us-east-1", 1, "101").dump()}, true, false},
        WriteOutcomeCase{"ConflictRetriesThroughTheBackoff", statusError(409, "Conflict"), true, false, true},
        WriteOutcomeCase{"NotFoundIsDone", statusError(404, "NotFound"), true, false},
        WriteOutcomeCase{"ServerErrorFails", statusError(500, "InternalError"), false, false},
        WriteOutcomeCase{"ForbiddenFails", statusError(403, "Forbidden"), false, false},
        WriteOutcomeCase{"UnprocessableFails", statusError(422, "Invalid"), false, false},
        WriteOutcomeCase{"ConnectionRefusedFails", {0, "connection refused"}, false, false}),
    [](const ::testing::TestParamInfo<WriteOutcomeCase>& info) { return std::string(info.param.name); });

TEST_F(RegionControllerTest, MissingKeyIsSuccessWithoutRequests) {
  regions_.replace({makeRegion("us-west-2")});
  kube::ReconcileResult result = reconcile("us-east-1");
  EXPECT_TRUE(result.ok());
  EXPECT_FALSE(result.requeueAfter.has_value());
  EXPECT_TRUE(transport_->requests().empty());
  EXPECT_TRUE(reported_.empty());
}

TEST_F(RegionControllerTest, DeletingRegionIsLeftAlone) {
  json region = makeRegion("us-east-1");
  region["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  region["metadata"]["finalizers"] = {"federation.dwcp.io/region"};
  regions_.replace({region});

  kube::ReconcileResult result = reconcile("us-east-1");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(RegionControllerTest, AllocatedSumsOnlyPlacementsHoldingCapacityInTheRegion) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1"), makeRegion("us-west-2")});
  vms_.replace({
      makeVM("placed", "us-east-1", "Placed", 4, 8192, 100),
      makeVM("migrating", "us-east-1", "Migrating", 2, 4096, 50),
      makeVM("placed-elsewhere", "us-west-2", "Placed", 64, 65536, 1000),
      makeVM("pending-here", "us-east-1", "Pending", 8, 8192, 10),
      makeVM("failed-here", "us-east-1", "Failed", 8, 8192, 10),
      makeVM("preempted-here", "us-east-1", "Preempted", 8, 8192, 10),
      makeVM("no-phase", "us-east-1", "", 8, 8192, 10),
      makeVM("unplaced", "", "", 16, 16384, 20),
  });

  ASSERT_TRUE(reconcile("us-east-1").ok());

  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  json status = json::parse(writes[0].body)["status"];
  EXPECT_EQ(status["allocated"], (json{{"cpu", 6}, {"memoryMiB", 12288}, {"storageGiB", 150}, {"vms", 2}}));
  EXPECT_EQ(status["available"],
            (json{{"cpu", 4090}, {"memoryMiB", 16777216 - 12288}, {"storageGiB", 511850}, {"vms", 9998}}));
}

TEST_F(RegionControllerTest, SumAllocatedAddsToTheGivenInputs) {
  vms_.replace({makeVM("a", "us-west-2", "Placed", 4, 8192, 100),
                makeVM("b", "us-west-2", "Migrating", 1, 1, 1),
                makeVM("c", "us-east-1", "Placed", 100, 100, 100)});
  RegionController controller(deps_);
  RegionInputs in;
  in.allocatedCpu = 1;
  RegionInputs out = controller.sumAllocated("us-west-2", in);
  EXPECT_EQ(out.allocatedCpu, 6);
  EXPECT_EQ(out.allocatedMemoryMiB, 8193);
  EXPECT_EQ(out.allocatedStorageGiB, 101);
  EXPECT_EQ(out.allocatedVMs, 2);

  RegionInputs none = controller.sumAllocated("ap-south-1", RegionInputs{});
  EXPECT_EQ(none.allocatedCpu, 0);
  EXPECT_EQ(none.allocatedVMs, 0);
}

// Without the index the sums scan the whole cache, and agree with the indexed ones.
TEST_F(RegionControllerTest, SumAllocatedWithoutTheIndexScansAndAgrees) {
  const std::vector<json> vms = {makeVM("a", "us-west-2", "Placed", 4, 8192, 100),
                                 makeVM("b", "us-west-2", "Migrating", 1, 1, 1),
                                 makeVM("c", "us-east-1", "Placed", 100, 100, 100),
                                 makeVM("d", "us-west-2", "Pending", 7, 7, 7)};
  kube::Store plain(vmPlacementDecoder());
  plain.replace(vms);
  vms_.replace(vms);
  RegionControllerDeps deps = deps_;
  deps.vmPlacements = &plain;
  ASSERT_FALSE(plain.hasIndex(kVMPlacementsByRegion));
  RegionController scanning(deps);
  RegionController indexed(deps_);
  for (const char* region : {"us-west-2", "us-east-1", "ap-south-1"}) {
    RegionInputs a = scanning.sumAllocated(region, RegionInputs{});
    RegionInputs b = indexed.sumAllocated(region, RegionInputs{});
    EXPECT_EQ(a.allocatedCpu, b.allocatedCpu) << region;
    EXPECT_EQ(a.allocatedMemoryMiB, b.allocatedMemoryMiB) << region;
    EXPECT_EQ(a.allocatedStorageGiB, b.allocatedStorageGiB) << region;
    EXPECT_EQ(a.allocatedVMs, b.allocatedVMs) << region;
  }
  EXPECT_EQ(indexed.sumAllocated("us-west-2", RegionInputs{}).allocatedCpu, 5);
}

TEST_F(RegionControllerTest, ReportsHealthForTheLocalRegionOnly) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1"), makeRegion("us-west-2")});
  signals_.recordReconcile(true);
  signals_.recordReconcile(false);  // error ratio 0.5 -> score 70

  ASSERT_TRUE(reconcile("us-west-2").ok());
  EXPECT_TRUE(reported_.empty());

  ASSERT_TRUE(reconcile("us-east-1").ok());
  ASSERT_EQ(reported_.size(), 1u);
  EXPECT_EQ(reported_[0].first, "us-east-1");
  EXPECT_DOUBLE_EQ(reported_[0].second, 70);
}

TEST_F(RegionControllerTest, SignalsDriveTheWrittenStatus) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1")});
  signals_.recordApiProbe(false, 10.0);

  ASSERT_TRUE(reconcile("us-east-1").ok());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  json status = json::parse(writes[0].body)["status"];
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_DOUBLE_EQ(status["healthScore"].get<double>(), 0);
  EXPECT_EQ(status["routingWeight"], 0);
  ASSERT_EQ(reported_.size(), 1u);
  EXPECT_DOUBLE_EQ(reported_[0].second, 0);
}

TEST_F(RegionControllerTest, RemoteRegionIsWrittenAsUnknown) {
  echoStatusWrites();
  regions_.replace({makeRegion("us-east-1"), makeRegion("eu-west-1")});
  vms_.replace({makeVM("placed", "eu-west-1", "Placed", 4, 8192, 100)});

  ASSERT_TRUE(reconcile("eu-west-1").ok());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].path.substr(0, writes[0].path.find('?')), statusPath("eu-west-1"));
  json status = json::parse(writes[0].body)["status"];
  EXPECT_EQ(status["phase"], "Unknown");
  EXPECT_FALSE(status.contains("allocated"));
  EXPECT_EQ(conditionOf(status, "Ready")["reason"], "RemoteRegion");
}

TEST_F(RegionControllerTest, DuplicateEndpointIsReportedOnBothRegions) {
  echoStatusWrites();
  json east = makeRegion("us-east-1");
  json west = makeRegion("us-west-2");
  west["spec"]["endpoint"] = east["spec"]["endpoint"];
  regions_.replace({east, west, makeRegion("eu-west-1")});

  for (auto [key, other] : {std::pair{"us-east-1", "us-west-2"}, std::pair{"us-west-2", "us-east-1"}}) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(reconcile(key).ok());
    auto writes = statusWrites();
    ASSERT_FALSE(writes.empty());
    json valid = conditionOf(json::parse(writes.back().body)["status"], "Valid");
    EXPECT_EQ(valid["status"], "False");
    EXPECT_EQ(valid["reason"], "DuplicateEndpoint");
    EXPECT_NE(valid["message"].get<std::string>().find(other), std::string::npos) << valid.dump();
  }
  ASSERT_TRUE(reconcile("eu-west-1").ok());
  EXPECT_EQ(conditionOf(json::parse(statusWrites().back().body)["status"], "Valid")["status"], "True");
}

TEST_F(RegionControllerTest, SpecThatBypassedTheSchemaIsReportedInvalidNamingTheField) {
  echoStatusWrites();
  json region = makeRegion("us-east-1");
  region["spec"]["priority"] = 500;               // the CRD says 0-100
  region["spec"]["capacity"]["cpu"] = "lots";     // and an integer
  region["spec"]["enabled"] = "yes";              // and a boolean
  regions_.replace({region});

  ASSERT_TRUE(reconcile("us-east-1").ok());
  auto writes = statusWrites();
  ASSERT_EQ(writes.size(), 1u);
  json valid = conditionOf(json::parse(writes[0].body)["status"], "Valid");
  EXPECT_EQ(valid["status"], "False");
  EXPECT_EQ(valid["reason"], "InvalidSpec");
  const std::string message = valid["message"].get<std::string>();
  EXPECT_NE(message.find("spec.priority"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.capacity.cpu"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.enabled"), std::string::npos) << message;
}

TEST_F(RegionControllerTest, PhaseChangeRecordsAnEvent) {
  auto fallback = [](const kube::Request& request) {
    json object = json::parse(request.body);
    if (request.method == "POST") return kube::Response{201, object.dump()};
    object["metadata"]["resourceVersion"] = "200";
    return kube::Response{200, object.dump()};
  };
  transport_->setFallback(fallback);
  kube::EventRecorder recorder(client_, clock_, {"dwcp.io/federation-operator", "pod-0"});
  deps_.events = &recorder;

  json region = makeRegion("us-east-1");
  region["status"] = compute(localInputs(region), json::object(), clock_.wallNow());
  regions_.replace({region});
  signals_.recordReconcile(false);  // error ratio 1 -> 40 -> Degraded

  ASSERT_TRUE(reconcile("us-east-1").ok());
  recorder.processPending();
  ASSERT_EQ(transport_->count("POST", "/apis/events.k8s.io/v1/"), 1u);
  json event;
  for (const auto& r : transport_->requests()) {
    if (r.method == "POST") event = json::parse(r.body);
  }
  EXPECT_EQ(event["reason"], "PhaseChanged");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["regarding"]["name"], "us-east-1");
  EXPECT_NE(event["note"].get<std::string>().find("Healthy -> Degraded"), std::string::npos) << event.dump();

  // Only the allocation changes: a status write, but no event.
  regions_.replace({serverCopy(statusWrites().back())});
  vms_.replace({makeVM("placed", "us-east-1", "Placed", 4, 8192, 100)});
  ASSERT_TRUE(reconcile("us-east-1").ok());
  recorder.processPending();
  EXPECT_EQ(statusWrites().size(), 2u);
  EXPECT_EQ(transport_->count("POST", "/apis/events.k8s.io/v1/"), 1u);
}

// ---------------------------------------------------------------------------------------------
// Event handlers

struct Enqueued {
  std::string key;
  std::string reason;
};

class RegionHandlersTest : public RegionControllerTest {
 protected:
  RegionController::Enqueue recorder() {
    return [this](const std::string& key, const std::string& reason) { enqueued_.push_back({key, reason}); };
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& e : enqueued_) out.push_back(e.key);
    return out;
  }
  std::vector<Enqueued> enqueued_;
};

TEST_F(RegionHandlersTest, RegionHandlerEnqueuesTheObjectKey) {
  RegionController controller(deps_);
  kube::EventHandler h = controller.regionHandler(recorder());
  ASSERT_TRUE(h.onAdd && h.onUpdate && h.onDelete);

  json before = makeRegion("us-east-1", 1, "100");
  json statusOnly = makeRegion("us-east-1", 1, "101");
  statusOnly["status"]["phase"] = "Healthy";
  json specEdit = makeRegion("us-east-1", 2, "102");

  h.onAdd(*cachedRegion(before));
  h.onUpdate(*cachedRegion(before), *cachedRegion(statusOnly));
  h.onUpdate(*cachedRegion(statusOnly), *cachedRegion(specEdit));
  h.onDelete(*cachedRegion(specEdit));

  EXPECT_EQ(keys(), (std::vector<std::string>{"us-east-1", "us-east-1", "us-east-1", "us-east-1"}));
  for (const auto& e : enqueued_) EXPECT_FALSE(e.reason.empty());
  // The reason says why the reconcile ran: a spec change is told apart from other updates.
  EXPECT_NE(enqueued_[1].reason, enqueued_[2].reason);
  EXPECT_NE(enqueued_[2].reason.find("spec"), std::string::npos) << enqueued_[2].reason;
}

struct VMHandlerCase {
  const char* name;
  std::function<void(const kube::EventHandler&)> fire;  // calls the handler
  std::vector<std::string> wantKeys;
};
void PrintTo(const VMHandlerCase& c, std::ostream* os) { *os << c.name; }

class VMPlacementHandlerTest : public RegionHandlersTest,
                               public ::testing::WithParamInterface<VMHandlerCase> {};

TEST_P(VMPlacementHandlerTest, EnqueuesTheRegionsTheVMIsOrWasIn) {
  RegionController controller(deps_);
  kube::EventHandler h = controller.vmPlacementHandler(recorder());
  ASSERT_TRUE(h.onAdd && h.onUpdate && h.onDelete);
  GetParam().fire(h);
  EXPECT_EQ(keys(), GetParam().wantKeys);
  for (const auto& e : enqueued_) EXPECT_FALSE(e.reason.empty());
}

json vmIn(const std::string& region, const std::string& phase = "Placed") {
  return makeVM("web-frontend-01", region, region.empty() ? "" : phase, 4, 8192, 100);
}

using Fire = std::function<void(const kube::EventHandler&)>;
Fire added(json vm) {
  return [vm](const kube::EventHandler& h) { h.onAdd(*cachedVMPlacement(vm)); };
}
Fire updated(json before, json after) {
  return [before, after](const kube::EventHandler& h) {
    h.onUpdate(*cachedVMPlacement(before), *cachedVMPlacement(after));
  };
}
Fire deleted(json vm) {
  return [vm](const kube::EventHandler& h) { h.onDelete(*cachedVMPlacement(vm)); };
}
json withoutStatus(json vm) {
  vm.erase("status");
  return vm;
}
json withRegionValue(json vm, json region) {
  vm["status"]["region"] = std::move(region);
  return vm;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VMPlacementHandlerTest,
    ::testing::Values(
        VMHandlerCase{"AddPlaced", added(vmIn("us-east-1")), {"us-east-1"}},
        VMHandlerCase{"AddUnplaced", added(vmIn("")), {}},
        VMHandlerCase{"AddWithoutStatus", added(withoutStatus(vmIn(""))), {}},
        VMHandlerCase{"Move", updated(vmIn("us-east-1"), vmIn("eu-west-1")), {"us-east-1", "eu-west-1"}},
        VMHandlerCase{"SameRegionOnce", updated(vmIn("us-east-1", "Placed"), vmIn("us-east-1", "Migrating")),
                      {"us-east-1"}},
        VMHandlerCase{"FirstPlacement", updated(vmIn(""), vmIn("us-west-2")), {"us-west-2"}},
        VMHandlerCase{"Unplaced", updated(vmIn("us-west-2"), vmIn("")), {"us-west-2"}},
        VMHandlerCase{"UpdateWithoutRegion", updated(vmIn(""), vmIn("")), {}},
        VMHandlerCase{"DeletePlaced", deleted(vmIn("ap-south-1")), {"ap-south-1"}},
        VMHandlerCase{"DeleteUnplaced", deleted(vmIn("")), {}},
        VMHandlerCase{"NonStringRegionIgnored", added(withRegionValue(vmIn(""), 42)), {}}),
    [](const ::testing::TestParamInfo<VMHandlerCase>& info) { return std::string(info.param.name); });


// ---------------------------------------------------------------------------------------------
// A remote region's status from its heartbeats (federated).

RegionInputs remoteInputs(const kube::FakeClock& clock) {
  RegionInputs in;
  in.region = decoded(makeRegion("eu-west-1"));
  in.local = false;
  in.federated = true;
  in.suspectAfter = 1500ms;
  in.steadyNow = clock.steadyNow();
  return in;
}

Federation::Heard heardAt(const kube::FakeClock& clock, std::chrono::milliseconds ago, api::RegionPhase phase,
                          double health, int64_t cpu) {
  api::Heartbeat beat;
  beat.region = "eu-west-1";
  beat.sequence = 7;
  beat.phase = phase;
  beat.healthScore = health;
  beat.allocated = {cpu, 2048, 10, 2};
  beat.epoch = 4;
  beat.peers = {{"us-east-1", 12.34, true}, {"ap-south-1", std::nullopt, false}};
  return {beat, clock.steadyNow() - ago, clock.wallNow() - ago};
}

TEST(ComputeRemoteRegionStatusTest, AHeardRegionShowsWhatItsHeartbeatsSay) {
  kube::FakeClock clock;
  RegionInputs in = remoteInputs(clock);
  in.heard = heardAt(clock, 200ms, api::RegionPhase::kHealthy, 96.6, 100);

  json status = compute(in, json::object(), clock.wallNow());

  EXPECT_EQ(status["phase"], "Healthy");
  EXPECT_EQ(status["healthScore"], 97);
  EXPECT_EQ(status["routingWeight"], 97);
  EXPECT_EQ(status["epoch"], 4);
  EXPECT_EQ(status["allocated"], (json{{"cpu", 100}, {"memoryMiB", 2048}, {"storageGiB", 10}, {"vms", 2}}));
  EXPECT_EQ(status["available"]["cpu"], 4096 - 100);
  EXPECT_EQ(status["available"]["vms"], 10000 - 2);
  EXPECT_EQ(status["peers"], (json::array({{{"region", "ap-south-1"}, {"reachable", false}},
                                           {{"region", "us-east-1"}, {"latencyMs", 12.3}, {"reachable", true}}})));
  EXPECT_TRUE(status.contains("lastHeartbeatTime"));
  json ready = conditionOf(status, "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "HeartbeatHealthy");
  EXPECT_EQ(ready["message"], "region eu-west-1 reports phase Healthy and health score 97 in its heartbeats");
  EXPECT_EQ(conditionOf(status, "CapacityAvailable")["status"], "True");
}

TEST(ComputeRemoteRegionStatusTest, ARegionReportingDegradedGetsNoTraffic) {
  kube::FakeClock clock;
  RegionInputs in = remoteInputs(clock);
  in.heard = heardAt(clock, 100ms, api::RegionPhase::kDegraded, 40, 0);
  json status = compute(in, json::object(), clock.wallNow());
  EXPECT_EQ(status["phase"], "Degraded");
  EXPECT_EQ(status["routingWeight"], 0);
  EXPECT_EQ(conditionOf(status, "Ready")["status"], "False");
  EXPECT_EQ(conditionOf(status, "Ready")["reason"], "HeartbeatUnhealthy");
}

TEST(ComputeRemoteRegionStatusTest, ARegionNotHeardFromForTheSuspicionTimeIsUnknownSinceItsLastHeartbeat) {
  kube::FakeClock clock;
  RegionInputs in = remoteInputs(clock);
  in.heard = heardAt(clock, 1600ms, api::RegionPhase::kHealthy, 100, 100);
  const json healthy = [&] {
    RegionInputs fresh = remoteInputs(clock);
    fresh.heard = heardAt(clock, 100ms, api::RegionPhase::kHealthy, 100, 100);
    return compute(fresh, json::object(), clock.wallNow());
  }();

  json status = compute(in, healthy, clock.wallNow());

  EXPECT_EQ(status["phase"], "Unknown");
  EXPECT_FALSE(status.contains("healthScore"));
  EXPECT_FALSE(status.contains("allocated"));
  EXPECT_FALSE(status.contains("routingWeight"));
  const std::string heard = api::formatTime(std::chrono::time_point_cast<std::chrono::seconds>(in.heard->heardAtWall));
  EXPECT_EQ(status["lastHeartbeatTime"], heard);
  json ready = conditionOf(status, "Ready");
  EXPECT_EQ(ready["status"], "Unknown");
  EXPECT_EQ(ready["reason"], "HeartbeatMissed");
  EXPECT_EQ(ready["message"], "no heartbeat from region eu-west-1 since " + heard + " (suspected after 1500ms)");
}

TEST(ComputeRemoteRegionStatusTest, ARegionNeverHeardFromSaysSoAndNamesItsEndpoint) {
  kube::FakeClock clock;
  json status = compute(remoteInputs(clock), json::object(), clock.wallNow());
  EXPECT_EQ(status["phase"], "Unknown");
  json ready = conditionOf(status, "Ready");
  EXPECT_EQ(ready["reason"], "NoHeartbeat");
  EXPECT_EQ(ready["message"], "no heartbeat from region eu-west-1 since this operator started (its peer endpoint is "
                              "https://dwcp-eu-west-1.example.com:7443)");
}

// Heartbeats that change nothing rewrite nothing: lastHeartbeatTime moves with another change, or
// every kHeartbeatTimeRefresh; a measured RTT within 20 % (or 1 ms) of the written one is kept.
TEST(ComputeRemoteRegionStatusTest, SteadyHeartbeatsLeaveTheStatusAloneUntilTheRefresh) {
  kube::FakeClock clock;
  RegionInputs in = remoteInputs(clock);
  in.heard = heardAt(clock, 0ms, api::RegionPhase::kHealthy, 100, 100);
  const json first = compute(in, json::object(), clock.wallNow());

  clock.advance(3s);
  in = remoteInputs(clock);
  in.heard = heardAt(clock, 0ms, api::RegionPhase::kHealthy, 100, 100);
  in.heard->heartbeat.peers[0].rttMs = 13.9;  // within 20 % of 12.3
  in.heard->heartbeat.sequence = 8;
  EXPECT_EQ(compute(in, first, clock.wallNow()), first) << "nothing to write";

  in.heard->heartbeat.allocated.cpu = 104;
  const json changed = compute(in, first, clock.wallNow());
  EXPECT_EQ(changed["allocated"]["cpu"], 104);
  EXPECT_NE(changed["lastHeartbeatTime"], first["lastHeartbeatTime"]) << "refreshed with the change";

  clock.advance(kHeartbeatTimeRefresh);
  in = remoteInputs(clock);
  in.heard = heardAt(clock, 0ms, api::RegionPhase::kHealthy, 100, 104);
  in.heard->heartbeat.peers[0].rttMs = 30;  // far off: written
  const json later = compute(in, changed, clock.wallNow());
  EXPECT_EQ(later["peers"][1]["latencyMs"], 30.0);
  EXPECT_NE(later["lastHeartbeatTime"], changed["lastHeartbeatTime"]);
}

TEST(ComputeRemoteRegionStatusTest, TheLocalRegionListsItsOwnLinks) {
  kube::FakeClock clock;
  RegionInputs in = localInputs();
  in.federated = true;
  in.links = {{"eu-west-1", 80.04, true}, {"ap-south-1", std::nullopt, false}};
  json status = compute(in, json::object(), clock.wallNow());
  EXPECT_EQ(status["peers"], (json::array({{{"region", "ap-south-1"}, {"reachable", false}},
                                           {{"region", "eu-west-1"}, {"latencyMs", 80.0}, {"reachable", true}}})));
  EXPECT_EQ(status["phase"], "Healthy");
}

}  // namespace
}  // namespace dwcp::controllers
