#include "kube/discovery.h"

#include <gtest/gtest.h>

#include "kube/fake_transport.h"

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

const char* kCoreV1 = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"configmaps","namespaced":true,"kind":"ConfigMap"},
  {"name":"pods","namespaced":true,"kind":"Pod"},
  {"name":"pods/status","namespaced":true,"kind":"Pod"},
  {"name":"namespaces","namespaced":false,"kind":"Namespace"}]})";

const char* kKubevirt = R"({"kind":"APIResourceList","groupVersion":"kubevirt.io/v1","resources":[
  {"name":"virtualmachines","namespaced":true,"kind":"VirtualMachine"}]})";

class DiscoveryTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  FakeClock clock;
  Discovery discovery{client, clock, 10s};
};

TEST_F(DiscoveryTest, MapsCoreAndGroupKindsAndCaches) {
  transport->expect("GET", "/api/v1", {200, kCoreV1});
  transport->expect("GET", "/apis/kubevirt.io/v1", {200, kKubevirt});
  auto cm = discovery.resourceFor("v1", "ConfigMap");
  ASSERT_TRUE(cm.ok()) << cm.error().message;
  EXPECT_EQ(cm->resource, "configmaps");
  EXPECT_EQ(cm->group, "");
  EXPECT_TRUE(cm->namespaced);
  auto ns = discovery.resourceFor("v1", "Namespace");
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  auto pod = discovery.resourceFor("v1", "Pod");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->resource, "pods");  // not the status subresource
  auto vm = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->group, "kubevirt.io");
  EXPECT_EQ(vm->resource, "virtualmachines");
  EXPECT_EQ(transport->count("GET", "/api"), 2u);  // one discovery read per group-version
}

TEST_F(DiscoveryTest, UnknownKindRereadsOnlyAfterTheRefreshInterval) {
  transport->expect("GET", "/apis/kubevirt.io/v1", {404, ""});
  auto missing = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().isNotFound());
  EXPECT_NE(missing.error().message.find("VirtualMachine"), std::string::npos);
  EXPECT_FALSE(discovery.resourceFor("kubevirt.io/v1", "VirtualMachine").ok());
  EXPECT_EQ(transport->count("GET", "/apis/kubevirt.io/v1"), 1u);  // within the interval: cached

  clock.advance(11s);  // the CRD got installed meanwhile
  transport->expect("GET", "/apis/kubevirt.io/v1", {200, kKubevirt});
  auto found = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(transport->count("GET", "/apis/kubevirt.io/v1"), 2u);
}

TEST_F(DiscoveryTest, BadInputAndServerErrors) {
  EXPECT_EQ(discovery.resourceFor("a/b/c", "X").error().code, 422);
  EXPECT_EQ(discovery.resourceFor("", "X").error().code, 422);
  EXPECT_EQ(discovery.resourceFor("v1", "").error().code, 422);
  transport->expect("GET", "/api/v1", {500, "boom"});
  auto failed = discovery.resourceFor("v1", "ConfigMap");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, 500);
  transport->expect("GET", "/api/v1", {200, "not json"});
  EXPECT_EQ(discovery.resourceFor("v1", "ConfigMap").error().reason, "InvalidResponse");
  EXPECT_EQ(transport->requests().size(), 2u);  // bad input never reached the server
}

}  // namespace
}  // namespace dwcp::kube
