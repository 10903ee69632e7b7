#include "controllers/cached_types.h"

#include <gtest/gtest.h>

#include "controllers/testing/cached.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

json vmObject() {
  return json{{"apiVersion", "federation.dwcp.io/v1alpha1"},
              {"kind", "VMPlacement"},
              {"metadata",
               {{"name", "web"}, {"namespace", "team-a"}, {"uid", "u-1"}, {"generation", 3}, {"resourceVersion", "42"},
                {"finalizers", {"federation.dwcp.io/placement"}}}},
              {"spec",
               {{"resources", {{"cpu", 4}, {"memoryMiB", 8192}, {"storageGiB", 100}}},
                {"priority", 70},
                {"template", {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"x", "1"}}}}}}},
              {"status", {{"phase", "Placed"}, {"region", "eu-west-1"}, {"observedGeneration", 3}}}};
}

TEST(CachedVMPlacementTest, IsDecodedOnceIntoTheTypedObject) {
  kube::ObjectPtr cached = cachedVMPlacement(vmObject());
  ASSERT_NE(cached, nullptr);
  const api::VMPlacement* vm = asVMPlacement(*cached);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(cached->json(), nullptr);
  EXPECT_EQ(cached->key(), "team-a/web");
  EXPECT_EQ(cached->resourceVersion(), "42");
  EXPECT_EQ(cached->generation(), 3);
  EXPECT_EQ(vm->spec.resources.cpu, 4);
  EXPECT_EQ(vm->spec.priority, 70);
  EXPECT_EQ(vm->status.phase, api::PlacementPhase::kPlaced);
  EXPECT_EQ(vm->status.region, "eu-west-1");
  // What the write helpers get back is the same object: metadata, the verbatim template, status.
  const json back = cached->toJson();
  EXPECT_EQ(back["metadata"]["finalizers"], vmObject()["metadata"]["finalizers"]);
  EXPECT_EQ(back["metadata"]["uid"], "u-1");
  EXPECT_EQ(back["spec"]["template"], vmObject()["spec"]["template"]);
  EXPECT_EQ(back["status"]["region"], "eu-west-1");
  EXPECT_EQ(back["kind"], "VMPlacement");
}

TEST(CachedVMPlacementTest, AStatusWrittenAroundTheSchemaIsDroppedAndTheSpecKept) {
  json object = vmObject();
  object["status"]["phase"] = 7;
  kube::ObjectPtr cached = cachedVMPlacement(object);
  const api::VMPlacement* vm = asVMPlacement(*cached);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->status, api::VMPlacementStatus{});
  EXPECT_EQ(vm->spec.resources.cpu, 4);
}

TEST(CachedVMPlacementTest, AnInvalidSpecIsKeptAsJsonWithTheFieldNamed) {
  json object = vmObject();
  object["spec"]["resources"]["cpu"] = "four";
  kube::ObjectPtr cached = cachedVMPlacement(object);
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(asVMPlacement(*cached), nullptr);
  ASSERT_NE(cached->json(), nullptr);
  EXPECT_EQ(*cached->json(), object);
  EXPECT_NE(cached->decodeError().find("spec.resources.cpu"), std::string::npos) << cached->decodeError();
  EXPECT_EQ(cached->generation(), 3);  // the header is read all the same
}

TEST(CachedRegionTest, ValidIsTypedAndInvalidIsKeptWithTheReason) {
  json region = {{"apiVersion", "federation.dwcp.io/v1alpha1"},
                 {"kind", "Region"},
                 {"metadata", {{"name", "eu-west-1"}, {"generation", 1}, {"resourceVersion", "5"}}},
                 {"spec",
                  {{"location", {{"latitude", 53.3}, {"longitude", -6.2}, {"country", "IE"}, {"continent", "europe"}}},
                   {"capacity", {{"cpu", 64}, {"memoryMiB", 262144}, {"storageGiB", 10000}}},
                   {"endpoint", "https://eu-west-1.example.com:7443"}}}};
  kube::ObjectPtr typed = cachedRegion(region);
  ASSERT_NE(asRegion(*typed), nullptr) << typed->decodeError();
  EXPECT_EQ(asRegion(*typed)->spec.capacity.cpu, 64);

  region["spec"]["location"]["latitude"] = 123;
  kube::ObjectPtr invalid = cachedRegion(region);
  EXPECT_EQ(asRegion(*invalid), nullptr);
  EXPECT_NE(invalid->decodeError().find("spec.location.latitude"), std::string::npos) << invalid->decodeError();
}

}  // namespace
}  // namespace dwcp::controllers
