#include "kube/finalizers.h"

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"

namespace dwcp::kube {
namespace {

const ResourceType kRegions{"dwcp.io", "v1alpha1", "regions", "Region", false};
const ResourceType kVms{"dwcp.io", "v1alpha1", "vmplacements", "VMPlacement", true};
const std::string kVmPath = "/apis/dwcp.io/v1alpha1/namespaces/team-a/vmplacements/vm-1";
const std::string kName = "dwcp.io/cleanup";

json vm(json finalizers = nullptr) {
  json object = {
      {"apiVersion", "dwcp.io/v1alpha1"},
      {"kind", "VMPlacement"},
      {"metadata", {{"name", "vm-1"}, {"namespace", "team-a"}, {"resourceVersion", "42"}}}};
  if (!finalizers.is_null()) object["metadata"]["finalizers"] = finalizers;
  return object;
}

Response status(int code, const std::string& reason, const std::string& message) {
  return {code, json{{"kind", "Status"}, {"reason", reason}, {"message", message}}.dump()};
}

struct FinalizerTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};

  json onlyPatchBody() {
    auto requests = transport->requests();
    EXPECT_EQ(requests.size(), 1u);
    if (requests.empty()) return nullptr;
    EXPECT_EQ(requests[0].method, "PATCH");
    EXPECT_EQ(requests[0].contentType, "application/json-patch+json");
    return json::parse(requests[0].body);
  }
};

TEST(FinalizersTest, HasFinalizer) {
  EXPECT_TRUE(hasFinalizer(vm({"a.io/x", kName}), kName));
  EXPECT_FALSE(hasFinalizer(vm({"a.io/x"}), kName));
  EXPECT_FALSE(hasFinalizer(vm(), kName));
  EXPECT_FALSE(hasFinalizer(json::object(), kName));
  EXPECT_FALSE(hasFinalizer(vm(json{{"not", "a list"}}), kName));
}

TEST_F(FinalizerTest, AddGuardsTheExistingListWithATest) {
  json updated = vm({"other.io/keep", kName});
  transport->expect("PATCH", kVmPath, {200, updated.dump()});
  auto result = addFinalizer(client, kVms, vm({"other.io/keep"}), kName);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(*result, updated);
  json expected = json::parse(R"([
    {"op": "test", "path": "/metadata/finalizers", "value": ["other.io/keep"]},
    {"op": "add", "path": "/metadata/finalizers/-", "value": "dwcp.io/cleanup"}])");
  EXPECT_EQ(onlyPatchBody(), expected);
}

TEST_F(FinalizerTest, AddWithoutListGuardsTheResourceVersion) {
  transport->expect("PATCH", kVmPath, {200, vm({kName}).dump()});
  ASSERT_TRUE(addFinalizer(client, kVms, vm(), kName).ok());
  json expected = json::parse(R"([
    {"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
    {"op": "add", "path": "/metadata/finalizers", "value": ["dwcp.io/cleanup"]}])");
  EXPECT_EQ(onlyPatchBody(), expected);
}

TEST_F(FinalizerTest, AddWhenPresentSendsNothing) {
  auto result = addFinalizer(client, kVms, vm({kName}), kName);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, vm({kName}));
  EXPECT_TRUE(transport->requests().empty());
}

TEST_F(FinalizerTest, RemoveKeepsOtherFinalizers) {
  transport->expect("PATCH", kVmPath, {200, vm({"a.io/first", "b.io/last"}).dump()});
  auto result = removeFinalizer(client, kVms, vm({"a.io/first", kName, "b.io/last"}), kName);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  json expected = json::parse(R"([
    {"op": "test", "path": "/metadata/finalizers",
     "value": ["a.io/first", "dwcp.io/cleanup", "b.io/last"]},
    {"op": "replace", "path": "/metadata/finalizers", "value": ["a.io/first", "b.io/last"]}])");
  EXPECT_EQ(onlyPatchBody(), expected);
}

TEST_F(FinalizerTest, RemoveWhenAbsentSendsNothing) {
  ASSERT_TRUE(removeFinalizer(client, kVms, vm({"a.io/first"}), kName).ok());
  ASSERT_TRUE(removeFinalizer(client, kVms, vm(), kName).ok());
  EXPECT_TRUE(transport->requests().empty());
}

TEST_F(FinalizerTest, FailedTestIsAConflict) {
  // 422 is how the API server rejects a failed `test` op; 409 is a resourceVersion conflict.
  for (int code : {422, 409}) {
    transport->expect("PATCH", kVmPath, status(code, code == 422 ? "Invalid" : "Conflict",
                                              "the server rejected our request"));
    auto added = addFinalizer(client, kVms, vm({"other.io/keep"}), kName);
    ASSERT_FALSE(added.ok());
    EXPECT_TRUE(added.error().isConflict()) << code << " " << added.error().toString();
    EXPECT_NE(added.error().message.find("vm-1"), std::string::npos);

    transport->expect("PATCH", kVmPath, status(code, "", "changed"));
    auto removed = removeFinalizer(client, kVms, vm({kName}), kName);
    ASSERT_FALSE(removed.ok());
    EXPECT_TRUE(removed.error().isConflict()) << code;
  }
}

TEST_F(FinalizerTest, OtherErrorsPassThrough) {
  transport->expect("PATCH", kVmPath, status(500, "InternalError", "etcd down"));
  auto added = addFinalizer(client, kVms, vm(), kName);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, 500);
  EXPECT_FALSE(added.error().isConflict());

  transport->expect("PATCH", kVmPath, status(404, "NotFound", "gone"));
  auto removed = removeFinalizer(client, kVms, vm({kName}), kName);
  ASSERT_FALSE(removed.ok());
  EXPECT_TRUE(removed.error().isNotFound());
}

TEST_F(FinalizerTest, DeletingObjectTakesNoNewFinalizer) {
  json deleting = vm({"other.io/keep"});
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  auto result = addFinalizer(client, kVms, deleting, kName);
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(result.error().isConflict());
  EXPECT_TRUE(transport->requests().empty());

  // Removal is exactly what a deleting object needs.
  deleting["metadata"]["finalizers"].push_back(kName);
  transport->expect("PATCH", kVmPath, {200, vm({"other.io/keep"}).dump()});
  EXPECT_TRUE(removeFinalizer(client, kVms, deleting, kName).ok());
}

TEST_F(FinalizerTest, InvalidNameIsRejectedLocally) {
  for (const char* bad : {"", "Upper.IO/x", "has space", "a.io/", "/x", "x/y/z"}) {
    auto result = addFinalizer(client, kVms, vm(), bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().reason, "Invalid");
    EXPECT_FALSE(result.error().isConflict());
  }
  EXPECT_TRUE(transport->requests().empty());
}

TEST_F(FinalizerTest, ClusterScopedPathHasNoNamespace) {
  json region = {{"kind", "Region"},
                 {"metadata", {{"name", "us-east-1"}, {"resourceVersion", "7"}}}};
  transport->expect("PATCH", "/apis/dwcp.io/v1alpha1/regions/us-east-1", {200, region.dump()});
  ASSERT_TRUE(addFinalizer(client, kRegions, region, kName).ok());
  ASSERT_EQ(transport->requests().size(), 1u);
  EXPECT_EQ(transport->requests()[0].path, "/apis/dwcp.io/v1alpha1/regions/us-east-1");
}

TEST_F(FinalizerTest, FieldManagerNamesTheWriterOfBothPatches) {
  json region = {{"kind", "Region"},
                 {"metadata", {{"name", "us-east-1"}, {"resourceVersion", "7"}, {"finalizers", json::array()}}}};
  json added = region;
  added["metadata"]["finalizers"] = json::array({kName});
  transport->expect("PATCH", "/apis/dwcp.io/v1alpha1/regions/us-east-1", {200, added.dump()});
  transport->expect("PATCH", "/apis/dwcp.io/v1alpha1/regions/us-east-1", {200, region.dump()});
  ASSERT_TRUE(addFinalizer(client, kRegions, region, kName, "dwcp-operator").ok());
  ASSERT_TRUE(removeFinalizer(client, kRegions, added, kName, "dwcp-operator").ok());
  ASSERT_EQ(transport->requests().size(), 2u);
  for (const auto& request : transport->requests()) {
    EXPECT_EQ(request.path, "/apis/dwcp.io/v1alpha1/regions/us-east-1?fieldManager=dwcp-operator");
  }
}

}  // namespace
}  // namespace dwcp::kube
