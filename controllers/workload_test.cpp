// The workload part of the VMPlacement controller: spec.template applied in the local region with
// an owner reference and labels, refused kinds and namespaces, workloadRef and WorkloadReady,
// deletion of only what the controller made, and the races between status writes and applies.
#include "controllers/workload.h"

#include <gtest/gtest.h>

#include "controllers/testing/vmplacement_fixture.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

class TemplateTest : public VMPlacementControllerTest {
 protected:
  void SetUp() override {
    addRegions({region("eu-west-1", 64, {"gdpr"}, "europe", "IE", 53.35, -6.26),
                region("us-east-1", 8, {}, "north-america", "US", 38.13, -78.45)});
    json vm = vmObject("web-frontend-01", 4, 70);
    vm["spec"]["constraints"] = {{"regions", {"eu-west-1"}}};
    vm["spec"]["template"] = vmTemplate();
    api_.put(vm);
  }
};

TEST_F(TemplateTest, LocalRegionAppliesTheTemplateWithOwnerReferenceAndLabels) {
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  start("eu-west-1", &events);

  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;

  auto applies = requestsTo("PATCH", kWorkloadPath);
  ASSERT_EQ(applies.size(), 1u);
  EXPECT_EQ(applies[0].path, std::string(kWorkloadPath) + "web-frontend-01?fieldManager=dwcp-operator&force=true");
  EXPECT_EQ(applies[0].contentType, "application/apply-patch+yaml");
  json body = json::parse(applies[0].body);
  EXPECT_EQ(body["apiVersion"], "kubevirt.io/v1");
  EXPECT_EQ(body["kind"], "VirtualMachine");
  EXPECT_EQ(body["spec"], vmTemplate()["spec"]);
  EXPECT_EQ(body["metadata"]["name"], "web-frontend-01");
  EXPECT_EQ(body["metadata"]["namespace"], "default");
  EXPECT_EQ(body["metadata"]["labels"]["app.kubernetes.io/name"], "web-frontend");
  EXPECT_EQ(body["metadata"]["labels"][kPlacementLabel], "web-frontend-01");
  EXPECT_EQ(body["metadata"]["labels"][kRegionLabel], "eu-west-1");
  ASSERT_EQ(body["metadata"]["ownerReferences"].size(), 1u);
  json owner = body["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["apiVersion"], "federation.dwcp.io/v1alpha1");
  EXPECT_EQ(owner["kind"], "VMPlacement");
  EXPECT_EQ(owner["name"], "web-frontend-01");
  EXPECT_EQ(owner["uid"], "uid-web-frontend-01");
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["blockOwnerDeletion"], true);

  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_EQ(status["region"], "eu-west-1");
  EXPECT_EQ(status["workloadRef"], (json{{"apiVersion", "kubevirt.io/v1"},
                                         {"kind", "VirtualMachine"},
                                         {"namespace", "default"},
                                         {"name", "web-frontend-01"},
                                         {"uid", "uid-workload-web-frontend-01"}}));
  json ready = conditionOf(status, "WorkloadReady");
  ASSERT_TRUE(ready.is_object()) << status.dump();
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "Materialized");
  EXPECT_EQ(ready["observedGeneration"], 1);
  // The placement and the workload's name were written before the apply; its uid after it.
  auto writes = api_.statusWritesOf(keyOf("web-frontend-01"));
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0]["region"], "eu-west-1");
  EXPECT_EQ(writes[0]["workloadRef"], (json{{"apiVersion", "kubevirt.io/v1"},
                                           {"kind", "VirtualMachine"},
                                           {"namespace", "default"},
                                           {"name", "web-frontend-01"}}));
  EXPECT_EQ(conditionOf(writes[0], "WorkloadReady")["reason"], "Materializing");
  auto all = transport_->requests();
  auto firstOf = [&](const std::string& method, const std::string& prefix, std::optional<bool> status = {}) {
    return std::find_if(all.begin(), all.end(),
                        [&](const kube::Request& r) {
                          return r.method == method && startsWith(r.path, prefix) &&
                                 (!status || toStatus(r) == *status);
                        }) -
           all.begin();
  };
  EXPECT_LT(firstOf("PATCH", kVMPath, true), firstOf("PATCH", kWorkloadPath));
  EXPECT_LT(firstOf("PATCH", kVMPath, false), firstOf("PATCH", kWorkloadPath));  // the finalizer is on first

  // Reconciled again once the cache caught up: nothing to apply, nothing to write.
  api_.catchUp();
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 1u);
  EXPECT_EQ(api_.statusWrites().size(), 2u);

  // A new generation applies again.
  json vm = api_.server(keyOf("web-frontend-01"));
  vm["metadata"]["generation"] = 2;
  vm["spec"]["template"]["spec"]["runStrategy"] = "Halted";
  api_.put(vm);
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  applies = requestsTo("PATCH", kWorkloadPath);
  ASSERT_EQ(applies.size(), 2u);
  EXPECT_EQ(json::parse(applies[1].body)["spec"]["runStrategy"], "Halted");
  EXPECT_EQ(conditionOf(api_.server(keyOf("web-frontend-01"))["status"], "WorkloadReady")["observedGeneration"], 2);
}

TEST_F(TemplateTest, RejectedTemplateIsReportedAndNotRetriedAtTheSameGeneration) {
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  transport_->expect("PATCH", kWorkloadPath, statusError(422, "Invalid"));
  start("eu-west-1", &events);

  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;
  EXPECT_FALSE(result.requeueAfter.has_value());
  events.processPending();

  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_FALSE(status.contains("workloadRef"));
  json ready = conditionOf(status, "WorkloadReady");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "TemplateRejected");
  EXPECT_NE(ready["message"].get<std::string>().find("scripted Invalid"), std::string::npos) << ready["message"];
  bool rejectedEvent = false;
  for (const auto& r : requestsTo("POST", kEventsPath)) {
    rejectedEvent = rejectedEvent || json::parse(r.body)["reason"] == "TemplateRejected";
  }
  EXPECT_TRUE(rejectedEvent);

  api_.catchUp();
  result = reconcile("web-frontend-01");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 1u);  // not applied again
  EXPECT_EQ(api_.statusWrites().size(), 2u);                  // the record before the apply, the verdict
}

TEST_F(TemplateTest, UnknownKindIsReported) {
  api_.setKubeVirtServed(false);
  start("eu-west-1");

  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 0u);
  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  json ready = conditionOf(status, "WorkloadReady");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "UnknownKind");
  EXPECT_TRUE(startsWith(ready["message"].get<std::string>(), "spec.template: ")) << ready["message"];
}

TEST_F(TemplateTest, TemplateInAnotherNamespaceIsRejected) {
  json vm = api_.server(keyOf("web-frontend-01"));
  vm["spec"]["template"]["metadata"]["namespace"] = "kube-system";
  api_.put(vm);
  start("eu-west-1");

  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 0u);
  json ready = conditionOf(api_.server(keyOf("web-frontend-01"))["status"], "WorkloadReady");
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "TemplateRejected");
  EXPECT_TRUE(startsWith(ready["message"].get<std::string>(), "spec.template.metadata.namespace")) << ready["message"];
}

TEST_F(TemplateTest, RemoteRegionLeavesTheTemplateToItsOperator) {
  start("us-east-1");

  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 0u);
  EXPECT_EQ(requestsTo("GET", "/apis/kubevirt.io").size(), 0u);
  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["region"], "eu-west-1");
  EXPECT_FALSE(status.contains("workloadRef"));
  json ready = conditionOf(status, "WorkloadReady");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], "Unknown");
  EXPECT_EQ(ready["reason"], "RemoteRegion");
}

TEST_F(TemplateTest, TransientApplyFailureIsRetried) {
  transport_->expect("PATCH", kWorkloadPath, statusError(500, "InternalError"));
  start("eu-west-1");

  auto result = reconcile("web-frontend-01");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 1u);

  // The retry (once the cache saw the finalizer) applies; the placement holds one ledger entry.
  api_.catchUp();
  result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;
  EXPECT_EQ(requestsTo("PATCH", kWorkloadPath).size(), 2u);
  EXPECT_EQ(conditionOf(api_.server(keyOf("web-frontend-01"))["status"], "WorkloadReady")["status"], "True");
  EXPECT_EQ(controller_->ledger().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Invalid specs, unchanged status, conflicts.

struct RefusedRefCase {
  const char* name;
  std::string path;  // where the object named by the workloadRef lives
  json object;
  json ref;
};

void PrintTo(const RefusedRefCase& c, std::ostream* os) { *os << c.name; }

RefusedRefCase refusedRef(const char* name, const std::string& path, json object) {
  json ref = refTo(object);
  return {name, path, std::move(object), std::move(ref)};
}

json withoutLabels(json object) {
  object["metadata"].erase("labels");
  return object;
}

json notController(json object) {
  object["metadata"]["ownerReferences"][0]["controller"] = false;
  return object;
}

json ownedBy(json object, const std::string& uid) {
  object["metadata"]["ownerReferences"][0]["uid"] = uid;
  return object;
}

json labelled(json object, const std::string& vmName) {
  object["metadata"]["labels"][kPlacementLabel] = vmName;
  return object;
}

json clusterScopedRef(json object) {
  json ref = refTo(object);
  ref["namespace"] = "default";  // claims the VM's namespace for a cluster-scoped kind
  return ref;
}

const std::string kOtherConfigMap = "/api/v1/namespaces/other/configmaps/victim";
const std::string kDefaultConfigMap = "/api/v1/namespaces/default/configmaps/w";

std::vector<RefusedRefCase> refusedRefCases() {
  std::vector<RefusedRefCase> cases = {
      refusedRef("ConfigMapInAnotherNamespace", kOtherConfigMap,
                 withoutLabels(ownedBy(ownedWorkload("v1", "ConfigMap", "other", "victim", "a"), "uid-someone"))),
      refusedRef("OwnedConfigMapInAnotherNamespace", kOtherConfigMap,
                 ownedWorkload("v1", "ConfigMap", "other", "victim", "a")),
      refusedRef("NoLabelsNoOwner", kDefaultConfigMap,
                 withoutLabels(ownedBy(ownedWorkload("v1", "ConfigMap", "default", "w", "a"), "uid-someone"))),
      refusedRef("OwnedByAnotherUid", kDefaultConfigMap,
                 ownedBy(ownedWorkload("v1", "ConfigMap", "default", "w", "a"), "uid-a-before-recreate")),
      refusedRef("OwnerReferenceNotController", kDefaultConfigMap,
                 notController(ownedWorkload("v1", "ConfigMap", "default", "w", "a"))),
      refusedRef("LabelMissing", kDefaultConfigMap, withoutLabels(ownedWorkload("v1", "ConfigMap", "default", "w", "a"))),
      refusedRef("LabelNamesAnotherVM", kDefaultConfigMap,
                 labelled(ownedWorkload("v1", "ConfigMap", "default", "w", "a"), "b")),
  };
  json ns = ownedWorkload("v1", "Namespace", "", "other", "a");
  ns["metadata"].erase("namespace");
  cases.push_back({"ClusterScopedNamespace", "/api/v1/namespaces/other", ns, clusterScopedRef(ns)});
  json binding = ownedWorkload("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "admins", "a");
  binding["metadata"].erase("namespace");
  cases.push_back({"ClusterScopedClusterRoleBinding",
                   "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/admins", binding, clusterScopedRef(binding)});
  return cases;
}

class RefusedWorkloadRefTest : public VMPlacementControllerTest,
                               public ::testing::WithParamInterface<RefusedRefCase> {};

TEST_P(RefusedWorkloadRefTest, DeletionNeverDeletesWhatTheControllerDidNotMake) {
  const RefusedRefCase& c = GetParam();
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 8), "Placed", "r1");
  vm["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  vm["status"]["workloadRef"] = c.ref;  // written through /status by someone else
  api_.put(vm);
  api_.putWorkload(c.path, c.object);
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  start("r1", &events);
  controller_->seedLedger();

  auto result = reconcile("a");
  ASSERT_TRUE(result.ok()) << *result.error;
  events.processPending();

  EXPECT_TRUE(requestsTo("DELETE", "/").empty());
  EXPECT_EQ(api_.workload(c.path), c.object);
  // The deletion goes on: capacity released, our finalizer removed.
  EXPECT_TRUE(controller_->ledger().empty());
  EXPECT_EQ(api_.server(keyOf("a"))["metadata"]["finalizers"], json::array());
  bool explained = false;
  for (const auto& r : requestsTo("POST", kEventsPath)) {
    const json event = json::parse(r.body);
    explained = explained || (event["reason"] == "WorkloadRefRefused" &&
                              event["note"].get<std::string>().find(c.ref["name"].get<std::string>()) !=
                                  std::string::npos);
  }
  EXPECT_TRUE(explained);
}

INSTANTIATE_TEST_SUITE_P(Cases, RefusedWorkloadRefTest, ::testing::ValuesIn(refusedRefCases()),
                         [](const ::testing::TestParamInfo<RefusedRefCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(VMPlacementControllerTest, RefusedWorkloadRefIsClearedFromStatusWhenTheVMMoves) {
  addRegions({region("r1", 10), region("r2", 10)});
  json vm = withStatus(vmObject("a", 4), "Placed", "r1");
  vm["metadata"]["generation"] = 2;
  vm["spec"]["constraints"] = {{"regions", {"r2"}}};  // r1 no longer fits
  json victim = ownedWorkload("v1", "ConfigMap", "other", "victim", "a");
  vm["status"]["workloadRef"] = refTo(victim);
  api_.put(vm);
  api_.putWorkload(kOtherConfigMap, victim);
  start("r1");
  controller_->seedLedger();

  ASSERT_TRUE(reconcile("a").ok());
  EXPECT_TRUE(requestsTo("DELETE", "/").empty());
  EXPECT_EQ(api_.workload(kOtherConfigMap), victim);
  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["region"], "r2");
  EXPECT_FALSE(status.contains("workloadRef"));
}

TEST_F(VMPlacementControllerTest, OwnWorkloadIsDeletedWithTheUidItChecked) {
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 8), "Placed", "r1");
  vm["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  json workload = ownedWorkload("v1", "ConfigMap", "default", "w", "a");
  vm["status"]["workloadRef"] = refTo(workload);
  api_.put(vm);
  api_.putWorkload(kDefaultConfigMap, workload);
  start("r1");

  ASSERT_TRUE(reconcile("a").ok());
  auto gets = requestsTo("GET", kDefaultConfigMap);
  auto deletes = requestsTo("DELETE", "/");
  ASSERT_EQ(gets.size(), 1u);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].path, kDefaultConfigMap);
  EXPECT_EQ(json::parse(deletes[0].body)["preconditions"], (json{{"uid", "uid-workload-w"}}));
  EXPECT_TRUE(api_.workload(kDefaultConfigMap).is_null());
}

TEST_F(VMPlacementControllerTest, WorkloadReplacedBetweenCheckAndDeleteIsNotDeleted) {
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 8), "Placed", "r1");
  vm["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  json ours = ownedWorkload("v1", "ConfigMap", "default", "w", "a");
  vm["status"]["workloadRef"] = refTo(ours);
  api_.put(vm);
  json replacement = withoutLabels(ownedBy(ours, "uid-someone"));
  replacement["metadata"]["uid"] = "uid-replacement";
  api_.putWorkload(kDefaultConfigMap, replacement);
  // The GET still sees ours; by the DELETE the object was replaced by someone else's.
  intercept_ = [&](const kube::Request& request) -> std::optional<kube::Response> {
    if (request.method == "GET" && request.path == kDefaultConfigMap) return kube::Response{200, ours.dump()};
    return std::nullopt;
  };
  start("r1");
  controller_->seedLedger();

  EXPECT_FALSE(reconcile("a").ok());  // retried: the next GET sees the replacement
  EXPECT_EQ(api_.workload(kDefaultConfigMap), replacement);
  EXPECT_EQ(objectPatches().size(), 0u);  // the finalizer stays until it is decided
  intercept_ = nullptr;
  ASSERT_TRUE(reconcile("a").ok());
  EXPECT_EQ(api_.workload(kDefaultConfigMap), replacement);
  EXPECT_EQ(requestsTo("DELETE", "/").size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// spec.template kinds: an allowlist, namespaced only.

json roleBindingTemplate() {
  return json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "RoleBinding"},
              {"metadata", {{"name", "escalate"}}},
              {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "cluster-admin"}}},
              {"subjects", {{{"kind", "ServiceAccount"}, {"name", "default"}, {"namespace", "default"}}}}};
}

TEST_F(TemplateTest, TemplateOfKindRoleBindingIsRefused) {
  json vm = api_.server(keyOf("web-frontend-01"));
  vm["spec"]["template"] = roleBindingTemplate();
  api_.put(vm);
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  start("eu-west-1", &events);

  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;
  EXPECT_FALSE(result.requeueAfter.has_value());
  events.processPending();

  EXPECT_TRUE(requestsTo("PATCH", "/apis/rbac.authorization.k8s.io/").empty());
  EXPECT_EQ(api_.workloadCount(), 0u);
  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed");  // the placement stands
  EXPECT_EQ(status["region"], "eu-west-1");
  EXPECT_FALSE(status.contains("workloadRef"));
  json ready = conditionOf(status, "WorkloadReady");
  ASSERT_TRUE(ready.is_object()) << status.dump();
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "WorkloadKindNotAllowed");
  const std::string message = ready["message"].get<std::string>();
  EXPECT_NE(message.find("rbac.authorization.k8s.io/v1 RoleBinding"), std::string::npos) << message;
  EXPECT_NE(message.find("kubevirt.io/v1 VirtualMachine, v1 ConfigMap, apps/v1 Deployment, apps/v1 StatefulSet"),
            std::string::npos)
      << message;
  bool event = false;
  for (const auto& r : requestsTo("POST", kEventsPath)) event = event || json::parse(r.body)["reason"] == "WorkloadKindNotAllowed";
  EXPECT_TRUE(event);

  // Not retried until the spec changes.
  api_.catchUp();
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_TRUE(requestsTo("PATCH", "/apis/rbac.authorization.k8s.io/").empty());
  EXPECT_EQ(api_.statusWrites().size(), 1u);
}

TEST_F(TemplateTest, ClusterScopedKindIsRefusedEvenWhenAllowlisted) {
  json vm = api_.server(keyOf("web-frontend-01"));
  json binding = roleBindingTemplate();
  binding["kind"] = "ClusterRoleBinding";
  vm["spec"]["template"] = binding;
  api_.put(vm);
  workloadKinds_.push_back({"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"});
  start("eu-west-1");

  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_TRUE(requestsTo("PATCH", "/apis/rbac.authorization.k8s.io/").empty());
  EXPECT_EQ(api_.workloadCount(), 0u);
  json ready = conditionOf(api_.server(keyOf("web-frontend-01"))["status"], "WorkloadReady");
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "WorkloadKindNotAllowed");
  EXPECT_NE(ready["message"].get<std::string>().find("cluster-scoped"), std::string::npos) << ready["message"];
}

TEST_F(TemplateTest, AllowlistComesFromTheDeps) {
  workloadKinds_ = {{"v1", "ConfigMap"}};
  start("eu-west-1");

  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_TRUE(requestsTo("PATCH", kWorkloadPath).empty());
  json ready = conditionOf(api_.server(keyOf("web-frontend-01"))["status"], "WorkloadReady");
  EXPECT_EQ(ready["reason"], "WorkloadKindNotAllowed");
  EXPECT_EQ(ready["message"], "spec.template: kind kubevirt.io/v1 VirtualMachine is not allowed (allowed: v1 ConfigMap)");
}

// ---------------------------------------------------------------------------------------------
// Races: the ledger never holds a deleted VM, and no workload outlives its placement.

class WorkloadRaceTest : public TemplateTest {
 protected:
  void SetUp() override {
    TemplateTest::SetUp();
    json vm = api_.server(keyOf("web-frontend-01"));
    vm["spec"]["constraints"] = {{"regions", {"eu-west-1", "us-east-1"}}};
    api_.put(vm);
    setEnabled("us-east-1", false);
  }
  void setEnabled(const std::string& name, bool enabled) {
    json before = regions_.get(name)->toJson();
    json after = before;
    after["spec"]["enabled"] = enabled;
    after["metadata"]["generation"] = before["metadata"]["generation"].get<int64_t>() + 1;
    regions_.upsert(after);
    if (regionHandler_.onUpdate) regionHandler_.onUpdate(*regions_.decode(before), *regions_.decode(after));
  }
  const std::string workloadPath_ = std::string(kWorkloadPath) + "web-frontend-01";
};

TEST_F(WorkloadRaceTest, FailedStatusWriteLeavesNoWorkloadWhenTheRetryPicksAnotherRegion) {
  transport_->expect("PATCH", std::string(kVMPath) + "web-frontend-01/status", statusError(500, "InternalError"));
  start("eu-west-1");

  EXPECT_FALSE(reconcile("web-frontend-01").ok());
  // The local region is drained before the retry: the VM goes to us-east-1.
  setEnabled("eu-west-1", false);
  setEnabled("us-east-1", true);
  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;

  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_EQ(status["region"], "us-east-1");
  EXPECT_TRUE(api_.workload(workloadPath_).is_null()) << "a VirtualMachine still runs in eu-west-1";
}

TEST_F(WorkloadRaceTest, WorkloadRecordedBeforeItIsAppliedIsCleanedUpWhenTheVMMoves) {
  // The placement and the workload it will create are recorded; the apply succeeds; the status
  // write that records its uid fails.
  int statusWrites = 0;
  intercept_ = [&](const kube::Request& request) -> std::optional<kube::Response> {
    if (request.method == "PATCH" && toStatus(request) &&
        startsWith(request.path, std::string(kVMPath) + "web-frontend-01/") &&
        ++statusWrites == 2) {
      return statusError(500, "InternalError");
    }
    return std::nullopt;
  };
  start("eu-west-1");
  EXPECT_FALSE(reconcile("web-frontend-01").ok());
  ASSERT_FALSE(api_.workload(workloadPath_).is_null());
  json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["region"], "eu-west-1");
  EXPECT_EQ(status["workloadRef"]["name"], "web-frontend-01");
  EXPECT_EQ(conditionOf(status, "WorkloadReady")["status"], "Unknown");

  // The retry keeps the region and completes the record.
  api_.catchUp();
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["region"], "eu-west-1");
  EXPECT_EQ(status["workloadRef"]["uid"], "uid-workload-web-frontend-01");
  EXPECT_EQ(conditionOf(status, "WorkloadReady")["status"], "True");
  EXPECT_EQ(api_.workloadCount(), 1u);

  // A spec change that eu-west-1 no longer satisfies moves the VM and deletes its workload.
  api_.catchUp();
  setEnabled("us-east-1", true);
  json vm = api_.server(keyOf("web-frontend-01"));
  vm["metadata"]["generation"] = 2;
  vm["spec"]["constraints"] = {{"regions", {"us-east-1"}}};
  api_.put(vm);
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  EXPECT_EQ(api_.server(keyOf("web-frontend-01"))["status"]["region"], "us-east-1");
  EXPECT_TRUE(api_.workload(workloadPath_).is_null());
}

}  // namespace
}  // namespace dwcp::controllers
